"""Which outer names a piece of code reads, found from its syntax tree with Python's scoping rules."""
from __future__ import annotations

import ast

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Scope:
    def __init__(self) -> None:
        self.refs: set[str] = set()
        self.bound: set[str] = set()
        self.declared_global: set[str] = set()
        # Free names of nested scopes: a class body does not hide its names from its methods.
        self.nested: set[str] = set()


def function_names(node: ast.FunctionDef | ast.AsyncFunctionDef, *, decorators: bool = True) -> set[str]:
    """Outer names a function definition reads: its body's free names, defaults and (optionally) decorators."""
    names = free_names(node)
    scope = _Scope()
    for part in _function_header(node, decorators=decorators):
        _visit(part, scope)
    return names | scope.refs | scope.nested


def statement_names(node: ast.stmt) -> set[str]:
    """Outer names a module-level statement reads (a def or class with its header, or any other statement)."""
    if isinstance(node, _FUNCTIONS):
        return function_names(node)
    scope = _Scope()
    _visit(node, scope)
    return scope.refs | scope.nested


def free_names(node: ast.AST) -> set[str]:
    """Names a function, lambda, class body or comprehension reads but does not bind itself."""
    scope = _Scope()
    if isinstance(node, (*_FUNCTIONS, ast.Lambda)):
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                scope.bound.add(arg.arg)
        body = node.body if isinstance(node.body, list) else [node.body]
        for stmt in body:
            _visit(stmt, scope)
        local = scope.bound - scope.declared_global
        return (scope.refs | scope.nested) - local
    if isinstance(node, ast.ClassDef):
        for stmt in node.body:
            _visit(stmt, scope)
        return (scope.refs - (scope.bound - scope.declared_global)) | scope.nested
    if isinstance(node, _COMPREHENSIONS):
        for generator in node.generators:
            _visit(generator, scope)
        for part in ("elt", "key", "value"):
            if getattr(node, part, None) is not None:
                _visit(getattr(node, part), scope)
        return (scope.refs | scope.nested) - scope.bound
    raise TypeError(f"{type(node).__name__} does not open a scope")


def _function_header(node: ast.FunctionDef | ast.AsyncFunctionDef, *, decorators: bool) -> list[ast.AST]:
    # Argument annotations are left out on purpose: they name types (Input, Output, float) and
    # do not change what the function computes, and following them would pull in the DSL.
    parts: list[ast.AST] = list(node.decorator_list) if decorators else []
    parts += node.args.defaults
    parts += [default for default in node.args.kw_defaults if default is not None]
    return parts


def _visit(node: ast.AST, scope: _Scope) -> None:
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load):
            scope.refs.add(node.id)
        else:
            scope.bound.add(node.id)
        return
    if isinstance(node, ast.Global):
        scope.declared_global.update(node.names)
        scope.refs.update(node.names)
        return
    if isinstance(node, _FUNCTIONS):
        scope.bound.add(node.name)
        for part in _function_header(node, decorators=True):
            _visit(part, scope)
        scope.nested |= free_names(node)
        return
    if isinstance(node, ast.ClassDef):
        scope.bound.add(node.name)
        for part in [*node.decorator_list, *node.bases, *node.keywords]:
            _visit(part, scope)
        scope.nested |= free_names(node)
        return
    if isinstance(node, ast.Lambda):
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                _visit(default, scope)
        scope.nested |= free_names(node)
        return
    if isinstance(node, _COMPREHENSIONS):
        scope.nested |= free_names(node)
        return
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name != "*":
                scope.bound.add(alias.asname or alias.name.split(".")[0])
        return
    if isinstance(node, ast.ExceptHandler) and node.name:
        scope.bound.add(node.name)
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        scope.bound.add(node.name)
    if isinstance(node, ast.MatchMapping) and node.rest:
        scope.bound.add(node.rest)
    for child in ast.iter_child_nodes(node):
        _visit(child, scope)
