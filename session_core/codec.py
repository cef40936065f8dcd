"""Session document bytes (projection rows and runtime snapshots) and receipt derivation."""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

from session_core.errors import ReceiptMismatch, SnapshotIdentityMismatch, UndecodableRow
from session_core.model import (
    ROLES,
    Lifecycle,
    Message,
    Receipt,
    ReceiptKind,
    RewriteCommit,
    Role,
    Session,
    ToolCall,
    canonical_json,
    validate_session_id,
)
from session_core.model import (
    SESSION_ID_RE as _SESSION_ID_RE,
)

FORMAT = 1


class DecodeError(ValueError):
    """Internal: turned into ``UndecodableRow`` (with file and session) by the stores."""


def _session_json(session: Session) -> dict[str, object]:
    """The document as plain JSON data (``encode_session`` is its canonical JSON)."""
    return {
        "format": FORMAT,
        "id": session.id,
        "lifecycle": session.lifecycle.value,
        "metadata": dict(session.metadata),
        "messages": [m.to_json() for m in session.messages],
        "rewrites": [c.to_json() for c in session.rewrites],
    }


def encode_session(session: Session) -> bytes:
    """``canonical_json(_session_json(session))``, assembled from cached per-message bytes.

    Keys in sorted order: format, id, lifecycle, messages, metadata, rewrites. The result is
    remembered by the decode cache (decoding it yields an equal document).
    """
    prefix, messages, suffix = snapshot_parts(session)
    data = b"".join((prefix, b",".join(messages), suffix))
    if _decodable(session):
        _remember(data, session)
    return data


@functools.lru_cache(maxsize=4096)
def _prefix(session_id: str, lifecycle: str) -> bytes:
    return b"".join(
        (
            b'{"format":',
            canonical_json(FORMAT),
            b',"id":',
            canonical_json(session_id),
            b',"lifecycle":',
            canonical_json(lifecycle),
            b',"messages":[',
        )
    )


def snapshot_parts(session: Session) -> tuple[bytes, list[bytes], bytes]:
    """The document bytes in three parts: everything before the messages, each message's
    canonical bytes, everything after them; ``prefix + b",".join(messages) + suffix`` is
    ``encode_session(session)`` (the SQLite authority stores the messages as rows)."""
    prefix = _prefix(session.id, session.lifecycle.value)
    suffix = b"".join(
        (b'],"metadata":', session.metadata_json, b',"rewrites":', session.rewrites_json, b"}")
    )
    return prefix, [m.full_bytes for m in session.messages], suffix


def _decodable(session: Session) -> bool:
    """What ``_decode`` would accept beyond the JSON shape (checked before priming the cache)."""
    return _SESSION_ID_RE.fullmatch(session.id) is not None and all(
        isinstance(k, str) and isinstance(v, str) for k, v in session.metadata.items()
    )


def decode_session(
    data: bytes, *, session_id: str | None = None, path: str | None = None
) -> Session:
    """Decode a row/snapshot; ``UndecodableRow`` naming file and session on any defect."""
    try:
        session = _cached_decode(data)
    except (DecodeError, ValueError, TypeError, KeyError) as exc:
        raise UndecodableRow(
            f"undecodable session row: {exc}", session_id=session_id, path=path
        ) from exc
    if session_id is not None and session.id != session_id:
        raise UndecodableRow(f"row holds session {session.id!r}", session_id=session_id, path=path)
    return session


_CACHE: OrderedDict[bytes, Session] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def _cached_decode(data: bytes) -> Session:
    """Sessions are immutable, so identical bytes may share one decoded value (bounded LRU)."""
    with _CACHE_LOCK:
        hit = _CACHE.get(data)
        if hit is not None:
            _CACHE.move_to_end(data)
            return hit
    session = _decode(data)
    _remember(data, session)
    return session


def _remember(data: bytes, session: Session) -> None:
    with _CACHE_LOCK:
        _CACHE[data] = session
        _CACHE.move_to_end(data)
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def _decode(data: bytes) -> Session:
    raw = json.loads(data.decode("utf-8"))
    obj = _dict(raw, "document")
    if obj.get("format") != FORMAT:
        raise DecodeError(f"unknown document format {obj.get('format')!r}")
    lifecycle = Lifecycle(_str(obj["lifecycle"], "lifecycle"))
    metadata = {str(k): _str(v, "metadata value") for k, v in _dict(obj["metadata"], "m").items()}
    return Session(
        id=validate_session_id(obj["id"]),
        messages=_messages(obj["messages"]),
        metadata=metadata,
        lifecycle=lifecycle,
        rewrites=tuple(_rewrite(item) for item in _list(obj["rewrites"], "rewrites")),
    )


def _dict(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise DecodeError(f"{what} is not an object")
    return value


def _list(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise DecodeError(f"{what} is not a list")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"{what} is not a string")
    return value


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DecodeError(f"{what} is not an integer")
    return value


def _messages(value: object) -> tuple[Message, ...]:
    return tuple(_message(item) for item in _list(value, "messages"))


def _message(value: object) -> Message:
    obj = _dict(value, "message")
    role = _str(obj["role"], "role")
    if role not in ROLES:
        raise DecodeError(f"unknown role {role!r}")
    role_value: Role = role  # type: ignore[assignment]
    calls = tuple(_tool_call(c) for c in _list(obj.get("tool_calls", []), "tool_calls"))
    call_id = obj.get("tool_call_id")
    created = obj.get("created_at", 0.0)
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise DecodeError("created_at is not a number")
    return Message(
        role=role_value,
        content=_str(obj["content"], "content"),
        tool_calls=calls,
        tool_call_id=None if call_id is None else _str(call_id, "tool_call_id"),
        transient=bool(obj.get("transient", False)),
        id=_str(obj.get("id", ""), "id"),
        created_at=float(created),
    )


def _tool_call(value: object) -> ToolCall:
    obj = _dict(value, "tool call")
    return ToolCall(
        id=_str(obj["id"], "tool call id"),
        name=_str(obj["name"], "tool name"),
        arguments=_dict(obj.get("arguments", {}), "arguments"),
    )


def _rewrite(value: object) -> RewriteCommit:
    obj = _dict(value, "rewrite")
    commit = RewriteCommit(
        parent_revision=_str(obj["parent_revision"], "parent_revision"),
        revision=_str(obj["revision"], "revision"),
        start=_int(obj["start"], "start"),
        end=_int(obj["end"], "end"),
        replaced=_messages(obj["replaced"]),
        replacement=_messages(obj["replacement"]),
        reason=_str(obj["reason"], "reason"),
        messages_before=_int(obj["messages_before"], "messages_before"),
        messages_after=_int(obj["messages_after"], "messages_after"),
    )
    if commit.to_json() != obj:
        raise DecodeError("rewrite commit fields are inconsistent")
    return commit


def derive_receipt(
    snapshot: bytes,
    *,
    session_id: str,
    run_id: str,
    sequence: int,
    kind: ReceiptKind,
    input_ids: Sequence[str],
) -> Receipt:
    """Build a receipt whose facts are derived from ``snapshot`` (the bytes to commit)."""
    session = decode_session(snapshot)
    if session.id != session_id:
        raise SnapshotIdentityMismatch(f"snapshot belongs to {session.id!r}", session_id=session_id)
    return Receipt(
        session_id=session_id,
        run_id=run_id,
        sequence=sequence,
        kind=kind,
        input_ids=tuple(input_ids),
        digest=session.revision,
        message_count=len(session.messages),
    )


def check_receipt(snapshot: bytes, receipt: Receipt, *, path: str | None = None) -> Session:
    """Decode ``snapshot`` and verify the receipt's facts against it (store-side guard)."""
    session = decode_session(snapshot, path=path)
    if session.id != receipt.session_id:
        raise SnapshotIdentityMismatch(
            f"snapshot belongs to {session.id!r}", session_id=receipt.session_id, path=path
        )
    if session.revision != receipt.digest or len(session.messages) != receipt.message_count:
        raise ReceiptMismatch(
            "receipt facts do not match the snapshot bytes",
            session_id=receipt.session_id,
            path=path,
        )
    return session
