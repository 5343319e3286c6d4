#!/usr/bin/env bash
# Install everything the tests need, idempotently: .venv (Python 3.11) with durapipe[ml,test], and Azurite via npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3.11}"
say() { printf '[setup] %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  command -v "$PYTHON" >/dev/null || { echo "[setup] $PYTHON is required (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
  say "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
else
  say ".venv exists ($(.venv/bin/python --version))"
fi

say "installing durapipe[ml,test] into .venv (editable)"
PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install --quiet -e '.[ml,test]'
# An editable install leaves the repository's modules uncompiled; compile them once so every
# worker and CLI start reads bytecode even where PYTHONDONTWRITEBYTECODE is set.
.venv/bin/python -m compileall -q durapipe activities orchestrators function_app main.py pipelines >/dev/null

if [ "${1:-}" = "--python-only" ]; then
  say "done (Python only; Azurite is needed for the tests, not for the demo)"
  exit 0
fi

command -v npm >/dev/null || { echo "[setup] npm (Node.js) is required to install Azurite for the blob store tests." >&2; exit 1; }
# npm ci wipes node_modules, so run it only when the lock file changed since the last install.
stamp=node_modules/.durapipe-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -x node_modules/.bin/azurite-blob ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "Azurite is installed and package-lock.json is unchanged"
else
  say "installing Azurite (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
say "done"
