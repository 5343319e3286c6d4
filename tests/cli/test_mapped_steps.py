"""Mapped steps through the real CLI: one output entry per partition, by the partition's own name."""
import json
import os
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

@pipeline
def shout(parts: Input):
    return {"out": upper.map("part", part=parts).out}
'''


def _run(project: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DURAPIPE_STORE"}
    done = subprocess.run([DURAPIPE, "run", "flows.py:shout", "--input", "parts=parts", "--json"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_partitions_with_the_same_content_each_keep_their_own_name(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mapped-test'\n")
    (tmp_path / "flows.py").write_text(textwrap.dedent(PIPELINE))
    (tmp_path / "parts").mkdir()
    for name, text in [("a.txt", "same"), ("b.txt", "same"), ("c.txt", "other")]:
        (tmp_path / "parts" / name).write_text(text)
    for _ in range(2):  # cold, then with every partition reused
        run = _run(tmp_path)
        manifest = json.loads((tmp_path / ".durapipe" / "artifacts" / run["outputs"]["out"]["hash"]).read_text())
        assert sorted(manifest["files"]) == ["a.txt", "b.txt", "c.txt"]
