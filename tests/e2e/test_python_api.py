"""The Python API from a script, `python -c`, standard input and a Jupyter kernel (executed by nbclient)."""
from __future__ import annotations

import json
import subprocess
import sys
from textwrap import dedent, indent

import nbformat
import pytest
from nbclient import NotebookClient

from tests.e2e.projects import READ_RAW

pytestmark = pytest.mark.slow  # runs notebooks in a kernel

SCRIPT = dedent('''\
    import json, sys
    import durapipe

    store = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "-" else None
    version = durapipe.register_data("raw", "raw.csv", store=store)
    run = durapipe.run("flow.py:read_raw", inputs={"raw": "data:raw"}, store=store)
    again = durapipe.get_run(run.id, store=store)
    assert run.status == "completed", run.error
    print(json.dumps({"id": run.id, "status": run.status, "count": run.outputs["count"].read_bytes().decode(),
                      "path": str(run.outputs["count"].path()), "hash": run.outputs["count"].hash,
                      "step": run.steps["count"].status, "fingerprint": run.steps["count"].fingerprint,
                      "again": again.status, "version": version["version"]}))
    ''')


def _check(project, printed: str) -> None:
    result = json.loads(printed.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["again"] == "completed" and result["version"] == 1
    assert result["count"] == "5" and open(result["path"]).read() == "5" and len(result["hash"]) == 64
    assert result["step"] == "ran" and len(result["fingerprint"]) == 64


def _project(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    project.write("raw.csv", "hello")
    project.write("script.py", SCRIPT)
    return project


def _python(project, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, project.store_url or "-"], cwd=project.root, env=project.env,
                          input=stdin, capture_output=True, text=True, timeout=180)


def test_a_script_runs_a_pipeline_and_reads_its_output(make_project, store_url):
    project = _project(make_project, store_url)
    done = _python(project, "script.py")
    assert done.returncode == 0, done.stderr
    _check(project, done.stdout)


def test_python_c_runs_a_pipeline_and_reads_its_output(make_project):
    project = _project(make_project, None)
    done = _python(project, "-c", SCRIPT)
    assert done.returncode == 0, done.stderr
    _check(project, done.stdout)


def test_a_script_on_standard_input_runs_a_pipeline_and_reads_its_output(make_project):
    project = _project(make_project, None)
    done = _python(project, "-", stdin=SCRIPT)
    assert done.returncode == 0, done.stderr
    _check(project, done.stdout)


def test_a_notebook_runs_a_pipeline_and_reads_its_model_output(make_project, store_url, monkeypatch):
    project = _project(make_project, store_url)
    cells = [
        "import durapipe",
        f"store = {project.store_url!r}\nversion = durapipe.register_data('raw', 'raw.csv', store=store)",
        "run = durapipe.run('flow.py:read_raw', inputs={'raw': 'data:raw'}, store=store)\nrun.status",
        "print(run.outputs['count'].path().read_text(), run.steps['count'].status)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    for key, value in project.env.items():
        monkeypatch.setenv(key, value)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(project.root)}}).execute()
    [result] = [o for o in notebook.cells[2].outputs if o["output_type"] == "execute_result"]
    assert result["data"]["text/plain"] == "'completed'"
    printed = "".join(o.get("text", "") for o in notebook.cells[3].outputs if o["output_type"] == "stream"
                      and o["name"] == "stdout")
    assert printed.strip() == "5 ran"


def test_a_failed_run_is_returned_with_its_error_not_raised(make_project):
    project = make_project(None, READ_RAW)
    project.edit("flow.py", "        g.write(str(len(f.read())))", "        raise ValueError(f.read() + ' cannot be counted')")
    (project.root / "raw.csv").write_text("this row")
    done = subprocess.run([sys.executable, "-c", dedent('''\
        import durapipe
        run = durapipe.run("flow.py:read_raw", inputs={"raw": "raw.csv"})
        print(run.status, "|", run.error)
        ''')], cwd=project.root, env=project.env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("failed |") and "this row cannot be counted" in done.stdout


def test_a_missing_input_file_is_raised_before_any_run_starts(make_project):
    project = make_project(None, READ_RAW)
    done = subprocess.run([sys.executable, "-c", dedent('''\
        import durapipe
        from durapipe.core.errors import UsageError
        try:
            durapipe.run("flow.py:read_raw", inputs={"raw": "missing.csv"})
        except UsageError as exc:
            print("refused |", exc)
        ''')], cwd=project.root, env=project.env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused | The input 'raw' names ") and "which does not exist." in done.stdout
    assert project.cli("runs", "list").json == []


# A script that defines its steps in itself; CALL is where it calls durapipe.run.
INLINE = dedent('''\
    import durapipe
    from durapipe import Output, pipeline, step


    @step
    def write(out: Output, x: int = 2):
        with open(out, "w") as f:
            f.write(str(x * 2))


    @pipeline
    def doubled(x: int = 2):
        return {"out": write(x=x).out}


    CALL
    ''')
RUN_AND_PRINT = 'run = durapipe.run(doubled, params={"x": 3})\nprint(run.status, run.outputs["out"].read_bytes().decode())'


def _inline(make_project, call: str):
    project = make_project(None, READ_RAW)
    project.write("inline.py", INLINE.replace("CALL", call))
    return project


def _stored_runs(project) -> list:
    listed = project.cli("runs", "list")
    assert listed.code == 0, listed.stderr
    return listed.json


def test_a_script_with_its_steps_in_it_runs_them_under_a_main_guard(make_project):
    project = _inline(make_project, 'if __name__ == "__main__":\n' + indent(RUN_AND_PRINT, "    "))
    done = _python(project, "inline.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["completed", "6"]
    assert len(_stored_runs(project)) == 1


def test_an_unguarded_call_in_a_script_with_its_steps_is_refused_before_anything_runs(make_project):
    project = _inline(make_project, RUN_AND_PRINT)
    done = _python(project, "inline.py")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "inline.py calls durapipe.run at its top level (line 16)" in last
    assert 'put the call under `if __name__ == "__main__":`' in last
    assert _stored_runs(project) == []


def test_a_file_that_runs_itself_when_imported_by_durapipe_run_is_refused_not_deadlocked(make_project):
    project = _inline(make_project, RUN_AND_PRINT)
    done = project.run("inline.py:doubled")
    assert done.code == 2, done.stderr
    assert done.stderr.strip() == (
        "error: durapipe.run was called at the top level of inline.py (line 16) while inline.py was being "
        "imported, where the run can never finish; put the call under `if __name__ == \"__main__\":` so it "
        "runs only when the file is run as a script.")
    assert _stored_runs(project) == []
