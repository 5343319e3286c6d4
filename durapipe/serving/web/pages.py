"""The HTML shell of each page, the static assets, and the key cookie a page sets."""
from __future__ import annotations

import html
from importlib import resources
from durapipe.host.function_key import KEY_COOKIE

PAGES = {"runs": "Runs", "run": "Run", "pipelines": "Pipelines"}
ASSETS = {"durapipe.css": "text/css; charset=utf-8", "durapipe.js": "text/javascript; charset=utf-8",
          "favicon.svg": "image/svg+xml"}
# Everything comes from this origin: no inline script, no third-party fetches.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def page_html(page: str, root: str = "", **data: str) -> str:
    """The shell of `page` (runs, run, pipelines); `data` becomes data- attributes its script reads."""
    title = PAGES[page] if "run_id" not in data else f"Run {data['run_id']}"
    attrs = "".join(f' data-{html.escape(k.replace("_", "-"))}="{html.escape(v)}"' for k, v in data.items())
    nav = "".join(f'<a href="{root}/{path}"{" aria-current=page" if page == name else ""}>{label}</a>'
                  for name, path, label in (("runs", "", "Runs"), ("pipelines", "pipelines", "Pipelines")))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · durapipe</title>
<link rel="icon" href="{root}/static/favicon.svg">
<link rel="stylesheet" href="{root}/static/durapipe.css">
<script src="{root}/static/durapipe.js" defer></script>
</head>
<body data-page="{page}" data-root="{html.escape(root)}"{attrs}>
<header><a class="brand" href="{root}/">durapipe</a><nav>{nav}</nav></header>
<main id="main"><p class="muted" id="loading">Loading…</p></main>
<noscript><p>These pages need JavaScript: they read the JSON API under /api.</p></noscript>
</body>
</html>
"""


def asset(name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of a static asset, or None when there is no such asset."""
    if name not in ASSETS:
        return None
    return resources.files("durapipe.serving.web").joinpath("static", name).read_bytes(), ASSETS[name]


def key_cookie(key: str, secure: bool) -> str:
    """The Set-Cookie value that keeps the function key for the browser's later requests."""
    return f"{KEY_COOKIE}={key}; Path=/; HttpOnly; SameSite=Strict{'; Secure' if secure else ''}"
