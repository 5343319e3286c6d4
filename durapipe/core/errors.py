"""The errors durapipe raises; every message is one sentence a user can act on."""


class DurapipeError(Exception):
    """Base of every error durapipe reports to a user as a sentence, not a traceback."""


class DefinitionError(DurapipeError):
    """A step or pipeline definition is wrong; the message names the file, line and problem."""


class SpecError(DurapipeError):
    """A pipeline spec (JSON) does not load or does not validate."""


class InvalidNameError(DurapipeError):
    """A pipeline, step, run, model or blob name does not match the allowed pattern."""


class StoreError(DurapipeError):
    """The store could not answer (outage, timeout, permission); never means 'not found'."""


class NotFoundError(DurapipeError):
    """The key, artifact, run or model asked for does not exist."""


class IntegrityError(DurapipeError):
    """Stored content does not match its recorded hash."""


class UsageError(DurapipeError):
    """A command, parameter or input binding given by the user is wrong."""


class AppLoadError(DurapipeError):
    """The function app's entry file cannot be found, imported or indexed."""


class LocalHostError(DurapipeError):
    """The local Durable host cannot do what was asked (unknown function, instance or action)."""


SHOWN_CHARS = 100


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`repr(value)` for an error sentence, cut to `limit` characters and '…', so a huge value is not echoed back."""
    try:
        text = repr(value)
    except RecursionError:  # a value nested deeper than repr goes
        text = f"<a {type(value).__name__} nested too deeply to show>"
    return text if len(text) <= limit else text[:limit] + "…"
