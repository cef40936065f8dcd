"""Jepsen-style operation histories.

Each operation is an ``invoke`` event followed by exactly one completion: ``ok`` (it took
effect: committed and acknowledged), ``fail`` (definitely no effect) or ``info`` (indeterminate:
a crash or an error after possible durability). Completions carry the outcome, the error type
and the receipts returned. Histories serialize to JSONL, one event per line.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

EventType = Literal["invoke", "ok", "fail", "info"]


@dataclass(frozen=True)
class Event:
    index: int
    process: str
    type: EventType
    op: str
    session: str | None
    value: dict[str, object]
    receipts: tuple[dict[str, object], ...] = ()
    step: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "process": self.process,
            "type": self.type,
            "op": self.op,
            "session": self.session,
            "value": self.value,
            "receipts": list(self.receipts),
            "step": self.step,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Event:
        value = data.get("value")
        receipts = data.get("receipts")
        session = data.get("session")
        index = data.get("index")
        return cls(
            index if isinstance(index, int) else 0,
            str(data["process"]),
            _event_type(data["type"]),
            str(data["op"]),
            None if session is None else str(session),
            dict(value) if isinstance(value, dict) else {},
            tuple(dict(r) for r in receipts) if isinstance(receipts, list) else (),
            str(data.get("step", "")),
        )

    @property
    def input_id(self) -> str | None:
        value = self.value.get("input")
        return value if isinstance(value, str) else None

    @property
    def outcome(self) -> str | None:
        value = self.value.get("outcome")
        return value if isinstance(value, str) else None


def _event_type(value: object) -> EventType:
    if value == "invoke":
        return "invoke"
    if value == "ok":
        return "ok"
    if value == "fail":
        return "fail"
    if value == "info":
        return "info"
    raise ValueError(f"unknown event type {value!r}")


@dataclass(frozen=True)
class Operation:
    """An invoke paired with its completion (``None`` while pending)."""

    invoke: Event
    done: Event | None

    @property
    def type(self) -> EventType:
        return "info" if self.done is None else self.done.type

    @property
    def op(self) -> str:
        return self.invoke.op

    @property
    def session(self) -> str | None:
        return self.invoke.session

    @property
    def input_id(self) -> str | None:
        return self.invoke.input_id

    @property
    def outcome(self) -> str | None:
        return None if self.done is None else self.done.outcome


@dataclass
class History:
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ops: tuple[int, list[Operation]] | None = field(default=None, repr=False)

    def invoke(
        self, process: str, op: str, session: str | None, value: dict[str, object], step: str
    ) -> Event:
        with self._lock:
            event = Event(len(self.events), process, "invoke", op, session, value, (), step)
            self.events.append(event)
            return event

    def complete(
        self,
        invoke: Event,
        type_: EventType,
        value: dict[str, object],
        receipts: tuple[dict[str, object], ...] = (),
    ) -> Event:
        merged = {**invoke.value, **value}
        with self._lock:
            event = Event(
                len(self.events),
                invoke.process,
                type_,
                invoke.op,
                invoke.session,
                merged,
                receipts,
                invoke.step,
            )
            self.events.append(event)
            return event

    def operations(self) -> list[Operation]:
        """Invokes paired with completions (cached until the next event is recorded)."""
        cached = self._ops
        if cached is not None and cached[0] == len(self.events):
            return cached[1]
        ops = self._pair()
        self._ops = (len(self.events), ops)
        return ops

    def _pair(self) -> list[Operation]:
        pending: dict[str, Event] = {}
        ops: list[Operation] = []
        slots: dict[int, int] = {}
        for event in self.events:
            if event.type == "invoke":
                pending[event.process] = event
                slots[event.index] = len(ops)
                ops.append(Operation(event, None))
                continue
            start = pending.pop(event.process, None)
            if start is not None:
                ops[slots[start.index]] = Operation(start, event)
        return ops

    def __iter__(self) -> Iterator[Event]:
        return iter(list(self.events))

    def __len__(self) -> int:
        return len(self.events)

    def to_jsonl(self) -> str:
        return "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in self.events)

    @classmethod
    def from_jsonl(cls, text: str) -> History:
        history = cls()
        for line in text.splitlines():
            if line.strip():
                history.events.append(Event.from_json(json.loads(line)))
        return history


__all__ = ["Event", "EventType", "History", "Operation"]
