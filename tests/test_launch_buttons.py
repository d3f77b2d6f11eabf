"""Launch buttons only when the book knows its repository (the book's extension, launch_options).

A tiny book (the real ``_config.yml``, execution off, one notebook and one Markdown page) is
built with ``jupyter-book build -W -n`` twice, side by side, in seconds:

- ``published``: ``LAKEML_REPOSITORY_URL`` and ``LAKEML_JUPYTERHUB_URL`` set: the notebook's
  page has a Binder and a JupyterHub (nbgitpuller) button, both opening JupyterLab on that
  notebook, and a repository button; the Markdown page has no launch button;
- ``local``: neither set: no launch button, no Binder, no repository link at all (Jupyter
  Book's default repository, executablebooks/jupyter-book, is not linked either);
- both: every page's footer names the two licences (``html: extra_footer`` in _config.yml).

Without a build: an empty ``LAKEML_JUPYTERHUB_URL`` (what the publish workflow passes when the
repository variable is unset) means Binder only; the ``config-inited`` handler replaces Jupyter
Book's defaults; the real ``_config.yml`` hard-codes no repository and no launch button; the
publish workflow passes the variables.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType, SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXTENSION = ROOT / "notebooks" / "_ext" / "lakeml_book.py"  # with the book's sources


def _book_extension() -> ModuleType:
    """The book's Sphinx extension, imported from its file (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("lakeml_book", EXTENSION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_launch_buttons = _book_extension()._launch_buttons
launch_options = _book_extension().launch_options
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
REPO = "https://github.com/OWNER/lakeml"
HUB = "https://hub.example.org"
BINDER = "https://mybinder.org/v2/gh/OWNER/lakeml/main?urlpath=lab/tree/notebooks/page.ipynb"
VARS = ("LAKEML_REPOSITORY_URL", "LAKEML_REPOSITORY_BRANCH", "LAKEML_BINDERHUB_URL",
        "LAKEML_JUPYTERHUB_URL", "LAKEML_BOOK_BANNER")  # fmt: skip
BANNER = "Planetary Computer could not be reached: these pages show the SYNTHETIC sample."
BUILDS = {
    "published": {"LAKEML_REPOSITORY_URL": REPO, "LAKEML_JUPYTERHUB_URL": HUB + "/"},
    "local": {},
    "fallback": {"LAKEML_REPOSITORY_URL": REPO, "LAKEML_BOOK_BANNER": BANNER},
}

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# A notebook"]},
        {"cell_type": "code", "id": "code", "execution_count": None, "metadata": {},
         "outputs": [], "source": ["print(1 + 1)"]},
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


def tiny_book(path: Path) -> Path:
    """The real ``_config.yml`` (execution off) over one Markdown page and one notebook."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    config.pop("logo", None)
    config["html"].pop("favicon", None)
    (path / "notebooks").mkdir(parents=True)
    for static in config["sphinx"]["config"].get("html_static_path", []):
        shutil.copytree(ROOT / static, path / static)  # the book's own CSS and JS
    for folder in config["sphinx"]["local_extensions"].values():
        shutil.copytree(ROOT / folder, path / folder)  # the book's own extension
    (path / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": "notebooks/page"}]}
    (path / "_toc.yml").write_text(yaml.safe_dump(toc))
    (path / "intro.md").write_text("# A tiny book\n\nA page of prose.\n")
    (path / "notebooks" / "page.ipynb").write_text(json.dumps(NOTEBOOK))
    return path


class Links(HTMLParser):
    """Every ``href`` of a page, unescaped."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v]


def hrefs(page: Path) -> list[str]:
    parser = Links()
    parser.feed(page.read_text())
    return parser.hrefs


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    """``{build: its _build/html}``, the builds side by side."""
    procs = {}
    for name, env_vars in BUILDS.items():
        book = tiny_book(tmp_path_factory.mktemp(name))
        env = {k: v for k, v in os.environ.items() if k not in VARS} | env_vars
        cmd = [str(JUPYTER_BOOK), "build", str(book), "-W", "-n", "--keep-going"]
        with open(book / "build.log", "w") as log:
            procs[name] = book, subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    for name, (book, proc) in procs.items():
        code = proc.wait(timeout=300)
        log = (book / "build.log").read_text()
        assert code == 0, f"{name}: jupyter-book build exited {code}\n{log}"
    return {name: book / "_build" / "html" for name, (book, _) in procs.items()}


def launch_links(page: Path) -> list[str]:
    return [h for h in hrefs(page) if "mybinder.org" in h or "/hub/" in h]


def test_published_book_launches_the_notebook_in_jupyterlab_on_binder_and_jupyterhub(books):
    page = books["published"] / "notebooks" / "page.html"
    links = hrefs(page)
    assert BINDER in links
    (hub,) = [h for h in links if h.startswith(HUB)]
    url = urlsplit(hub)
    assert url.path == "/hub/user-redirect/git-pull"  # nbgitpuller
    assert parse_qs(url.query) == {
        "repo": [REPO],
        "branch": ["main"],
        "urlpath": ["lab/tree/lakeml/notebooks/page.ipynb"],  # JupyterLab, in the clone
    }
    assert REPO in links  # the repository button
    assert 'aria-label="Launch interactive content"' in page.read_text()


def test_an_empty_jupyterhub_url_means_binder_only():
    for hub in ("", "  ", None):
        environ = {"LAKEML_REPOSITORY_URL": REPO, "LAKEML_JUPYTERHUB_URL": hub}
        buttons = launch_options(environ)["launch_buttons"]
        assert buttons == {
            "notebook_interface": "jupyterlab",
            "binderhub_url": "https://mybinder.org",
        }


def test_the_environment_replaces_jupyter_books_default_repository(monkeypatch):
    # what Jupyter Book 1 passes without repository:/launch_buttons: in _config.yml
    defaults = {
        "launch_buttons": {"notebook_interface": "classic", "binderhub_url": "", "thebe": False},
        "repository_url": "https://github.com/executablebooks/jupyter-book",
        "repository_branch": "master",
        "path_to_docs": "",
        "use_repository_button": False,
        "home_page_in_toc": True,
    }
    config = SimpleNamespace(html_theme_options=dict(defaults))
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    _launch_buttons(None, config)
    assert config.html_theme_options["repository_url"] == ""
    assert config.html_theme_options["launch_buttons"] == {}
    assert config.html_theme_options["home_page_in_toc"] is True  # the rest is kept
    monkeypatch.setenv("LAKEML_REPOSITORY_URL", REPO + ".git")
    monkeypatch.setenv("LAKEML_REPOSITORY_BRANCH", "release")
    monkeypatch.setenv("LAKEML_BINDERHUB_URL", "https://binder.example.org/")
    _launch_buttons(None, config)
    options = config.html_theme_options
    assert (options["repository_url"], options["repository_branch"]) == (REPO, "release")
    assert options["launch_buttons"]["binderhub_url"] == "https://binder.example.org"
    assert options["use_repository_button"] is True


@pytest.mark.parametrize("build", list(BUILDS))
def test_a_page_without_a_notebook_has_no_launch_button(books, build):
    assert launch_links(books[build] / "intro.html") == []


def test_a_local_book_has_no_launch_button_and_no_repository_link(books):
    notebook = books["local"] / "notebooks" / "page.html"
    assert 'aria-label="Download this page"' in notebook.read_text()  # its header buttons
    for page in books["local"].rglob("*.html"):
        text = page.read_text()
        assert "mybinder" not in text and "git-pull" not in text, page
        assert "Launch interactive content" not in text, page
        assert "OWNER" not in text and "executablebooks/jupyter-book" not in text, page
        assert not [h for h in hrefs(page) if "github.com" in h], page


@pytest.mark.parametrize("build", list(BUILDS))
def test_every_page_states_the_licences_in_its_footer(books, build):
    for page in ("intro.html", "notebooks/page.html"):
        footer = (books[build] / page).read_text().split('<div class="extra_footer">')[1]
        assert "Apache License 2.0" in footer and "CC BY 4.0" in footer, page


def test_the_real_config_does_not_hard_code_the_repository_or_launch_buttons():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "launch_buttons" not in config and "repository" not in config
    options = config.get("sphinx", {}).get("config", {}).get("html_theme_options", {})
    assert not {"launch_buttons", "repository_url"} & set(options)
    # the book's own extension, from the book's sources (notebooks/_ext), not from the package
    assert config["sphinx"]["local_extensions"] == {"lakeml_book": "notebooks/_ext"}
    assert (ROOT / "notebooks" / "_ext" / "lakeml_book.py").is_file()
    assert not list((ROOT / "lakeml").rglob("*sphinx*"))


def test_the_offline_fallback_says_so_on_every_page_and_only_it(books):
    """publish.yml's fallback (LAKEML_BOOK_BANNER): a banner on every page; none otherwise."""
    for build, html in books.items():
        for page in ("intro.html", "notebooks/page.html", "genindex.html", "search.html"):
            shown = BANNER in (html / page).read_text()
            assert shown == (build == "fallback"), (build, page)


def test_publish_passes_the_repository_and_the_jupyterhub_variable():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    build = wf["jobs"]["build"]
    env = build["env"]
    assert env["LAKEML_REPOSITORY_URL"] == "${{ github.server_url }}/${{ github.repository }}"
    assert env["LAKEML_JUPYTERHUB_URL"] == "${{ vars.LAKEML_JUPYTERHUB_URL }}"
