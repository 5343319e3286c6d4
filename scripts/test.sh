#!/usr/bin/env bash
# The README's test command: install what is missing, then run the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "[test] .venv/bin/python -m pytest -q $*"
exec .venv/bin/python -m pytest -q "$@"
