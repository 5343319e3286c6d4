"""The Python API from a script, `python -c`, standard input and a Jupyter kernel (executed by nbclient)."""
from __future__ import annotations

import json
import subprocess
import sys
from textwrap import dedent

import nbformat
import pytest
from nbclient import NotebookClient

from tests.e2e.projects import READ_RAW

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
    done = subprocess.run([sys.executable, "-c", dedent('''\
        import durapipe
        run = durapipe.run("flow.py:read_raw", inputs={"raw": "missing.csv"})
        print(run.status, "|", run.error)
        ''')], cwd=project.root, env=project.env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("failed |") and "missing.csv" in done.stdout
