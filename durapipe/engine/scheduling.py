"""Pure dataflow scheduling over a pipeline spec: which steps are ready, given what is done.

The orchestrator only wires these decisions to Durable tasks, so they are tested directly.
Readiness is tracked by counting unmet upstream steps, so each completion costs the size of
its own fan-out, never a scan of the whole graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durapipe.model.contracts import FAILED, NOT_RUN, RAN, REUSED, RUNNING, WAITING, StatusBoard


@dataclass
class Dataflow:
    """The scheduling state of one run: step states, resolved outputs and the ready queue."""

    upstream: dict[str, set[str]]
    downstream: dict[str, list[str]]
    order: list[str]
    states: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmet: dict[str, int] = field(default_factory=dict)
    ready: list[str] = field(default_factory=list)
    failed: bool = False

    @classmethod
    def from_spec(cls, spec: dict[str, Any], resolved: dict[str, dict[str, Any]],
                  order: list[str] | None = None) -> "Dataflow":
        """Build the state for `spec` (spec JSON) with `resolved` steps (name -> outputs) already done.

        `order` names every step of the run in spec order when `spec` holds only the steps still to
        run (as a plan gives them): the others are in `resolved`, and count as reused.
        """
        upstream: dict[str, set[str]] = {}
        downstream: dict[str, list[str]] = {s["name"]: [] for s in spec["steps"]}
        for s in spec["steps"]:
            # A parent outside `spec` (a segment of a larger graph) must be in `resolved`.
            parents = {b["step"] for b in s["inputs"].values() if "step" in b and b["step"] in downstream}
            upstream[s["name"]] = parents
            for parent in sorted(parents):
                downstream[parent].append(s["name"])
        names = [s["name"] for s in spec["steps"]] if order is None else list(order)
        flow = cls(upstream=upstream, downstream=downstream, order=names)
        flow.outputs.update({name: outs for name, outs in resolved.items() if name not in downstream})
        for name in flow.order:
            if name in resolved:
                flow.states[name] = REUSED
                flow.outputs[name] = resolved[name]
            else:
                flow.states[name] = WAITING
        for name in flow.order:
            if flow.states[name] == WAITING:
                flow.unmet[name] = sum(1 for p in upstream[name] if flow.states[p] != REUSED)
                if flow.unmet[name] == 0:
                    flow.ready.append(name)
        return flow

    def take_ready(self, limit: int) -> list[str]:
        """Mark up to `limit` ready steps as running and return them, in spec order."""
        if self.failed or limit <= 0:
            return []
        taken, self.ready = self.ready[:limit], self.ready[limit:]
        for name in taken:
            self.states[name] = RUNNING
        return taken

    def complete(self, name: str, outputs: dict[str, Any], reused: bool = False) -> None:
        """Record that `name` finished with `outputs`, releasing the steps that waited only on it."""
        self.states[name] = REUSED if reused else RAN
        self.outputs[name] = outputs
        for child in self.downstream[name]:
            if child not in self.unmet:
                continue  # a step reused at planning, linked when it was made again (`reopen`)
            self.unmet[child] -= 1
            if self.unmet[child] == 0 and self.states[child] == WAITING:
                self.ready.append(child)

    def reopen(self, name: str, parents: set[str], readers: list[str]) -> None:
        """Run `name` again, done or failed (an input it needs, or an output of it, was lost).

        It waits for those of `parents` (the steps it reads) not done, and each of `readers` (the steps that
        read it) still waiting waits for it again. Reopen steps upstream first: a parent reopened later is
        not waited for.
        """
        # Readers waiting on a failed step still count it; those of a done step had it counted off.
        was_done = self.states.get(name) in (REUSED, RAN)
        self.upstream[name] = set(parents)
        children = self.downstream.setdefault(name, [])
        for parent in sorted(parents):
            linked = self.downstream.setdefault(parent, [])
            if name not in linked:
                linked.append(name)
        for reader in readers:
            if reader not in children:
                children.append(reader)
            self.upstream.setdefault(reader, set()).add(name)
            if was_done and self.states.get(reader) == WAITING:
                if reader in self.ready:
                    self.ready.remove(reader)
                self.unmet[reader] = self.unmet.get(reader, 0) + 1
        self.states[name] = WAITING
        self.unmet[name] = sum(1 for p in parents if self.states.get(p) in (WAITING, RUNNING))
        if self.unmet[name] == 0:
            self.ready.append(name)

    def fail(self, name: str) -> None:
        """Record that `name` failed: nothing new starts from now on."""
        self.states[name] = FAILED
        self.failed = True
        self.ready.clear()

    def finish(self) -> None:
        """Mark every step that never started as not run."""
        for name, state in self.states.items():
            if state == WAITING:
                self.states[name] = NOT_RUN

    def running(self) -> list[str]:
        """Steps currently running."""
        return [n for n in self.order if self.states[n] == RUNNING]


class StepBoard:
    """A run's custom status: each step's state and times, kept current one step at a time.

    The orchestrator publishes this one document and the SDK serialises it when the episode
    ends, so a change costs the steps it touches, not a rebuild of every step on every pass
    of the loop (and replay repeats every pass of the history).
    """

    def __init__(self, run_id: str, flow: Dataflow, timing: dict[str, dict[str, str]]) -> None:
        self.flow, self.timing = flow, timing
        self.doc: StatusBoard = {"run_id": run_id, "steps": {}}
        self.touch(flow.order)

    def touch(self, names: Any) -> None:
        """Show the current state and times of `names` (in `flow` and `timing`)."""
        steps = self.doc["steps"]
        for name in names:
            steps[name] = {"state": self.flow.states[name], **self.timing.get(name, {})}


def step_inputs(step: dict[str, Any], run_inputs: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Concrete artifact refs for a step's inputs: pipeline inputs or upstream outputs."""
    bound: dict[str, Any] = {}
    for name, binding in step["inputs"].items():
        if "input" in binding:
            ref = run_inputs.get(binding["input"])
            if ref is not None:
                bound[name] = ref
        else:
            bound[name] = outputs[binding["step"]][binding["output"]]
    return bound


def step_parents(step: dict[str, Any]) -> set[str]:
    """The steps whose outputs `step` (spec JSON) reads."""
    return {b["step"] for b in step["inputs"].values() if "step" in b}


def readers_of(steps: dict[str, dict[str, Any]], name: str) -> list[str]:
    """The steps of `steps` (name -> spec JSON) that read an output of `name`, in the order of `steps`."""
    return [reader for reader, step in steps.items() if name in step_parents(step)]


def producer_of(step: dict[str, Any], input_name: str) -> tuple[str, str] | None:
    """The (step, output) that `step`'s input `input_name` is bound to, or None when no step makes it (a run input)."""
    binding = step["inputs"].get(input_name) or {}
    return (binding["step"], binding["output"]) if "step" in binding else None


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """Split `items` into consecutive lists of at most `size`."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def segments(spec: dict[str, Any], resolved: set[str], size: int) -> list[list[str]]:
    """The steps still to run (spec order, which is topological), cut into runs of at most `size`."""
    remaining = [s["name"] for s in spec["steps"] if s["name"] not in resolved]
    return chunks(remaining, size)


def segment_dependencies(spec: dict[str, Any], groups: list[list[str]]) -> list[set[int]]:
    """For each segment, the earlier segments whose steps it reads."""
    where = {name: i for i, group in enumerate(groups) for name in group}
    deps: list[set[int]] = [set() for _ in groups]
    for s in spec["steps"]:
        mine = where.get(s["name"])
        if mine is None:
            continue
        for b in s["inputs"].values():
            other = where.get(b.get("step", ""))
            if other is not None and other != mine:
                deps[mine].add(other)
    return deps
