"""A pipeline's definition is remembered across CLI runs only while nothing it read has changed.

Each run is a new process, as `durapipe plan` is, with files counted as settled at once (the racy
case has its own test). Every module of the project writes "imported NAME" to stderr when it is
imported (a file written would itself be a read the load depends on), so a remembered definition
shows as a run that imported nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

DRIVER = """\
import sys
from durapipe.core import file_signature
file_signature.RACY_WINDOW_S = float(sys.argv[1])
sys.argv = ["durapipe", "plan", sys.argv[2], "--store", sys.argv[3], "--json"]
from durapipe.cli.main import entry
entry()
"""

# `durapipe run` with every reading of a spec counted (durapipe.model.spec._read_spec), printed at exit.
RUN_DRIVER = """\
import atexit, sys
from durapipe.core import file_signature
file_signature.RACY_WINDOW_S = 0.0
import durapipe.model.spec as spec_module
reads = []
original = spec_module._read_spec
def counted(data):
    reads.append(1)
    return original(data)
spec_module._read_spec = counted
atexit.register(lambda: sys.stderr.write(f"spec reads {len(reads)}\\n"))
sys.argv = ["durapipe", "run", sys.argv[1], "--store", sys.argv[2], "--json"]
from durapipe.cli.main import entry
entry()
"""

LOGGED = "import sys as _sys; _sys.stderr.write('imported ' + __name__ + '\\n')\n"


def logged(body: str) -> str:
    return LOGGED + textwrap.dedent(body)


class Project:
    """A project of its own: a pipeline file, a step module per step, a helper module."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / "pyproject.toml").write_text("")
        (root / "steps").mkdir()
        (root / "steps" / "__init__.py").write_text("")
        self.write("helpers.py", """\
            def double(x):
                return 2 * x
            """)
        self.write("steps/first.py", """\
            from durapipe import Output, step

            from helpers import double


            @step
            def first(out: Output, n: int = 3) -> None:
                out.write_text(str(double(n)))
            """)
        self.write("steps/second.py", """\
            from durapipe import Input, Output, step


            @step
            def second(a: Input, out: Output) -> None:
                out.write_text(a.read_text() + "!")
            """)
        self.pipeline("")

    def write(self, name: str, body: str) -> Path:
        path = self.root / name
        path.write_text(logged(body))
        return path

    def pipeline(self, prelude: str, n: str = "3", first: str = "steps.first") -> None:
        self.write("pipeline.py", f"""\
            import os
            from pathlib import Path
            from durapipe import pipeline
            from {first} import first
            from steps.second import second
            {textwrap.dedent(prelude).replace(chr(10), chr(10) + "            ")}

            @pipeline
            def p():
                return {{"out": second(a=first(n={n}).out).out}}
            """)

    def plan(self, racy: float = 0.0, env: dict[str, str] | None = None) -> dict:
        """`durapipe plan --json` in a new process; returns its output and the modules it imported."""
        done = subprocess.run([sys.executable, "-c", DRIVER, str(racy), "pipeline.py:p", str(self.root / "store")],
                              cwd=self.root, capture_output=True, text=True, timeout=120,
                              env={**os.environ, **(env or {})})
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        return {"fingerprints": {row["step"]: row["fingerprint"] for row in out["steps"]},
                "imported": [line.split()[1] for line in done.stderr.splitlines() if line.startswith("imported ")],
                "stderr": done.stderr}

    def run(self) -> dict:
        """`durapipe run --json` in a new process; its output, and how many times it read a spec."""
        done = subprocess.run([sys.executable, "-c", RUN_DRIVER, "pipeline.py:p", str(self.root / "store")],
                              cwd=self.root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        reads = [int(line.split()[-1]) for line in done.stderr.splitlines() if line.startswith("spec reads ")]
        return {"summary": json.loads(done.stdout), "spec_reads": reads[-1]}

    def cache_files(self) -> list[Path]:
        return sorted((self.root / ".durapipe" / "cache" / "definitions").glob("*.json"))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "proj")


def later() -> None:
    time.sleep(0.05)  # past the filesystem's timestamp granularity


def test_an_unchanged_definition_is_remembered_and_imports_nothing(project: Project) -> None:
    first = project.plan()
    assert sorted(first["imported"]) == ["helpers", "pipeline", "steps.first", "steps.second"]
    again = project.plan()
    assert again["imported"] == []
    assert again["fingerprints"] == first["fingerprints"]
    assert len(project.cache_files()) == 1


def test_fingerprints_from_a_remembered_definition_are_those_of_an_import(project: Project) -> None:
    project.plan()
    remembered = project.plan()
    assert remembered["imported"] == []
    for path in project.cache_files():
        path.unlink()
    imported = project.plan()
    assert imported["imported"] and imported["fingerprints"] == remembered["fingerprints"]


def test_editing_a_step_module_is_detected(project: Project) -> None:
    first = project.plan()
    later()
    project.write("steps/first.py", """\
        from durapipe import Output, step

        from helpers import double


        @step
        def first(out: Output, n: int = 3) -> None:
            out.write_text(str(double(n) + 1))
        """)
    edited = project.plan()
    assert "steps.first" in edited["imported"]
    assert edited["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_helper_module_edited_is_detected(project: Project) -> None:
    first = project.plan()
    later()
    project.write("helpers.py", """\
        def double(x):
            return x + x
        """)
    edited = project.plan()
    assert "helpers" in edited["imported"]
    assert edited["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_literal_changed_in_the_pipeline_file_changes_the_spec(project: Project) -> None:
    first = project.plan()
    later()
    project.pipeline("", n="4")
    edited = project.plan()
    assert "pipeline" in edited["imported"]
    assert edited["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_touching_a_module_without_a_change_loads_it_again_to_the_same_plan(project: Project) -> None:
    first = project.plan()
    later()
    (project.root / "helpers.py").touch()
    touched = project.plan()
    assert "helpers" in touched["imported"]
    assert touched["fingerprints"] == first["fingerprints"]
    assert project.plan()["imported"] == []


def test_a_same_size_edit_with_its_mtime_restored_is_detected_by_ctime(project: Project) -> None:
    pipeline = project.root / "pipeline.py"
    first = project.plan()
    before = pipeline.stat()
    later()
    project.pipeline("", n="5")  # same size as "3"
    os.utime(pipeline, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert pipeline.stat().st_size == before.st_size and pipeline.stat().st_mtime_ns == before.st_mtime_ns
    edited = project.plan()
    assert "pipeline" in edited["imported"]
    assert edited["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_module_replaced_by_a_symlink_is_detected(project: Project) -> None:
    project.plan()
    later()
    helpers = project.root / "helpers.py"
    real = project.root / "real_helpers.py"
    real.write_text(helpers.read_text())
    helpers.unlink()
    helpers.symlink_to(real)
    assert "helpers" in project.plan()["imported"]


def test_a_module_created_where_it_would_shadow_an_imported_one_is_detected(project: Project, tmp_path: Path) -> None:
    # `fancylib` comes from a folder further down the import path; one created in the project's folder wins.
    site = tmp_path / "site"
    site.mkdir()
    (site / "fancylib.py").write_text(logged("VALUE = 1\n"))
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    project.pipeline("import fancylib")
    project.plan(env=env)
    assert project.plan(env=env)["imported"] == []
    later()
    (project.root / "fancylib.py").write_text(logged("VALUE = 2\n"))
    assert "fancylib" in project.plan(env=env)["imported"]


def test_a_moved_step_module_is_detected(project: Project) -> None:
    first = project.plan()
    later()
    (project.root / "steps" / "first.py").rename(project.root / "steps" / "moved.py")
    project.pipeline("", first="steps.moved")
    moved = project.plan()
    assert "steps.moved" in moved["imported"]
    # Its code is the same function, now labelled by its new module.
    assert moved["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_an_environment_variable_the_body_reads_is_seen(project: Project) -> None:
    project.pipeline("N = int(os.environ.get('STEP_N', '3'))", n="N")
    three = project.plan(env={"STEP_N": "3"})
    assert project.plan(env={"STEP_N": "3"})["imported"] == []
    four = project.plan(env={"STEP_N": "4"})
    assert "pipeline" in four["imported"]
    assert four["fingerprints"]["first"] != three["fingerprints"]["first"]


def test_a_file_the_body_reads_is_seen(project: Project) -> None:
    (project.root / "settings.json").write_text('{"n": 3}')
    project.pipeline("N = __import__('json').loads(Path(__file__).with_name('settings.json').read_text())['n']", n="N")
    first = project.plan()
    assert project.plan()["imported"] == []
    later()
    (project.root / "settings.json").write_text('{"n": 7}')
    changed = project.plan()
    assert "pipeline" in changed["imported"]
    assert changed["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_folder_the_body_lists_is_seen(project: Project) -> None:
    (project.root / "data").mkdir()
    project.pipeline("N = len(list(Path(__file__).with_name('data').glob('*.csv')))", n="N")
    first = project.plan()
    assert project.plan()["imported"] == []
    later()
    (project.root / "data" / "one.csv").write_text("x\n")
    listed = project.plan()
    assert "pipeline" in listed["imported"]
    assert listed["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_file_whose_existence_the_body_checks_is_seen(project: Project) -> None:
    project.pipeline("N = 4 if Path(__file__).with_name('FLAG').exists() else 3", n="N")
    first = project.plan()
    assert project.plan()["imported"] == []
    later()
    (project.root / "FLAG").write_text("")
    flagged = project.plan()
    assert "pipeline" in flagged["imported"]
    assert flagged["fingerprints"]["first"] != first["fingerprints"]["first"]


def test_a_body_that_starts_a_process_is_never_remembered(project: Project) -> None:
    project.pipeline("import subprocess, sys\nN = int(subprocess.run([sys.executable, '-c', 'print(3)'], "
                     "capture_output=True, text=True).stdout)", n="N")
    project.plan()
    assert "pipeline" in project.plan()["imported"]
    assert project.cache_files() == []


def test_files_written_just_now_are_not_trusted(project: Project) -> None:
    # The real racy window: every file of the project was written within it.
    project.plan(racy=3600.0)
    assert "pipeline" in project.plan(racy=3600.0)["imported"]
    assert project.cache_files() == []


def test_a_definition_warning_is_shown_again_when_remembered(project: Project) -> None:
    (project.root / "host.json").write_text(json.dumps({"version": "2.0", "functionTimeout": "00:05:00"}))
    project.write("steps/first.py", """\
        from durapipe import Output, step

        from helpers import double


        @step(timeout=3600)
        def first(out: Output, n: int = 3) -> None:
            out.write_text(str(double(n)))
        """)
    first = project.plan()
    assert "timeout" in first["stderr"]
    again = project.plan()
    assert again["imported"] == []
    assert "timeout" in again["stderr"]


def test_a_project_keeps_only_its_newest_remembered_loads(tmp_path: Path) -> None:
    # The pruning itself is EntryFolder's (tests/cache/test_entries.py); this pins the folder plans write
    # to (the one `Project.cache_files` reads) and that it keeps KEEP, without 12 plans to fill it.
    from durapipe.load.definition_cache import KEEP, entries_of

    entries = entries_of(tmp_path)
    assert entries.folder == tmp_path / ".durapipe" / "cache" / "definitions"
    keys = [f"{n:02d}" * 32 for n in range(KEEP + 3)]
    for age, key in enumerate(keys):
        entries.write(key, {"specs": {}})
        os.utime(entries.path(key), ns=(10**18 + age * 10**9, 10**18 + age * 10**9))
    entries.write(keys[-1], {"specs": {}})
    # The newest are still there, the last one written included.
    assert [entries.read(key) is not None for key in keys] == [False] * 3 + [True] * KEEP
    assert len(list(entries.folder.glob("*.json"))) == KEEP


def test_a_run_of_a_remembered_definition_never_reads_its_spec_again(project: Project) -> None:
    # Read when it was remembered, by the same reader (durapipe.model.spec is in the cache's key): the
    # run, its planning and its recording take the remembered text as it is.
    cold = project.run()
    assert cold["summary"]["status"] == "completed"
    again = project.run()
    assert again["summary"]["status"] == "completed"
    assert {s["status"] for s in again["summary"]["steps"].values()} == {"reused"}
    assert again["spec_reads"] == 0


def test_a_remembered_definitions_spec_is_read_when_its_objects_are_asked_for(project: Project) -> None:
    from durapipe.load.definition_cache import Definition
    from durapipe.core.errors import SpecError
    from durapipe.model.spec import spec_text

    project.plan()
    entry = json.loads(project.cache_files()[0].read_text())
    good = Definition("t", None, str(project.root), remembered_text=entry["spec_text"])
    assert good.spec.name == "p" and good.remembered
    broken = json.loads(entry["spec_text"])
    broken["steps"][0]["name"] = "Not A Name"
    with pytest.raises(SpecError):
        Definition("t", None, str(project.root), remembered_text=spec_text(broken)).spec


def test_every_durapipe_module_named_as_building_specs_exists() -> None:
    # A name that no longer exists (after a move) has no signature, so editing that code would
    # no longer stop a remembered spec from being used.
    from durapipe.load import definition_cache

    signed = dict(definition_cache._builder_signatures())
    assert signed and all(signature is not None for signature in signed.values())
    assert {"dsl/step.py", "model/spec.py", "load/targets.py"} <= {"/".join(Path(p).parts[-2:]) for p in signed}
