"""A deterministic scripted agent: a fake model replaying a script, tools as Python callables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from session_core.errors import SessionCoreError
from session_core.model import Message, Session, ToolCall


@dataclass(frozen=True)
class Say:
    """The model answers with text; the run ends after the last step."""

    text: str


@dataclass(frozen=True)
class CallTools:
    """The model calls a batch of tools: ``((name, arguments), ...)``."""

    calls: tuple[tuple[str, Mapping[str, object]], ...]


Step = Say | CallTools
Script = Callable[[str, int], Sequence[Step]]
"""``script(user_text, turn_index)`` -> the model steps of that turn (turn_index from 1)."""
Tool = Callable[[Mapping[str, object]], str]


class ToolFailed(SessionCoreError):
    """A tool raised or is unknown: the run fails before its commit."""


class RunHooks(Protocol):
    """Called by the agent at each pipeline step; the service puts fault sites here."""

    def model_call(self, session: Session) -> None: ...

    def tool_batch(self, session: Session) -> None: ...

    def after_tools(self, session: Session) -> None: ...


class ScriptedModel:
    """Replays a script: a function of (user text, turn index) or a list of per-turn steps."""

    def __init__(self, script: Script | Sequence[Sequence[Step]]) -> None:
        self._script = script

    def steps(self, user_text: str, turn_index: int) -> list[Step]:
        if callable(self._script):
            return list(self._script(user_text, turn_index))
        turns = self._script
        return list(turns[(turn_index - 1) % len(turns)]) if turns else [Say("")]


def demo_script(user_text: str, turn_index: int) -> list[Step]:
    """One tool batch (two tools) then a text answer: two model calls per turn."""
    return [
        CallTools((("add", {"a": turn_index, "b": len(user_text)}), ("echo", {"text": user_text}))),
        Say(f"turn {turn_index}: {user_text}"),
    ]


def _add(args: Mapping[str, object]) -> str:
    a, b = args.get("a", 0), args.get("b", 0)
    if not isinstance(a, int) or not isinstance(b, int):
        raise ValueError("add needs integers")
    return str(a + b)


def _echo(args: Mapping[str, object]) -> str:
    return str(args.get("text", ""))


DEMO_TOOLS: dict[str, Tool] = {"add": _add, "echo": _echo}


@dataclass
class Agent:
    """Runs one turn on an in-memory session; never touches a store."""

    model: ScriptedModel = field(default_factory=lambda: ScriptedModel(demo_script))
    tools: Mapping[str, Tool] = field(default_factory=lambda: dict(DEMO_TOOLS))
    clock: Callable[[], float] = field(default=lambda: 0.0)

    def run(
        self, session: Session, user: Message, run_id: str, hooks: RunHooks
    ) -> tuple[Session, str]:
        """Append ``user`` and the model's messages; return the session and the final text."""
        session = session.append(user)
        turn_index = sum(1 for m in session.messages if m.role == "user")
        text = ""
        for number, step in enumerate(self.model.steps(user.content, turn_index)):
            hooks.model_call(session)
            msg_id = f"{run_id}.{number}"
            if isinstance(step, Say):
                session = session.append(self._message("assistant", step.text, msg_id))
                text = step.text
                continue
            session = self._tools(session, step, msg_id, hooks)
        return session, text

    def _message(self, role: str, content: str, msg_id: str, **extra: object) -> Message:
        return Message(role, content, id=msg_id, created_at=self.clock(), **extra)  # type: ignore[arg-type]

    def _tools(self, session: Session, step: CallTools, msg_id: str, hooks: RunHooks) -> Session:
        calls = tuple(
            ToolCall(f"{msg_id}.c{i}", name, dict(args))
            for i, (name, args) in enumerate(step.calls)
        )
        session = session.append(self._message("assistant", "", msg_id, tool_calls=calls))
        hooks.tool_batch(session)
        results = [
            self._message("tool", self._call(session.id, c), f"{c.id}.r", tool_call_id=c.id)
            for c in calls
        ]
        session = session.append(*results)
        hooks.after_tools(session)
        return session

    def _call(self, session_id: str, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            raise ToolFailed(f"unknown tool {call.name!r}", session_id=session_id)
        try:
            return tool(call.arguments)
        except Exception as exc:
            raise ToolFailed(f"tool {call.name!r} failed: {exc}", session_id=session_id) from exc
