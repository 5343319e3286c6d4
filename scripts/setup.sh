#!/usr/bin/env bash
# Install everything the tests need, idempotently: .venv (Python 3.11) with durapipe[ml,test,ray,azureml], checkov in .venv-checkov, and Azurite via npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3.11}"
say() { printf '[setup] %s\n' "$*"; }

# Debian packages: Graphviz's `dot` lays out `durapipe graph` and the web view's DAG as SVG/PNG (the
# `graphviz` Python package only calls it); Chromium runs the web view's tests headless; iproute2's `ss`
# shows the serve front's accept queue (tests/host/test_http_front.py). Installed only when missing, so a
# machine that has them needs no network and no root.
need=()
command -v dot >/dev/null || need+=(graphviz)
command -v chromium >/dev/null || need+=(chromium)
command -v ss >/dev/null || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing ${need[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    say "warning: ${need[*]} missing and apt-get is not usable here; install them for SVG/PNG graphs and the browser tests"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  command -v "$PYTHON" >/dev/null || { echo "[setup] $PYTHON is required (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
  say "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
else
  say ".venv exists ($(.venv/bin/python --version))"
fi

say "installing durapipe[ml,test,ray,azureml] into .venv (editable)"
# Python 3.11.7's bundled pip (23.2) fails to resolve the ray and azureml extras together
# (resolvelib InconsistentCandidate over opentelemetry-sdk); a current pip resolves them.
PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install --quiet --upgrade 'pip>=25'
PIP_DISABLE_PIP_VERSION_CHECK=1 .venv/bin/python -m pip install --quiet -e '.[ml,test,ray,azureml]'
# An editable install leaves the repository's modules uncompiled; compile them once so every
# worker and CLI start reads bytecode even where PYTHONDONTWRITEBYTECODE is set.
.venv/bin/python -m compileall -q durapipe activities orchestrators function_app main.py pipelines >/dev/null

if [ "${1:-}" = "--python-only" ]; then
  say "done (Python only; Azurite is needed for the tests, not for the demo)"
  exit 0
fi

# checkov (infrastructure checks over infra/) lives in a virtual environment of its own: it pins
# dependencies (pycep-parser 0.5) that conflict with the test suite's.
if [ ! -x .venv-checkov/bin/checkov ] || ! cmp -s requirements-checkov.txt .venv-checkov/.requirements; then
  say "installing checkov into .venv-checkov"
  [ -x .venv-checkov/bin/python ] || "$PYTHON" -m venv .venv-checkov
  PIP_DISABLE_PIP_VERSION_CHECK=1 .venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
  cp requirements-checkov.txt .venv-checkov/.requirements
else
  say "checkov is installed in .venv-checkov"
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
