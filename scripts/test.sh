#!/usr/bin/env bash
# The README's test command: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
# The layers first (pyproject.toml [tool.importlinter]): the library imports no app code.
echo "[test] .venv/bin/lint-imports"
.venv/bin/lint-imports
echo "[test] .venv/bin/python -m pytest -q $*"
exec .venv/bin/python -m pytest -q "$@"
