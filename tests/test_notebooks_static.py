"""Notebooks are committed clean and follow the Project Pythia structure; the toc lists them all."""

from __future__ import annotations

import re
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


# every page but the real scenes' runs on the offline sample when the book is built
SAMPLE_PAGES = [p.stem for p in NOTEBOOKS if p.stem != "06-other-water"]


@pytest.mark.parametrize("stem", SAMPLE_PAGES)
def test_pages_on_the_sample_say_so_at_the_top(stem):
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    top = nb.cells[0].source
    assert "```{warning}" in top and "**Offline sample: synthetic pixels.**" in top
    assert top.index("{warning}") < top.index("## Overview")


def test_the_real_scenes_page_says_it_is_real():
    nb = nbformat.read(ROOT / "notebooks" / "06-other-water.ipynb", as_version=4)
    assert "**This page runs on real pixels.**" in nb.cells[0].source


# The teaching structure (the Carpentries habit inside the Pythia template): questions and
# learning objectives in the Overview, key points in the Summary, exercises whose solutions are
# code cells hidden behind a toggle in the book (myst-nb's hide-cell) and collapsed in
# JupyterLab (jupyter.source_hidden), run by nbmake and the book build like every other cell.
LESSONS = [p for p in NOTEBOOKS if p.stem[:2].isdigit()]
EXERCISE = re.compile(r"^### Exercise (\d+): \S", re.M)
IMPORT = re.compile(r"^\s*(import \w|from [\w.]+ import )", re.M)
SOLUTION_TAGS = {"hide-cell", "solution"}


def _section(nb, heading: str) -> str:
    """The markdown of the cell that holds ``heading`` (a line of its own)."""
    cells = [c.source for c in nb.cells if c.cell_type == "markdown"]
    found = [s for s in cells if re.search(rf"^#+ {re.escape(heading)}\s*$", s, re.M)]
    assert found, f"no heading {heading!r}"
    return found[0]


def _bullets_after(text: str, label: str) -> list[str]:
    """The ``- `` items of the list that follows the line ``label``."""
    lines = text.splitlines()
    assert label in lines, f"no line {label!r}"
    items = []
    for line in lines[lines.index(label) + 1 :]:
        if line.startswith("- "):
            items.append(line)
        elif line.strip() and not line.startswith("  "):
            break
    return items


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_questions_objectives_and_key_points(path):
    nb = nbformat.read(path, as_version=4)
    overview = _section(nb, "Overview")
    assert len(_bullets_after(overview, "**Questions**")) >= 2, path.name
    assert len(_bullets_after(overview, "**Learning objectives**")) >= 2, path.name
    summary = _section(nb, "Summary")
    assert len(_bullets_after(summary, "**Key points**")) >= 3, path.name


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_exercises_have_solutions_that_run_hidden(path):
    nb = nbformat.read(path, as_version=4)
    numbers, solutions, current = [], {}, None
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            found = EXERCISE.findall(cell.source)
            if found:
                current = int(found[-1])
                numbers += [int(n) for n in found]
            elif re.search(r"^#{1,3} ", cell.source, re.M):
                current = None  # a new section ends the exercise
        elif "solution" in tags:
            assert current is not None, f"{path.name}: a solution outside an exercise"
            assert SOLUTION_TAGS <= tags, f"{path.name}: solution cell tags {sorted(tags)}"
            hidden = cell.metadata.get("jupyter", {})
            assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), path.name
            assert cell.source.strip(), f"{path.name}: an empty solution"
            solutions[current] = solutions.get(current, 0) + 1
    assert len(numbers) >= 2, f"{path.name}: {len(numbers)} exercises"
    assert numbers == list(range(1, len(numbers) + 1)), f"{path.name}: numbered {numbers}"
    unsolved = [n for n in numbers if not solutions.get(n)]
    assert not unsolved, f"{path.name}: exercises without a solution cell: {unsolved}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_in_the_imports_cell_only(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return
    heading = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "## Imports" in c.source
    )
    imports = next(c for c in nb.cells[heading:] if c.cell_type == "code")
    late = [c.source.splitlines()[0] for c in code if c is not imports and IMPORT.search(c.source)]
    assert not late, f"{path.name}: imports outside the Imports cell: {late}"
