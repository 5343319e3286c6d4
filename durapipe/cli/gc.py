"""`durapipe gc`: what is older than the cutoff and needed by nothing kept; deleted only with --apply."""
from __future__ import annotations

from durapipe.cli.output import print_json
from durapipe.cli.render import EXIT_OK


def collect_garbage(older_than: float, do_apply: bool, store_url: str | None, as_json: bool) -> int:
    """Print what a collection `older_than` days finds (and delete it when `do_apply`), as text or JSON."""
    from durapipe.catalog import gc
    from durapipe.store.url import open_store

    store = open_store(store_url)
    collection = gc.collect(store, older_than)
    if do_apply:
        gc.apply(store, collection)
    if as_json:
        print_json({"applied": do_apply, "bytes": collection.bytes, "kept": collection.kept,
                    "delete": [{"key": k, "bytes": b, "why": w} for k, b, w in collection.delete]})
        return EXIT_OK
    for key, size, why in collection.delete:
        print(f"{'deleted' if do_apply else 'would delete'} {key}  {size} bytes  ({why})")
    kept = ", ".join(f"{n} {what}" for what, n in collection.kept.items())
    verb = "deleted" if do_apply else "would delete"
    print(f"{verb} {len(collection.delete)} keys, {collection.bytes} bytes; kept {kept}"
          + ("" if do_apply else "; run again with --apply to delete"))
    return EXIT_OK
