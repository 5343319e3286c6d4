"""durapipe: ML pipelines on Azure Durable Functions, with fingerprint-based reuse."""
from typing import Any

from durapipe.dsl import Input, Output, Pipeline, Step, pipeline, step
from durapipe.dsl.definitions import BlobTrigger, Definitions, Model, Schedule
from durapipe.dsl.sweeps import sweep
from durapipe.tracking import log_metric, log_param


_API = ("run", "get_run", "Run", "register_data", "list_data", "data_versions", "get_data", "download_data",
        "register_model", "promote_model", "list_models", "get_model")


def __getattr__(name: str) -> Any:
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
           "Model", "log_metric", "log_param", "sweep", "__version__", *_API]
