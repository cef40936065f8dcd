"""Seeded historical bugs, applied without editing session_core.

Each mutant is a ``Core`` built from subclasses or store wrappers (modules in this package)
and names the scenarios that must kill it. ``harness mutants`` runs them (see
``harness.mutation``).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core import CORRECT, Core
from harness.mutants.checkpointer_bugs import (
    GateCheckedOutsideLockCheckpointer,
    LengthDedupeCheckpointer,
    ReopeningGateCheckpointer,
    RuntimeGatedCheckpointer,
    SilentCancelCheckpointer,
    UncancelledGateCheckpointer,
    WriteThenCheckGateCheckpointer,
)
from harness.mutants.projection_bugs import (
    AdoptingProjector,
    AppendOnlyProjector,
    KeepUnauditedRowProjector,
    QuarantineAnyRowProjector,
)
from harness.mutants.service_bugs import (
    DuplicatingRecoveryService,
    OrphanDroppingService,
    PreCommitProjectionService,
    RetireFirstArchiveService,
    ReusedTerminalSequenceService,
    RewritePathNoHookService,
    SwallowedCommitErrorService,
    UnauditedReadService,
)
from harness.mutants.store_bugs import (
    BlindClearRuntime,
    NormalSyncRuntime,
    ReceiptFirstRuntime,
    RowWritingRuntime,
    SplitCommitRuntime,
)


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    core: Core
    killers: tuple[str, ...]
    """Scenario ids that must kill it (tried first, in order)."""
    backend: str = "memory"
    """The backend it is hunted on (``sqlite`` for bugs only the SQLite backend shows)."""


def _m(
    name: str, bug: str, killers: tuple[str, ...], backend: str = "memory", **parts: object
) -> Mutant:
    return Mutant(name, bug, Core(name=name, **parts), killers, backend)  # type: ignore[arg-type]


MUTANTS: tuple[Mutant, ...] = (
    _m(
        "checkpointer-disabled-with-runtime",
        "5.1 checkpointer disabled whenever a runtime store is installed",
        ("sdk-per-turn-reader", "turns-basic"),
        checkpointer_cls=RuntimeGatedCheckpointer,
    ),
    _m(
        "projection-before-commit",
        "5.2 projection written before the runtime commit",
        ("commit-fails-no-projection",),
        service_cls=PreCommitProjectionService,
    ),
    _m(
        "hook-missing-on-rewrite-path",
        "5.3 post-commit projection missing on one executor path",
        ("projection-every-path",),
        service_cls=RewritePathNoHookService,
    ),
    _m(
        "dedupe-by-length",
        "5.4 dedupe by transcript length",
        ("same-length-rewrite", "runtime-less-same-length"),
        checkpointer_cls=LengthDedupeCheckpointer,
    ),
    _m(
        "terminal-receipt-reuses-sequence",
        "5.17 terminal receipt reusing the last checkpoint sequence",
        ("receipts-dense",),
        service_cls=ReusedTerminalSequenceService,
    ),
    _m(
        "archive-retires-first",
        "5.15 archive retires the runtime first and only warns when the document save fails",
        ("archive-document-fails",),
        service_cls=RetireFirstArchiveService,
    ),
    _m(
        "late-checkpoint-recreates-gate",
        "5.14 a late checkpoint after archive recreates the gate",
        ("late-checkpoint-after-archive",),
        checkpointer_cls=UncancelledGateCheckpointer,
    ),
    _m(
        "cancelled-projection-reports-success",
        "5.13 a cancelled post-commit projection reports success",
        ("shutdown-cancelled-projection",),
        checkpointer_cls=SilentCancelCheckpointer,
    ),
    _m(
        "runtime-commit-writes-row",
        "5.9 the runtime commit writes the projection row itself",
        ("commit-power-loss",),
        wrap_runtime=RowWritingRuntime,
    ),
    _m(
        "append-only-guard",
        "5.5 an append-only guard rejects a valid compaction chain",
        ("compaction-chain",),
        projector_cls=AppendOnlyProjector,
    ),
    _m(
        "quarantine-clears-newer-snapshot",
        "5.8 quarantine clears a newer runtime snapshot",
        ("quarantine-byte-cas",),
        wrap_runtime=BlindClearRuntime,
    ),
    _m(
        "storage-error-swallowed",
        "a storage error swallowed while a receipt is returned",
        ("commit-fails-no-projection",),
        service_cls=SwallowedCommitErrorService,
    ),
    _m(
        "recovery-duplicates-turns",
        "recovery that duplicates turns",
        ("kill-before-commit",),
        service_cls=DuplicatingRecoveryService,
    ),
    _m(
        "projection-checks-gate-after-write",
        "I7 the post-commit projection checks the cancel gate after writing the row",
        ("shutdown-cancelled-projection", "gate-stays-cancelled"),
        checkpointer_cls=WriteThenCheckGateCheckpointer,
    ),
    _m(
        "gate-checked-outside-lock",
        "I7 the gate is checked, then the row written without the gate lock",
        ("cancel-between-check-and-write",),
        checkpointer_cls=GateCheckedOutsideLockCheckpointer,
    ),
    _m(
        "gate-reopened-by-next-run",
        "I7 the next run re-opens a cancelled gate",
        ("gate-stays-cancelled", "shutdown-cancelled-projection"),
        checkpointer_cls=ReopeningGateCheckpointer,
    ),
    _m(
        "quarantine-deletes-runtime-less-row",
        "I6 quarantine deletes a runtime-less row, the session's only copy",
        ("runtime-less-audit-quarantine",),
        projector_cls=QuarantineAnyRowProjector,
    ),
    _m(
        "reader-serves-unaudited-row",
        "I6 a reader serves a row whose rewrite is not audited",
        ("unaudited-row-not-served", "runtime-less-audit-quarantine"),
        service_cls=UnauditedReadService,
    ),
    _m(
        "diverged-row-adopted",
        "I4/I5 a row ahead of or diverged from the authority is adopted, not rebuilt",
        ("projection-rebuilt-from-authority",),
        projector_cls=AdoptingProjector,
    ),
    _m(
        "recovery-drops-orphan-rows",
        "recovery deletes rows without a runtime session (a runtime-less session's only copy)",
        ("row-without-authority-kept",),
        service_cls=OrphanDroppingService,
    ),
    _m(
        "unaudited-row-kept-after-double-fault",
        "I6 a failed audit completion keeps the unaudited row instead of rolling it back",
        ("row-rollback-double-fault",),
        projector_cls=KeepUnauditedRowProjector,
    ),
    _m(
        "sqlite-commit-split",
        "SQLite: the run-boundary commit split into two transactions (snapshot, then receipt)",
        ("sqlite-commit-boundaries",),
        "sqlite",
        wrap_runtime=SplitCommitRuntime,
    ),
    _m(
        "sqlite-receipt-before-snapshot",
        "SQLite: the terminal receipt committed in a transaction before its snapshot",
        ("sqlite-commit-boundaries",),
        "sqlite",
        wrap_runtime=ReceiptFirstRuntime,
    ),
    _m(
        "sqlite-runtime-synchronous-normal",
        "SQLite: the runtime file with synchronous=NORMAL (commits not synced until a checkpoint)",
        ("sqlite-lost-unsynced-writes",),
        "sqlite",
        wrap_runtime=NormalSyncRuntime,
    ),
)

BY_NAME = {m.name: m for m in MUTANTS}


def core_by_name(name: str) -> Core:
    """``session_core`` (the unmodified core) or a mutant's name; ``KeyError`` otherwise."""
    if name == CORRECT.name:
        return CORRECT
    return BY_NAME[name].core


__all__ = ["BY_NAME", "MUTANTS", "Mutant", "core_by_name"]
