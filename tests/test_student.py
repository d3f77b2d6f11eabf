"""The student edition (``make student``) and its checks (``lakeml.exercises``).

Unit tests of ``lakeml.exercises`` on small hand-made namespaces; the generator's cells; and
the student notebooks executed under nbmake twice, as a learner would leave them: untouched
(every check prints "not tried yet", nothing raises) and with each answer key's code in the
empty cell under its exercise (every check prints "right"). The twelve runs go to one
``pytest --nbmake -n 2`` subprocess against this session's sample server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lakeml import exercises
from lakeml.exercises import encode_key, verdict

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_student.py"
N_EXERCISES = 17
CHECK_LINE = re.compile(r"^Exercise (\d\d-\d): (.*)$", re.M)

# -- lakeml.exercises on hand-made namespaces ------------------------------------------------

KEY = encode_key("total = sum(values)\nmean = total / len(values)\nprint('printed')")


def test_not_tried_yet_when_no_name_is_defined():
    result = verdict("00-1", {"values": [1, 2, 3]}, key=KEY, names=["total", "mean"], hint="h")
    assert result.status == exercises.NOT_TRIED
    assert result.message.startswith("Exercise 00-1: not tried yet")
    assert "\n" not in result.message


def test_right(capsys):
    ns = {"values": [1, 2, 3], "total": 6, "mean": 2.0}
    exercises.check("00-1", ns, key=KEY, names=["total", "mean"], hint="h")
    out = capsys.readouterr().out
    assert out == "Exercise 00-1: right (total, mean match the answer key).\n"  # key's print eaten


def test_wrong_names_the_value_and_gives_the_hint():
    ns = {"values": [1, 2, 3], "total": 6, "mean": 3.0}
    result = verdict("00-1", ns, key=KEY, names=["total", "mean"], hint="divide by 3")
    assert result.status == exercises.WRONG
    assert result.message == ("Exercise 00-1: wrong: mean is 3, expected 2. Hint: divide by 3")


def test_a_name_missing_is_wrong():
    ns = {"values": [1, 2, 3], "total": 6}
    result = verdict("00-1", ns, key=KEY, names=["total", "mean"], hint="h")
    assert result.status == exercises.WRONG
    assert "mean not defined" in result.message


def test_the_key_runs_on_a_copy_without_the_answer_names():
    ns = {"values": [1, 2, 3], "total": 99, "mean": 2.0}
    assert verdict("00-1", ns, key=KEY, names=["total", "mean"], hint="h").status == "wrong"
    assert ns == {"values": [1, 2, 3], "total": 99, "mean": 2.0}  # nothing added or changed


def test_tolerance():
    key = encode_key("x = np.linspace(0, 1, 5)\narea = float(x.sum())")
    ns = {"np": np, "area": 2.5 + 1e-9, "x": np.linspace(0, 1, 5) + 1e-10}
    assert verdict("00-2", ns, key=key, names=["x", "area"], hint="h").status == "right"
    ns["area"] = 2.6
    assert verdict("00-2", ns, key=key, names=["x", "area"], hint="h").status == "wrong"
    assert verdict("00-2", ns, key=key, names=["x", "area"], hint="h", atol=0.2).status == "right"


def test_pandas_and_xarray():
    key = encode_key(
        "table = pd.DataFrame({'a': [1.0, np.nan], 'b': ['x', 'y']})\n"
        "grid = xr.DataArray(np.eye(2), dims=('y', 'x'), coords={'y': [0, 1], 'x': [5, 6]})"
    )
    ns = {"pd": pd, "np": np, "xr": xr}
    ns["table"] = pd.DataFrame({"a": [1.0 + 1e-9, np.nan], "b": ["x", "y"]})
    ns["grid"] = xr.DataArray(np.eye(2), dims=("y", "x"), coords={"y": [0, 1], "x": [5, 6]})
    assert verdict("00-3", ns, key=key, names=["table", "grid"], hint="h").status == "right"
    ns["table"] = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "z"]})
    message = verdict("00-3", ns, key=key, names=["table", "grid"], hint="h").message
    assert "table['b']: 1 of 2 values differ" in message
    ns["table"] = pd.DataFrame({"a": [1.0, np.nan], "c": ["x", "y"]})
    message = verdict("00-3", ns, key=key, names=["table"], hint="h").message
    assert "table's columns are ['a', 'c'], expected ['a', 'b']" in message
    ns["grid"] = ns["grid"].isel(x=[0])
    message = verdict("00-3", ns, key=key, names=["grid"], hint="h").message
    assert "grid has sizes {'y': 2, 'x': 1}, expected {'y': 2, 'x': 2}" in message


def test_strings_and_ids_exactly():
    class Item:
        def __init__(self, id_):
            self.id = id_

    key = encode_key("pick = Item('LC08_a')\nname = 'Walker'")
    ns = {"Item": Item, "pick": Item("LC08_a"), "name": "Walker"}
    assert verdict("00-4", ns, key=key, names=["pick", "name"], hint="h").status == "right"
    ns["pick"] = Item("LC08_b")
    message = verdict("00-4", ns, key=key, names=["pick", "name"], hint="h").message
    assert "pick has id 'LC08_b', expected 'LC08_a'" in message


def test_nothing_to_compare_is_never_right():
    result = verdict("00-5", {}, key=encode_key("pass"), names=[], hint="compare with X")
    assert result.status == exercises.UNCHECKED
    assert result.message == "Exercise 00-5: nothing to check automatically; compare with X"


def test_a_failing_key_raises_with_a_note():
    key = encode_key("y = ds * 2")
    with pytest.raises(NameError) as info:
        verdict("00-6", {"y": 1}, key=key, names=["y"], hint="h")
    assert "reassign a name it uses" in "".join(info.value.__notes__)


# -- the generator ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert f"student edition: {N_EXERCISES} exercises" in proc.stdout
    return out


def _tagged(nb, tag: str) -> list:
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def test_student_notebooks_have_no_solution_and_a_check_per_exercise(student_dir):
    lessons = sorted(p.name for p in student_dir.glob("*.ipynb"))
    assert lessons == [
        "01-ingestion.ipynb",
        "02-reshaping.ipynb",
        "03-clustering.ipynb",
        "04-change.ipynb",
        "05-decades.ipynb",
        "06-other-water.ipynb",
    ]
    total = 0
    for path in sorted(student_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert not _tagged(nb, "solution"), path.name
        headings = [c for c in nb.cells if c.cell_type == "markdown" and "### Exercise" in c.source]
        answers, checks = _tagged(nb, "exercise-answer"), _tagged(nb, "exercise-check")
        assert len(headings) == len(answers) == len(checks) >= 2, path.name
        for heading in headings:  # heading, empty answer cell, check cell
            i = nb.cells.index(heading)
            answer, check = nb.cells[i + 1], nb.cells[i + 2]
            assert answer in answers and check in checks
            assert "your code here" in answer.source
            assert "the check below looks at:" in answer.source
            assert "exercises.check(" in check.source
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        total += len(checks)
    assert total == N_EXERCISES


def _answered(nb):
    """The notebook with each answer key's code in the empty cell above its check."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for i, cell in enumerate(nb.cells):
        if "exercise-check" in cell.metadata.get("tags", []):
            key = re.search(r"key='([^']+)'", cell.source)
            assert key, cell.source
            nb.cells[i - 1].source += exercises.decode_key(key.group(1))
    return nb


# The answered run is also the lessons' run on OTHER data of the local catalog: other summers
# of the synthetic Walker Lake, another box, another lake point, a coarser grid; their values
# go in a cell after the notebook's `parameters` cell, as papermill would inject them. The
# checks' verdicts stay meaningful (each answer key runs on the same data as the learner's
# code), and each page must run there and say nothing false: its data note names that run's
# scenes, and every glued name its text quotes has a value (test_second_data_run_*).
SMALLER_BOX = "bbox = (-118.82, 38.58, -118.62, 38.80)\n"
OTHER_DATA = {
    "01-ingestion": SMALLER_BOX
    + 'before_dates = "1994-06-01/1994-09-30"\nafter_dates = "2020-06-01/2020-09-30"\n',
    "02-reshaping": SMALLER_BOX + 'dates = "2020-06-01/2020-09-30"\n',
    "03-clustering": SMALLER_BOX + 'dates = "2020-06-01/2020-09-30"\n',
    "04-change": SMALLER_BOX
    + 'before_dates = "1994-06-01/1994-09-30"\nafter_dates = "2020-06-01/2020-09-30"\n'
    + "before_year, after_year = before_dates[:4], after_dates[:4]\n"
    + "lake_point = (-118.72, 38.69)\n",
    "05-decades": 'years = "1990-2008"\nmeasured_years = list(range(1990, 2009, 2))\n'
    + "resolution = 240\nlake_point = (-118.72, 38.69)\n",
}
# the years of the scenes each page reads: by default, and on the other data
DEFAULT_YEARS = {
    "01-ingestion": {"1988", "2017"},
    "02-reshaping": {"2017"},
    "03-clustering": {"2017"},
    "04-change": {"1988", "2017"},
    "05-decades": {str(y) for y in range(1985, 2025, 3)},
}
OTHER_YEARS = {
    "01-ingestion": {"1994", "2020"},
    "02-reshaping": {"2020"},
    "03-clustering": {"2020"},
    "04-change": {"1994", "2020"},
    "05-decades": {str(y) for y in range(1990, 2009, 2)},
}


def _on_other_data(nb, lesson: str):
    """The notebook with OTHER_DATA's values after its `parameters` cell (if it has any)."""
    if lesson not in OTHER_DATA:
        return nb
    at = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(at) == 1, f"{lesson}: one cell tagged parameters, found {len(at)}"
    cell = nbformat.v4.new_code_cell(OTHER_DATA[lesson])
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at[0] + 1, cell)
    return nb


@pytest.fixture(scope="module")
def executed(student_dir, stac_server, tmp_path_factory) -> dict[tuple[str, str], object]:
    """Each student notebook executed twice (untouched, answered) by nbmake, -n 2."""
    runs = tmp_path_factory.mktemp("student-runs")
    (runs / "pytest.ini").write_text("[pytest]\naddopts =\n")
    for path in sorted(student_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.write(nb, runs / f"untouched-{path.name}")
        nbformat.write(_on_other_data(_answered(nb), path.stem), runs / f"answered-{path.name}")
    env = dict(os.environ, LAKEML_STAC_URL=stac_server.stac_url, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
        + ["--nbmake", "--nbmake-timeout=600", "--overwrite", "--durations=0"]
        + sorted(p.name for p in runs.glob("*.ipynb")),
        cwd=runs,
        env=env,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    print(f"student notebooks, twice, nbmake -n 2: {time.perf_counter() - started:.0f} s")
    print(proc.stdout[-3000:])
    done = {}
    for path in runs.glob("*.ipynb"):
        mode, name = path.name.split("-", 1)
        done[mode, name.removesuffix(".ipynb")] = nbformat.read(path, as_version=4)
    done["pytest", "returncode"] = proc.returncode
    done["pytest", "stdout"] = proc.stdout
    return done


def _check_lines(nb) -> dict[str, str]:
    lines = {}
    for cell in _tagged(nb, "exercise-check"):
        text = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream"
        )
        found = CHECK_LINE.findall(text)
        assert len(found) == 1, f"a check cell printed {text!r}"
        lines[found[0][0]] = found[0][1]
    return lines


LESSONS = ["01-ingestion", "02-reshaping", "03-clustering", "04-change", "05-decades"]
LESSONS += ["06-other-water"]


@pytest.mark.parametrize("mode", ["untouched", "answered"])
@pytest.mark.parametrize("lesson", LESSONS)
def test_student_notebook_checks(executed, lesson, mode):
    nb = executed[mode, lesson]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{mode} {lesson}: {errors[0].ename}: {errors[0].evalue}"
    lines = _check_lines(nb)
    assert lines, f"{mode} {lesson}: no check ran ({executed['pytest', 'stdout'][-2000:]})"
    expected = "not tried yet" if mode == "untouched" else "right"
    bad = {ex: line for ex, line in lines.items() if not line.startswith(expected)}
    assert not bad, f"{mode} {lesson}: {bad}"


def _glued(nb) -> dict[str, dict]:
    """Each name myst-nb's glue recorded in an executed notebook: its mime bundle."""
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            book = out.get("metadata", {}).get("scrapbook")
            if book:
                prefix = book["mime_prefix"]
                found[book["name"]] = {k.removeprefix(prefix): v for k, v in out["data"].items()}
    return found


@pytest.mark.parametrize("mode", ["untouched", "answered"])
@pytest.mark.parametrize("lesson", LESSONS)
def test_second_data_run_says_what_it_ran_on(executed, lesson, mode):
    """The data note at the top names the scenes this run read, from the local sample; every
    glued name the text quotes has a value from this run."""
    nb = executed[mode, lesson]
    glued = _glued(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    quoted = set(re.findall(r"\{glue(?::\w+)?\}`(\w+)", text))
    quoted |= set(re.findall(r"^```\{glue:md\} (\w+)", text, re.M))
    assert "data_source" in quoted and quoted <= set(glued), sorted(quoted - set(glued))
    note = glued["data_source"]["text/markdown"]
    ids = re.findall(r"`(L[CETMO]0\d_L2SP_\d{6}_(\d{4})\d{4}_\d\d_T\d)`", note)
    assert ids, note
    if lesson == "06-other-water":  # real scenes, whatever the mode
        assert note.startswith("```{note}\n**Real pixels.**") and len(ids) == 5, note
        return
    assert note.startswith("```{warning}\n**Offline sample: synthetic pixels.**"), note
    assert "the local STAC API at `http://127.0.0.1:" in note
    years = OTHER_YEARS[lesson] if mode == "answered" else DEFAULT_YEARS[lesson]
    assert {year for _, year in ids} <= years, (mode, lesson, ids)
    if lesson == "05-decades":  # the counts the text quotes are this run's
        measured = len(OTHER_YEARS[lesson] if mode == "answered" else DEFAULT_YEARS[lesson])
        assert glued["n_measured"]["text/plain"] == str(measured)
        assert {glued[k]["text/plain"] for k in ("gap_year", "clear_year")} <= years
