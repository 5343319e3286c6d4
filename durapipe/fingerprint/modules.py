"""Parsed Python source files and what their top level binds, cached per file version, never executed."""
from __future__ import annotations

import ast
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from durapipe.core.errors import DefinitionError
from durapipe.core.file_signature import FileSignature, settled


@dataclass(frozen=True)
class ImportRef:
    """One imported module: `module` with `level` leading dots, and `name` when it is `from module import name`."""

    module: str | None
    level: int = 0
    name: str | None = None


@dataclass
class ParsedModule:
    """A source file's text, syntax tree and the top-level statements and imports binding each name."""

    path: Path
    source: bytes
    lines: list[str]
    tree: ast.Module
    bindings: dict[str, list[ast.stmt]] = field(default_factory=dict)
    imports: dict[str, list[ImportRef]] = field(default_factory=dict)
    star_imports: list[ImportRef] = field(default_factory=list)

    def segment(self, start: int, end: int) -> str:
        """The source lines `start` to `end` (1-based, inclusive)."""
        return "".join(self.lines[start - 1 : end])


_cache: dict[Path, tuple[FileSignature, ParsedModule]] = {}
# CPython 3.11's parser keeps its AST recursion depth per interpreter, not per thread: two threads
# parsing at once fail with "SystemError: AST constructor recursion depth mismatch" (activities run
# on threads of one worker, as on Azure). One parse at a time.
_PARSE_LOCK = threading.Lock()


def file_signature(path: Path) -> FileSignature | None:
    """The signature of `path`, or None when it is missing or changed too recently to vouch for its content."""
    signature = FileSignature.of(path)
    return signature if signature is not None and settled(signature, time.time()) else None


def parse_module(path: Path) -> ParsedModule:
    """The parsed module at `path`, re-read only when the file changed since the last call."""
    path = path.resolve()
    signature = file_signature(path)
    cached = _cache.get(path)
    if signature is not None and cached is not None and cached[0] == signature:
        return cached[1]
    parsed = _parse(path)
    if signature is not None:
        _cache[path] = (signature, parsed)
    else:
        _cache.pop(path, None)
    return parsed


def clear_cache() -> None:
    """Forget every parsed module."""
    _cache.clear()


def import_refs(node: ast.Import | ast.ImportFrom) -> list[ImportRef]:
    """The modules one import statement loads (a `from` import may also name submodules)."""
    if isinstance(node, ast.Import):
        return [ImportRef(alias.name) for alias in node.names]
    return [ImportRef(node.module, node.level, None if alias.name == "*" else alias.name) for alias in node.names]


def _parse(path: Path) -> ParsedModule:
    try:
        source = path.read_bytes()
    except OSError as error:
        raise DefinitionError(f"Cannot read the source file {path}: {error.strerror or error}.") from error
    try:
        with _PARSE_LOCK:
            tree = ast.parse(source, filename=os.fspath(path))
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None)
        reason = error.msg if isinstance(error, SyntaxError) else str(error)
        where = f" at line {line}" if line else ""
        raise DefinitionError(f"Cannot parse {path}{where}: {reason}.") from error
    text = source.decode("utf-8", errors="replace")
    parsed = ParsedModule(path=path, source=source, lines=text.splitlines(keepends=True), tree=tree)
    _index(tree.body, parsed)
    return parsed


def _index(body: list[ast.stmt], parsed: ParsedModule) -> None:
    # Walk compound statements (if/try/with/for) too: `try: import x except ImportError: x = None`
    # binds at top level as surely as a plain statement does.
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias, ref in zip(stmt.names, import_refs(stmt)):
                if alias.name == "*":
                    parsed.star_imports.append(ref)
                else:
                    name = alias.asname or alias.name.split(".")[0]
                    parsed.imports.setdefault(name, []).append(ref)
            continue
        for name in _bound_names(stmt):
            parsed.bindings.setdefault(name, []).append(stmt)
        for child_body in _child_bodies(stmt):
            _index(child_body, parsed)


def _bound_names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Delete):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    elif isinstance(stmt, ast.Expr):
        # `FEATURES.append("x")` at top level changes FEATURES as much as an assignment does.
        targets = [stmt.value.func] if isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Attribute) else []
    names: set[str] = set()
    for target in targets:
        names |= _target_names(target)
    return names


def _target_names(target: ast.AST) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_target_names(item) for item in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        # `CONFIG["a"] = 1` or `obj.x = 1` mutates the object named at the base.
        return _target_names(target.value)
    return set()


def _child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    bodies = [getattr(stmt, part) for part in ("body", "orelse", "finalbody") if isinstance(getattr(stmt, part, None), list)]
    bodies += [handler.body for handler in getattr(stmt, "handlers", [])]
    bodies += [case.body for case in getattr(stmt, "cases", [])]
    return bodies
