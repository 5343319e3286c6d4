"""The `durapipe` command: `main.py` parses arguments and maps errors to exit codes; one module per command group does the work and renders it."""
from durapipe.cli.main import entry, main

__all__ = ["entry", "main"]
