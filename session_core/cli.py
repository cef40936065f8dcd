"""The ``session-core`` command line: ``demo``, ``recover``, ``status``.

Exit codes: 0 success; 1 the command ran but did not fully succeed (a turn was not
acknowledged, a session could not be reconciled); 2 bad input (one-line error on stderr, no
traceback unless ``--debug``).
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

from session_core.errors import SessionBusy, SessionCoreError, SessionExists
from session_core.model import validate_session_id
from session_core.outcomes import Failed, TurnOutcome, committed, outcome_name
from session_core.readapi import SessionView
from session_core.service import SessionService

PROG = "session-core"
BUSY_RETRIES = 200


class UsageError(Exception):
    """Bad command line input: exit code 2, one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


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
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="run scripted runtime-backed turns on SQLite",
        description="Create (or reopen) N sessions in DIR and run M scripted turns in each, "
        "round robin. Prints one JSON line per acknowledged (committed) turn, flushed "
        "immediately: {session, turn, input, receipt, outcome}.",
    )
    demo.add_argument("--data", required=True, type=Path, help="data directory (created)")
    demo.add_argument("--sessions", type=_positive, default=1, help="number of sessions (N)")
    demo.add_argument("--turns", type=_positive, default=1, help="turns per session (M)")
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


def open_service(data: Path, *, create: bool) -> SessionService:
    """``create``: demo may create DIR and its files. Otherwise DIR and the runtime file must
    exist; a missing projection file is rebuilt by ``recover`` (``status`` checks first)."""
    from session_core.factory import sqlite_service
    from session_core.stores.sqlite import RUNTIME_FILE

    if not create:
        _require(data, RUNTIME_FILE)
    elif data.exists() and not data.is_dir():
        raise UsageError(f"not a directory: {data}")
    return sqlite_service(data)


def _require(data: Path, name: str) -> None:
    if not data.is_dir():
        raise UsageError(f"no such directory: {data}")
    if not (data / name).exists():
        raise UsageError(f"no session_core database in {data} (missing {name})")


# --- demo ----------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace, out: TextIO) -> int:
    prefix = str(args.prefix)
    ids = [validate_session_id(f"{prefix}-{i}") for i in range(args.sessions)]
    svc = open_service(args.data, create=True)
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
    with contextlib.suppress(SessionExists):
        svc.create(sid)


def _turn(svc: SessionService, sid: str, turn: int) -> tuple[TurnOutcome, str]:
    delay = 0.001
    for attempt in range(BUSY_RETRIES):
        input_id = f"{sid}.t{turn}.p{os.getpid()}.a{attempt}"
        outcome = svc.run_turn(sid, f"message {turn} for {sid}", input_id=input_id)
        if not (isinstance(outcome, Failed) and isinstance(outcome.cause, SessionBusy)):
            return outcome, input_id
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return outcome, input_id


def _emit(svc: SessionService, out: TextIO, fmt: str, outcome: TurnOutcome, input_id: str) -> None:
    assert committed(outcome)
    receipt = getattr(outcome, "receipt", None)
    sid = outcome.session_id
    turn = svc.reader.view(sid).authority.turns
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
    out.write(line + "\n")
    out.flush()


def _describe(outcome: TurnOutcome) -> str:
    cause = getattr(outcome, "cause", None) or getattr(outcome, "reason", "")
    return f"{outcome_name(outcome)}: {cause}"


# --- recover / status ----------------------------------------------------------------------


def run_recover(args: argparse.Namespace, out: TextIO) -> int:
    svc = open_service(args.data, create=False)
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
            "ok": report.ok,
        }
        out.write(json.dumps(payload, sort_keys=True) + "\n")
    else:
        out.write(
            f"recovered {len(report.sessions)} sessions, "
            f"redelivered {len(report.redelivered)} inputs, {len(errors)} errors\n"
        )
        for sid, message in errors.items():
            out.write(f"error: {sid}: {message}\n")
    return 0 if report.ok else 1


def run_status(args: argparse.Namespace, out: TextIO) -> int:
    from session_core.stores.sqlite import SESSIONS_FILE

    _require(args.data, SESSIONS_FILE)  # a read-only command never creates files
    svc = open_service(args.data, create=False)
    try:
        views = svc.reader.list_sessions()
    finally:
        svc.close()
    if args.format == "json":
        out.write(json.dumps({"sessions": [v.to_json() for v in views]}, sort_keys=True) + "\n")
    else:
        out.write(_status_text(views))
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


COMMANDS = {"demo": run_demo, "recover": run_recover, "status": run_status}


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, sys.stdout)
    except (UsageError, SessionCoreError) as exc:
        if debug:
            raise
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message} (see {PROG} --help)", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1
