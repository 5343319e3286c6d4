"""`durapipe lineage`: the tree an artifact, data version or model version came from."""
from __future__ import annotations

from durapipe.cli.output import json_text
from durapipe.cli.render import EXIT_OK


def show_lineage(subject: str, store_url: str | None, as_json: bool) -> int:
    """Print the lineage tree of `subject` (artifact:HASH, data:NAME:V or model:NAME:V), as text or JSON."""
    from durapipe.catalog.lineage import lineage, render
    from durapipe.store.url import open_store

    tree = lineage(open_store(store_url), subject)
    print(json_text(tree) if as_json else "\n".join(render(tree)))
    return EXIT_OK
