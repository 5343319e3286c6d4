"""One orchestrator episode: history in as the extension's context JSON, actions and state out."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from durapipe.host.sdk_compat import ActionType

OUT_OF_PROC_MARKER = "$OutOfProcData$:"
WAIT_FOR_EXTERNAL_EVENT = ActionType.WAIT_FOR_EXTERNAL_EVENT
COMPOUND_ACTIONS = (ActionType.WHEN_ANY, ActionType.WHEN_ALL)


@dataclass
class EpisodeResult:
    """What the orchestrator decided in one episode."""

    done: bool
    error: str | None
    output: Any
    custom_status: Any
    leaves: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the orchestrator raised."""
        return self.error is not None


def build_context(event_texts: Iterable[str], input_text: str | None, instance_id: str,
                  parent_instance_id: str | None, is_replaying: bool) -> str:
    """The orchestration trigger payload, assembled from already-serialised event texts."""
    # The history is spliced in as text so old events are serialised once, not every episode.
    head = json.dumps({"input": input_text, "instanceId": instance_id, "isReplaying": is_replaying,
                       "parentInstanceId": parent_instance_id, "upperSchemaVersion": 1,
                       "upperSchemaVersionNew": 2})
    return '{"history": [' + ",".join(event_texts) + "], " + head[1:]


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Every leaf action depth-first, without WaitForExternalEvent (it takes no sequence id)."""
    leaves: list[dict[str, Any]] = []

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                walk(child)
        elif item.get("actionType") in COMPOUND_ACTIONS:
            walk(item.get("compoundActions") or [])
        elif item.get("actionType") != WAIT_FOR_EXTERNAL_EVENT:
            leaves.append(item)

    walk(actions)
    return leaves


def parse_state(state: dict[str, Any], error: str | None) -> EpisodeResult:
    """An EpisodeResult from the orchestrator's state JSON (and the error when it raised)."""
    return EpisodeResult(done=bool(state.get("isDone")), error=error if error is not None else state.get("error"),
                         output=state.get("output"), custom_status=state.get("customStatus"),
                         leaves=flatten_actions(state.get("actions") or []))


def run_episode(handle: Callable[[str], str], context_json: str) -> EpisodeResult:
    """Call the orchestrator's handle() as the worker does and read its decisions."""
    try:
        return parse_state(json.loads(handle(context_json)), None)
    except Exception as exc:  # the orchestrator (or the SDK) raised
        message = str(exc)
        error, marker, state_text = message.partition(OUT_OF_PROC_MARKER)
        if not marker:
            return EpisodeResult(done=False, error=message or repr(exc), output=None, custom_status=None)
        state = json.loads(state_text)
        return parse_state(state, state.get("error") or error.strip())
