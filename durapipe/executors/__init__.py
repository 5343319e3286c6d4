"""Executors: where a step's code runs (a supervised local child process, or remote compute)."""
from durapipe.executors.base import Executor, StepCall, StepOutcome

__all__ = ["Executor", "StepCall", "StepOutcome"]
