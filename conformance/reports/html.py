"""Self-contained HTML pages: no network, no CDN; they open from disk.

`page` is the one frame every HTML output shares (the conformance report, the comparison of I/O
models): inline CSS, optional inline script.
"""

from __future__ import annotations

from html import escape

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
pre, code { font: 12px/1.35 ui-monospace, monospace; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.meta { color: #555; }
"""


def page(title: str, body: str, style: str = "", script: str = "") -> str:
    """One HTML document: `body` is HTML already escaped by the caller."""
    tail = f"<script>\n{script}\n</script>\n" if script else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{STYLE}{style}</style>\n</head>\n<body>\n{body}\n{tail}</body>\n</html>\n"
    )
