"""The environment components of a fingerprint."""
from __future__ import annotations

import platform

from durapipe.fingerprint.environment import environment_components


def test_python_is_named_with_implementation_and_full_version():
    python = environment_components({})["python"]
    assert python == f"{platform.python_implementation()} {platform.python_version()}"
    assert python.count(".") >= 2


def test_packages_are_kept_apart_from_python():
    assert environment_components({"numpy": "2.0.0"})["packages"] == {"numpy": "2.0.0"}
