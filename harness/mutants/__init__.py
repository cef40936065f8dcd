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
from harness.mutants.integrity_bugs import (
    FailedAfterSyncService,
    FailedCreateService,
    LeaseNeverExpiresRuntime,
    RetryRunsAgainService,
    UncheckedDigestProjector,
    implicit_init_stores,
    lock_dropping_stores,
)
from harness.mutants.projection_bugs import (
    AdoptingProjector,
    AppendOnlyProjector,
    KeepUnauditedRowProjector,
    QuarantineAnyRowProjector,
)
from harness.mutants.service_bugs import (
    DuplicatingRecoveryService,
    LeaseKeptAfterBeginErrorService,
    OrphanDroppingService,
    PoisonedRedeliveryService,
    PreCommitProjectionService,
    RetireFirstArchiveService,
    ReusedTerminalSequenceService,
    RewriteFailedAfterSaveService,
    RewritePathNoHookService,
    SwallowedCommitErrorService,
    UnauditedReadService,
)
from harness.mutants.store_bugs import (
    BlindClearRuntime,
    NormalSyncRuntime,
    ReceiptFirstRuntime,
    RowWritingRuntime,
    RunlessAbandonDroppedRuntime,
    SplitCommitRuntime,
    all_members_sync_batch,
)


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    """The entry of docs/bugs.md it reintroduces: ``bug-NN: what goes wrong``."""
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
        "bug-01: checkpointer disabled whenever a runtime store is installed",
        ("sdk-per-turn-reader", "turns-basic"),
        checkpointer_cls=RuntimeGatedCheckpointer,
    ),
    _m(
        "projection-before-commit",
        "bug-02: projection written before the runtime commit",
        ("commit-fails-no-projection",),
        service_cls=PreCommitProjectionService,
    ),
    _m(
        "hook-missing-on-rewrite-path",
        "bug-03: post-commit projection missing on one executor path",
        ("projection-every-path",),
        service_cls=RewritePathNoHookService,
    ),
    _m(
        "dedupe-by-length",
        "bug-04: dedupe by transcript length",
        ("same-length-rewrite", "runtime-less-same-length"),
        checkpointer_cls=LengthDedupeCheckpointer,
    ),
    _m(
        "terminal-receipt-reuses-sequence",
        "bug-17: terminal receipt reusing the last checkpoint sequence",
        ("receipts-dense",),
        service_cls=ReusedTerminalSequenceService,
    ),
    _m(
        "archive-retires-first",
        "bug-15: archive retires the runtime first and only warns when the document save fails",
        ("archive-document-fails",),
        service_cls=RetireFirstArchiveService,
    ),
    _m(
        "late-checkpoint-recreates-gate",
        "bug-14: a late checkpoint after archive recreates the gate",
        ("late-checkpoint-after-archive",),
        checkpointer_cls=UncancelledGateCheckpointer,
    ),
    _m(
        "cancelled-projection-reports-success",
        "bug-13: a cancelled post-commit projection reports success",
        ("shutdown-cancelled-projection",),
        checkpointer_cls=SilentCancelCheckpointer,
    ),
    _m(
        "runtime-commit-writes-row",
        "bug-09: the runtime commit writes the projection row itself",
        ("commit-power-loss",),
        wrap_runtime=RowWritingRuntime,
    ),
    _m(
        "append-only-guard",
        "bug-05: an append-only guard rejects a valid compaction chain",
        ("compaction-chain",),
        projector_cls=AppendOnlyProjector,
    ),
    _m(
        "quarantine-clears-newer-snapshot",
        "bug-08: quarantine clears a newer runtime snapshot",
        ("quarantine-byte-cas",),
        wrap_runtime=BlindClearRuntime,
    ),
    _m(
        "storage-error-swallowed",
        "bug-23: a storage error swallowed while a receipt is returned",
        ("commit-fails-no-projection",),
        service_cls=SwallowedCommitErrorService,
    ),
    _m(
        "recovery-duplicates-turns",
        "bug-24: recovery that duplicates turns",
        ("kill-before-commit",),
        service_cls=DuplicatingRecoveryService,
    ),
    _m(
        "failed-after-failed-sync",
        "bug-32: an input whose fate is unknown reported as a definite Failed",
        ("integrity-failed-sync",),
        service_cls=FailedAfterSyncService,
    ),
    _m(
        "failed-create-after-durable",
        "bug-48: a create durable before its error is reported answered as a definite Failed",
        ("integrity-create-after-error",),
        service_cls=FailedCreateService,
    ),
    _m(
        "retry-runs-again",
        "bug-33: a retry with the same input id is not looked up and runs as a new input",
        ("integrity-retry-same-input",),
        service_cls=RetryRunsAgainService,
    ),
    _m(
        "lock-drop",
        "bug-31: a plain descriptor opened and closed on a store file beside its connection",
        ("sqlite-store-locks-held",),
        "sqlite",
        open_sqlite=lock_dropping_stores,
    ),
    _m(
        "implicit-init",
        "bug-34: a missing or empty runtime file silently initialised beside a projection",
        ("integrity-missing-runtime-file",),
        "sqlite",
        open_sqlite=implicit_init_stores,
    ),
    _m(
        "lease-never-expires",
        "bug-37: a dead or expired lease holder blocks the session until recovery",
        ("integrity-dead-lease-holder",),
        wrap_runtime=LeaseNeverExpiresRuntime,
    ),
    _m(
        "unchecked-digest",
        "bug-36: a row failing verification is never quarantined nor rebuilt",
        ("integrity-corrupt-row-rebuilt",),
        projector_cls=UncheckedDigestProjector,
    ),
    _m(
        "projection-checks-gate-after-write",
        "bug-39: the post-commit projection checks the cancel gate after writing the row",
        ("shutdown-cancelled-projection", "gate-stays-cancelled"),
        checkpointer_cls=WriteThenCheckGateCheckpointer,
    ),
    _m(
        "gate-checked-outside-lock",
        "bug-38: the gate is checked, then the row written without the gate lock",
        ("cancel-between-check-and-write",),
        checkpointer_cls=GateCheckedOutsideLockCheckpointer,
    ),
    _m(
        "gate-reopened-by-next-run",
        "bug-40: the next run re-opens a cancelled gate",
        ("gate-stays-cancelled", "shutdown-cancelled-projection"),
        checkpointer_cls=ReopeningGateCheckpointer,
    ),
    _m(
        "quarantine-deletes-runtime-less-row",
        "bug-41: quarantine deletes a runtime-less row, the session's only copy",
        ("runtime-less-audit-quarantine",),
        projector_cls=QuarantineAnyRowProjector,
    ),
    _m(
        "reader-serves-unaudited-row",
        "bug-42: a reader serves a row whose rewrite is not audited",
        ("unaudited-row-not-served", "runtime-less-audit-quarantine"),
        service_cls=UnauditedReadService,
    ),
    _m(
        "diverged-row-adopted",
        "bug-45: a row ahead of or diverged from the authority is adopted, not rebuilt",
        ("projection-rebuilt-from-authority",),
        projector_cls=AdoptingProjector,
    ),
    _m(
        "recovery-drops-orphan-rows",
        "bug-46: recovery deletes rows without a runtime session (a runtime-less only copy)",
        ("row-without-authority-kept",),
        service_cls=OrphanDroppingService,
    ),
    _m(
        "unaudited-row-kept-after-double-fault",
        "bug-47: a failed audit completion keeps the unaudited row instead of rolling it back",
        ("row-rollback-double-fault",),
        projector_cls=KeepUnauditedRowProjector,
    ),
    _m(
        "lease-kept-after-begin-error",
        "bug-49: the lease begin_run took before its error is never released",
        ("begin-run-error-releases-lease",),
        service_cls=LeaseKeptAfterBeginErrorService,
    ),
    _m(
        "archived-input-left-pending",
        "bug-50: recovery's abandonment of an archived session's pending input is dropped",
        ("crash-then-archive-abandons-input",),
        wrap_runtime=RunlessAbandonDroppedRuntime,
    ),
    _m(
        "runtime-less-rewrite-failed-after-save",
        "bug-51: a runtime-less rewrite durable before its error is answered Failed",
        ("runtime-less-rewrite-error-after-save",),
        service_cls=RewriteFailedAfterSaveService,
    ),
    _m(
        "sqlite-commit-split",
        "bug-43: the run-boundary commit split into two transactions (snapshot, then receipt)",
        ("sqlite-commit-boundaries",),
        "sqlite",
        wrap_runtime=SplitCommitRuntime,
    ),
    _m(
        "sqlite-receipt-before-snapshot",
        "bug-43: the terminal receipt committed in a transaction before its snapshot",
        ("sqlite-commit-boundaries",),
        "sqlite",
        wrap_runtime=ReceiptFirstRuntime,
    ),
    _m(
        "batch-acknowledged-unsynced",
        "bug-52: a group-commit batch mixing unsynced and synced writes committed without a"
        " sync, its commits acknowledged",
        ("group-commit-mixed-batch-power-loss", "group-commit-batch-crash"),
        "sqlite",
        batch_runner=all_members_sync_batch,
    ),
    _m(
        "redelivery-agent-error-escapes",
        "bug-61: an agent's own error during a redelivery escapes recovery, which stops there",
        ("redelivery-agent-error-reported",),
        service_cls=PoisonedRedeliveryService,
    ),
    _m(
        "sqlite-runtime-synchronous-normal",
        "bug-44: the runtime file with synchronous=NORMAL (commits not synced until a checkpoint)",
        ("sqlite-lost-unsynced-writes",),
        "sqlite",
        wrap_runtime=NormalSyncRuntime,
    ),
)
FILE_MUTANTS = ("lock-drop", "implicit-init", "retry-runs-again")
"""Integrity mutants that ``tests/session_core/test_integrity_mutants.py`` also kills with real
processes; ``harness mutants`` kills them too (lock drop and implicit init on SQLite, through
``store_locks_held`` and ``bad_input_refused`` / ``acknowledged_durable``)."""

BY_NAME = {m.name: m for m in MUTANTS}


def core_by_name(name: str) -> Core:
    """``session_core`` (the unmodified core) or a mutant's name; ``KeyError`` otherwise."""
    if name == CORRECT.name:
        return CORRECT
    return BY_NAME[name].core


__all__ = ["BY_NAME", "FILE_MUTANTS", "MUTANTS", "Mutant", "core_by_name"]
