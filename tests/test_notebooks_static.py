"""Notebooks are committed clean and follow the Project Pythia structure; the toc lists them all."""

from __future__ import annotations

import io
import re
import tokenize
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


# -- Which data a page ran on: said at run time ------------------------------------------------
# The top of every page shows the note that lakeml.search.data_note makes from the scenes the
# page read (myst-nb's glue): the sample's warning only when the sample served them, a note
# naming Planetary Computer's (or another catalog's) real scenes otherwise.
DATA_NOTE = "```{glue:md} data_source\n:format: myst\n```"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pages_say_at_the_top_which_data_they_ran_on(path):
    nb = nbformat.read(path, as_version=4)
    top = nb.cells[0].source
    assert DATA_NOTE in top and top.index(DATA_NOTE) < top.index("## Overview"), path.name
    assert "Offline sample: synthetic pixels" not in top, "a typed claim: glue the data note"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "search.data_note(" in code and 'glue("data_source", note' in code, path.name


# -- Numbers that come from the data are never typed into the text ---------------------------
# A page's text must stay true when the notebook runs on other data (another catalog, other
# dates, another box: tests/test_student.py runs the lessons a second time on other
# parameters), so every number that depends on the data reaches the text through a cell's
# output or myst-nb's glue ({glue:text}`name`), never typed. Caught in the markdown's prose and
# in code comments (solutions included): a number with a unit of area, length or share (km²,
# km, %, acres, pixels), any decimal number (a score, an area, a coordinate), an ISO date, a
# longitude or latitude, a Landsat scene id, an approximation ("about 9", "≈ 0.59", "~3"), a
# count of scenes, candidates, years or summers ("31 fully observed years", "three 2017
# candidates") and a list of three or more years ("1995-1998, 2006, 2011").
# Not prose, so not checked: code (fenced blocks and `inline code`: commands and parameters
# shown as code), math, roles (a glue role is the point), link targets and the "Resources and
# references" section (citations: volumes, pages, published figures).
# Allowed: a formula's thresholds and coefficients (a decimal right after <, >, ≤, ≥, +, −, ×
# or /: "MNDWI > 0.124", "blue + 2.5 green"), and the phrases below, which are not data
# (published thresholds, documented facts, the method's own constants, maths, parameters named
# as such); each phrase says why, and must still occur (no stale entry).
TYPED_NUMBER = re.compile(
    "|".join(
        [
            r"(?<![\w.-])\d[\d,]*(?:\.\d+)?\s?(?:km²|km2|km\b|%|acres\b|pixels\b)",
            r"(?<![\w.\-−])(?<![<>≤≥+−×*/] )(?<![<>≤≥+−×*/])[-−]?\d+\.\d+(?![\w.])",
            r"\b(?:19|20)\d\d-\d\d-\d\d\b",
            r"\b(?:lon|lat|longitude|latitude)\.?\s*[-−]?\d",
            r"\bL[CETMO]0\d_L2SP_\d{6}_\d{8}",
            r"(?:\babout|≈|~|\bnearly|\balmost|\broughly|\baround)\s*[-−]?\d",
            r"(?<![\w.-])(?<!Landsat )\d[\d,]*\s+(?:(?:fully|partly)\s+observed\s+)?"
            r"(?:candidates?|scenes?|years?|summers?)\b",
            r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
            r"(?:19|20)\d\d\s+(?:candidates?|scenes?|years?|summers?)\b",
            r"(?:19|20)\d\d(?:[-–](?:19|20)\d\d)?(?:,\s*(?:and\s+)?(?:19|20)\d\d(?:[-–](?:19|20)\d\d)?){2,}",
        ]
    )
)
ALLOWED_NUMBERS = {
    "less than 1 % cloud": "the original lesson's search parameter (max_cloud), quoted",
    "valid for about 45 minutes": "Planetary Computer's documented SAS token lifetime",
    "reflectance of -0.2": "Collection 2's published reflectance offset (raster:bands)",
    "reflectance -0.2": "Collection 2's published reflectance offset (raster:bands)",
    "has 0 % cloud but stripes": "what Landsat 7 SLC-off scenes report: a documented fact",
    "Below 0.98 the year": "lakeml's flag of partly observed years (timeseries' min_observed)",
    "flag were 0.90 instead of 0.98": "the exercise's alternative flag, a parameter",
    "at least 0.90": "the exercise's alternative flag, a parameter",
    "95 % interval": "the interval's confidence level: a constant of the method",
    "MNDWI above 0.124": "DSWE's published threshold (Jones 2019)",
    "trained on 25 years": "WOfS's published training period (Mueller et al. 2016)",
    "lon -118.71, lat 38.7": "the original lesson's lake centre, quoted (the lake_point)",
    "more than 1 % of the scene's water": "water.TOLERANCE, a constant of the method",
    "MNDWI's is 0.124 in the code, 0.0124 in the text": "DSWE's published threshold",
    "IoU of 0.95 or 0.99": "illustrative IoU levels: the table below turns them into areas",
    "IoU of 0.95": "an illustrative IoU level: the page's table turns it into an area",
    "lon -118.80, lat 38.60 on the default box": "the exercise's example input, on land",
    "about 20 of those minutes": "the lesson's time estimate, not data",
    "e⁻¹ ≈ 0.37": "maths: the RBF kernel's value at its width",
    "√7 ≈ 2.6": "maths: the default width for seven bands",
    "pulled 0.3 apart": "the example's construction (its code moves the moons by 0.3)",
    "1/√γ ≈ 1.4": "maths: the width for the moons' default γ = 1/2",
    "a width of about 0.22": "maths: the width for γ = 20",
    "γ = 0.02": "a value of γ the exercise tries, a parameter",
    "own default is 1.0": "dask-ml's documented default γ",
}
PROSE_DROPS = [
    re.compile(r"^(```+|:::+)(?!\s*\{(?!glue))[^\n]*\n.*?^\1\s*$", re.S | re.M),  # code
    re.compile(r"^#+ Resources.*", re.S | re.M),  # citations
    re.compile(r"\{[\w:.-]+\}`[^`]*`"),  # roles: {glue:text}`name`, {func}`...`
    re.compile(r"`[^`]*`"),  # inline code
    re.compile(r"\$[^$]*\$"),  # math
    re.compile(r"\]\([^)]*\)|https?://\S+"),  # link targets, addresses
]


def _prose(markdown: str) -> str:
    for drop in PROSE_DROPS:
        markdown = drop.sub(" ", markdown)
    return " ".join(markdown.split())


def _comments(code: str) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return " ".join(t.string.lstrip("# ") for t in tokens if t.type == tokenize.COMMENT)


def typed_numbers(nb) -> list[tuple[int, str, str]]:
    """(cell index, the number, its context) for every data-like number typed in ``nb``."""
    found = []
    for i, cell in enumerate(nb.cells):
        text = _prose(cell.source) if cell.cell_type == "markdown" else _comments(cell.source)
        for phrase in sorted(ALLOWED_NUMBERS, key=len, reverse=True):
            text = text.replace(phrase, " ")
        for m in TYPED_NUMBER.finditer(text):
            found.append((i, m.group(0), text[max(0, m.start() - 50) : m.end() + 30]))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_data_derived_number_typed_into_the_text(path):
    found = typed_numbers(nbformat.read(path, as_version=4))
    assert not found, (
        f"{path.name}: numbers typed into the text, glue them ({{glue:text}}`name`) or say "
        f"them in an output instead (cell, number, context): {found}"
    )


def test_every_allowed_number_is_still_in_a_notebook():
    text = " ".join(
        _prose(c.source) if c.cell_type == "markdown" else _comments(c.source)
        for path in NOTEBOOKS
        for c in nbformat.read(path, as_version=4).cells
    )
    stale = [phrase for phrase in ALLOWED_NUMBERS if phrase not in text]
    assert not stale, f"ALLOWED_NUMBERS entries no notebook has any more: {stale}"


PLANTED = [
    ("The lake covered 123.4 km² that summer.", "123.4 km²"),
    ("Its IoU was 0.95 against WOfS.", "0.95"),
    ("The clearest scene was taken on 2017-07-18.", "2017-07-18"),
    ("One such place is lon -118.753, lat 38.812.", "lon -1"),
    ("It picked LC08_L2SP_042033_20170718_02_T1.", "LC08_L2SP_042033_20170718"),
    ("Its 31 fully observed years fell short.", "31 fully observed years"),
    ("They count as about 9 independent ones.", "about 9"),
    ("The search found three 2017 candidates.", "three 2017 candidates"),
    ("Wet years (1995-1998, 2006, 2011) push it up.", "1995-1998, 2006, 2011"),
    ("The lake lost 12 % of its area.", "12 %"),
]


@pytest.mark.parametrize(("sentence", "number"), PLANTED, ids=[n for _, n in PLANTED])
def test_a_planted_typed_number_is_caught(sentence, number):
    """Each kind of typed number, planted in a clean page's prose or in a comment, is caught."""
    page = ROOT / "notebooks" / "01-ingestion.ipynb"
    nb = nbformat.read(page, as_version=4)
    assert not typed_numbers(nb)
    nb.cells[1].source += "\n\n" + sentence
    assert number in [n for _, n, _ in typed_numbers(nb)]
    nb = nbformat.read(page, as_version=4)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.source += "\n# " + sentence
    assert number in [n for _, n, _ in typed_numbers(nb)]


def test_glued_names_are_glued():
    """Every {glue:...}`name` of a page's text has a glue("name", ...) call in its code."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        used = set(re.findall(r"\{glue(?::\w+)?\}`([\w]+)", text))
        used |= set(re.findall(r"^```\{glue:md\} (\w+)", text, re.M))
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        glued = set(re.findall(r"\bglue\(\s*\"(\w+)\"", code))
        assert used <= glued, f"{path.name}: glued nowhere: {sorted(used - glued)}"


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
