"""What of a syntax tree counts as code: a normalised dump (no comments, layout or docstrings), attribute chains, import-time effects."""
from __future__ import annotations

import ast
import hashlib
from typing import Iterable

_DOCUMENTED = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Top-level statements that only bind names: what they bind counts where it is reached.
_BINDING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
            ast.Assign, ast.AnnAssign, ast.AugAssign)


def code_hash(nodes: Iterable[ast.AST], *, decorators: bool = True) -> str:
    """Hex sha256 of the normalised syntax of `nodes`: comments, whitespace and docstrings do not count."""
    parts: list[str] = []
    for node in nodes:
        _dump(node, parts, skip_decorators=not decorators)
        parts.append(";")
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def is_docstring(stmt: ast.stmt) -> bool:
    """True for a statement that is a bare string literal (a docstring where it opens a body)."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def import_time_effects(tree: ast.Module) -> list[ast.stmt]:
    """Top-level statements that do more than bind names (calls, `if`, `try`, loops): importing the module runs them."""
    body = tree.body[1:] if tree.body and is_docstring(tree.body[0]) else tree.body
    return [stmt for stmt in body if not isinstance(stmt, _BINDING) and not is_docstring(stmt)]


def attribute_chains(node: ast.AST, name: str) -> set[tuple[str, ...]] | None:
    """The attribute chains read from `name` in `node` (`m.a.b` gives ("a", "b")); None when `name` is also used bare."""
    chains: set[tuple[str, ...]] = set()
    parents: dict[int, ast.AST] = {}
    for parent in ast.walk(node):
        for child in ast.iter_child_nodes(parent):
            parents[id(child)] = parent
    for child in ast.walk(node):
        if not (isinstance(child, ast.Name) and child.id == name):
            continue
        chain: list[str] = []
        current: ast.AST = child
        while isinstance(parents.get(id(current)), ast.Attribute) and parents[id(current)].value is current:  # type: ignore[attr-defined]
            current = parents[id(current)]
            chain.append(current.attr)  # type: ignore[attr-defined]
        if not chain:
            if isinstance(child.ctx, ast.Load):
                return None  # the module object itself escapes: all of it may be used
            continue
        chains.add(tuple(chain))
    return chains


def _dump(node: ast.AST, out: list[str], *, skip_decorators: bool = False) -> None:
    out.append(type(node).__name__)
    out.append("(")
    for field_name in node._fields:
        value = getattr(node, field_name, None)
        if skip_decorators and field_name == "decorator_list":
            continue
        if field_name == "body" and isinstance(node, _DOCUMENTED) and value and is_docstring(value[0]):
            value = value[1:]
        out.append(field_name)
        out.append("=")
        _dump_value(value, out)
        out.append(",")
    out.append(")")


def _dump_value(value: object, out: list[str]) -> None:
    if isinstance(value, ast.AST):
        _dump(value, out)
    elif isinstance(value, list):
        out.append("[")
        for item in value:
            _dump_value(item, out)
            out.append(",")
        out.append("]")
    else:
        # repr keeps 1, 1.0, True and "1" apart; a constant's value is part of the code.
        out.append(repr(value))
