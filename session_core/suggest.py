""" "Did you mean" suggestions for mistyped commands, options and names (stdlib difflib), for
``session-core`` and ``harness``. (``lanes`` has its own, ``lanes.suggest``: the packages do not
import each other.) Imported only on an error path.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Iterator

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")
_UNRECOGNIZED = "unrecognized arguments: "


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` for a near miss, else ``""``."""
    close = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def argparse_hint(parser: argparse.ArgumentParser, message: str) -> str:
    """A suggestion for an argparse error message: a mistyped choice or option."""
    choice = _INVALID_CHOICE.search(message)
    if choice is not None:
        return did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
    if message.startswith(_UNRECOGNIZED):
        options = list(_options(parser))
        for word in message[len(_UNRECOGNIZED) :].split():
            hint = did_you_mean(word.split("=", 1)[0], options) if word.startswith("-") else ""
            if hint:
                return hint
    return ""


def _options(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option of ``parser`` and of its subcommands (argparse reports them at the top)."""
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _options(sub)
