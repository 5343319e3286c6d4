"""The code a step depends on: its source, what it uses from its own file, the project modules and packages it uses."""
from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from durapipe.core.errors import DefinitionError
from durapipe.fingerprint.closure_cache import ClosureCache, Dependencies, closure_key, now
from durapipe.fingerprint.modules import ImportRef, ParsedModule, import_refs, parse_module
from durapipe.fingerprint.resolve import ProjectLayout, distributions_of, resolve_import, spec_signature
from durapipe.fingerprint.scopes import function_names, statement_names
from durapipe.fingerprint.syntax import attribute_chains, code_hash, import_time_effects

_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class CodeInfo:
    """A step's code components: label -> hash of its normalised syntax, distribution -> version, and how each label was reached."""

    sources: dict[str, str]
    packages: dict[str, str]
    # label -> the chain of names that reached it from the step; says why, is no part of the fingerprint.
    via: dict[str, str] = field(default_factory=dict, compare=False)


_memo: dict[str, tuple[dict[str, Any], Dependencies]] = {}


class Collected(dict):  # type: ignore[type-arg]
    """While a plan is made, every closure it used: key -> (closure, what it read, or None when that is
    not settled enough to vouch for it later); and `asked`: (file, qualified name, project root, line),
    as the closure was asked for -> its key. See durapipe.engine.plan_memo."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: dict[tuple[str, str, str, int | None], str] = {}


_collected: contextvars.ContextVar[Collected | None] = contextvars.ContextVar("durapipe_collected_closures", default=None)


@contextlib.contextmanager
def collecting_closures() -> Iterator[Collected]:
    """Within the block (on this thread), the closures code_components_at returns are gathered here."""
    collected = Collected()
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def _collect(key: str, value: dict[str, Any], deps: Dependencies | None, asked: tuple[str, str, str, int | None]) -> None:
    collected = _collected.get()
    if collected is not None:
        collected[key] = (value, deps)
        collected.asked[asked] = key


def code_components(func: Callable[..., Any], project_root: Path) -> CodeInfo:
    """The code components of the step function `func` (the raw function, not its wrapper), read from its file."""
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", repr(func))
    if code is None:
        raise DefinitionError(f"The step {name} is not a plain Python function, so its code cannot be fingerprinted.")
    if not os.path.isfile(code.co_filename):
        raise DefinitionError(
            f"The step {name} has no source file ({code.co_filename}), so its code cannot be fingerprinted; define it in a .py file."
        )
    return code_components_at(code.co_filename, name, project_root, line=code.co_firstlineno)


def code_components_at(path: Path | str, qualname: str, project_root: Path, *, line: int | None = None) -> CodeInfo:
    """The code components of the function `qualname` defined in the file `path` (at `line` when several share the name)."""
    # Looked up by the paths as given: resolving them costs more than the whole cache hit.
    given, root_given = os.path.abspath(path), os.path.abspath(project_root)
    key = closure_key(given, qualname, root_given, line)
    asked = (str(path), qualname, str(project_root), line)
    remembered = _memo.get(key)
    if remembered is not None and remembered[1].unchanged() and _same_specs(remembered[0]):
        _collect(key, remembered[0], remembered[1], asked)
        return _info(remembered[0])
    cache = ClosureCache.for_project(root_given)
    found = cache.lookup_with_deps(key)
    if found is not None and _same_specs(found[0]):
        _collect(key, found[0], found[1], asked)
        return _info(found[0])
    layout = ProjectLayout.for_file(Path(given), Path(root_given))
    closure = _Closure(layout)
    closure.probed.update((str(path), answer) for path, answer in layout.probed)
    closure.of_function(Path(given), qualname, line)
    for folder in Path(given).parents:
        # A folder on the way to the step's file replaced (by a symlink, say) moves its label.
        closure.probed[str(folder)] = True
        if str(folder) == root_given or not folder.is_relative_to(root_given):
            break
    value = {"sources": dict(sorted(closure.sources.items())), "via": dict(sorted(closure.via.items())),
             "external": sorted(closure.external), "specs": dict(sorted(closure.specs.items()))}
    deps = Dependencies.of(closure.files_read, closure.probed)
    if deps.settled(now()):
        _memo[key] = (value, deps)
        cache.remember(key, value, deps)
        _collect(key, value, deps, asked)
    else:
        _memo.pop(key, None)  # a file just written may still change unseen; read it again next time
        _collect(key, value, None, asked)
    return _info(value)


def clear_memo() -> None:
    """Forget every closure remembered in this process (the project's cache file stays)."""
    _memo.clear()


def _same_specs(value: dict[str, Any]) -> bool:
    # What the import path found outside the project (an editable install, a new package) is looked up again.
    return all(spec_signature(top) == found for top, found in (value.get("specs") or {}).items())


def _info(value: dict[str, Any]) -> CodeInfo:
    # Versions are looked up afresh: an upgraded package must change the fingerprint.
    packages: dict[str, str] = {}
    for module in value["external"]:
        packages.update(distributions_of(module))
    return CodeInfo(sources=dict(value["sources"]), packages=dict(sorted(packages.items())), via=dict(value["via"]))


class _Closure:
    # Walks names and imports from one step function outwards. Within a project module only
    # what the step reaches counts (a function, class or constant, by name), plus the
    # statements that run when the module is imported, for every module loaded on the way.

    def __init__(self, layout: ProjectLayout) -> None:
        self.layout = layout
        self.sources: dict[str, str] = {}
        self.via: dict[str, str] = {}
        self.external: set[str] = set()
        self.files_read: set[str] = set()
        self.probed: dict[str, bool] = {}
        self.specs: dict[str, Any] = {}
        self.names_done: set[tuple[Path, str]] = set()
        self.chains_done: set[tuple[Path, tuple[str, ...]]] = set()
        self.modules_loaded: set[Path] = set()
        self.modules_whole: set[Path] = set()

    def of_function(self, path: Path, qualname: str, line: int | None) -> None:
        parsed = self._parse(path)
        node = _find_function(parsed, qualname, line)
        label = f"{self._label(parsed.path)}::{qualname}"
        # From the `def` line on: decorator options (retries, timeouts) do not change what the step computes.
        self.sources[label] = code_hash([node], decorators=False)
        self.via[label] = label
        top = qualname.split(".")[0]
        self.names_done.add((parsed.path, top))
        self._reads(parsed, node, function_names(node, decorators=False), label)

    def _reads(self, parsed: ParsedModule, node: ast.AST, names: set[str], route: str) -> None:
        """Follow what `node` (code in `parsed`) reads: the free `names`, and imports inside it."""
        for name in sorted(names):
            self._name(parsed, name, node, f"{route} -> {name}")
        for child in ast.walk(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and child is not node:
                # An import inside a function binds a local name: what the code reads of it counts.
                for alias, ref in zip(child.names, import_refs(child)):
                    bound = alias.asname or alias.name.split(".")[0]
                    self._imported(parsed, ref, bound, alias.asname is not None, node, f"{route} -> {bound}")

    def _name(self, parsed: ParsedModule, name: str, user: ast.AST | None, route: str) -> None:
        """The top-level name `name` of `parsed`, read by the code `user` (None: read in full); `route` ends at it."""
        statements = parsed.bindings.get(name, [])
        refs = parsed.imports.get(name, [])
        if statements and (parsed.path, name) not in self.names_done:
            self.names_done.add((parsed.path, name))
            label = f"{self._label(parsed.path)}::{name}"
            self.sources[label] = code_hash(statements)
            self.via.setdefault(label, route)
            for stmt in statements:
                self._reads(parsed, stmt, statement_names(stmt), route)
        for ref in refs:
            self._imported(parsed, ref, name, _has_alias(parsed, name, ref), user, route)
        if not statements and not refs and name not in _BUILTINS:
            # A name bound nowhere may come from `from module import *`.
            for ref in parsed.star_imports:
                files = self._resolve(ref, parsed.path)
                for file in files:
                    self._load(file, route)
                if files:
                    self._name(self._parse(files[-1]), name, user, route)

    def _imported(self, parsed: ParsedModule, ref: ImportRef, bound: str, aliased: bool,
                  user: ast.AST | None, route: str) -> None:
        """What the code `user` reads of the name `bound`, which the import `ref` binds in `parsed`."""
        files = self._resolve(ref, parsed.path)
        for file in files:
            self._load(file, route)
        if not files:
            return
        chains = attribute_chains(user, bound) if user is not None else None
        if ref.name is not None:
            # `from module import name`: a submodule when the last file is one, else a name in the module.
            target = self._parse(files[-1])
            if len(files) > 1 and self._submodule(files[-2], ref.name) == target.path:
                self._module_use(target, chains, route)
            else:
                self._name(target, ref.name, user, route)
            return
        parts = (ref.module or "").split(".")
        if aliased or len(parts) == 1:
            self._module_use(self._parse(files[-1]), chains, route)  # `import a.b as m` binds a.b itself
            return
        # `import a.b.c` binds the package `a`: chains start at it and may walk into its submodules.
        top = self._package_init(files, parts[0])
        if top is None:
            for file in files:
                self._whole(self._parse(file), route)
            return
        self._module_use(self._parse(top), chains, route)

    def _module_use(self, module: ParsedModule, chains: set[tuple[str, ...]] | None, route: str) -> None:
        """The attribute chains read from the module object `module`; None means all of it."""
        if chains is None:
            self._whole(module, route)
            return
        for chain in sorted(chains):
            if (module.path, chain) in self.chains_done:
                continue
            self.chains_done.add((module.path, chain))
            first, rest = chain[0], chain[1:]
            hop = f"{route}.{first}"
            if first in module.bindings or first in module.imports:
                self._name(module, first, _reader(first, rest), hop)
                continue
            submodule = self._submodule(module.path, first)
            if submodule is not None:
                self.files_read.add(str(submodule))
                self._load(submodule, hop)
                if rest:
                    self._module_use(self._parse(submodule), {rest}, hop)
                else:
                    self._whole(self._parse(submodule), hop)
                continue
            self._whole(module, route)  # a name set from outside, or by a star import: keep all of it

    def _whole(self, module: ParsedModule, route: str) -> None:
        # The module object is used as a value (passed on, `getattr`, `vars`): every name counts.
        if module.path in self.modules_whole:
            return
        self.modules_whole.add(module.path)
        for name in sorted(set(module.bindings) | set(module.imports)):
            self._name(module, name, None, f"{route}.{name}")

    def _load(self, path: Path, route: str) -> None:
        """Count what importing the module at `path` runs: its import-time statements, and its own imports, loaded in turn."""
        path = self._real(path)
        if path in self.modules_loaded:
            return
        self.modules_loaded.add(path)
        parsed = self._parse(path)
        label = self._label(path)
        effects = import_time_effects(parsed.tree)
        self.sources[label] = code_hash(effects)
        self.via.setdefault(label, route)
        for stmt in effects:
            self._reads(parsed, stmt, statement_names(stmt), f"{route} (runs at import)")
        for refs in [*parsed.imports.values(), parsed.star_imports]:
            for ref in refs:
                for file in self._resolve(ref, path, external=False):
                    self._load(file, f"{route} (imports {self._label(file)})")

    def _resolve(self, ref: ImportRef, importer: Path, *, external: bool = True) -> list[Path]:
        resolution = resolve_import(ref, importer, self.layout)
        if external:
            self.external |= resolution.external
        self.probed.update((str(path), answer) for path, answer in resolution.probed.items())
        self.specs.update(resolution.specs)
        files = []
        for file in resolution.files:
            self.files_read.add(str(file))
            files.append(self._real(file))
        return files

    def _submodule(self, init: Path, name: str) -> Path | None:
        """The submodule `name` of the package whose `__init__.py` is `init`, if it has one."""
        if init.name != "__init__.py":
            return None
        folder = init.parent
        for candidate in (folder / name / "__init__.py", folder / f"{name}.py"):
            answer = candidate.is_file()
            self.probed[str(candidate)] = answer
            if answer:
                return candidate.resolve()
        return None

    def _package_init(self, files: list[Path], top: str) -> Path | None:
        for file in files:
            if file.name == "__init__.py" and file.parent.name == top:
                return file
        return None

    def _parse(self, path: Path) -> ParsedModule:
        self.files_read.add(str(path))
        real = self._real(path)
        self.files_read.add(str(real))
        return parse_module(real)

    def _real(self, path: Path) -> Path:
        return path.resolve()

    def _label(self, path: Path) -> str:
        path = path.resolve()
        if path.is_relative_to(self.layout.root):
            return path.relative_to(self.layout.root).as_posix()
        return path.as_posix()


def _reader(name: str, rest: tuple[str, ...]) -> ast.expr:
    # Code that reads `name.rest...`: how a chain continues past a name a module re-exports.
    node: ast.expr = ast.Name(id=name, ctx=ast.Load())
    for attr in rest:
        node = ast.Attribute(value=node, attr=attr, ctx=ast.Load())
    return node


def _has_alias(parsed: ParsedModule, name: str, ref: ImportRef) -> bool:
    # `import a.b` binds `a`; any other bound name for a dotted import is an alias (`import a.b as m`).
    return ref.name is None and "." in (ref.module or "") and name != (ref.module or "").split(".")[0]


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
