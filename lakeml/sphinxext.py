"""The book's Sphinx extension: Panel's stylesheets offline, and API links that resolve.

Panel's stylesheets, from the book and not from a CDN:

``lakeml.plots.offline()`` embeds the JavaScript of BokehJS and Panel in each plot's output, but
Panel's layouts still reference four stylesheets on ``cdn.holoviz.org`` by URL. Offline (an
air-gapped classroom, a laptop on a train) those requests fail and the console fills with errors.
This extension rewrites those URLs in every page to a copy of the installed Panel's own ``dist``
files, placed in the book's ``_static/panel-dist/``. Enable it in ``_config.yml``::

    sphinx:
      extra_extensions: [lakeml.sphinxext]

References to re-exported names: ``lakeml.sample`` is a package whose public names live in its
modules (``build`` in ``lakeml.sample.disk``...) and are re-exported by the package. The API
page (``notebooks/api.md``) documents each name once, where it is defined, so that module
constants keep their docstrings (autodoc cannot document data that a module only imports).
When a ``lakeml...`` reference target is not documented, :func:`documented_name` imports it
and resolves it to the one documented name of the same object (``lakeml.sample.build`` ->
``lakeml.sample.disk.build``). Targets that do not import (typos) are left alone, so the
nitpicky build still fails on them.
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from typing import Any

CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/\"']+/dist/")
"""Panel's ``dist`` folder on the CDN, any Panel version: the prefix rewritten in each page."""

STATIC = "_static/panel-dist/"
"""Where the copy of the installed Panel's ``dist`` files goes, relative to the built book."""

COPIED = ("css", "bundled/theme", "assets")
"""The parts of Panel's ``dist`` folder that the rewritten stylesheet URLs point into."""


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


_MISSING = object()


def _lookup(dotted: str) -> Any:
    """Import the longest importable module prefix of ``dotted``, then get the rest.

    Parameters
    ----------
    dotted : str
        A dotted name, e.g. ``"lakeml.sample.build"``.

    Returns
    -------
    object
        The object, or the module-private sentinel ``_MISSING`` if there is none.
    """
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def documented_name(target: str, objects: Any) -> str | None:
    """Find the documented name of ``target``'s object, if ``target`` itself is not documented.

    Parameters
    ----------
    target : str
        A dotted ``lakeml`` name as written in a reference.
    objects : collection of str
        The names the Python domain documents.

    Returns
    -------
    str or None
        The one documented name of the same object, ``None`` if there is not exactly one.
    """
    if target in objects:
        return target
    head, _, last = target.rpartition(".")
    if not head.startswith("lakeml"):
        return None
    obj = _lookup(target)
    if obj is not _MISSING:
        found = [
            name
            for name in objects
            if name.startswith("lakeml.")
            and name.rpartition(".")[2] == last
            and _lookup(name) is obj
        ]
        if len(found) == 1:
            return str(found[0])
    parent = documented_name(head, objects)  # a method or attribute of a re-exported class
    if parent and parent != head and f"{parent}.{last}" in objects:
        return f"{parent}.{last}"
    return None


def _missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module")
    targets = [target]
    if module and not target.startswith("lakeml"):
        targets.append(f"{module}.{target}")  # unqualified, in a lakeml module's docstring
    domain = env.get_domain("py")
    for candidate in targets:
        if not candidate.startswith("lakeml."):
            continue
        name = documented_name(candidate, domain.objects)
        if name and name != candidate:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
            )
    return None


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx.

    Sphinx calls this when ``lakeml.sphinxext`` is listed in the book's extensions (in
    ``_config.yml``: ``sphinx: {extra_extensions: [lakeml.sphinxext]}``).

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application; only its ``connect`` method is used here.

    Returns
    -------
    dict
        The extension's metadata: safe for parallel reading and writing.

    Examples
    --------
    A stand-in for Sphinx's application shows the two events the extension hooks into:

    >>> class App:
    ...     events = []
    ...     def connect(self, event, callback):
    ...         self.events.append(event)
    >>> app = App()
    >>> setup(app)
    {'parallel_read_safe': True, 'parallel_write_safe': True}
    >>> app.events
    ['html-page-context', 'build-finished', 'missing-reference']
    >>> CDN.sub(STATIC, "https://cdn.holoviz.org/panel/1.5.4/dist/css/loading.css")
    '_static/panel-dist/css/loading.css'
    """
    app.connect("html-page-context", _rewrite)
    app.connect("build-finished", _copy)
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
