"""Pictures of a pipeline's DAG: from a spec JSON or a run record to DOT, Mermaid, SVG or PNG.

Layout is Graphviz's `dot` (through the `graphviz` package): the layered drawing every
pipeline tool's users know (`dvc dag`, Airflow, Kubeflow), and a program Debian ships.
DOT and Mermaid are text and need no program; SVG and PNG need `dot` on the PATH.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from durapipe.core.errors import UsageError

FORMATS = ("svg", "png", "dot", "mermaid")
# Fill and border per state; "done" is the orchestrator's word for a step that ran.
STATE_COLOURS = {
    "ran": ("#c8e6c9", "#2e7d32"), "done": ("#c8e6c9", "#2e7d32"), "reused": ("#bbdefb", "#1565c0"),
    "failed": ("#ffcdd2", "#c62828"), "not_run": ("#eeeeee", "#9e9e9e"), "running": ("#fff59d", "#f9a825"),
    "waiting": ("#ffffff", "#9e9e9e"), "pending": ("#ffffff", "#9e9e9e"),
}
STEP_COLOURS = ("#ffffff", "#455a64")
DATA_COLOURS = ("#f5f5f5", "#78909c")


class GraphvizMissing(UsageError):
    """SVG or PNG was asked for where Graphviz's `dot` program is not installed."""


@dataclass
class Node:
    """One box of the picture: a step, a pipeline input or a pipeline output."""

    id: str
    kind: str  # "step" | "input" | "output"
    name: str
    state: str | None = None
    detail: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The node's text: its name, then its details (state, duration, partitions)."""
        return "\n".join([self.name, *self.detail])


@dataclass
class Graph:
    """A pipeline DAG ready to draw: nodes in spec order and labelled edges."""

    title: str
    nodes: list[Node]
    edges: list[tuple[str, str, str]]  # (from id, to id, label)


def graph_of_spec(spec: dict[str, Any]) -> Graph:
    """The DAG of a pipeline spec (spec JSON): its inputs, steps and outputs."""
    nodes = [Node(f"input-{name}", "input", name) for name in spec.get("inputs", {})]
    edges: list[tuple[str, str, str]] = []
    for step in spec["steps"]:
        detail = [f"mapped over {step['map']}"] if step.get("map") else []
        nodes.append(Node(f"step-{step['name']}", "step", step["name"], detail=detail))
        for input_name, binding in step["inputs"].items():
            if "input" in binding:
                edges.append((f"input-{binding['input']}", f"step-{step['name']}", input_name))
            else:
                label = binding["output"] if binding["output"] == input_name else f"{binding['output']} → {input_name}"
                edges.append((f"step-{binding['step']}", f"step-{step['name']}", label))
    for name, binding in spec.get("outputs", {}).items():
        nodes.append(Node(f"output-{name}", "output", name))
        edges.append((f"step-{binding['step']}", f"output-{name}", binding["output"]))
    return Graph(spec["name"], nodes, edges)


def graph_of_run(record: dict[str, Any], live: dict[str, dict[str, Any]] | None = None) -> Graph:
    """The DAG of a run, each step marked with its state and duration.

    `live` (step name -> {"status", "started", "finished"}) gives the states of a run still
    going, from the orchestrator's status; a finished run's own record is used otherwise.
    """
    graph = graph_of_spec(record["spec"])
    graph.title = f"{record['spec']['name']} run {record['run_id']}"
    steps = record.get("steps") or {}
    ended = record.get("status") not in (None, "running", "pending")
    for node in graph.nodes:
        if node.kind != "step":
            continue
        entry = (live or {}).get(node.name) or steps.get(node.name)
        if entry is None:
            node.state = "not_run" if ended else "waiting"
        else:
            node.state = entry.get("status") or entry.get("state") or "waiting"
        node.detail = _step_detail(node.state, entry or {}) + [d for d in node.detail if not d.startswith("mapped")]
    return graph


def _step_detail(state: str, entry: dict[str, Any]) -> list[str]:
    words = state.replace("_", " ")
    seconds = entry.get("duration_s")
    if not seconds and entry.get("started") and entry.get("finished"):
        seconds = (datetime.fromisoformat(entry["finished"]) - datetime.fromisoformat(entry["started"])).total_seconds()
    shown = seconds is not None and state in ("ran", "done", "failed")
    detail = [f"{words} {seconds:.2f}s" if shown and seconds < 10 else f"{words} {seconds:.0f}s" if shown else words]
    parts = entry.get("partitions")
    if parts:
        detail.append(f"{parts['total']} partitions ({parts['ran']} ran)")
    return detail


def _colours(node: Node) -> tuple[str, str]:
    if node.kind != "step":
        return DATA_COLOURS
    return STATE_COLOURS.get(node.state or "", STEP_COLOURS)


def to_dot(graph: Graph) -> str:
    """The graph in Graphviz's DOT language; each step's SVG element gets the id `step-NAME`."""
    import graphviz

    dot = graphviz.Digraph(graph.title, graph_attr={"rankdir": "LR", "fontname": "Helvetica", "bgcolor": "transparent"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#78909c"})
    for node in graph.nodes:
        fill, line = _colours(node)
        attrs = {"id": node.id, "class": f"{node.kind} state-{node.state or 'none'}",
                 "style": "filled,rounded" if node.kind == "step" else "filled", "fillcolor": fill, "color": line,
                 "shape": "box" if node.kind == "step" else "note" if node.kind == "output" else "cylinder"}
        if node.kind == "step":
            attrs["penwidth"] = "2"
        dot.node(node.id, node.label.replace("\n", "\\n"), **attrs)  # DOT's own line break
    for source, target, label in graph.edges:
        dot.edge(source, target, label=label)
    return dot.source


def to_mermaid(graph: Graph) -> str:
    """The graph as a Mermaid flowchart, steps styled by state."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node in graph.nodes:
        text = "<br/>".join(_mermaid_text(part) for part in node.label.split("\n"))
        shape = ('["', '"]') if node.kind == "step" else ('[("', '")]') if node.kind == "input" else ('[/"', '"/]')
        lines.append(f"  {ids[node.id]}{shape[0]}{text}{shape[1]}" + (f":::{node.state}" if node.state else ""))
    for source, target, label in graph.edges:
        lines.append(f"  {ids[source]} -->|\"{_mermaid_text(label)}\"| {ids[target]}")
    for state in sorted({n.state for n in graph.nodes if n.state}):
        fill, line = STATE_COLOURS.get(state, STEP_COLOURS)
        lines.append(f"  classDef {state} fill:{fill},stroke:{line},stroke-width:2px")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def render(graph: Graph, fmt: str) -> bytes:
    """The picture in `fmt` (svg, png, dot or mermaid); GraphvizMissing for svg/png without `dot`."""
    if fmt not in FORMATS:
        raise UsageError(f"Format {fmt!r} is not one of {', '.join(FORMATS)}.")
    if fmt == "mermaid":
        return to_mermaid(graph).encode()
    source = to_dot(graph)
    if fmt == "dot":
        return source.encode()
    import graphviz

    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing(f"Drawing {fmt} needs Graphviz's `dot` program, which is not installed "
                              "(apt-get install graphviz); --format dot and --format mermaid work without it.") from None
