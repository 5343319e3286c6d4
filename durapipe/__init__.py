"""durapipe: ML pipelines on Azure Durable Functions, with fingerprint-based reuse."""
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durapipe.dsl import Input, Output, Pipeline, Step, pipeline, step
    from durapipe.dsl.definitions import BlobTrigger, Definitions, Model, Schedule
    from durapipe.dsl.sweeps import sweep
    from durapipe.dsl.partition import partition
    from durapipe.dsl.tracking import log_metric, log_param

# The names a project writes its pipelines with, each imported from its module on first use:
# `durapipe run` that finds the pipeline's spec in its cache never builds one (~30 ms of imports).
_DSL = {"Input": "durapipe.dsl", "Output": "durapipe.dsl", "Pipeline": "durapipe.dsl", "Step": "durapipe.dsl",
        "pipeline": "durapipe.dsl", "step": "durapipe.dsl", "BlobTrigger": "durapipe.dsl.definitions",
        "Definitions": "durapipe.dsl.definitions", "Model": "durapipe.dsl.definitions",
        "Schedule": "durapipe.dsl.definitions", "sweep": "durapipe.dsl.sweeps", "log_metric": "durapipe.dsl.tracking",
        "log_param": "durapipe.dsl.tracking", "partition": "durapipe.dsl.partition"}

_API = ("run", "get_run", "Run", "register_data", "list_data", "data_versions", "get_data", "download_data",
        "register_model", "register_model_files", "promote_model", "list_models", "get_model")


def __getattr__(name: str) -> Any:
    if name in _DSL:
        value = getattr(importlib.import_module(_DSL[name]), name)
        globals()[name] = value
        return value
    # The Python API loads on first use: steps and workers import durapipe and never need it.
    if name in _API:
        from durapipe import api

        return getattr(api, name)
    # importlib.metadata costs ~0.1 s at import; every CLI call and worker imports durapipe, few need this.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("durapipe")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'durapipe' has no attribute {name!r}")


__all__ = ["step", "pipeline", "Input", "Output", "Step", "Pipeline", "Definitions", "Schedule", "BlobTrigger",
           "Model", "log_metric", "log_param", "partition", "sweep", "__version__", *_API]
