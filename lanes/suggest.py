""" "Did you mean" suggestions for mistyped names (lanes, subcommands, options), with difflib.

Imported only on an error path: difflib is not part of a normal run's start-up.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Iterator

CUTOFF = 0.6
INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")
UNRECOGNIZED = "unrecognized arguments: "


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to ``name``, if any is close enough."""
    matches = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=1, cutoff=CUTOFF)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` or ``""``."""
    match = closest(name, known)
    return f" (did you mean {match}?)" if match else ""


def option_strings(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option of ``parser`` and of its subcommands."""
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from option_strings(sub)


def argparse_hint(parser: argparse.ArgumentParser, message: str) -> str:
    """A suggestion for an argparse error message: a mistyped choice or option."""
    choice = INVALID_CHOICE.search(message)
    if choice is not None:
        return did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
    if message.startswith(UNRECOGNIZED):
        options = list(option_strings(parser))
        for word in message[len(UNRECOGNIZED) :].split():
            if not word.startswith("-"):
                continue
            option = word.split("=", 1)[0]
            commands = commands_with(parser, option)
            if commands:  # spelled right, in the wrong place (before the command, or another's)
                listed = ", ".join(commands)
                return f" ({option} is an option of {listed}: give it after the command)"
            hint = did_you_mean(option, options)
            if hint:
                return hint
    return ""


def commands_with(parser: argparse.ArgumentParser, option: str) -> list[str]:
    """The subcommands of ``parser`` that take ``option``."""
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(
                name for name, sub in action.choices.items() if option in option_strings(sub)
            )
    return found
