"""The pipeline spec: JSON round trip, validation, graph helpers and parameter resolution."""
from __future__ import annotations

import copy
import json

import pytest

from durapipe.core.canonical import hash_value
from durapipe.core.errors import SpecError, UsageError
from durapipe.model.spec import PipelineSpec, resolve_params, step_params, topological_order
from tests.dsl.test_pipeline import retrain


def step_json(name: str, inputs: dict | None = None, **extra) -> dict:
    data = {"name": name, "ref": f"pkg.mod:{name}", "inputs": inputs or {}, "outputs": ["out"],
            "params": {}, "options": {"retries": 0, "retry_interval": 5.0, "timeout": None, "cache": True,
                                      "version": None, "compute": "local"}, "map": None}
    data.update(extra)
    return data


def valid() -> dict:
    """A valid spec: a -> b -> c, a -> c; b binds pipeline param C."""
    return {
        "schema": 1,
        "name": "demo",
        "inputs": {"raw": {"optional": False}},
        "params": {"C": {"type": "float", "default": 1.0}, "seed": {"type": "int", "required": True}},
        "steps": [
            step_json("a", {"raw": {"input": "raw"}}),
            step_json("b", {"x": {"step": "a", "output": "out"}}, params={"C": {"param": "C"}, "k": {"value": 3}}),
            step_json("c", {"x": {"step": "b", "output": "out"}, "y": {"step": "a", "output": "out"}}),
        ],
        "outputs": {"result": {"step": "c", "output": "out"}},
    }


def refused(data) -> str:
    with pytest.raises(SpecError) as err:
        PipelineSpec.from_json(data)
    return str(err.value)


# ------------------------------------------------------------ round trip and version


def test_dsl_spec_round_trips_through_json():
    spec = retrain.spec
    assert PipelineSpec.from_json(spec.to_json()) == spec


def test_spec_round_trips_through_a_json_string():
    spec = PipelineSpec.from_json(valid())
    assert PipelineSpec.from_json(json.dumps(spec.to_json())) == spec


def test_to_json_has_the_documented_shape():
    data = retrain.spec.to_json()
    assert list(data) == ["schema", "name", "version", "inputs", "params", "steps", "outputs"]
    assert data["steps"][1]["params"] == {"C": {"param": "C"}}
    assert data["steps"][0]["options"]["retry_interval"] == 5.0


def test_version_is_the_hash_of_the_spec_without_version():
    data = retrain.spec.to_json()
    version = data.pop("version")
    assert version == hash_value(data)


def test_version_changes_when_a_default_changes():
    changed = valid()
    changed["params"]["C"]["default"] = 2.0
    assert PipelineSpec.from_json(changed).version != PipelineSpec.from_json(valid()).version


def test_version_that_does_not_match_content_is_refused():
    data = PipelineSpec.from_json(valid()).to_json()
    data["params"]["C"]["default"] = 9.0
    assert "version" in refused(data)


def test_required_param_round_trips():
    spec = PipelineSpec.from_json(valid())
    assert spec.params["seed"].required
    assert spec.to_json()["params"]["seed"] == {"type": "int", "required": True}


# ------------------------------------------------------------ validation errors


def test_unknown_schema_version_is_refused():
    data = valid() | {"schema": 7}
    assert "spec schema version 7 is not supported; this durapipe reads version 1" in refused(data).lower()


def test_missing_schema_version_is_refused():
    data = valid()
    del data["schema"]
    assert "schema" in refused(data)


def test_invalid_json_text_is_refused():
    assert "not valid JSON" in refused("{nope")


def test_unknown_top_level_field_is_refused():
    assert "'extra'" in refused(valid() | {"extra": 1})


def test_invalid_pipeline_name_is_refused():
    assert "'../x'" in refused(valid() | {"name": "../x"})


def test_invalid_step_name_is_refused():
    data = valid()
    data["steps"][0]["name"] = "a b"
    assert "'a b'" in refused(data)


def test_duplicate_step_names_are_refused():
    data = valid()
    data["steps"][1]["name"] = "a"
    data["steps"][2]["inputs"]["x"]["step"] = "a"
    assert "two steps named 'a'" in refused(data)


def test_binding_to_unknown_step_is_refused():
    data = valid()
    data["steps"][1]["inputs"]["x"]["step"] = "zzz"
    message = refused(data)
    assert "unknown step 'zzz'" in message and "Step b" in message


def test_binding_to_an_output_the_step_does_not_produce_is_refused():
    data = valid()
    data["steps"][1]["inputs"]["x"]["output"] = "nope"
    assert "a.nope" in refused(data)


def test_binding_to_unknown_pipeline_input_is_refused():
    data = valid()
    data["steps"][0]["inputs"]["raw"] = {"input": "missing"}
    assert "unknown pipeline input 'missing'" in refused(data)


def test_binding_to_unknown_pipeline_param_is_refused():
    data = valid()
    data["steps"][1]["params"]["C"] = {"param": "D"}
    assert "unknown pipeline parameter 'D'" in refused(data)


def test_malformed_binding_is_refused():
    data = valid()
    data["steps"][1]["inputs"]["x"] = {"step": "a"}
    assert "must be" in refused(data)


def test_pipeline_output_from_unknown_step_is_refused():
    data = valid()
    data["outputs"]["result"]["step"] = "ghost"
    assert "unknown step 'ghost'" in refused(data)


def test_cycle_is_refused_naming_its_steps():
    data = valid()
    data["steps"][0]["inputs"]["raw"] = {"step": "c", "output": "out"}
    del data["steps"][2]["inputs"]["y"]
    assert "cycle of steps: a -> b -> c -> a" in refused(data)


def test_self_loop_is_a_cycle():
    data = valid()
    data["steps"][0]["inputs"]["raw"] = {"step": "a", "output": "out"}
    assert "a -> a" in refused(data)


@pytest.mark.parametrize(
    "option, value",
    [("retries", -1), ("retry_interval", 0), ("timeout", "soon"), ("cache", 1), ("version", ""), ("compute", "gpu")],
)
def test_bad_option_value_is_refused(option, value):
    data = valid()
    data["steps"][0]["options"][option] = value
    message = refused(data)
    assert "Step a" in message and option in message


def test_unknown_option_is_refused():
    data = valid()
    data["steps"][0]["options"]["priority"] = 1
    assert "'priority'" in refused(data)


def test_map_over_an_unbound_input_is_refused():
    data = valid()
    data["steps"][0]["map"] = "other"
    assert "mapped over 'other'" in refused(data)


@pytest.mark.parametrize("value", [["raw"], {"raw": 1}, 3])
def test_map_over_a_value_that_is_not_a_name_is_refused(value):
    data = valid()
    data["steps"][0]["map"] = value
    assert "Step a is mapped over" in refused(data)


@pytest.mark.parametrize("flat", [["raw"], {"raw": 1}])
def test_fan_in_item_that_is_not_a_name_is_refused(flat):
    data = valid()
    data["steps"][0]["fan_in"] = {"parts": {"kind": "list", "items": {"0": flat}}}
    assert "fan_in 'parts'" in refused(data)


@pytest.mark.parametrize("value", ["numpy==2.1", 3, {"numpy": "2.1"}])
def test_environment_that_is_not_a_list_is_refused(value):
    data = valid()
    data["steps"][0]["options"]["environment"] = value
    message = refused(data)
    assert "Step a" in message and "environment must be a list" in message


def test_map_over_a_bound_input_is_accepted():
    data = valid()
    data["steps"][0]["map"] = "raw"
    assert PipelineSpec.from_json(data).step("a").map == "raw"


def test_bad_ref_is_refused():
    data = valid()
    data["steps"][0]["ref"] = "os.system"
    assert "'os.system'" in refused(data)


def test_unknown_param_type_is_refused():
    data = valid()
    data["params"]["C"]["type"] = "complex"
    assert "'complex'" in refused(data)


def test_param_default_of_wrong_type_is_refused():
    data = valid()
    data["params"]["C"]["default"] = "high"
    assert "parameter 'C'" in refused(data)


def test_param_with_neither_default_nor_required_is_refused():
    data = valid()
    del data["params"]["C"]["default"]
    assert "required" in refused(data)


def test_non_finite_literal_is_refused():
    data = valid()
    data["steps"][1]["params"]["k"] = {"value": float("inf")}
    assert "finite" in refused(data)


def test_duplicate_output_name_is_refused():
    data = valid()
    data["steps"][0]["outputs"] = ["out", "out"]
    assert "twice" in refused(data)


# ------------------------------------------------------------ graph helpers


def test_topological_order_puts_producers_first():
    data = valid()
    data["steps"] = list(reversed(data["steps"]))
    assert topological_order(PipelineSpec.from_json(data)) == ["a", "b", "c"]


def test_downstream_is_transitive_and_excludes_the_step():
    spec = PipelineSpec.from_json(valid())
    assert spec.downstream("a") == {"b", "c"}
    assert spec.downstream("c") == set()


def test_step_lookup_of_unknown_name_raises():
    with pytest.raises(SpecError, match="no step named 'zzz'"):
        PipelineSpec.from_json(valid()).step("zzz")


# ------------------------------------------------------------ parameters


def spec() -> PipelineSpec:
    return PipelineSpec.from_json(valid())


def test_resolve_params_applies_defaults():
    assert resolve_params(spec(), {"seed": 4}) == {"C": 1.0, "seed": 4}


def test_resolve_params_coerces_int_to_float():
    value = resolve_params(spec(), {"seed": 4, "C": 2})["C"]
    assert value == 2.0 and isinstance(value, float)


def test_resolve_params_refuses_bool_for_int():
    with pytest.raises(UsageError, match="'seed'"):
        resolve_params(spec(), {"seed": True})


def test_resolve_params_refuses_wrong_type():
    with pytest.raises(UsageError, match="'C'.*float"):
        resolve_params(spec(), {"seed": 1, "C": "high"})


def test_resolve_params_refuses_unknown_param():
    with pytest.raises(UsageError, match="'D'"):
        resolve_params(spec(), {"seed": 1, "D": 1})


def test_resolve_params_refuses_missing_required_param():
    with pytest.raises(UsageError, match="'seed'.*required"):
        resolve_params(spec(), {})


def test_resolve_params_refuses_nan():
    with pytest.raises(UsageError, match="finite"):
        resolve_params(spec(), {"seed": 1, "C": float("nan")})


def test_resolve_params_accepts_none_for_nullable_param():
    data = valid()
    data["params"]["note"] = {"type": "str", "default": "x", "nullable": True}
    assert resolve_params(PipelineSpec.from_json(data), {"seed": 1, "note": None})["note"] is None


def test_step_params_combines_literals_and_bound_params():
    assert step_params(spec().step("b").to_json(), {"C": 0.5, "seed": 1}) == {"C": 0.5, "k": 3}


def test_step_params_of_dsl_spec_include_step_defaults():
    run = resolve_params(retrain.spec, {})
    assert step_params(retrain.spec.step("prepare").to_json(), run) == {"test_size": 0.2}
    assert step_params(retrain.spec.step("fit").to_json(), run) == {"C": 1.0}


def test_spec_copy_is_not_shared_with_the_input():
    data = valid()
    before = copy.deepcopy(data)
    PipelineSpec.from_json(data)
    assert data == before


def test_a_spec_read_again_from_the_same_json_is_the_same_spec_and_a_changed_one_is_checked_anew():
    from durapipe.model.spec import PipelineSpec

    spec = {"schema": 1, "name": "p", "inputs": {}, "params": {}, "outputs": {},
            "steps": [{"name": "s", "ref": "m:s", "inputs": {}, "outputs": ["out"], "params": {}, "options": {}}]}
    first = PipelineSpec.from_json(spec)
    assert PipelineSpec.from_json(json.loads(json.dumps(spec))) is first
    spec["steps"][0]["name"] = "bad name"
    with pytest.raises(SpecError):
        PipelineSpec.from_json(spec)


def test_a_spec_text_is_read_once_then_known_valid_in_this_process(monkeypatch):
    import durapipe.model.spec as spec_module
    from durapipe.model.spec import checked_spec_json, spec_text

    text = spec_text(PipelineSpec.from_json(valid()).to_json()) + " "  # a text no earlier test read
    reads = []
    original = spec_module._read_spec
    monkeypatch.setattr(spec_module, "_read_spec", lambda data: reads.append(1) or original(data))
    assert checked_spec_json(text) == json.loads(text)
    assert checked_spec_json(text) == json.loads(text)
    assert reads == [1]


def test_a_spec_text_that_is_not_a_valid_spec_is_refused_every_time():
    from durapipe.model.spec import checked_spec_json

    bad = json.dumps({**PipelineSpec.from_json(valid()).to_json(), "name": "Not A Name"})
    for _ in range(2):
        with pytest.raises(SpecError):
            checked_spec_json(bad)


def test_the_params_view_of_a_spec_resolves_parameters_as_the_whole_spec_does():
    from durapipe.model.spec import params_view

    spec = retrain.spec
    view = params_view(spec.to_json())
    assert view.name == spec.name and view.params == spec.params and view.steps == ()
    assert resolve_params(view, {"C": 0.5}) == resolve_params(spec, {"C": 0.5})


def _nested(depth: int) -> list:
    value: list = [1]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_json_value_of_any_depth_gets_a_sentence_never_a_recursion_error():
    from durapipe.model.spec import MAX_JSON_DEPTH, json_problem

    assert json_problem(_nested(MAX_JSON_DEPTH)) is None
    assert json_problem({"a": _nested(MAX_JSON_DEPTH - 1)}) is None
    for depth in (MAX_JSON_DEPTH + 1, 500, 989, 990, 100_000):
        assert json_problem(_nested(depth)) == f"it is nested more than {MAX_JSON_DEPTH} lists or objects deep"


def test_json_problem_names_the_first_problem_in_order():
    from durapipe.model.spec import json_problem

    assert json_problem([1, [float("nan")], {1: 2}]) == "nan is not a finite number"
    assert json_problem({"a": [1, {2: 3}], "b": float("inf")}) == "the dict key 2 is not a string"
    assert json_problem([object()]) == "a object is not a JSON value"


def test_a_parameter_nested_too_deep_is_refused_with_a_sentence():
    with pytest.raises(UsageError, match=r"^Parameter 'C' of pipeline retrain must be a JSON value: it is nested "):
        resolve_params(PipelineSpec.from_json(retrain.spec.to_json()), {"C": _nested(700)})


def test_a_huge_value_refused_for_its_type_is_not_echoed_back_whole():
    with pytest.raises(UsageError) as refused:
        resolve_params(PipelineSpec.from_json(retrain.spec.to_json()), {"C": list(range(10_000))})
    message = str(refused.value)
    assert message.startswith("Parameter 'C' of pipeline retrain expects a float, not list [0, 1, 2,")
    assert len(message) < 200 and "…" in message and message.endswith(".")
