"""The `durapipe` command.

Built on click: it gives typed options, repeatable flags, `--help` and exit code 2 for bad
usage for free, and it is already a dependency of most Python tooling.
"""
from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import click

from durapipe.core.errors import DefinitionError, DurapipeError, InvalidNameError, SpecError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
USAGE_ERRORS = (UsageError, DefinitionError, SpecError, InvalidNameError)
INTERRUPTED = "interrupted; resume the run with `durapipe resume RUN_ID`."

store_option = click.option("--store", "store_url", metavar="URL", envvar="DURAPIPE_STORE",
                            help="Where artifacts, step records and runs live (default: .durapipe/ in the project).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Report durapipe errors as one sentence and the right exit code, never a traceback."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USAGE_ERRORS as exc:
            _fail(str(exc), EXIT_USAGE)
        except DurapipeError as exc:
            _fail(str(exc), EXIT_FAILED)
        except KeyboardInterrupt:
            _fail(INTERRUPTED, 130)
        except BrokenPipeError:
            # The reader left (`durapipe runs list | head`): nothing more can reach it, and
            # that is no error to report. Later writes go nowhere instead of failing again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_FAILED)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a bug, not a user mistake: still one sentence, traceback on request
            if os.environ.get("DURAPIPE_DEBUG"):
                raise
            _fail(error_sentence(exc), EXIT_FAILED)
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def error_sentence(exc: Exception) -> str:
    """What `friendly` says of `exc`: a durapipe error's own sentence, anything else as unexpected."""
    if isinstance(exc, DurapipeError):
        return str(exc)
    return f"durapipe failed unexpectedly ({type(exc).__name__}: {exc}); set DURAPIPE_DEBUG=1 to see the traceback."


def parse_assignments(values: tuple[str, ...], what: str, as_json: bool) -> dict[str, Any]:
    """`NAME=VALUE` pairs into a dict; VALUE is JSON-parsed for parameters (falling back to text)."""
    parsed: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{what} {item!r} must look like NAME=VALUE.")
        if as_json:
            try:
                parsed[name] = json.loads(value)
            except ValueError:
                parsed[name] = value
        else:
            parsed[name] = value
    return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="durapipe")
def main() -> None:
    """durapipe: ML pipelines on Azure Durable Functions, run locally or on Azure."""


@main.command()
@click.argument("target")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A pipeline parameter (JSON value).")
@click.option("--input", "inputs", multiple=True, metavar="NAME=PATH", help="A pipeline input: a file or folder.")
@store_option
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, help="Steps run at once (default: cores).")
@click.option("--force", multiple=True, metavar="STEP", help="Run STEP even if reusable (repeatable, or 'all').")
@click.option("--register-model", metavar="NAME", default=None,
              help="After the run, add its `model` output to the registry as NAME when it beats the champion.")
@click.option("--publish", "publish", multiple=True, metavar="OUTPUT=NAME",
              help="After a completed run, register output OUTPUT as a version of data asset NAME (repeatable).")
@json_option
@friendly
def run(target: str, params: tuple[str, ...], inputs: tuple[str, ...], store_url: str | None,
        max_parallel: int | None, force: tuple[str, ...], register_model: str | None, publish: tuple[str, ...],
        as_json: bool) -> None:
    """Run the pipeline TARGET (path/file.py:name or module:name) on the local host."""
    from durapipe.cli import run as run_commands

    sys.exit(run_commands.run_pipeline(target, parse_assignments(params, "--param", True),
                                       parse_assignments(inputs, "--input", False), store_url, max_parallel,
                                       list(force), as_json, register_model,
                                       parse_assignments(publish, "--publish", False)))


@main.command()
@click.argument("target")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A pipeline parameter (JSON value).")
@click.option("--input", "inputs", multiple=True, metavar="NAME=PATH", help="A pipeline input: a file or folder.")
@store_option
@click.option("--force", multiple=True, metavar="STEP", help="Treat STEP as forced (repeatable, or 'all').")
@json_option
@friendly
def plan(target: str, params: tuple[str, ...], inputs: tuple[str, ...], store_url: str | None,
         force: tuple[str, ...], as_json: bool) -> None:
    """Show what a run of TARGET would reuse and what would run, and why; runs nothing."""
    from durapipe.cli import plan as plan_commands

    sys.exit(plan_commands.plan_pipeline(target, parse_assignments(params, "--param", True),
                                         parse_assignments(inputs, "--input", False), store_url, list(force),
                                         as_json))


partition_option = click.option("--partition", metavar="NAME", default=None,
                                help="One partition of a mapped step (a file name of its mapped input).")


@main.command()
@click.argument("run_id")
@click.argument("step")
@partition_option
@store_option
@json_option
@friendly
def explain(run_id: str, step: str, partition: str | None, store_url: str | None, as_json: bool) -> None:
    """Explain why STEP ran in RUN_ID: what changed since the previous run of its pipeline."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.explain_step(run_id, step, store_url, as_json, partition))


@main.command()
@click.argument("run_id")
@click.argument("step")
@partition_option
@store_option
@friendly
def logs(run_id: str, step: str, partition: str | None, store_url: str | None) -> None:
    """Print what STEP wrote (stdout, stderr, traceback) when it ran for RUN_ID."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.show_log(run_id, step, store_url, partition))


@main.command()
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "dot", "mermaid"]), default="svg",
              show_default=True, help="svg and png need Graphviz's `dot` program; dot and mermaid are text.")
@store_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the picture to FILE (default: stdout).")
@friendly
def graph(target: str, fmt: str, store_url: str | None, out: Path | None) -> None:
    """Draw the DAG of TARGET (path/file.py:name or module:name) or of run RUN_ID, its steps coloured by state."""
    from durapipe.cli import graph as graph_commands

    sys.exit(graph_commands.draw_graph(target, fmt, store_url, out))


@main.command()
@click.argument("run_id")
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, help="Steps run at once (default: cores).")
@json_option
@friendly
def resume(run_id: str, max_parallel: int | None, as_json: bool) -> None:
    """Resume an unfinished run where it stopped; completed steps do not run again."""
    from durapipe.cli import run as run_commands

    try:
        code = run_commands.resume_run(run_id, max_parallel, as_json)
    except (Exception, KeyboardInterrupt) as exc:
        if as_json and not isinstance(exc, BrokenPipeError):
            # --json always prints one document: the error too (stderr says it as well, and the exit code).
            from durapipe.cli.output import print_json

            print_json({"run_id": run_id,
                        "error": INTERRUPTED if isinstance(exc, KeyboardInterrupt) else error_sentence(exc)})
        raise
    sys.exit(code)


@main.command()
@click.argument("run_id")
@click.argument("name", required=False)
@click.option("--to", "dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the outputs (or output NAME) into this folder, verified.")
@store_option
@json_option
@friendly
def outputs(run_id: str, name: str | None, dest: Path | None, store_url: str | None, as_json: bool) -> None:
    """List the outputs of RUN_ID (or only NAME); with --to DIR, write them there."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.show_outputs(run_id, name, dest, store_url, as_json))


@main.command()
@click.argument("run_id")
@click.option("--plan", "plan_only", is_flag=True, help="Only say what would be reused and what would run, and why.")
@store_option
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, help="Steps run at once (default: cores).")
@json_option
@friendly
def rerun(run_id: str, plan_only: bool, store_url: str | None, max_parallel: int | None, as_json: bool) -> None:
    """Run RUN_ID's pipeline again with the same parameters and the same resolved input versions."""
    from durapipe.cli import run as run_commands

    sys.exit(run_commands.rerun(run_id, plan_only, store_url, max_parallel, as_json))


@main.command()
@click.argument("subject", metavar="artifact:HASH|data:NAME:V|model:NAME:V")
@store_option
@json_option
@friendly
def lineage(subject: str, store_url: str | None, as_json: bool) -> None:
    """Show where an artifact, data version or model version came from: runs, steps, code, inputs."""
    from durapipe.cli import lineage as lineage_commands

    sys.exit(lineage_commands.show_lineage(subject, store_url, as_json))


@main.command()
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), required=True, metavar="DAYS",
              help="Consider what is older than this many days.")
@click.option("--apply", "do_apply", is_flag=True, help="Delete; without it, only print what would be deleted.")
@store_option
@json_option
@friendly
def gc(older_than: float, do_apply: bool, store_url: str | None, as_json: bool) -> None:
    """Delete old runs, step results and artifacts that no kept run, data version or model version needs."""
    from durapipe.cli import gc as gc_commands

    sys.exit(gc_commands.collect_garbage(older_than, do_apply, store_url, as_json))


@main.group()
def runs() -> None:
    """List and show recorded runs."""


@runs.command("list")
@store_option
@click.option("--pipeline", default=None, help="Only runs of this pipeline.")
@click.option("--status", default=None, help="Only runs with this status.")
@json_option
@friendly
def runs_list(store_url: str | None, pipeline: str | None, status: str | None, as_json: bool) -> None:
    """List runs, newest first."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.list_runs(store_url, pipeline, status, as_json))


@runs.command("show")
@click.argument("run_id")
@store_option
@json_option
@friendly
def runs_show(run_id: str, store_url: str | None, as_json: bool) -> None:
    """Show one run: each step's status, fingerprint, duration and outputs."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.show_run(run_id, store_url, as_json))


@runs.command("compare")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@store_option
@json_option
@friendly
def runs_compare(first: str, second: str, store_url: str | None, as_json: bool) -> None:
    """Compare runs A and B: parameters, metrics, and which steps differed and why."""
    from durapipe.cli import runs as runs_commands

    sys.exit(runs_commands.compare_runs(first, second, store_url, as_json))


@main.group()
def envs() -> None:
    """The step environments built for steps with `environment=`."""


@envs.command("list")
@json_option
@friendly
def envs_list(as_json: bool) -> None:
    """List the built step environments: hash, size, last use, requirements."""
    from durapipe.cli import envs as envs_commands

    sys.exit(envs_commands.list_envs(as_json))


@envs.command("prune")
@click.option("--unused-days", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Remove environments no step has used for this many days.")
@json_option
@friendly
def envs_prune(unused_days: float, as_json: bool) -> None:
    """Remove step environments no step has used lately (they are rebuilt when needed)."""
    from durapipe.cli import envs as envs_commands

    sys.exit(envs_commands.prune_envs(unused_days, as_json))


@main.group()
def models() -> None:
    """The model registry: versions and champions."""


@models.command("list")
@click.argument("name", required=False)
@store_option
@json_option
@friendly
def models_list(name: str | None, store_url: str | None, as_json: bool) -> None:
    """List the registered models; with NAME, the versions of model NAME, marking the champion."""
    from durapipe.cli import models as models_commands

    if name is None:
        sys.exit(models_commands.list_all_models(store_url, as_json))
    sys.exit(models_commands.list_models(name, store_url, as_json))


@models.command("show")
@click.argument("name")
@store_option
@json_option
@friendly
def models_show(name: str, store_url: str | None, as_json: bool) -> None:
    """Show model NAME: every version with its run and metrics, and the champion."""
    from durapipe.cli import models as models_commands

    sys.exit(models_commands.show_model(name, store_url, as_json))


@models.command("register")
@click.argument("run_id_or_name", metavar="[RUN_ID] NAME")
@click.argument("name", required=False)
@click.option("--path", "path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Register this file or folder (a pretrained model) instead of a run's output.")
@click.option("--metrics", "metrics", default=None, help='The model\'s metrics as a JSON object, e.g. \'{"auc": 0.9}\'.')
@store_option
@json_option
@friendly
def models_register(run_id_or_name: str, name: str | None, path: Path | None, metrics: str | None,
                    store_url: str | None, as_json: bool) -> None:
    """Register the model output of completed run RUN_ID as a version of NAME; its policy decides the champion.

    With --path FILE_OR_FOLDER instead of RUN_ID: register those files as a version of NAME (the first version
    becomes the champion).
    """
    from durapipe.cli import models as models_commands

    if path is not None:
        if name is not None:
            raise UsageError("Give either RUN_ID NAME or NAME --path FILE_OR_FOLDER, not both a run and a path.")
        sys.exit(models_commands.register_model_files(run_id_or_name, path, metrics, store_url, as_json))
    if name is None or metrics is not None:
        raise UsageError("Give RUN_ID NAME to register a run's model, or NAME --path FILE_OR_FOLDER "
                         "[--metrics JSON] to register files.")
    sys.exit(models_commands.register_model(run_id_or_name, name, store_url, as_json))


@models.command("promote")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@store_option
@json_option
@friendly
def models_promote(name: str, version: int, store_url: str | None, as_json: bool) -> None:
    """Make version VERSION of model NAME the champion, whatever its metric."""
    from durapipe.cli import models as models_commands

    sys.exit(models_commands.promote_model(name, version, store_url, as_json))


@models.command("export")
@click.argument("name")
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--version", "version", type=int, default=None, help="A version number (default: the champion).")
@store_option
@friendly
def models_export(name: str, dest: str, version: int | None, store_url: str | None) -> None:
    """Write the artifacts of a model version (default: the champion) into folder DEST."""
    from durapipe.cli import models as models_commands

    sys.exit(models_commands.export_model(name, Path(dest), version, store_url))


@main.group()
def data() -> None:
    """Data assets: named, immutable, numbered versions of files or folders."""


@data.command("register")
@click.argument("name")
@click.argument("source", metavar="PATH|STORE_KEY")
@click.option("--description", default=None, metavar="TEXT", help="What this version holds.")
@click.option("--tag", "tags", multiple=True, metavar="K=V", help="A tag kept with the version (repeatable).")
@store_option
@json_option
@friendly
def data_register(name: str, source: str, description: str | None, tags: tuple[str, ...], store_url: str | None,
                  as_json: bool) -> None:
    """Register a local file or folder, or a blob of the store, as the next version of data asset NAME."""
    from durapipe.cli import data as data_commands

    sys.exit(data_commands.register(name, source, description, parse_assignments(tags, "--tag", False),
                                    store_url, as_json))


@data.command("list")
@store_option
@json_option
@friendly
def data_list(store_url: str | None, as_json: bool) -> None:
    """List the data assets with their latest versions."""
    from durapipe.cli import data as data_commands

    sys.exit(data_commands.list_all(store_url, as_json))


@data.command("versions")
@click.argument("name")
@store_option
@json_option
@friendly
def data_versions(name: str, store_url: str | None, as_json: bool) -> None:
    """List every version of data asset NAME, oldest first."""
    from durapipe.cli import data as data_commands

    sys.exit(data_commands.versions(name, store_url, as_json))


@data.command("show")
@click.argument("spec", metavar="NAME[:V]")
@store_option
@json_option
@friendly
def data_show(spec: str, store_url: str | None, as_json: bool) -> None:
    """Show one version of a data asset (default: the latest)."""
    from durapipe.cli import data as data_commands

    sys.exit(data_commands.show(spec, store_url, as_json))


@data.command("download")
@click.argument("spec", metavar="NAME[:V]")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@store_option
@json_option
@friendly
def data_download(spec: str, dest: Path, store_url: str | None, as_json: bool) -> None:
    """Write one version of a data asset (default: the latest) into folder DEST."""
    from durapipe.cli import data as data_commands

    sys.exit(data_commands.download(spec, dest, store_url, as_json))


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=7071, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one and prints it).")
@store_option
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, help="Activities run at once (default: cores).")
@click.option("--poll-interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True,
              help="Seconds between looks at the store for arriving blobs.")
@click.option("--script-root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Serve the function app in this folder (entry file: $PYTHON_SCRIPT_FILE_NAME, else "
                   "function_app.py) instead of durapipe's own.")
@click.option("--definitions", "definitions", metavar="MODULE:ATTR", default=None,
              help="The project's Definitions (default: $DURAPIPE_DEFINITIONS, else [tool.durapipe] definitions "
                   "in pyproject.toml).")
@friendly
def serve(port: int, store_url: str | None, max_parallel: int | None, poll_interval: float,
          script_root: Path | None, definitions: str | None) -> None:
    """Serve the project's definitions locally, as `func start` serves an app: HTTP routes, blob arrivals, timers."""
    from durapipe.host.serve import serve_forever
    from durapipe.core.paths import find_project_root
    from durapipe.host.session import APP_SCRIPT_FILE, state_dir_for

    project = None if script_root else find_project_root()
    sys.exit(serve_forever(state_dir=state_dir_for(), store_url=store_url, port=port, max_parallel=max_parallel,
                           poll_interval=poll_interval, script_root=script_root,
                           script_file=None if script_root else APP_SCRIPT_FILE, project_root=project,
                           definitions=definitions, echo=click.echo))


@main.command()
@click.argument("folder", type=click.Path(path_type=Path))
@friendly
def init(folder: Path) -> None:
    """Create a new project in FOLDER: definitions, a two-step pipeline, a test and settings."""
    from durapipe.deploy.new_project import pipeline_name_for, scaffold

    for path in scaffold(folder):
        click.echo(f"created {path}")
    click.echo(f"next: cd {folder}, then `durapipe run pipeline.py:{pipeline_name_for(folder.resolve())}`, "
               "`durapipe serve` or `python -m pytest`")
    sys.exit(EXIT_OK)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the app: a path ending in .zip, or a folder (default: build/app.zip in the project).")
@click.option("--parameters", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the Event Grid parameters of the blob triggers "
                   "(default: infra/blob-triggers.parameters.json in the project).")
@friendly
def package(out: Path | None, parameters: Path | None) -> None:
    """Build the function app Azure runs for this project, and the Event Grid parameters of its blob triggers."""
    from durapipe.deploy.package import build_package
    from durapipe.core.paths import find_project_root

    result = build_package(find_project_root(), out, parameters, echo=click.echo)
    triggers = ", ".join(result.blob_triggers) or "none"
    click.echo(f"packaged {result.files} files ({result.size / 1e6:.1f} MB) into {result.out}; "
               f"blob triggers: {triggers}")


def entry() -> None:
    """The `durapipe` console script: run the command, then leave without tearing the interpreter down."""
    from durapipe.host.sdk_compat import defer_host_imports

    # Before any command imports the SDK to host the app (`run` starts the fork server first): see sdk_compat.
    defer_host_imports()
    try:
        main()  # click's standalone mode ends every command with SystemExit
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    leave(code)


def leave(code: Any) -> None:
    """Exit with `code` once output is flushed and exit handlers have run, skipping module teardown.

    Tearing down the modules that host the app (azure.functions, the Durable SDK, asyncio)
    takes 40-60 ms, a sixth of a run that reuses every step, and frees nothing the operating
    system would not. Everything durapipe writes is committed before a command returns, so
    only interpreter teardown is skipped: output is flushed and atexit handlers still run.
    While a non-daemon thread is alive, the normal exit (which waits for it) is kept.
    """
    if isinstance(code, str):
        click.echo(code, err=True)
        code = EXIT_FAILED
    code = EXIT_OK if code is None else int(code)
    if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach the reader
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
