"""The code a step depends on: its source, what it uses from its own file, the project modules and packages it uses."""
from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from durapipe.canonical import sha256_text
from durapipe.errors import DefinitionError
from durapipe.fingerprint.modules import (
    FileSignature,
    ImportRef,
    ParsedModule,
    file_signature,
    import_refs,
    parse_module,
)
from durapipe.fingerprint.resolve import ProjectLayout, distributions_of, resolve_import
from durapipe.fingerprint.scopes import function_names, statement_names

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class CodeInfo:
    """A step's code components: label -> sha256 of its source, and distribution -> version of the packages it uses."""

    sources: dict[str, str]
    packages: dict[str, str]


_MemoKey = tuple[Path, str, Path, Optional[int]]
_memo: dict[_MemoKey, tuple[CodeInfo, dict[Path, FileSignature]]] = {}


def code_components(func: Callable[..., Any], project_root: Path) -> CodeInfo:
    """The code components of the step function `func` (the raw function, not its wrapper), read from its file."""
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", repr(func))
    if code is None:
        raise DefinitionError(f"The step {name} is not a plain Python function, so its code cannot be fingerprinted.")
    path = Path(code.co_filename)
    if not path.is_file():
        raise DefinitionError(
            f"The step {name} has no source file ({code.co_filename}), so its code cannot be fingerprinted; define it in a .py file."
        )
    return code_components_at(path, name, project_root, line=code.co_firstlineno)


def code_components_at(path: Path | str, qualname: str, project_root: Path, *, line: int | None = None) -> CodeInfo:
    """The code components of the function `qualname` defined in the file `path` (at `line` when several share the name)."""
    path, root = Path(path).resolve(), Path(project_root).resolve()
    key: _MemoKey = (path, qualname, root, line)
    remembered = _memo.get(key)
    if remembered is not None and all(file_signature(file) == signature for file, signature in remembered[1].items()):
        return remembered[0]
    closure = _Closure(ProjectLayout.for_file(path, root))
    info = closure.of_function(path, qualname, line)
    signatures = {file: file_signature(file) for file in closure.files_read}
    trusted = {file: signature for file, signature in signatures.items() if signature is not None}
    if len(trusted) == len(signatures):
        _memo[key] = (info, trusted)
    else:
        _memo.pop(key, None)  # a file just written may still change unseen; read it again next time
    return info


def clear_memo() -> None:
    """Forget every remembered code closure."""
    _memo.clear()


class _Closure:
    # Collects components while walking names and imports from one step function outwards.

    def __init__(self, layout: ProjectLayout) -> None:
        self.layout = layout
        self.sources: dict[str, str] = {}
        self.external: set[str] = set()
        self.files_read: set[Path] = set()
        self.modules_done: set[Path] = set()

    def of_function(self, path: Path, qualname: str, line: int | None) -> CodeInfo:
        parsed = self._parse(path)
        node = _find_function(parsed, qualname, line)
        # From the `def` line on: decorator options (retries, timeouts) do not change what the step computes.
        self.sources[f"{self._label(path)}::{qualname}"] = sha256_text(parsed.segment(node.lineno, node.end_lineno or node.lineno))
        self._imports_within(node, path)
        top = qualname.split(".")[0]
        self._names(parsed, function_names(node, decorators=False), visited={top})
        packages: dict[str, str] = {}
        for module in sorted(self.external):
            packages.update(distributions_of(module))
        return CodeInfo(sources=dict(sorted(self.sources.items())), packages=dict(sorted(packages.items())))

    def _names(self, parsed: ParsedModule, names: set[str], visited: set[str]) -> None:
        pending = sorted(names)
        while pending:
            name = pending.pop()
            if name in visited:
                continue
            visited.add(name)
            statements = parsed.bindings.get(name, [])
            refs = parsed.imports.get(name, [])
            if statements:
                segments = []
                for stmt in statements:
                    decorators = getattr(stmt, "decorator_list", None)
                    start = decorators[0].lineno if decorators else stmt.lineno
                    segments.append(parsed.segment(start, stmt.end_lineno or stmt.lineno))
                    pending.extend(sorted(statement_names(stmt) - visited))
                    self._imports_within(stmt, parsed.path)
                self.sources[f"{self._label(parsed.path)}::{name}"] = sha256_text("".join(segments))
            for ref in refs:
                self._import(ref, parsed.path)
            if not statements and not refs and name not in _BUILTINS:
                # A name bound nowhere may come from `from module import *`.
                for ref in parsed.star_imports:
                    self._import(ref, parsed.path)

    def _imports_within(self, node: ast.AST, importer: Path) -> None:
        for child in ast.walk(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for ref in import_refs(child):
                    self._import(ref, importer)

    def _import(self, ref: ImportRef, importer: Path) -> None:
        resolution = resolve_import(ref, importer, self.layout)
        self.external |= resolution.external
        for file in resolution.files:
            self._module(file.resolve())

    def _module(self, path: Path) -> None:
        # A project module counts whole, with every module it imports in turn: importing it runs all of it.
        if path in self.modules_done:
            return
        self.modules_done.add(path)
        parsed = self._parse(path)
        self.sources[self._label(path)] = hashlib.sha256(parsed.source).hexdigest()
        self._imports_within(parsed.tree, path)

    def _parse(self, path: Path) -> ParsedModule:
        self.files_read.add(path.resolve())
        return parse_module(path)

    def _label(self, path: Path) -> str:
        path = path.resolve()
        if path.is_relative_to(self.layout.root):
            return path.relative_to(self.layout.root).as_posix()
        return path.as_posix()


def _find_function(parsed: ParsedModule, qualname: str, line: int | None) -> ast.FunctionDef | ast.AsyncFunctionDef:
    candidates: list[ast.AST] = [parsed.tree]
    for part in (part for part in qualname.split(".") if part != "<locals>"):
        candidates = [node for parent in candidates for node in _definitions(parent.body) if node.name == part]  # type: ignore[attr-defined]
    functions = [node for node in candidates if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        raise DefinitionError(f"Cannot find the function {qualname} in {parsed.path}.")
    if line is None:
        return functions[-1]  # the last definition is the one Python keeps

    def distance(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        return abs(start - line)

    return min(functions, key=distance)


def _definitions(body: list[ast.stmt]) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    found: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append(stmt)
            continue
        for part in ("body", "orelse", "finalbody"):
            if isinstance(getattr(stmt, part, None), list):
                found += _definitions(getattr(stmt, part))
        for handler in getattr(stmt, "handlers", []):
            found += _definitions(handler.body)
    return found
