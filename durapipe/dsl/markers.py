"""`Input` and `Output`: annotation markers for a step's files and folders."""
from __future__ import annotations


class Input:
    """Annotates a step argument that receives a path to an existing file or folder."""

    def __init__(self) -> None:
        raise TypeError("Input is an annotation (raw: Input), not a value to create.")


class Output:
    """Annotates a step argument that receives a path the step must create (file or folder)."""

    def __init__(self) -> None:
        raise TypeError("Output is an annotation (model: Output), not a value to create.")
