"""Entry file the Azure Functions Python worker imports (PYTHON_SCRIPT_FILE_NAME=main.py).

A `function_app/` package would shadow a `function_app.py` file, so the entry file has
another name; it only exposes the one `DFApp` instance the worker looks for.
"""
from function_app import app

__all__ = ["app"]
