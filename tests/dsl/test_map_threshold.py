"""`step.map(..., error_threshold=...)` is checked where it is declared."""
import pytest

from durapipe import Input, Output, pipeline, step
from durapipe.core.errors import DefinitionError
from durapipe.model.spec import PipelineSpec


@step
def score(image: Input, out: Output):
    out.write_text(image.read_text())


@pytest.mark.parametrize("threshold", [-1, 1.5, "2", True])
def test_a_threshold_that_is_no_count_or_fraction_is_a_definition_error(threshold):
    with pytest.raises(DefinitionError, match="error_threshold must be"):
        @pipeline
        def scores(images: Input):
            return {"out": score.map("image", image=images, error_threshold=threshold).out}

        scores.spec


@pytest.mark.parametrize("threshold", [0, 3, 0.25])
def test_a_threshold_is_kept_in_the_spec(threshold):
    @pipeline
    def scores(images: Input):
        return {"out": score.map("image", image=images, error_threshold=threshold).out}

    spec = scores.spec.to_json()
    assert spec["steps"][0]["error_threshold"] == threshold
    assert PipelineSpec.from_json(spec).steps[0].error_threshold == threshold


def test_a_step_mapped_without_a_threshold_keeps_its_spec_unchanged():
    @pipeline
    def scores(images: Input):
        return {"out": score.map("image", image=images).out}

    assert "error_threshold" not in scores.spec.to_json()["steps"][0]
