"""The `durapipe` command: `main.py` parses arguments and maps errors to exit codes; one module per command group calls the library and renders the answer."""
from durapipe.cli.main import entry, main

__all__ = ["entry", "main"]
