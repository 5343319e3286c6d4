"""durapipe: ML pipelines on Azure Durable Functions, with fingerprint-based reuse."""
from importlib.metadata import PackageNotFoundError, version

from durapipe.dsl import Input, Output, Pipeline, Step, pipeline, step

try:
    __version__ = version("durapipe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["step", "pipeline", "Input", "Output", "Step", "Pipeline", "__version__"]
