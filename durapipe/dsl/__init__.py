"""The definition layer: `@step`, `@pipeline` and the `Input`/`Output` markers."""
from durapipe.dsl.markers import Input, Output
from durapipe.dsl.pipeline import Pipeline, pipeline
from durapipe.dsl.refs import InputRef, OutputRef, Outputs, ParamRef
from durapipe.dsl.step import Step, step
from durapipe.model.spec import StepOptions

__all__ = ["Input", "Output", "Step", "Pipeline", "step", "pipeline", "StepOptions",
           "InputRef", "OutputRef", "ParamRef", "Outputs"]
