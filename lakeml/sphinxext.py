"""A Sphinx extension for the book: serve Panel's stylesheets from the book, not from a CDN.

``lakeml.plots.offline()`` embeds the JavaScript of BokehJS and Panel in each plot's output, but
Panel's layouts still reference four stylesheets on ``cdn.holoviz.org`` by URL. Offline (an
air-gapped classroom, a laptop on a train) those requests fail and the console fills with errors.
This extension rewrites those URLs in every page to a copy of the installed Panel's own ``dist``
files, placed in the book's ``_static/panel-dist/``. Enable it in ``_config.yml``::

    sphinx:
      extra_extensions: [lakeml.sphinxext]
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/\"']+/dist/")
STATIC = "_static/panel-dist/"
COPIED = ("css", "bundled/theme", "assets")


def _panel_dist() -> Path:
    import panel

    return Path(panel.__file__).parent / "dist"


def _rewrite(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    body = context.get("body")
    if body and CDN.search(body):
        context["body"] = CDN.sub(context["pathto"](STATIC, 1), body)
    # sphinx-thebe 0.3.1 adds its inline configuration script twice, and the second
    # `const THEBE_JS_URL` declaration is a page error: keep the first of identical scripts.
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            attrs = getattr(script, "attributes", {}) or {}
            key = (getattr(script, "filename", script) or "", str(attrs.get("body", "")))
            if key in seen:
                continue
            seen.add(key)
            unique.append(script)
        context["script_files"] = unique


def _copy(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src, dst = _panel_dist(), Path(app.outdir) / STATIC
    for part in COPIED:
        shutil.copytree(src / part, dst / part, dirs_exist_ok=True)


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx.

    Example
    -------
    >>> # _config.yml: sphinx: {extra_extensions: [lakeml.sphinxext]}
    """
    app.connect("html-page-context", _rewrite)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
