"""`durapipe graph` through the real CLI: a pipeline or a run, as svg, png, dot or mermaid."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

DURAPIPE = str(Path(sys.executable).with_name("durapipe"))

PIPELINE = '''
from durapipe import step, pipeline, Input, Output

@step
def upper(part: Input, out: Output):
    out.write_text(part.read_text().upper())

@step
def join(parts: Input, all: Output):
    all.write_text("".join(p.read_text() for p in sorted(parts.iterdir())))

@pipeline
def shout(parts: Input):
    return {"all": join(parts=upper.map("part", part=parts).out).all}
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'graph-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "parts").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "parts" / name).write_text(name)
    return tmp_path


def _durapipe(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = env or {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    return subprocess.run([DURAPIPE, *args], cwd=project, env=env, capture_output=True, timeout=120)


def _without_dot() -> dict:
    """The environment with every PATH folder that holds Graphviz's `dot` left out."""
    folders = [f for f in os.environ["PATH"].split(os.pathsep) if not (Path(f) / "dot").exists()]
    env = {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    env["PATH"] = os.pathsep.join(folders)
    return env


def test_a_pipeline_graph_is_an_svg_by_default(tmp_path):
    done = _durapipe(_project(tmp_path), "graph", "flows.py:shout")
    assert done.returncode == 0, done.stderr
    assert done.stdout.lstrip().startswith(b"<?xml") and b"step&#45;upper" in done.stdout


def test_a_run_graph_written_to_a_file_as_png(tmp_path):
    project = _project(tmp_path)
    run = json.loads(_durapipe(project, "run", "flows.py:shout", "--input", "parts=parts", "--json").stdout)
    done = _durapipe(project, "graph", run["run_id"], "--format", "png", "--out", "dag.png")
    assert done.returncode == 0, done.stderr
    assert (project / "dag.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_graph_as_mermaid_shows_states_and_partitions(tmp_path):
    project = _project(tmp_path)
    run = json.loads(_durapipe(project, "run", "flows.py:shout", "--input", "parts=parts", "--json").stdout)
    done = _durapipe(project, "graph", run["run_id"], "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert ":::ran" in text and "2 partitions (2 ran)" in text


def test_without_graphviz_svg_and_png_say_so_in_one_sentence_and_exit_2(tmp_path):
    project = _project(tmp_path)
    env = _without_dot()
    assert shutil.which("dot", path=env["PATH"]) is None
    for fmt in ("svg", "png"):
        done = _durapipe(project, "graph", "flows.py:shout", "--format", fmt, "--out", f"x.{fmt}", env=env)
        message = done.stderr.decode()
        assert done.returncode == 2, message
        assert "needs Graphviz's `dot` program" in message and message.count("\n") == 1
        assert not (project / f"x.{fmt}").exists()


def test_without_graphviz_dot_and_mermaid_still_work(tmp_path):
    project = _project(tmp_path)
    env = _without_dot()
    dot = _durapipe(project, "graph", "flows.py:shout", "--format", "dot", env=env)
    mermaid = _durapipe(project, "graph", "flows.py:shout", "--format", "mermaid", env=env)
    assert dot.returncode == 0 and dot.stdout.startswith(b"digraph shout {")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith(b"flowchart LR")


def test_an_unknown_run_is_an_error_not_a_traceback(tmp_path):
    done = _durapipe(_project(tmp_path), "graph", "no-such-run", "--format", "dot")
    assert done.returncode != 0 and b"Traceback" not in done.stderr
