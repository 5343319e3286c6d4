"""`durapipe envs list` and `durapipe envs prune`: the step environments kept in the state folder."""
from __future__ import annotations

from pathlib import Path

from durapipe.cli.output import print_json
from durapipe.executors.environments import environments_dir, list_environments, prune_environments


def list_envs(as_json: bool) -> int:
    """Print each built step environment: hash, requirements, size, last use."""
    rows = list_environments(environments_dir(Path.cwd()))
    if as_json:
        print_json(rows)
    elif not rows:
        print("no step environments yet")
    for row in rows if not as_json else []:
        print(f"{row['hash'][:12]}  {row['size'] / 1e6:.1f} MB  last used {row['last_used'][:19]}  "
              f"{', '.join(row['requirements'])}")
    return 0


def prune_envs(unused_days: float, as_json: bool) -> int:
    """Remove step environments unused for `unused_days` days (and unfinished builds); print what went."""
    removed = prune_environments(environments_dir(Path.cwd()), unused_days)
    if as_json:
        print_json({"removed": removed})
    else:
        print(f"removed {len(removed)} step environment{'s' if len(removed) != 1 else ''}")
    return 0
