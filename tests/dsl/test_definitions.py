"""Definitions, schedules, blob triggers and models: checked when declared, naming the file and line."""
from __future__ import annotations

import pytest

from durapipe import BlobTrigger, Definitions, Input, Model, Output, Schedule, pipeline, step
from durapipe.core.errors import DefinitionError
from tests.dsl.support import assert_points_at


@step
def double(numbers: Input, doubled: Output, factor: int = 2) -> None:
    """Double every number."""


@step
def measure(doubled: Input, metrics: Output) -> None:
    """Write metrics."""


@pipeline
def numbers(numbers: Input, factor: int = 2) -> dict:
    """Double numbers and measure them."""
    out = double(numbers=numbers, factor=factor)
    return {"doubled": out.doubled, "metrics": measure(doubled=out.doubled).metrics}


@pipeline
def other(numbers: Input) -> dict:
    """Another pipeline."""
    return {"doubled": double(numbers=numbers).doubled}


def refused(make) -> str:
    with pytest.raises(DefinitionError) as err:
        make()
    return str(err.value)


def test_a_valid_declaration_holds_its_pipelines_and_triggers():
    defs = Definitions(pipelines=[numbers], schedules=[Schedule("nightly", pipeline=numbers, cron="0 0 3 * * *",
                                                                inputs={"numbers": "data/n.csv"})],
                       blob_triggers=[BlobTrigger("arrivals", pipeline="numbers", path="incoming/{name}",
                                                  input="numbers", deliver={"doubled": "out/{name}"})])
    assert sorted(defs.pipelines) == ["numbers"]
    assert defs.blob_triggers["arrivals"].pipeline is numbers
    assert defs.blob_triggers["arrivals"].prefix == "incoming/"


def test_a_pipeline_named_by_a_trigger_joins_the_served_pipelines():
    defs = Definitions(schedules=[Schedule("s", pipeline=other, cron="0 0 3 * * *", inputs={"numbers": "a"})])
    assert list(defs.pipelines) == ["other"]


def test_an_unknown_pipeline_name_is_refused_at_the_declaring_line():
    message = refused(lambda: Definitions(
        pipelines=[numbers], schedules=[Schedule("s", pipeline="nope", cron="0 0 3 * * *")]))  # unknown-pipeline
    assert "no pipeline named 'nope'" in message and "numbers" in message
    assert_points_at(message, "unknown-pipeline", __file__)


def test_an_unknown_input_in_inputs_is_named():
    message = refused(lambda: Definitions(schedules=[
        Schedule("s", pipeline=numbers, inputs={"numbrs": "a.csv"})]))  # unknown-input
    assert "no input named 'numbrs'" in message
    assert_points_at(message, "unknown-input", __file__)


def test_an_unknown_parameter_in_params_is_named():
    message = refused(lambda: Definitions(schedules=[Schedule("s", pipeline=numbers, params={"factr": 3})]))
    assert "no parameter named 'factr'" in message


def test_a_parameter_of_the_wrong_type_is_named():
    message = refused(lambda: Definitions(schedules=[Schedule("s", pipeline=numbers, params={"factor": "x"})]))
    assert "'factor'" in message


def test_a_blob_trigger_input_the_pipeline_lacks_is_named():
    message = refused(lambda: Definitions(blob_triggers=[
        BlobTrigger("b", pipeline=numbers, input="data")]))  # bad-trigger-input
    assert "input='data' is not an input of pipeline numbers" in message
    assert_points_at(message, "bad-trigger-input", __file__)


def test_a_delivery_of_an_unknown_output_is_named():
    message = refused(lambda: Definitions(blob_triggers=[
        BlobTrigger("b", pipeline=numbers, input="numbers", deliver={"scores": "out/{name}"})]))
    assert "deliver names 'scores'" in message


@pytest.mark.parametrize("key", ["steps/{name}.json", "models/x/champion.json", "runs/{name}", "artifacts/{name}",
                                 "../{name}", "/abs/{name}", "out/{other}"])
def test_a_delivery_under_durapipe_prefixes_or_outside_the_store_is_refused(key):
    message = refused(lambda: BlobTrigger("b", pipeline=numbers, input="numbers", deliver={"doubled": key}))
    assert "deliver" in message.lower() or "delivery" in message.lower()


def test_duplicate_names_are_refused():
    message = refused(lambda: Definitions(schedules=[Schedule("s", pipeline=numbers, inputs={"numbers": "a"}),
                                                     Schedule("s", pipeline=numbers, inputs={"numbers": "a"})]))
    assert "two schedules are named 's'" in message


def test_a_bad_cron_is_refused_where_it_is_written():
    message = refused(lambda: Schedule("s", pipeline=numbers, cron="0 3 * * *"))  # bad-cron
    assert "six-field NCRONTAB" in message
    assert_points_at(message, "bad-cron", __file__)


def test_a_setting_as_cron_is_kept_for_the_host_to_resolve():
    schedule = Schedule("s", pipeline=numbers, cron="%MY_SCHEDULE%")
    assert schedule.setting == "MY_SCHEDULE" and schedule.cron == "%MY_SCHEDULE%"


@pytest.mark.parametrize("path", ["incoming/", "incoming/{name}/{name}", "{name}", "../{name}", "in/{blob}"])
def test_a_path_without_exactly_one_name_field_under_a_prefix_is_refused(path):
    message = refused(lambda: BlobTrigger("b", pipeline=numbers, path=path, input="numbers"))
    assert "path=" in message or "blob path" in message


@pytest.mark.parametrize("window", [-1, 3601, "2s", True, float("nan")])
def test_a_settle_window_that_is_not_a_number_of_seconds_is_refused_where_it_is_written(window):
    message = refused(lambda: BlobTrigger("b", pipeline=numbers, input="numbers", settle_window=window))  # bad-settle
    assert "settle_window= must be a number of seconds from 0 to 3600" in message
    assert_points_at(message, "bad-settle", __file__)


def test_a_settle_window_changes_the_definitions_version_only_when_set():
    plain = Definitions(blob_triggers=[BlobTrigger("b", pipeline=numbers, input="numbers")])
    default = Definitions(blob_triggers=[BlobTrigger("b", pipeline=numbers, input="numbers", settle_window=2.0)])
    quick = Definitions(blob_triggers=[BlobTrigger("b", pipeline=numbers, input="numbers", settle_window=0.5)])
    assert plain.version == default.version != quick.version


def test_overlapping_blob_paths_are_refused():
    message = refused(lambda: Definitions(blob_triggers=[
        BlobTrigger("a", pipeline=numbers, path="in/{name}", input="numbers"),
        BlobTrigger("b", pipeline=other, path="in/sub/{name}", input="numbers")]))
    assert "overlaps" in message


@pytest.mark.parametrize("name", ["bad name", "../x", "", "x" * 80, "é"])
def test_a_name_outside_the_name_pattern_is_refused(name):
    assert "not valid" in refused(lambda: Schedule(name, pipeline=numbers))


def test_a_malformed_input_reference_is_refused():
    message = refused(lambda: Schedule("s", pipeline=numbers, inputs={"numbers": "model:m:latest"}))
    assert "version 'latest'" in message


def test_a_model_must_name_outputs_of_its_pipeline():
    message = refused(lambda: Definitions(models=[Model("m", pipeline=numbers, output="model", metric="mae")]))
    assert "output='model' is not an output of pipeline numbers" in message


def test_a_model_direction_must_be_max_or_min():
    assert "direction=" in refused(lambda: Model("m", pipeline=numbers, output="doubled", metric="mae",
                                                 direction="up"))


def test_a_model_must_name_its_deciding_metric():
    assert "metric=" in refused(lambda: Model("m", pipeline=numbers, output="doubled"))


def test_the_version_changes_with_the_declarations_and_not_otherwise():
    def make(cron: str) -> Definitions:
        return Definitions(pipelines=[numbers], schedules=[Schedule("s", pipeline=numbers, cron=cron,
                                                                    inputs={"numbers": "a"})])
    assert make("0 0 3 * * *").version == make("0 0 3 * * *").version
    assert make("0 0 3 * * *").version != make("0 0 4 * * *").version
    assert len(make("0 0 3 * * *").version) == 64


def test_a_schedule_leaving_a_required_input_unbound_is_refused_at_its_line():
    message = refused(lambda: Definitions(schedules=[
        Schedule("s", pipeline=numbers, cron="0 0 3 * * *")]))  # unbound-schedule-input
    assert "pipeline numbers needs input 'numbers', which is not bound" in message and "inputs=" in message
    assert_points_at(message, "unbound-schedule-input", __file__)


@pipeline
def scoring(data: Input, model: Input, extra: Input | None = None) -> dict:
    """Score data with a model."""
    return {"doubled": double(numbers=data).doubled, "metrics": measure(doubled=model).metrics}


def test_a_blob_trigger_leaving_a_required_input_other_than_the_blob_unbound_is_refused_at_its_line():
    message = refused(lambda: Definitions(blob_triggers=[
        BlobTrigger("b", pipeline=scoring, input="data")]))  # unbound-trigger-input
    assert "needs input 'model', which is not bound" in message and "unbound: model" in message
    assert_points_at(message, "unbound-trigger-input", __file__)


def test_an_optional_input_may_stay_unbound():
    defs = Definitions(blob_triggers=[BlobTrigger("b", pipeline=scoring, input="data", inputs={"model": "m/x"})])
    assert "b" in defs.blob_triggers


def _scoring_with_model(reference: str) -> Definitions:
    return Definitions(models=[Model("demand", pipeline=numbers, output="doubled", metric="mae")],
                       blob_triggers=[BlobTrigger("b", pipeline=scoring, input="data",  # model-reference
                                                  inputs={"model": reference})])


def test_a_model_reference_naming_no_declared_model_is_refused_with_the_declared_ones():
    message = refused(lambda: _scoring_with_model("model:demnd:champion"))
    assert "input 'model' names model 'demnd', which no Model declares; the declared models are: demand." in message
    assert_points_at(message, "model-reference", __file__)


def test_a_model_reference_naming_an_output_its_pipeline_lacks_is_refused():
    message = refused(lambda: _scoring_with_model("model:demand:champion:scaler"))
    assert "names output 'scaler' of model demand" in message and "doubled, metrics" in message


def test_a_model_reference_to_a_declared_model_and_output_is_accepted():
    assert _scoring_with_model("model:demand:3:metrics").blob_triggers["b"].inputs["model"] == "model:demand:3:metrics"


def test_with_no_model_declared_a_model_reference_may_name_one_registered_by_hand():
    defs = Definitions(schedules=[Schedule("s", pipeline=numbers, inputs={"numbers": "model:by_hand:champion"})])
    assert defs.schedules["s"].inputs["numbers"] == "model:by_hand:champion"


@pipeline
def per_file(numbers: Input) -> dict:
    """Double each file of a folder."""
    return {"doubled": double.map("numbers", numbers=numbers).doubled}


def test_a_blob_trigger_whose_blob_feeds_a_mapped_step_is_refused_at_its_line():
    message = refused(lambda: Definitions(blob_triggers=[
        BlobTrigger("b", pipeline=per_file, input="numbers")]))  # mapped-trigger-input
    assert "step double is mapped over it" in message and "one blob" in message
    assert_points_at(message, "mapped-trigger-input", __file__)
