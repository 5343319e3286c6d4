"""`durapipe init DIR`: a project of the user's own, ready to run, plan, serve, test and deploy."""
from __future__ import annotations

import re
from pathlib import Path

from durapipe.core.errors import UsageError

_PYPROJECT = '''[project]
name = "{project}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["durapipe"]

# durapipe serves what this names: `durapipe serve` here, and the app `durapipe package` builds.
[tool.durapipe]
definitions = "definitions:defs"

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

_DEFINITIONS = '''"""What this project serves: its pipelines, when they run, and which blobs start them."""
from pipeline import {name}

from durapipe import BlobTrigger, Definitions, Schedule

defs = Definitions(
    pipelines=[{name}],
    # Every day at 03:00 UTC (six NCRONTAB fields, seconds first); "%SETTING%" reads an app setting.
    schedules=[Schedule("nightly", pipeline={name}, cron="0 0 3 * * *")],
    # A CSV written under incoming/ in the store is summarised into results/<its name>.
    blob_triggers=[BlobTrigger("arrivals", pipeline={name}, path="incoming/{{name}}", input="raw",
                               deliver={{"summary": "results/{{name}}"}})],
)
'''

_PIPELINE = '''"""A two-step pipeline: clean a CSV of numbers, then summarise it."""
from helpers import clean_rows, summarise

from durapipe import Input, Output, pipeline, step


@step
def clean(cleaned: Output, raw: Input | None = None, min_value: float = 0.0) -> None:
    """Keep the rows of `raw` (or a built-in sample) whose value is at least `min_value`."""
    clean_rows(raw, cleaned, min_value)


@step
def summary(cleaned: Input, summary: Output) -> None:
    """Count, mean and maximum of the cleaned values, as JSON."""
    summarise(cleaned, summary)


@pipeline
def {name}(raw: Input | None = None, min_value: float = 0.0) -> dict:
    """Clean `raw` and summarise it."""
    cleaned = clean(raw=raw, min_value=min_value)
    return {{"summary": summary(cleaned=cleaned.cleaned).summary}}
'''

_HELPERS = '''"""Plain Python used by the steps: durapipe fingerprints what they use, so editing it re-runs them."""
import csv
import json
from pathlib import Path


SAMPLE = [3.0, -1.0, 4.0, 1.0, -5.0, 9.0, 2.0, 6.0]


def read_values(source: Path | None) -> list[float]:
    """The `value` column of the CSV at `source`, or a built-in sample when there is none."""
    if source is None:
        return list(SAMPLE)
    with open(source, newline="") as inp:
        return [float(r["value"]) for r in csv.DictReader(inp) if r.get("value") not in (None, "")]


def clean_rows(source: Path | None, target: Path, min_value: float) -> None:
    """Write the values of `source` that are at least `min_value` to `target` as a CSV."""
    kept = [v for v in read_values(source) if v >= min_value]
    target.write_text("value\\n" + "".join(f"{{v}}\\n" for v in kept))


def summarise(source: Path, target: Path) -> None:
    """Write the count, mean and maximum of `source`'s values to `target` as JSON."""
    values = read_values(source)
    target.write_text(json.dumps({{"count": len(values), "mean": sum(values) / len(values) if values else None,
                                   "max": max(values) if values else None}}))
'''

_TEST = '''"""The pipeline runs end to end on the local host, and a second run reuses every step."""
import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def durapipe(*args: str, store: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "durapipe.cli", *args, "--store", str(store), "--json"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_pipeline_summarises_the_sample_and_a_second_run_reuses_it(tmp_path):
    first = durapipe("run", "pipeline.py:{name}", "--param", "min_value=0", store=tmp_path / "store")
    assert first["status"] == "completed"
    assert {{s["status"] for s in first["steps"].values()}} == {{"ran"}}
    second = durapipe("run", "pipeline.py:{name}", "--param", "min_value=0", store=tmp_path / "store")
    assert {{s["status"] for s in second["steps"].values()}} == {{"reused"}}
'''

_SETTINGS = '''{{
  "IsEncrypted": false,
  "Values": {{
    "FUNCTIONS_WORKER_RUNTIME": "python",
    "PYTHON_SCRIPT_FILE_NAME": "main.py",
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "DURAPIPE_STORE": "http://127.0.0.1:10000/devstoreaccount1/durapipe"
  }}
}}
'''

_GITIGNORE = '''.durapipe/
local.settings.json
__pycache__/
*.pyc
.venv/
'''

_README = '''# {project}

A durapipe project. `definitions.py` says what it serves; `pipeline.py` is the pipeline.

```bash
durapipe run pipeline.py:{name}          # run it locally; a second run reuses every step
durapipe plan pipeline.py:{name}         # what would run, and why
durapipe serve                           # HTTP API, the schedule and blob arrivals, as on Azure
python -m pytest                         # the project's tests
```

Copy `local.settings.json.example` to `local.settings.json` for `durapipe serve` over Azurite.
`azd up` deploys it to Azure (`azure.yaml`, `infra/`; see durapipe's docs/deploy.md).
'''


def pipeline_name_for(folder: Path) -> str:
    """A valid pipeline name derived from the folder's name."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", folder.name).strip("_").lower() or "project"
    return stem if stem[0].isalpha() else f"p_{stem}"


def scaffold(folder: Path) -> list[Path]:
    """Write a new project into `folder` (absent or empty); return the files written."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} already exists and is not an empty folder; choose a new folder for the project.")
    name = pipeline_name_for(folder.resolve())
    files = {
        "pyproject.toml": _PYPROJECT.format(project=name.replace("_", "-")),
        "definitions.py": _DEFINITIONS.format(name=name),
        "pipeline.py": _PIPELINE.format(name=name),
        "helpers.py": _HELPERS.format(),
        "tests/test_pipeline.py": _TEST.format(name=name),
        "local.settings.json.example": _SETTINGS.format(),
        ".gitignore": _GITIGNORE,
        "README.md": _README.format(project=name.replace("_", "-"), name=name),
    }
    from durapipe.deploy.scaffold import write_deployment_files, write_files

    written = write_files(folder, {relative: text.encode("utf-8") for relative, text in files.items()})

    # azure.yaml and infra/: `azd up` in the project provisions Azure and deploys what `durapipe package` builds.
    return written + [p for p in write_deployment_files(folder) if p not in written]
