"""Why two fingerprints differ: the components (code, parameter, input, package, Python, version) that changed."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from durapipe.core.canonical import canonical_json
from durapipe.fingerprint.reads import CHANGED_WHILE_RUNNING, DECLARED, READS

_MISSING = object()


@dataclass(frozen=True)
class Change:
    """One component that differs; `old` or `new` is None when the component was added or removed."""

    kind: str
    name: str
    old: Any = None
    new: Any = None
    added: bool = False
    removed: bool = False
    via: str | None = None  # for code: the chain of names from the step that reached it

    def describe(self) -> str:
        """One sentence saying what changed, in the user's words."""
        if self.kind == "new":
            return "there is no earlier fingerprint of this step to compare with"
        what = _WHAT[self.kind](self.name) if self.kind in _WHAT else f"{self.kind} {self.name}"
        if self.kind == "file" and (self.added or self.removed):
            # A file it reads now and did not (or no longer reads): the file itself may be as old as the project.
            return f"{what} is read now ({self._show(self.new)})" if self.added else f"{what} is no longer read"
        if self.added:
            return f"{what} was added" + (self._reached() if self.kind == "code" else f" ({self._show(self.new)})")
        if self.removed:
            return f"{what} was removed" + (self._reached() if self.kind == "code" else f" (was {self._show(self.old)})")
        if self.kind == "code":
            return f"code changed in {self.name}" + self._reached()
        if self.kind in ("input", "file"):
            return f"{what} changed (content {self._show(self.old)} -> {self._show(self.new)})"
        if self.kind == "variable":
            # Only hashes of the values are kept: a secret is never shown, nor recorded.
            return f"{what} was set" if self.old is None else f"{what} was unset" if self.new is None \
                else f"{what} changed"
        return f"{what} changed from {self._show(self.old)} to {self._show(self.new)}"

    def _reached(self) -> str:
        if not self.via or self.via == self.name:
            return ""
        return f", reached by {self.via}"

    def _show(self, value: Any) -> str:
        if self.kind in ("input", "file"):
            if value == CHANGED_WHILE_RUNNING:
                return value
            return "missing" if value is None else str(value)[:8]
        if self.kind == "variable":
            return "unset" if value is None else "set"
        if self.kind in ("package", "python"):
            return str(value)
        if self.kind == "environment":
            return "the app's own" if value is None else f"[{value}]"
        if self.kind == "version":
            return "none" if value is None else repr(value)
        # Canonical JSON keeps 1, 1.0, true and "1" apart, as the fingerprint does.
        text = canonical_json(value)
        return text if len(text) <= 60 else text[:57] + "..."


_WHAT = {
    "code": lambda name: f"code component {name}",
    "param": lambda name: f"parameter {name}",
    "input": lambda name: f"input {name}",
    "package": lambda name: f"package {name}",
    "python": lambda name: "Python",
    "version": lambda name: "step version",
    "environment": lambda name: "step environment",
    "component": lambda name: f"fingerprint component {name}",
    "file": lambda name: f"file {name}",
    "variable": lambda name: f"environment variable {name}",
}


def explain(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """The changes from the components `old` to `new`, code first; empty when they are identical."""
    if not old:
        return [Change("new", "", None, None)]
    changes: list[Change] = []
    via = {**(old.get("code_via") or {}), **(new.get("code_via") or {})}
    changes += [replace(change, via=via.get(change.name))
                for change in _compare("code", old.get("code") or {}, new.get("code") or {})]
    changes += _compare("param", old.get("params") or {}, new.get("params") or {})
    changes += _compare("input", old.get("inputs") or {}, new.get("inputs") or {})
    old_env, new_env = old.get("env") or {}, new.get("env") or {}
    changes += _compare("python", {"python": old_env.get("python")}, {"python": new_env.get("python")})
    changes += _compare("package", old_env.get("packages") or {}, new_env.get("packages") or {})
    changes += _compare("environment", {"environment": _requirements(old_env)}, {"environment": _requirements(new_env)})
    changes += _compare("version", {"version": old.get("version")}, {"version": new.get("version")})
    old_declared, new_declared = old.get(DECLARED) or {}, new.get(DECLARED) or {}
    changes += _compare("file", _files(old, new), _files(new, old))
    changes += _compare("variable", old_declared.get("env") or {}, new_declared.get("env") or {})
    # Components this module does not know yet (from a newer durapipe) are still reported.
    known = ("code", "params", "inputs", "env", "version", "code_via", READS, DECLARED)
    changes += _compare("component", {k: v for k, v in old.items() if k not in known}, {k: v for k, v in new.items() if k not in known})
    return changes


def _files(own: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """The files one side read: those it declares, and those it was traced reading when the other side was traced too.

    Components without `reads` (a step planned, not run; a commit made without tracing) say nothing
    about what their step read, so the other side's traced reads are not reported as added or removed.
    """
    files = dict((own.get(DECLARED) or {}).get("files") or {})
    if READS in own and READS in other:
        files.update(own[READS] or {})
    return files


def _requirements(env: dict[str, Any]) -> str | None:
    # A step's own environment, shown by its requirement lines; None: the app's environment.
    own = env.get("environment")
    return None if not own else ", ".join(own.get("requirements") or [])


def _compare(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if before is _MISSING:
            changes.append(Change(kind, name, None, after, added=True))
        elif after is _MISSING:
            changes.append(Change(kind, name, before, None, removed=True))
        elif canonical_json(before) != canonical_json(after):
            changes.append(Change(kind, name, before, after))
    return changes
