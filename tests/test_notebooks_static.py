"""Notebooks are committed clean and follow the Project Pythia structure; the toc lists them all."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return [ROOT / f for f in files]


NOTEBOOKS = [p.with_suffix(".ipynb") for p in toc_files() if p.with_suffix(".ipynb").exists()]
SECTIONS = [
    "Overview",
    "Prerequisites",
    "Time to learn",
    "Imports",
    "Summary",
    "What's next",
    "Resources",
]


def test_every_notebook_is_in_the_toc():
    on_disk = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert on_disk and sorted(NOTEBOOKS) == on_disk


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pythia_structure(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"{path.name} lacks {missing}"
    assert nb.cells[0].source.startswith("# "), "the first cell is the title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    nb = nbformat.read(path, as_version=4)
    long = [
        (i, line)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > 88
    ]
    assert not long, f"{path.name}: code lines over 88 characters: {long}"


SAMPLE_PAGES = ["01-ingestion", "02-reshaping", "03-clustering", "04-change", "05-decades"]


@pytest.mark.parametrize("stem", SAMPLE_PAGES)
def test_pages_on_the_sample_say_so_at_the_top(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    top = nb.cells[0].source
    assert "```{warning}" in top and "**Offline sample: synthetic pixels.**" in top
    assert top.index("{warning}") < top.index("## Overview")


def test_the_real_scenes_page_says_it_is_real():
    nb = nbformat.read(ROOT / "notebooks" / "06-other-water.ipynb", as_version=4)
    assert "**This page runs on real pixels.**" in nb.cells[0].source
