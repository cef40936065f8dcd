"""Jepsen-style operation histories.

Each operation is an ``invoke`` event followed by exactly one completion: ``ok`` (it took
effect: committed and acknowledged), ``fail`` (definitely no effect) or ``info`` (indeterminate:
a crash or an error after possible durability). Completions carry the outcome, the error type
and the receipts returned. Histories serialize to JSONL, one event per line.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

EventType = Literal["invoke", "ok", "fail", "info"]
T = TypeVar("T")
A = TypeVar("A")


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
    """An invoke paired with its completion (``None`` while pending).

    ``type``, ``op``, ``session``, ``input_id`` and ``outcome`` are read by every checker, so
    they are plain attributes, set once from the two events."""

    invoke: Event
    done: Event | None
    type: EventType = field(init=False, repr=False, compare=False)
    op: str = field(init=False, repr=False, compare=False)
    session: str | None = field(init=False, repr=False, compare=False)
    input_id: str | None = field(init=False, repr=False, compare=False)
    outcome: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        invoke, done = self.invoke, self.done
        facts = self.__dict__
        facts["type"] = "info" if done is None else done.type
        facts["op"] = invoke.op
        facts["session"] = invoke.session
        facts["input_id"] = invoke.input_id
        facts["outcome"] = None if done is None else done.outcome


CACHE_LIMIT = 4096
"""Distinct event contents numbered before the table is reset (numbers are never reused)."""
_EVENT_IDS: dict[str, int] = {}
_NEXT_ID = itertools.count(1)


def _event_id(event: Event) -> int:
    """One number per distinct event content (events hold plain data: str, int, bool, None,
    lists and dicts of them, so ``repr`` tells them apart). Numbers are never reused."""
    text = repr(
        (
            event.index,
            event.process,
            event.type,
            event.op,
            event.session,
            event.value,
            event.receipts,
            event.step,
        )
    )
    found = _EVENT_IDS.get(text)
    if found is None:
        if len(_EVENT_IDS) >= CACHE_LIMIT:
            _EVENT_IDS.clear()
        found = _EVENT_IDS[text] = next(_NEXT_ID)
    return found


@dataclass
class _Pairing:
    """Incremental invoke/completion pairing over a growing event list: only new events are
    read, and an ``Operation`` is built once per change of its pair."""

    seen: int = 0
    pairs: list[tuple[Event, Event | None]] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)
    """Process -> position (in ``pairs``) of its latest invoke still waiting for completion."""
    ops: list[Operation] = field(default_factory=list)
    view: list[Operation] | None = None

    def update(self, events: list[Event]) -> list[Operation]:
        if self.seen < len(events):
            changed = {self._add(event) for event in events[self.seen :]}
            changed.discard(-1)
            self.seen = len(events)
            for position in sorted(changed):
                op = Operation(*self.pairs[position])
                if position < len(self.ops):
                    self.ops[position] = op
                else:
                    self.ops.append(op)
            self.view = None
        if self.view is None:
            self.view = list(self.ops)
        return self.view

    def _add(self, event: Event) -> int:
        """Pair ``event``; the position of the pair it changed (-1: none)."""
        if event.type == "invoke":
            self.pending[event.process] = len(self.pairs)
            self.pairs.append((event, None))
            return len(self.pairs) - 1
        position = self.pending.pop(event.process, None)
        if position is None:
            return -1
        self.pairs[position] = (self.pairs[position][0], event)
        return position


@dataclass
class History:
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pairing: _Pairing | None = field(default=None, init=False, repr=False)
    _derived: dict[str, tuple[int, object]] = field(default_factory=dict, init=False, repr=False)
    _content: tuple[list[Event], list[int]] | None = field(default=None, init=False, repr=False)

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
        """Invokes paired with completions. Pairing is incremental (only events recorded
        since the last call are read); the list returned is a fresh copy when it changed."""
        pairing = self._pairing
        if pairing is None or pairing.seen > len(self.events):
            pairing = self._pairing = _Pairing()
        return pairing.update(self.events)

    def content_key(self) -> tuple[int, ...]:
        """The events as numbers, equal (in this process) only for equal events: a cheap key
        for results computed from the history alone. Only new events are encoded."""
        content = self._content
        if content is None or content[0] is not self.events or len(content[1]) > len(self.events):
            content = self._content = (self.events, [])
        ids = content[1]
        for event in self.events[len(ids) :]:
            ids.append(_event_id(event))
        return tuple(ids)

    def derived(self, name: str, compute: Callable[[A], T], arg: A) -> T:
        """``compute(arg)``, a function of the events alone, kept until the next event."""
        count = len(self.events)
        kept = self._derived.get(name)
        if kept is not None and kept[0] == count:
            return cast(T, kept[1])
        value = compute(arg)
        self._derived[name] = (count, value)
        return value

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
