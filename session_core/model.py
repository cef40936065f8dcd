"""Plain immutable data: messages, sessions, rewrite commits, receipts, input/runtime states.

Identity:

* ``revision_of(messages)``: SHA-256 over the canonical JSON of the messages' *content*
  (role, content, tool calls, tool call id, transient flag). Message ids and timestamps are
  excluded, so the revision is content-addressed.
* ``row_token(data)``: SHA-256 of the stored row bytes, used for compare-and-swap.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from session_core.errors import HistoryError, InvalidSessionId

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})

SESSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_SESSION_ID = 128


def validate_session_id(session_id: object) -> str:
    """Return ``session_id`` or raise ``InvalidSessionId``.

    1-128 characters of ``[A-Za-z0-9._-]``, starting with a letter or digit (so no path
    separators, no ``..`` prefix, no whitespace or control characters).
    """
    if not isinstance(session_id, str) or SESSION_ID_RE.fullmatch(session_id) is None:
        shown = repr(session_id)[:60]
        raise InvalidSessionId(
            f"invalid session id {shown}: need 1-{MAX_SESSION_ID} chars of [A-Za-z0-9._-], "
            "starting with a letter or digit"
        )
    return session_id


def canonical_json(value: object) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row_token(data: bytes) -> str:
    """The CAS token of a stored row: SHA-256 of its bytes."""
    return sha256_hex(data)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # JSON-normal arguments (lists, dicts, str/int/float/bool/None), so a decoded document
        # equals the one that was encoded.
        normal = json.loads(json.dumps(dict(self.arguments), sort_keys=True))
        object.__setattr__(self, "arguments", normal)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "arguments": dict(self.arguments)}


@dataclass(frozen=True)
class Message:
    """One transcript entry. ``id`` and ``created_at`` do not take part in the revision.

    ``tool_calls`` are set on assistant messages that call tools; ``tool_call_id`` on the tool
    result. ``transient`` marks notices that a later save may clean up.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    transient: bool = False
    id: str = ""
    created_at: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.created_at, float):
            object.__setattr__(self, "created_at", float(self.created_at))

    def content_json(self) -> dict[str, object]:
        data: dict[str, object] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [call.to_json() for call in self.tool_calls]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        if self.transient:
            data["transient"] = True
        return data

    def to_json(self) -> dict[str, object]:
        data = self.content_json()
        data["id"] = self.id
        data["created_at"] = self.created_at
        return data

    @cached_property
    def content_bytes(self) -> bytes:
        """Canonical JSON of the content (cached: messages are immutable)."""
        return canonical_json(self.content_json())

    @cached_property
    def full_bytes(self) -> bytes:
        """Canonical JSON including id and timestamp (cached)."""
        return canonical_json(self.to_json())

    def same_content(self, other: Message) -> bool:
        return self is other or self.content_bytes == other.content_bytes


def revision_of(messages: Sequence[Message]) -> str:
    """Content-addressed revision: SHA-256 of ``canonical_json([content of each message])``.

    Built from the cached per-message canonical bytes; byte-identical to encoding the list.
    """
    return sha256_hex(b"[" + b",".join(m.content_bytes for m in messages) + b"]")


def same_messages(left: Sequence[Message], right: Sequence[Message]) -> bool:
    return len(left) == len(right) and all(
        a.same_content(b) for a, b in zip(left, right, strict=True)
    )


class Lifecycle(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class RewriteCommit:
    """A same-id history rewrite (compaction, system refresh).

    ``parent[start:end]`` (the ``replaced`` messages) became ``replacement``. Keeping the
    replaced messages makes the commit invertible, so a projection can materialize the parent
    (bridge save) of any rewrite in the retained history.
    """

    parent_revision: str
    revision: str
    start: int
    end: int
    replaced: tuple[Message, ...]
    replacement: tuple[Message, ...]
    reason: str
    messages_before: int
    messages_after: int

    def to_json(self) -> dict[str, object]:
        return {
            "parent_revision": self.parent_revision,
            "revision": self.revision,
            "start": self.start,
            "end": self.end,
            "replaced": [m.to_json() for m in self.replaced],
            "replacement": [m.to_json() for m in self.replacement],
            "replacement_digest": revision_of(self.replacement),
            "reason": self.reason,
            "messages_before": self.messages_before,
            "messages_after": self.messages_after,
        }

    @cached_property
    def digest(self) -> str:
        return sha256_hex(canonical_json(self.to_json()))

    @property
    def replaced_user_inputs(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.replaced if m.role == "user")


def make_rewrite(
    parent: Sequence[Message], start: int, end: int, replacement: Sequence[Message], reason: str
) -> RewriteCommit:
    if not 0 <= start <= end <= len(parent):
        raise HistoryError(f"rewrite range {start}:{end} outside 0:{len(parent)}")
    child = [*parent[:start], *replacement, *parent[end:]]
    return RewriteCommit(
        parent_revision=revision_of(parent),
        revision=revision_of(child),
        start=start,
        end=end,
        replaced=tuple(parent[start:end]),
        replacement=tuple(replacement),
        reason=reason,
        messages_before=len(parent),
        messages_after=len(child),
    )


def apply_rewrite(parent: Sequence[Message], commit: RewriteCommit) -> tuple[Message, ...]:
    """The child transcript; ``HistoryError`` if ``parent`` is not the commit's parent."""
    if revision_of(parent) != commit.parent_revision:
        raise HistoryError("rewrite parent revision does not match the transcript")
    child = (*parent[: commit.start], *commit.replacement, *parent[commit.end :])
    if revision_of(child) != commit.revision:
        raise HistoryError("rewrite result does not match its revision")
    return child


def invert_rewrite(child: Sequence[Message], commit: RewriteCommit) -> tuple[Message, ...]:
    """The parent transcript of ``child``; ``HistoryError`` on a forged edge."""
    if revision_of(child) != commit.revision:
        raise HistoryError("rewrite child revision does not match the transcript")
    tail = commit.start + len(commit.replacement)
    parent = (*child[: commit.start], *commit.replaced, *child[tail:])
    if revision_of(parent) != commit.parent_revision:
        raise HistoryError("rewrite parent edge is forged")
    return parent


@dataclass(frozen=True)
class Session:
    """A session document: the projection row, and the authority snapshot's content."""

    id: str
    messages: tuple[Message, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    rewrites: tuple[RewriteCommit, ...] = ()

    @cached_property
    def revision(self) -> str:
        return revision_of(self.messages)

    @cached_property
    def metadata_json(self) -> bytes:
        """Canonical JSON of the metadata (computed once: sessions are immutable)."""
        return canonical_json(dict(self.metadata))

    @cached_property
    def rewrites_json(self) -> bytes:
        """Canonical JSON of the retained rewrite commits (computed once)."""
        return canonical_json([c.to_json() for c in self.rewrites])

    @property
    def archived(self) -> bool:
        return self.lifecycle is Lifecycle.ARCHIVED

    def append(self, *messages: Message) -> Session:
        return replace(self, messages=(*self.messages, *messages))

    def with_lifecycle(self, lifecycle: Lifecycle) -> Session:
        return replace(self, lifecycle=lifecycle)

    def rewrite(
        self, start: int, end: int, replacement: Sequence[Message], reason: str
    ) -> tuple[Session, RewriteCommit]:
        commit = make_rewrite(self.messages, start, end, replacement, reason)
        child = apply_rewrite(self.messages, commit)
        return replace(self, messages=child, rewrites=(*self.rewrites, commit)), commit

    def user_input_ids(self) -> list[str]:
        """Ids of every committed user message, including those summarised by rewrites."""
        ids = [i for commit in self.rewrites for i in commit.replaced_user_inputs]
        ids.extend(m.id for m in self.messages if m.role == "user")
        return ids


@dataclass(frozen=True)
class HistoryStep:
    """One rewrite of a session's retained history, with both transcripts materialized."""

    index: int
    commit: RewriteCommit
    parent: tuple[Message, ...]
    child: tuple[Message, ...]


def history_steps(session: Session) -> list[HistoryStep]:
    """Walk the retained rewrite history backwards from the head; ``HistoryError`` if broken.

    The walk is by position in the retained list, never by revision lookup, so chains that
    revisit a revision (repeated system refreshes) are not mistaken for cycles.
    """
    steps: list[HistoryStep] = []
    current: tuple[Message, ...] = session.messages
    for index in range(len(session.rewrites) - 1, -1, -1):
        commit = session.rewrites[index]
        if commit.messages_after > len(current):
            raise HistoryError("rewrite history longer than transcript", session_id=session.id)
        child = current[: commit.messages_after]
        try:
            parent = invert_rewrite(child, commit)
        except HistoryError as exc:
            raise HistoryError(exc.detail, session_id=session.id) from exc
        steps.append(HistoryStep(index, commit, parent, child))
        current = parent
    steps.reverse()
    return steps


class InputState(enum.StrEnum):
    ACCEPTED = "accepted"
    CONSUMED = "consumed"
    ABANDONED = "abandoned"


class RuntimeState(enum.StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    RETIRED = "retired"


ReceiptKind = Literal["checkpoint", "terminal"]


@dataclass(frozen=True)
class Receipt:
    """Run-boundary proof. Facts (digest, message count) come from the committed bytes."""

    session_id: str
    run_id: str
    sequence: int
    kind: ReceiptKind
    input_ids: tuple[str, ...]
    digest: str
    message_count: int

    def to_json(self) -> dict[str, object]:
        return {
            "session_id": self.session_id,
            "run_id": self.run_id,
            "sequence": self.sequence,
            "kind": self.kind,
            "input_ids": list(self.input_ids),
            "digest": self.digest,
            "message_count": self.message_count,
        }


@dataclass(frozen=True)
class InputRecord:
    input_id: str
    payload: str
    state: InputState
    run_id: str | None = None
