"""Orchestrator code must replay identically: no I/O, clocks, randomness or fresh ids."""
import ast
from pathlib import Path

ORCHESTRATORS = Path(__file__).resolve().parents[2] / "orchestrators"
FORBIDDEN_MODULES = {"random", "uuid", "time", "os", "socket", "requests", "urllib", "subprocess",
                     "secrets", "threading", "pathlib", "shutil", "tempfile", "durapipe.store"}
FORBIDDEN_CALLS = {"open", "print", "input"}
FORBIDDEN_ATTRS = {"now", "utcnow", "today", "time", "uuid4", "random", "getenv"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in FORBIDDEN_MODULES or node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"imports from {node.module}")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                found.append(f"calls {node.func.id}() at line {node.lineno}")
            if isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_ATTRS:
                found.append(f"calls .{node.func.attr}() at line {node.lineno}")
    return [f"{path.name}: {v}" for v in found]


def test_orchestrator_sources_use_no_io_clock_random_or_uuid():
    files = sorted(ORCHESTRATORS.glob("*.py"))
    assert files
    violations = [v for f in files for v in _violations(f)]
    assert violations == []


def test_the_scan_detects_a_clock_read(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import datetime\n\ndef orch(ctx):\n    return datetime.datetime.now()\n")
    assert _violations(bad) == ["bad.py: calls .now() at line 4"]
