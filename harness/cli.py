"""harness: list, run, explore, swarm, mutants, replay, conformance.

Exit codes: 0 pass, 1 violation (or a surviving mutant, or discovered != enumerated),
2 usage or scenario error. No traceback unless --debug.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from harness import report
from harness.runner import RunResult
from harness.scenario import BACKENDS, LANES, Scenario, load_all, select
from harness.yamlnodes import ScenarioError

PASS, VIOLATION, USAGE = 0, 1, 2


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse with a suggestion for a mistyped subcommand, option or choice."""

    def error(self, message: str) -> NoReturn:
        from session_core.suggest import argparse_hint

        super().error(message + argparse_hint(self, message))


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("lanes-toolkit")
    except PackageNotFoundError:
        return "unknown (not installed)"


# --- argument parsing ----------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, junit: bool = True) -> None:
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (text)"
    )
    parser.add_argument(
        "--scenarios", metavar="DIR", help="scenario directory (default: the bundled catalogue)"
    )
    if junit:
        parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _selection(
    parser: argparse.ArgumentParser, default_backend: str, extra: tuple[str, ...] = ()
) -> None:
    parser.add_argument("--lane", choices=LANES, help="only the scenarios of this CI lane")
    parser.add_argument("--scenario", metavar="ID", help="only this scenario (see harness list)")
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "all", *extra),
        default=default_backend,
        help=f"store backend to run on ({default_backend})",
    )
    parser.add_argument(
        "--trace-dir",
        default="harness-traces",
        metavar="DIR",
        help="where failing runs write trace.json (harness-traces)",
    )


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError("expected i/n, e.g. 1/4") from exc
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError("expected 1 <= i <= n")
    return index, count


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="harness", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"harness {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list scenarios")
    p.add_argument("--lane", choices=LANES, help="only the scenarios of this CI lane")
    _common(p, junit=False)
    p = sub.add_parser("run", help="run scenarios on a fresh core")
    _selection(p, "all")
    p.add_argument("--history", metavar="DIR", help="write every run's history as JSONL")
    _common(p)
    p = sub.add_parser("explore", help="one run per (fault point, fault kind)")
    _selection(p, "quick", ("quick",))  # quick: memory plus each scenario's SQLite slice
    p.add_argument("--deep", action="store_true", help="add a second fault during recovery")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (1)")
    p.add_argument(
        "--shard", type=_shard, metavar="i/n", help="run only shard i of n (a CI matrix job)"
    )
    _common(p)
    p = sub.add_parser("swarm", help="seeded random scenarios and faults")
    p.add_argument("--seed", type=int, default=0, help="first seed (0)")
    p.add_argument("--runs", type=int, default=200, help="number of seeds (200)")
    p.add_argument("--backend", choices=BACKENDS, default="memory", help="store backend (memory)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (1)")
    p.add_argument("--twice", action="store_true", help="determinism: run each seed twice")
    p.add_argument("--trace-dir", default="harness-traces", metavar="DIR", help="where traces go")
    _common(p)
    p = sub.add_parser("mutants", help="seeded historical bugs; all must be killed")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="worker processes (2)")
    p.add_argument(
        "--mutant", action="append", metavar="NAME", help="only this mutant (repeatable)"
    )
    _common(p)
    p = sub.add_parser("replay", help="re-run a trace.json and compare its hash")
    p.add_argument("trace", help="a trace.json written by a failing run")
    _common(p, junit=False)
    p = sub.add_parser("conformance", help="session_core's store conformance suite")
    p.add_argument(
        "--store",
        required=True,
        metavar="module:factory",
        help="a callable returning your backend's stores (see docs/harness.md)",
    )
    _common(p, junit=False)
    return parser


# --- commands --------------------------------------------------------------------------------


def _scenarios(args: argparse.Namespace) -> list[Scenario]:
    everything = load_all()
    wanted = getattr(args, "scenario", None)
    chosen = select(everything, lane=args.lane, scenario_id=wanted)
    if not chosen:
        from session_core.suggest import did_you_mean

        hint = did_you_mean(wanted, [s.id for s in everything]) if wanted else ""
        raise UsageError(f"no scenario matches the selection{hint} (see harness list)")
    return chosen


def _backends(args: argparse.Namespace) -> tuple[str, ...]:
    return BACKENDS if args.backend == "all" else (args.backend,)


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    scenarios = select(load_all(), lane=args.lane)
    if args.format == "json":
        report.emit_json(
            [
                {
                    "id": s.id,
                    "title": s.title,
                    "lanes": list(s.lanes),
                    "backends": list(s.backends),
                    "pins": s.pins,
                    "file": s.file,
                }
                for s in scenarios
            ],
            out,
        )
        return PASS
    rows = [(s.id, ",".join(s.lanes), ",".join(s.backends), s.title) for s in scenarios]
    report.print_table("scenarios", ("id", "lanes", "backends", "title"), rows, out)
    return PASS


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from harness.runner import RunConfig, run
    from harness.trace import replay_command, write_trace

    results, cases = [], []
    for scenario in _scenarios(args):
        for backend in _backends(args):
            if backend not in scenario.backends:
                continue
            result = run(RunConfig(scenario, backend))
            _write_history(args, result, f"{scenario.id}-{backend}")
            entry: dict[str, object] = {
                "scenario": scenario.id,
                "backend": backend,
                "ok": result.ok,
                "seconds": round(result.seconds, 4),
            }
            failure = None
            if not result.ok:
                path = write_trace(
                    result, Path(args.trace_dir) / f"trace-{scenario.id}-{backend}.json"
                )
                v = result.violations[0]
                entry.update(v.to_json(), trace=str(path), replay=replay_command(path))
                failure = f"{v.checker}: {v.message}\nreplay: {replay_command(path)}"
            results.append(entry)
            cases.append(
                report.Case(scenario.id, f"harness.run.{backend}", result.seconds, failure)
            )
    failed = [r for r in results if not r["ok"]]
    _outputs(args, out, "harness run", cases)
    if args.format == "json":
        report.emit_json({"runs": len(results), "failed": len(failed), "results": results}, out)
    else:
        rows = [
            (r["scenario"], r["backend"], "ok" if r["ok"] else r.get("checker"), r["seconds"])
            for r in results
        ]
        report.print_table("harness run", ("scenario", "backend", "result", "s"), rows, out)
        _run_text(results, failed, out)
    report.step_summary(
        report.markdown_table(
            f"harness run: {len(results) - len(failed)}/{len(results)} passed",
            ("scenario", "backend", "result"),
            [(r["scenario"], r["backend"], "ok" if r["ok"] else r.get("checker")) for r in results],
        )
    )
    return VIOLATION if failed else PASS


def _run_text(
    results: list[dict[str, object]], failed: list[dict[str, object]], out: TextIO
) -> None:
    """The violations, then one summary line; in colour when ``out`` is a terminal."""
    seconds = sum(float(str(r["seconds"])) for r in results)
    summary = (
        f"harness run: {len(results) - len(failed)} passed, {len(failed)} failed "
        f"({len(results)} runs, {seconds:.2f} s)"
    )
    violations = [
        (
            f"VIOLATION {r['scenario']} [{r['backend']}] {r.get('checker')}: {r.get('message')}",
            f"  replay: {r.get('replay')}",
        )
        for r in failed
    ]
    if not out.isatty():
        for line, replay_line in violations:
            out.write(f"{line}\n{replay_line}\n")
        out.write(summary + "\n")
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out, highlight=False, soft_wrap=True)
    for line, replay_line in violations:
        console.print(Text(line, style="bold red"))
        console.print(Text(replay_line))
    console.print(Text(summary, style="bold red" if failed else "bold green"))


def _write_history(args: argparse.Namespace, result: RunResult, name: str) -> None:
    directory = args.history or (None if result.ok else args.trace_dir)
    if directory is not None:
        target = Path(directory) / f"history-{name}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.history.to_jsonl(), encoding="utf-8")


def cmd_explore(args: argparse.Namespace, out: TextIO) -> int:
    from harness.explore import Explorer

    scenarios = _scenarios(args)
    with report.Progress("explore", sys.stderr) as progress:
        result = Explorer(
            scenarios,
            backends=_backends(args),
            quick=args.backend == "quick",
            jobs=max(1, args.jobs),
            deep=args.deep,
            shard=args.shard,
            trace_dir=Path(args.trace_dir),
            progress=progress.update,
        ).run()
    data = result.to_json()
    cases = [
        report.Case(
            f"{v['scenario']}:{v['fault']}",
            "harness.explore",
            0.0,
            f"{v['checker']}: {v['message']}",
        )
        for v in result.violations
    ]
    cases.append(
        report.Case(
            "discovered==enumerated",
            "harness.explore",
            result.seconds,
            None if result.discovered == result.enumerated else f"missed points: {result.missed}",
        )
    )
    _outputs(args, out, "harness explore", cases)
    if args.format == "json":
        report.emit_json(data, out)
    else:
        _explore_text(data, out)
    report.step_summary(
        report.markdown_table(
            "harness explore",
            ("scenarios", "discovered", "enumerated", "runs", "violations"),
            [
                (
                    data["scenarios"],
                    data["discovered"],
                    data["enumerated"],
                    data["runs"],
                    len(result.violations),
                )
            ],
        )
    )
    return PASS if result.ok else VIOLATION


def _explore_text(data: dict[str, object], out: TextIO) -> None:
    keys = ("scenarios", "discovered", "enumerated", "runs", "seconds")
    report.print_table("harness explore", keys, [[data[k] for k in keys]], out)
    known = data.get("known")
    if isinstance(known, dict) and known:
        out.write(f"known session_core findings (harness.known): {known}\n")
    violations = data.get("violations")
    for v in violations if isinstance(violations, list) else []:
        out.write(
            f"VIOLATION {v['scenario']} [{v['backend']}] fault={v['fault']} "
            f"deep={v['deep']} {v['checker']}: {v['message']}\n"
        )
        if "replay" in v:
            out.write(f"  replay: {v['replay']}\n")


def cmd_swarm(args: argparse.Namespace, out: TextIO) -> int:
    from harness.swarm import swarm, swarm_config
    from harness.trace import determinism_check, replay_command, write_trace_data

    seeds = range(args.seed, args.seed + args.runs)
    bad, known, cases = [], 0, []
    for outcome in swarm(seeds, args.backend, max(1, args.jobs)):
        known += outcome.known is not None
        failure = None
        if outcome.violation is not None and outcome.trace is not None:
            path = write_trace_data(
                outcome.trace, Path(args.trace_dir) / f"swarm-{outcome.seed}.json"
            )
            bad.append({"seed": outcome.seed, **outcome.violation, "replay": replay_command(path)})
            failure = f"{outcome.violation['checker']}: {outcome.violation['message']}"
        cases.append(report.Case(f"seed-{outcome.seed}", "harness.swarm", 0.0, failure))
    nondeterministic = []
    if args.twice:
        for seed in seeds:
            same, hashes = determinism_check(swarm_config(seed, args.backend))
            if not same:
                nondeterministic.append({"seed": seed, "hashes": hashes})
    data = {
        "runs": len(seeds),
        "violations": bad,
        "known": known,
        "nondeterministic": nondeterministic,
    }
    _outputs(args, out, "harness swarm", cases)
    if args.format == "json":
        report.emit_json(data, out)
    else:
        out.write(
            f"swarm seeds {args.seed}..{args.seed + args.runs - 1}: {len(bad)} violations, "
            f"{known} known findings, {len(nondeterministic)} nondeterministic\n"
        )
        for v in bad:
            out.write(
                f"VIOLATION seed {v['seed']} {v['checker']}: {v['message']}\n"
                f"  replay: {v['replay']}\n"
            )
    return VIOLATION if bad or nondeterministic else PASS


def cmd_mutants(args: argparse.Namespace, out: TextIO) -> int:
    from harness.mutants import BY_NAME
    from harness.mutation import run_mutants, summary

    for name in args.mutant or ():
        if name not in BY_NAME:
            from session_core.suggest import did_you_mean

            raise UsageError(
                f"unknown mutant {name}{did_you_mean(name, list(BY_NAME))}; "
                f"known: {', '.join(BY_NAME)}"
            )
    start = time.perf_counter()
    results = run_mutants(args.mutant, jobs=max(1, args.jobs))
    data = summary(results)
    data["seconds"] = round(time.perf_counter() - start, 3)
    cases = [
        report.Case(
            r.name, "harness.mutants", r.seconds, None if r.killed else f"mutant survived: {r.bug}"
        )
        for r in results
    ]
    _outputs(args, out, "harness mutants", cases)
    rows = [
        (
            r.name,
            "killed" if r.killed else "SURVIVED",
            r.by or "-",
            r.scenario or "-",
            f"{r.seconds:.3f}",
        )
        for r in results
    ]
    if args.format == "json":
        report.emit_json(data, out)
    else:
        report.print_table(
            f"harness mutants: {data['killed']}/{data['total']} killed",
            ("mutant", "result", "by", "scenario", "s"),
            rows,
            out,
        )
    report.step_summary(
        report.markdown_table(
            f"harness mutants: {data['killed']}/{data['total']} killed",
            ("mutant", "result", "by", "scenario", "s"),
            rows,
        )
    )
    return PASS if data["killed"] == data["total"] else VIOLATION


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    from harness.trace import replay

    result, recorded, replayed = replay(args.trace)
    identical = recorded == replayed
    violation = result.violations[0].to_json() if result.violations else None
    data = {
        "trace": args.trace,
        "recorded_hash": recorded,
        "replayed_hash": replayed,
        "identical": identical,
        "violation": violation,
    }
    if args.format == "json":
        report.emit_json(data, out)
    else:
        out.write(f"recorded hash {recorded}\nreplayed hash {replayed}\n")
        out.write("identical: the run was reproduced\n" if identical else "HASH DIFFERS\n")
        if violation is not None:
            out.write(f"VIOLATION {violation['checker']}: {violation['message']}\n")
    return VIOLATION if violation is not None or not identical else PASS


def cmd_conformance(args: argparse.Namespace, out: TextIO) -> int:
    from harness.conformance import run_conformance

    return run_conformance(args.store, out)


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "list": cmd_list,
    "run": cmd_run,
    "explore": cmd_explore,
    "swarm": cmd_swarm,
    "mutants": cmd_mutants,
    "replay": cmd_replay,
    "conformance": cmd_conformance,
}


def _outputs(args: argparse.Namespace, out: TextIO, suite: str, cases: list[report.Case]) -> None:
    if getattr(args, "junit", None):
        report.write_junit(args.junit, suite, cases)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return USAGE if exc.code not in (0, None) else PASS
    if args.scenarios:
        # Absolute, so traces record a scenario file that replays from any directory.
        os.environ["HARNESS_SCENARIOS"] = os.path.abspath(args.scenarios)
    if getattr(args, "trace_dir", None):
        # Absolute, so the printed ``harness replay PATH`` works from any directory.
        args.trace_dir = os.path.abspath(args.trace_dir)
    try:
        return COMMANDS[args.command](args, sys.stdout)
    except Exception as exc:
        if args.debug:
            raise
        return _fail(exc)


def _fail(exc: Exception) -> int:
    from harness.trace import TraceError

    if isinstance(exc, ScenarioError | UsageError | TraceError):
        print(f"harness: {exc}", file=sys.stderr)
        return USAGE
    if isinstance(exc, BrokenPipeError):
        return PASS
    print(f"harness: internal error: {type(exc).__name__}: {exc} (use --debug)", file=sys.stderr)
    return USAGE


__all__ = ["COMMANDS", "PASS", "USAGE", "VIOLATION", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
