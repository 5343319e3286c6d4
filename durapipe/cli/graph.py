"""`durapipe graph`: the DAG of a pipeline target or of a recorded run, as svg, png, dot or mermaid."""
from __future__ import annotations

import sys
from pathlib import Path

from durapipe.cli.render import EXIT_OK
from durapipe.core.errors import UsageError


def draw_graph(target: str, fmt: str, store_url: str | None, out: Path | None) -> int:
    """Write the picture of `target` (a pipeline target or a run id) in `fmt` to `out`, else to stdout."""
    from durapipe.views.graph import graph_of_run, graph_of_spec, render

    if ":" in target:  # path/file.py:name or module:name; run ids never hold a ':'
        from durapipe.load.targets import load_target

        picture = graph_of_spec(load_target(target).spec.to_json())
    else:
        from durapipe.store.records import read_run_record
        from durapipe.store.url import open_store

        picture = graph_of_run(read_run_record(open_store(store_url), target))
    data = render(picture, fmt)
    if out is not None:
        out.write_bytes(data)
        print(f"wrote {out} ({fmt}, {len(data)} bytes)", file=sys.stderr)
    elif fmt == "png" and sys.stdout.isatty():
        raise UsageError("A PNG is binary: give --out FILE or redirect stdout to a file.")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return EXIT_OK
