"""A throwaway project with a pipeline file, helper modules and a package, for fingerprint tests."""
from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

import pytest

from durapipe.fingerprint.code import CodeInfo, code_components_at

PIPELINE = '''\
"""A pipeline file for the fingerprint tests."""
import json
import helpers
from feature import scale
import shop
import unrelated

THRESHOLD = 3


def step(*args, **options):
    """A stand-in for durapipe's decorator: returns the function unchanged."""
    if args and callable(args[0]):
        return args[0]
    return lambda func: func


def _clip(x):
    return min(x, THRESHOLD)


@step(retries=2)
def a(x, C=1.0):
    return helpers.double(_clip(x)) * C


@step
def b(x):
    return scale(x)


@step
def c(x):
    return shop.tool(x)


@step
def d(x):
    return json.dumps(x)


@step
def e(x):
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    return np.mean(x), LogisticRegression
'''

FILES = {
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "pipelines/retrain.py": PIPELINE,
    "helpers.py": "def double(x):\n    return 2 * x\n",
    "feature.py": "def scale(x):\n    return x / 10\n",
    "shop/__init__.py": "from .util import tool\n",
    "shop/util.py": "from . import deep\n\n\ndef tool(x):\n    return deep.depth(x)\n",
    "shop/deep.py": "def depth(x):\n    return x - 1\n",
    "unrelated.py": "def other():\n    return 0\n",
}

_counter = itertools.count()


class Project:
    """A project folder the test can edit, analyse and import from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pipeline = root / "pipelines" / "retrain.py"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert old in text, f"{old!r} is not in {relative}"
        path.write_text(text.replace(old, new))

    def code(self, qualname: str, relative: str = "pipelines/retrain.py") -> CodeInfo:
        return code_components_at(self.root / relative, qualname, self.root)

    def load(self, relative: str = "pipelines/retrain.py") -> ModuleType:
        # Tests may import the pipeline to get function objects; the analysis itself never does.
        path = self.root / relative
        spec = importlib.util.spec_from_file_location(f"fingerprint_test_pipeline_{next(_counter)}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    for relative, text in FILES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield Project(tmp_path.resolve())
    for name in set(sys.modules) - before:
        if name in FILES_MODULES or name.startswith("fingerprint_test_pipeline_"):
            del sys.modules[name]


FILES_MODULES = {"helpers", "feature", "shop", "shop.util", "shop.deep", "unrelated", "boom"}
