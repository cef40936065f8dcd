"""The ``session-core`` command line: ``init``, ``demo``, ``recover``, ``status``.

Exit codes: 0 success; 1 the command ran but did not fully succeed (a turn was not
acknowledged, a session could not be reconciled, stdout could not be written); 2 bad input or
unusable storage (one-line error on stderr, no traceback unless ``--debug``; usage errors end
with "(see session-core --help)", storage errors name the file instead).

Only ``init`` and ``demo`` (whose first step creates sessions) may create store files;
``recover`` needs an initialised directory; ``status`` opens both files read-only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from session_core import __version__
from session_core.errors import SessionBusy, SessionCoreError, SessionExists
from session_core.model import validate_session_id
from session_core.outcomes import Failed, Indeterminate, TurnOutcome, committed, outcome_name
from session_core.readapi import SessionView
from session_core.service import SessionService
from session_core.stores.sqlite_db import OpenMode

PROG = "session-core"
BUSY_RETRIES = 200


class UsageError(Exception):
    """Bad command line input: exit code 2, one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        from session_core.suggest import argparse_hint

        raise UsageError(message + argparse_hint(self, message))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0 or value > 1_000_000:
        raise argparse.ArgumentTypeError(f"out of range 0..1000000: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Session-persistence core: runtime store (authority) + session store "
        "(projection) on SQLite, with crash-safe commit ordering.",
    )
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=False, help="show tracebacks on errors"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = sub.add_parser(
        "init",
        parents=[common],
        help="create the store files of a data directory (explicitly)",
        description="Create runtime.sqlite and sessions.sqlite3 with a new data directory id "
        "in an empty DIR; or, when only the projection file is missing, an empty projection "
        "file carrying the authority's id (then run recover to rebuild it); or migrate files "
        "that predate identities. Never replaces a file that holds data.",
    )
    init.add_argument("--data", required=True, type=Path, help="data directory (created)")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="run scripted runtime-backed turns on SQLite",
        description="Create (or reopen) N sessions in DIR and run M scripted turns in each, "
        "round robin. Prints one JSON line per acknowledged (committed) turn, flushed "
        "immediately: {session, turn, input, receipt, outcome}.",
    )
    demo.add_argument("--data", required=True, type=Path, help="data directory (created)")
    demo.add_argument(
        "--sessions", type=_positive, default=1, help="number of sessions (N, default: 1)"
    )
    demo.add_argument(
        "--turns", type=_positive, default=1, help="turns per session (M, default: 1)"
    )
    demo.add_argument("--prefix", default="demo", help="session id prefix (default: demo)")
    demo.add_argument("--format", choices=("jsonl", "text"), default="jsonl")

    recover = sub.add_parser(
        "recover",
        parents=[common],
        help="reconcile every session's projection to the authority",
        description="Release crashed runs, re-project every session (append or rewrite "
        "chain), finish interrupted archives, redeliver accepted inputs once. Exit 0 when "
        "every session is reconciled.",
    )
    recover.add_argument("--data", required=True, type=Path, help="existing data directory")
    recover.add_argument(
        "--no-redeliver", action="store_true", help="do not rerun accepted, uncommitted inputs"
    )
    recover.add_argument("--format", choices=("json", "text"), default="text")

    status = sub.add_parser(
        "status",
        parents=[common],
        help="show authority vs projection per session",
        description="Per session: authority revision, committed user turns, receipts, "
        "duplicated turns; projection revision and turns; lag.",
    )
    status.add_argument("--data", required=True, type=Path, help="existing data directory")
    status.add_argument("--format", choices=("json", "text"), default="json")
    return parser


def open_service(data: Path, mode: OpenMode) -> SessionService:
    """``create``: demo may create DIR and its files (first create on an empty directory).
    ``open`` / ``read-only``: DIR must hold an initialised pair of files."""
    from session_core.factory import sqlite_service

    if data.exists() and not data.is_dir():
        raise UsageError(f"not a directory: {data}")
    if mode != "create" and not data.is_dir():
        raise UsageError(f"no such directory: {data}")
    return sqlite_service(data, mode=mode)


def run_init(args: argparse.Namespace, out: TextIO) -> int:
    from session_core.factory import init_directory

    if args.data.exists() and not args.data.is_dir():
        raise UsageError(f"not a directory: {args.data}")
    done = init_directory(args.data)
    _write(out, f"{done}\n")
    return 0


# --- demo ----------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    prefix = str(args.prefix)
    ids = [validate_session_id(f"{prefix}-{i}") for i in range(args.sessions)]
    svc = open_service(args.data, "create")
    try:
        for sid in ids:
            _ensure(svc, sid)
        failures = 0
        for turn in range(1, args.turns + 1):
            for sid in ids:
                outcome, input_id = _turn(svc, sid, turn)
                if committed(outcome):
                    _emit(svc, out, args.format, outcome, input_id)
                else:
                    failures += 1
                    print(f"{PROG}: {sid} turn {turn}: {_describe(outcome)}", file=sys.stderr)
    finally:
        svc.close()
    return 1 if failures else 0


def _ensure(svc: SessionService, sid: str) -> None:
    """Create the session (or find it created by another process); a failed create stops the
    demo with its cause instead of failing every turn later with "no such session"."""
    with contextlib.suppress(SessionExists):
        outcome = svc.create(sid)
        if not committed(outcome):
            cause = getattr(outcome, "cause", None)
            if isinstance(cause, SessionCoreError):
                raise cause
            raise SessionCoreError(f"create failed: {_describe(outcome)}", session_id=sid)


def _turn(svc: SessionService, sid: str, turn: int) -> tuple[TurnOutcome, str]:
    """A busy session is retried with a new input id (the refused one was abandoned); an
    indeterminate outcome is resent with the *same* id, which returns the original outcome
    if it committed, and never runs the turn twice."""
    delay = 0.001
    attempt = 0
    input_id = f"{sid}.t{turn}.p{os.getpid()}.a{attempt}"
    for _ in range(BUSY_RETRIES):
        outcome = svc.run_turn(sid, f"message {turn} for {sid}", input_id=input_id)
        busy = isinstance(outcome, Failed) and isinstance(outcome.cause, SessionBusy)
        if not busy and not isinstance(outcome, Indeterminate):
            return outcome, input_id
        if busy:
            attempt += 1
            input_id = f"{sid}.t{turn}.p{os.getpid()}.a{attempt}"
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return outcome, input_id


def _emit(svc: SessionService, out: TextIO, fmt: str, outcome: TurnOutcome, input_id: str) -> None:
    assert committed(outcome)
    receipt = getattr(outcome, "receipt", None)
    sid = outcome.session_id
    turn = _turn_number(svc, sid, input_id)
    if fmt == "jsonl":
        line = json.dumps(
            {
                "session": sid,
                "turn": turn,
                "input": input_id,
                "receipt": None if receipt is None else receipt.to_json(),
                "outcome": outcome_name(outcome),
            },
            sort_keys=True,
        )
    else:
        where = "-" if receipt is None else f"{receipt.run_id}#{receipt.sequence}"
        line = f"{sid} turn {turn} {outcome_name(outcome)} receipt {where}"
    _write(out, line + "\n")


def _turn_number(svc: SessionService, sid: str, input_id: str) -> int:
    """The position of this turn among the session's committed user turns (counting the
    session's whole history at the commit, so concurrent writers cannot shift it)."""
    ids = svc.read(sid).user_input_ids()
    return ids.index(input_id) + 1 if input_id in ids else len(ids)


class OutputFailed(Exception):
    """stdout could not be written (closed pipe, full disk): exit 1, one line on stderr."""


def _write(out: TextIO, text: str) -> None:
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputFailed(f"cannot write output: {exc}") from exc


def _describe(outcome: TurnOutcome) -> str:
    cause = getattr(outcome, "cause", None) or getattr(outcome, "reason", "")
    return f"{outcome_name(outcome)}: {cause}"


# --- recover / status ----------------------------------------------------------------------


def run_recover(args: argparse.Namespace, out: TextIO) -> int:
    svc = open_service(args.data, "open")
    try:
        report = svc.recover(redeliver=not args.no_redeliver)
    finally:
        svc.close()
    errors = {r.session_id: str(r.error) for r in report.errors}
    if args.format == "json":
        payload = {
            "sessions": len(report.sessions),
            "released_runs": [r.session_id for r in report.sessions if r.released_run],
            "redelivered": [list(r) for r in report.redelivered],
            "errors": errors,
            "redelivery_errors": [list(r) for r in report.redelivery_errors],
            "ok": report.ok,
        }
        _write(out, json.dumps(payload, sort_keys=True) + "\n")
    else:
        lines = [
            f"recovered {len(report.sessions)} sessions, "
            f"redelivered {len(report.redelivered)} inputs, {len(errors)} errors\n"
        ]
        lines += [f"error: {sid}: {message}\n" for sid, message in errors.items()]
        lines += [
            f"error: {sid}: redelivering input {iid}: the agent raised {error}\n"
            for sid, iid, error in report.redelivery_errors
        ]
        _write(out, "".join(lines))
    return 0 if report.ok else 1


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    svc = open_service(args.data, "read-only")  # never creates, migrates or writes a file
    try:
        views = svc.reader.list_sessions()
    finally:
        svc.close()
    if args.format == "json":
        _write(out, json.dumps({"sessions": [v.to_json() for v in views]}, sort_keys=True) + "\n")
    else:
        _write(out, _status_text(views))
    return 0


def _status_text(views: Sequence[SessionView]) -> str:
    lines = [f"{'session':<24} {'turns':>6} {'proj':>6} {'lag':>4} {'dups':>4} {'rcpts':>6} rev"]
    for v in views:
        rev = (v.authority.revision or "-")[:12]
        lines.append(
            f"{v.session_id:<24} {v.authority.turns:>6} {v.projection.turns:>6} {v.lag:>4} "
            f"{v.authority.duplicates:>4} {v.receipts:>6} {rev}"
        )
    return "\n".join(lines) + "\n"


COMMANDS = {"init": run_init, "demo": run_demo, "recover": run_recover, "status": run_status}


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, sys.stdout)
    except UsageError as exc:
        if debug:
            raise
        return _fail(f"{_one_line(exc)} (see {PROG} --help)", 2)
    except SessionCoreError as exc:
        if debug:
            raise
        return _fail(f"{type(exc).__name__}: {_one_line(exc)}", 2)
    except OutputFailed as exc:
        if debug:
            raise
        return _fail(_one_line(exc), 1)
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except OSError as exc:
        if debug:
            raise
        return _fail(f"{type(exc).__name__}: {_one_line(exc)}", 2)
    except Exception as exc:  # a bug: still one line, the traceback only with --debug
        if debug:
            raise
        return _fail(
            f"internal error {type(exc).__name__}: {_one_line(exc)} (--debug shows where)", 2
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _fail(message: str, code: int) -> int:
    with contextlib.suppress(OSError):
        print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does
    not print a traceback."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
