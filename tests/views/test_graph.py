"""durapipe.views.graph: the DAG of a spec or a run as DOT, Mermaid and SVG."""
import html

import pytest

from durapipe.core.errors import UsageError
from durapipe.views.graph import graph_of_run, graph_of_spec, render, to_dot, to_mermaid

SPEC = {
    "name": "shout", "inputs": {"parts": {"optional": False}}, "params": {},
    "steps": [
        {"name": "upper", "inputs": {"part": {"input": "parts"}}, "outputs": ["out"], "map": "part"},
        {"name": "join", "inputs": {"parts": {"step": "upper", "output": "out"}}, "outputs": ["all"], "map": None},
        {"name": "tail", "inputs": {"all": {"step": "join", "output": "all"}}, "outputs": ["end"], "map": None},
    ],
    "outputs": {"all": {"step": "join", "output": "all"}},
}
RECORD = {"run_id": "shout-1", "status": "failed", "spec": SPEC, "steps": {
    "upper": {"status": "reused", "duration_s": 0.0, "partitions": {"total": 3, "ran": 0, "reused": 3}},
    "join": {"status": "failed", "duration_s": 1.25},
    "tail": {"status": "not_run"},
}}


def test_a_spec_graph_has_its_inputs_steps_outputs_and_edges():
    graph = graph_of_spec(SPEC)
    assert [n.id for n in graph.nodes] == ["input-parts", "step-upper", "step-join", "step-tail", "output-all"]
    assert ("step-upper", "step-join", "out → parts") in graph.edges
    assert ("input-parts", "step-upper", "part") in graph.edges


def test_a_run_graph_marks_each_step_with_its_state_duration_and_partitions():
    nodes = {n.name: n for n in graph_of_run(RECORD).nodes if n.kind == "step"}
    assert {name: n.state for name, n in nodes.items()} == {"upper": "reused", "join": "failed", "tail": "not_run"}
    assert nodes["join"].detail == ["failed 1.25s"]
    assert "3 partitions (0 ran)" in nodes["upper"].detail


def test_live_states_override_the_record_of_a_running_run():
    running = {**RECORD, "status": "running", "steps": {}}
    nodes = {n.name: n for n in graph_of_run(running, {"upper": {"status": "running"}}).nodes if n.kind == "step"}
    assert nodes["upper"].state == "running" and nodes["join"].state == "waiting"


def test_dot_gives_each_step_an_id_and_a_state_class():
    dot = to_dot(graph_of_run(RECORD))
    assert 'id="step-join"' in dot and 'class="step state-failed"' in dot


def test_mermaid_is_a_flowchart_with_a_class_per_state():
    text = to_mermaid(graph_of_run(RECORD))
    assert text.startswith("flowchart LR\n")
    assert ":::failed" in text and "classDef failed fill:#ffcdd2" in text


def test_mermaid_escapes_quotes_and_brackets_in_labels():
    graph = graph_of_spec(SPEC)
    graph.nodes[1].detail = ['say "hi" <now>']
    assert 'say #quot;hi#quot; #lt;now#gt;' in to_mermaid(graph)


def test_svg_has_a_node_per_step_in_its_state():
    svg = html.unescape(render(graph_of_run(RECORD), "svg").decode())
    assert '<g id="step-tail" class="node step state-not_run">' in svg


def test_an_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError, match="gif"):
        render(graph_of_spec(SPEC), "gif")
