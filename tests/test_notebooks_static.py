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
SECTIONS = ["Overview", "Prerequisites", "Time to learn", "Imports", "Summary", "What's next",
            "Resources"]


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
