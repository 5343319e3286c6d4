"""`@step`: turn a function of Inputs, Outputs and parameters into a pipeline step."""
from __future__ import annotations

import copy
import functools
from typing import Any, Callable

from durapipe.dsl.builder import current_builder
from durapipe.dsl.callsite import function_location, user_location
from durapipe.dsl.refs import Outputs
from durapipe.dsl.signature import read_signature
from durapipe.core.errors import DefinitionError, InvalidNameError
from durapipe.core.names import check_name
from durapipe.model.spec import StepOptions


class Step:
    """A step: its function, declared inputs, outputs and parameters, and how it runs."""

    def __init__(self, func: Callable, options: StepOptions) -> None:
        if isinstance(func, Step) or not callable(func) or not hasattr(func, "__code__"):
            raise DefinitionError(f"@step decorates a plain function, not {func!r} ({user_location()}).")
        functools.update_wrapper(self, func)
        self.func = func
        self.ref = f"{func.__module__}:{func.__qualname__}"
        self.options = options
        self._alias: str | None = None
        try:
            self.name = check_name(func.__name__, "step name")
        except InvalidNameError as exc:
            raise DefinitionError(f"{str(exc).rstrip('.')} ({function_location(func)}).") from None
        signature = read_signature(func, "step", allow_outputs=True)
        self.inputs = signature.inputs
        self.outputs = signature.outputs
        self.params = signature.params

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside a pipeline body: record a call and return its outputs; elsewhere: run the function."""
        builder = current_builder()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.add_step(self, args, kwargs, self._alias, None, user_location())

    def map(self, over: str, /, *, error_threshold: int | float | None = None, **bindings: Any) -> Outputs:
        """Inside a pipeline body: run this step once per file of the folder bound to input `over`.

        `error_threshold`: how many partitions may fail (a count, or a float fraction of them) with the run still
        completing, the failed ones listed in its record; by default one failed partition fails the step.
        """
        builder = current_builder()
        if builder is None:
            raise DefinitionError(f"Step {self.name}.map is only for pipeline bodies ({user_location()}).")
        if error_threshold is not None:
            from durapipe.model.spec import check_error_threshold
            try:
                check_error_threshold(error_threshold)
            except DefinitionError as exc:
                raise DefinitionError(f"In {self.name}.map at {user_location()}: {exc}") from None
        return builder.add_step(self, (), bindings, self._alias, over, user_location(), error_threshold)

    def alias(self, name: str) -> Step:
        """This step under another name, to call it more than once with names of your choosing."""
        try:
            check_name(name, "step alias")
        except InvalidNameError as exc:
            raise DefinitionError(f"{str(exc).rstrip('.')} ({user_location()}).") from None
        other = copy.copy(self)
        other.name = other._alias = name
        return other

    def __repr__(self) -> str:
        return f"<durapipe step {self.name} ({self.ref})>"


def step(func: Callable | None = None, *, retries: int = 0, retry_interval: float = 5.0,
         timeout: float | None = None, cache: bool = True, version: str | None = None,
         compute: str = "local", environment: str | list[str] | None = None, reads: list[str] | None = None,
         env: list[str] | None = None) -> Any:
    """Declare a step, as `@step` or `@step(retries=2, ...)`; options are checked here, at declaration.

    `environment`: a requirements file (relative to the project root) or a list of requirements;
    the step then runs in a virtual environment of its own with exactly those.
    `reads`: project files and folders (relative to the project root) its result depends on that
    tracing cannot see (read by a subprocess or native code); `env`: environment variables it depends on.
    """
    where = user_location()

    def options_for(f: Callable | None) -> StepOptions:
        try:
            requirements = None
            if environment is not None and f is not None:
                from durapipe.model.requirements import read_requirements
                from durapipe.core.paths import find_project_root
                source = getattr(getattr(f, "__code__", None), "co_filename", ".")
                requirements = read_requirements(environment, find_project_root(source))
            options = StepOptions(retries=retries, retry_interval=retry_interval, timeout=timeout, cache=cache,
                                  version=version, compute=compute, environment=requirements,
                                  reads=reads, env=env)
            if f is not None:
                _warn_of_timeout(f, options, where)
            return options
        except DefinitionError as exc:
            raise DefinitionError(f"In @step at {where}: {str(exc)[0].lower()}{str(exc)[1:]}") from None

    if func is None:
        if environment is None:
            options = options_for(None)  # checked now, at the @step(...) line

            def decorate(f: Callable) -> Step:
                _warn_of_timeout(f, options, where)
                return Step(f, options)
            return decorate
        # A requirements file is found from the project of the decorated function's file.
        return lambda f: Step(f, options_for(f))
    if not callable(func):
        raise DefinitionError(f"@step takes its options by name, as in @step(retries=2) ({where}).")
    return Step(func, options_for(func))


def _warn_of_timeout(func: Callable, options: StepOptions, where: str) -> None:
    """Warn (once per step) when a local step's timeout is longer than the deployed function timeout."""
    import warnings

    import inspect

    from durapipe.core.host_json import deployed_host_json, function_timeout_s, timeout_warning
    from durapipe.core.paths import find_project_root

    if options.timeout is None:
        return  # the usual case: no file read
    try:
        source = inspect.getsourcefile(func)
    except TypeError:
        source = None
    host_json = deployed_host_json(find_project_root(source) if source else None)
    message = timeout_warning(getattr(func, "__name__", "?"), options.to_json(), function_timeout_s(host_json))
    if message:
        warnings.warn(f"{message} ({where})", UserWarning, stacklevel=3)
