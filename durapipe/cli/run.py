"""`durapipe run`, `resume` and `rerun`: start a run on the local host, follow it, print its outcome."""
from __future__ import annotations

import sys
from typing import Any

from durapipe.cli.render import print_outcome
from durapipe.core.errors import UsageError
from durapipe.engine.pipeline_request import pipeline_request
from durapipe.host.session import LocalSession, state_dir_for, store_of_run
from durapipe.store.url import open_store


def _finish(session: LocalSession, run_id: str, as_json: bool) -> int:
    """Wait for the run, print its outcome, then leave its plan remembered for the next run."""
    code = print_outcome(session, run_id, as_json)
    session.remember_plan(run_id)
    return code


def run_pipeline(target: str, params: dict[str, Any], inputs: dict[str, str], store_url: str | None,
                 max_parallel: int | None, force: list[str], as_json: bool, register_model: str | None = None,
                 publish: dict[str, str] | None = None) -> int:
    """`durapipe run`: run TARGET on the local host and print the outcome."""
    from durapipe.host.workers import start_fork_server

    # The worker fork server imports the app on the other core while this process imports the
    # pipeline and the app (~0.3 s of a run that executes steps). A run given no inputs and no
    # --force whose pipeline is remembered unchanged (durapipe.load.definition_cache, which also keys
    # on the command line) most likely reuses every step: it starts the server only once the
    # pipeline turns out to need importing, a step is uncached, or a step is to run after all,
    # so a run that reuses every step starts no process (~40 ms less).
    start = lambda: start_fork_server(state_dir_for())  # noqa: E731
    likely_work = bool(inputs or force or register_model)
    if likely_work:
        start()
    store = open_store(store_url)
    request = pipeline_request(target, params, inputs, force, max_parallel, store, register_model=register_model,
                                publish=publish, before_import=None if likely_work else start)
    from durapipe.model.spec import step_options  # imported by pipeline_request already: a lookup

    if not likely_work and not all(step_options(s)["cache"] for s in request["spec"]["steps"]):
        start()
    with LocalSession(store.url, state_dir_for(), max_parallel, inline_activities=True) as session:
        run_id = session.start_run(request)
        if not as_json:
            print(f"run {run_id} started (store {session.store.url})", file=sys.stderr)
        return _finish(session, run_id, as_json)


def resume_run(run_id: str, max_parallel: int | None, as_json: bool) -> int:
    """`durapipe resume`: continue an unfinished run from its journal; a failed one starts again under its id."""
    state_dir = state_dir_for()
    store_url = store_of_run(state_dir, run_id)
    if store_url is None:
        raise UsageError(f"This host has no journal of run {run_id!r}; `durapipe runs list` shows the runs.")
    from durapipe.host.local_host import InstanceBusy

    with LocalSession(store_url, state_dir, max_parallel, inline_activities=True) as session:
        try:
            resumed = session.host.resume(run_id)
        except InstanceBusy as exc:
            raise UsageError(str(exc)) from None
        if not resumed and session.host.get_status(run_id, show_input=False)["runtimeStatus"] == "Failed":
            _restart_failed(session, run_id)
        return _finish(session, run_id, as_json)


def _restart_failed(session: LocalSession, run_id: str) -> None:
    """Run a failed run again under its id, from its original request: every committed step is reused."""
    from durapipe.engine.rerun import mark_running_again
    from durapipe.model.contracts import PIPELINE_RUN

    meta = session.host.journal.read_meta(run_id)
    mark_running_again(session.store, run_id)
    session.host.start_new_json(PIPELINE_RUN, run_id, meta["input"])


def rerun(run_id: str, plan_only: bool, store_url: str | None, max_parallel: int | None, as_json: bool) -> int:
    """`durapipe rerun`: the same pipeline, parameters and resolved input versions; --plan says what differs."""
    from durapipe.engine.request import new_run_id
    from durapipe.engine.rerun import rerun_request
    from durapipe.host.workers import start_fork_server
    from durapipe.store.records import read_run_record

    store = open_store(store_url)
    original = read_run_record(store, run_id)
    if plan_only:
        from durapipe.cli.plan import print_rerun_plan
        from durapipe.views.plan import rerun_plan_report

        return print_rerun_plan(rerun_plan_report(store, original, rerun_request(store, original, "plan", [], None)),
                                as_json)
    start_fork_server(state_dir_for())
    request = rerun_request(store, original, new_run_id(original["pipeline"]), [], max_parallel)
    with LocalSession(store.url, state_dir_for(), max_parallel, inline_activities=True) as session:
        new_id = session.start_run(request)
        if not as_json:
            print(f"run {new_id} started again from {run_id} (store {session.store.url})", file=sys.stderr)
        return _finish(session, new_id, as_json)
