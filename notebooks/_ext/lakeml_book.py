"""The book's Sphinx extension: Panel's stylesheets offline, and API links that resolve.

Panel's stylesheets, from the book and not from a CDN:

``lakeml.plots.offline()`` embeds the JavaScript of BokehJS and Panel in each plot's output, but
Panel's layouts still reference four stylesheets on ``cdn.holoviz.org`` by URL. Offline (an
air-gapped classroom, a laptop on a train) those requests fail and the console fills with errors.
This extension rewrites those URLs in every page to a copy of the installed Panel's own ``dist``
files, placed in the book's ``_static/panel-dist/``. It lives with the book's sources
(``notebooks/_ext/``), not in the ``lakeml`` package; ``_config.yml`` enables it::

    sphinx:
      local_extensions:
        lakeml_book: notebooks/_ext

References to re-exported names: ``lakeml.offline.sample`` is a package whose public names live in
its modules (``build`` in ``lakeml.offline.sample.disk``...) and are re-exported by the package. The
API page (``notebooks/api.md``) documents each name once, where it is defined, so that module
constants keep their docstrings (autodoc cannot document data that a module only imports). When a
``lakeml...`` reference target is not documented, :func:`documented_name` imports it and resolves it
to the one documented name of the same object (``lakeml.offline.sample.build`` ->
``lakeml.offline.sample.disk.build``). Targets that do not import (typos) are left alone, so the
nitpicky build still fails on them.

Launch buttons, only when the book knows its repository: :func:`launch_options` turns
``LAKEML_REPOSITORY_URL`` (set by the publish workflow from the GitHub context) into the theme's
repository link and its Binder and JupyterHub buttons, which open JupyterLab. Built without it
(locally), the book has neither, instead of links to a repository that is not its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/\"']+/dist/")
"""Panel's ``dist`` folder on the CDN, any Panel version: the prefix rewritten in each page."""

STATIC = "_static/panel-dist/"
"""Where the copy of the installed Panel's ``dist`` files goes, relative to the built book."""

COPIED = ("css", "bundled/theme", "assets")
"""The parts of Panel's ``dist`` folder that the rewritten stylesheet URLs point into."""


def _panel_dist() -> Path:
    # found, not imported: importing Panel (and Bokeh) takes seconds, and no page needs it
    spec = importlib.util.find_spec("panel")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the book's extension lakeml_book copies Panel's stylesheets: install panel"
        )
    return Path(spec.origin).parent / "dist"


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
        A dotted name, e.g. ``"lakeml.offline.sample.build"``.

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


def launch_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Sphinx-book-theme options for the repository link and the launch buttons.

    Parameters
    ----------
    environ : mapping of str to str
        The environment: ``LAKEML_REPOSITORY_URL`` (e.g. ``https://github.com/OWNER/lakeml``),
        and optionally ``LAKEML_REPOSITORY_BRANCH`` (default ``main``), ``LAKEML_BINDERHUB_URL``
        (default ``https://mybinder.org``) and ``LAKEML_JUPYTERHUB_URL`` (no default: a
        JupyterHub button needs a hub, and nbgitpuller on it). An empty value is an unset one.

    Returns
    -------
    dict
        ``repository_url``, ``repository_branch``, ``path_to_docs``, ``launch_buttons`` and
        ``use_repository_button``, as Jupyter Book 1 sets them from ``_config.yml``'s
        ``repository:``, ``launch_buttons:`` and ``html:`` (whose defaults point at Jupyter
        Book's own repository): a repository button, and Binder (and JupyterHub) buttons that
        open JupyterLab; without a repository URL, no repository and no buttons.

    Examples
    --------
    >>> options = launch_options({"LAKEML_REPOSITORY_URL": "https://github.com/OWNER/lakeml/"})
    >>> options["repository_url"], options["repository_branch"]
    ('https://github.com/OWNER/lakeml', 'main')
    >>> options["launch_buttons"]
    {'notebook_interface': 'jupyterlab', 'binderhub_url': 'https://mybinder.org'}
    >>> hub = {"LAKEML_REPOSITORY_URL": "https://github.com/OWNER/lakeml",
    ...        "LAKEML_JUPYTERHUB_URL": "https://hub.example.org/"}
    >>> launch_options(hub)["launch_buttons"]["jupyterhub_url"]
    'https://hub.example.org'

    Unset or empty, there is no repository and no button, even with a hub:

    >>> local = launch_options({"LAKEML_REPOSITORY_URL": "", "LAKEML_JUPYTERHUB_URL": "https://h"})
    >>> local["repository_url"], local["launch_buttons"], local["use_repository_button"]
    ('', {}, False)
    """

    def get(name: str, default: str = "") -> str:
        return (environ.get(name) or "").strip().rstrip("/") or default

    url = get("LAKEML_REPOSITORY_URL").removesuffix(".git")
    buttons = {"notebook_interface": "jupyterlab"}
    buttons["binderhub_url"] = get("LAKEML_BINDERHUB_URL", "https://mybinder.org")
    if hub := get("LAKEML_JUPYTERHUB_URL"):
        buttons["jupyterhub_url"] = hub
    return {
        "repository_url": url,
        "repository_branch": get("LAKEML_REPOSITORY_BRANCH", "main") if url else "",
        "path_to_docs": "",  # the book's _config.yml is at the repository's root
        "launch_buttons": buttons if url else {},
        "use_repository_button": bool(url),
    }


def banner_options(environ: Mapping[str, str]) -> dict[str, str]:
    """Sphinx-book-theme's ``announcement``: a banner on every page, from ``LAKEML_BOOK_BANNER``.

    The publish workflow sets it when it falls back to the offline book (Planetary Computer
    could not be reached), so no reader takes the synthetic sample for real data.

    Parameters
    ----------
    environ : mapping of str to str
        The environment.

    Returns
    -------
    dict
        ``{"announcement": text}``, or ``{}`` when unset or empty.

    Examples
    --------
    >>> banner_options({"LAKEML_BOOK_BANNER": "Offline sample: not real data."})
    {'announcement': 'Offline sample: not real data.'}
    >>> banner_options({})
    {}
    """
    text = (environ.get("LAKEML_BOOK_BANNER") or "").strip()
    return {"announcement": text} if text else {}


def _launch_buttons(app: Any, config: Any) -> None:
    config.html_theme_options = {
        **config.html_theme_options,
        **launch_options(os.environ),
        **banner_options(os.environ),
    }


def setup(app: Any) -> dict[str, Any]:
    """Register the extension with Sphinx.

    Sphinx calls this when ``lakeml_book`` is listed in the book's extensions (in
    ``_config.yml``: ``sphinx: {local_extensions: {lakeml_book: notebooks/_ext}}``).

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
    A stand-in for Sphinx's application shows the events the extension hooks into:

    >>> class App:
    ...     events = []
    ...     def connect(self, event, callback):
    ...         self.events.append(event)
    >>> app = App()
    >>> setup(app)
    {'parallel_read_safe': True, 'parallel_write_safe': True}
    >>> app.events
    ['config-inited', 'html-page-context', 'build-finished', 'missing-reference']
    >>> CDN.sub(STATIC, "https://cdn.holoviz.org/panel/1.5.4/dist/css/loading.css")
    '_static/panel-dist/css/loading.css'
    """
    app.connect("config-inited", _launch_buttons)
    app.connect("html-page-context", _rewrite)
    app.connect("build-finished", _copy)
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
