"""The ``lanes`` command line: one module per subcommand under ``lanes.commands``."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from functools import cache
from importlib import import_module
from typing import Any, NoReturn

from lanes import __version__

COMMANDS = ("detect", "explain", "graph", "check", "audit")
LONG_RUNNING = frozenset({"audit"})
"""Commands that may replay thousands of commits: the cyclic collector stays on for them."""
DESCRIPTION = """\
Decide which CI lanes a change must run, from the repository's dependency graph.

A lane covers its root components and everything they depend on; a change to any covered
component selects the lane. Whenever the detector is unsure (unknown base, git error, bad
manifest, a path no rule covers) it selects every lane and records a reason code.

exit codes: 0 success (fail-safe included), 1 a check failed, 2 usage or configuration error
"""


class UsageError(Exception):
    """Bad command-line usage: exit code 2 with a one-line message."""


@cache  # argparse makes a formatter for every argument it adds
def terminal_width() -> int:
    """``$COLUMNS``, else the terminal's width, else 80 (what ``shutil.get_terminal_size`` does)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their line breaks. The width is passed in because argparse
    otherwise imports ``shutil`` (and with it bz2, lzma, zlib) on every run just to ask."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_width() - 2)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with :class:`HelpFormatter` (subcommands inherit it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        """argparse's usage error (exit 2), with a suggestion for a mistyped name."""
        from lanes.suggest import argparse_hint

        super().error(message + argparse_hint(self, message))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that subcommand (start-up imports one command module)."""
    common = Parser(add_help=False)
    common.add_argument("--repo", metavar="DIR", help="repository (default: git top level of .)")
    common.add_argument(
        "--config", metavar="FILE", help="configuration (default: <repo>/lanes.yml)"
    )
    common.add_argument("--no-cache", action="store_true", help="rebuild the derived index")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser = Parser(prog="lanes", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"lanes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = import_module(f"lanes.commands.{name}")
        module.add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; ``argv=None`` means the process's own command line (the console
    script), and only then is the garbage collector tuned for a short-lived process."""
    arguments = sys.argv[1:] if argv is None else argv
    first = arguments[0] if arguments else None
    if argv is None:
        gc.disable()  # see _tune_gc
    args = build_parser(first).parse_args(arguments)
    if argv is None:
        _tune_gc(args.command)
    from lanes.config import ConfigError

    try:
        result: int = import_module(f"lanes.commands.{args.command}").run(args)
        return result
    except (ConfigError, UsageError) as error:
        _report(args, error, "error")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as error:
        _report(args, error, f"internal error ({type(error).__name__})")
        return 1


def _tune_gc(command: str) -> None:
    """Called once the command is loaded, with the cyclic collector off since start-up.

    Start-up creates thousands of long-lived objects (modules, classes, the parser) and next to
    no garbage, yet the collector would run about twenty times during it and rescan all of it
    at every later full collection: about 6 ms of a 45 ms ``lanes detect`` (docs/benchmarks.md).
    So what exists now is frozen into the permanent generation. A short command then runs to
    the end without collecting (its garbage is bounded by its input and freed by reference
    counting); a long-running one collects as usual."""
    gc.freeze()
    if command in LONG_RUNNING:
        gc.enable()


def _silence_stdout() -> None:
    """The reader went away (``| head``): stop writing without a traceback at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _report(args: argparse.Namespace, error: BaseException, label: str) -> None:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exception(error)
    from lanes.render import shown

    print(f"lanes: {label}: {shown(str(error))}", file=sys.stderr)


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy, so the commands' UsageError is caught.
    from lanes.cli import main as imported_main

    sys.exit(imported_main())
