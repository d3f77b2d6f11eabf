"""Write the student edition of the lessons: `make student` -> _build/student/*.ipynb.

Each lesson (a notebook of notebooks/ with a "### Exercise N: ..." heading) is copied with its
outputs cleared and its solution cells (tagged `solution`) removed. After each exercise's text
come two cells: an empty one for the learner's code (its comment names the variables the check
looks at) and a check cell that calls lakeml.exercises.check with the answer key (the solution
cells' source, zlib + base64: out of sight, not secret), the names and a hint.

The names and hints of the exercises are in EXERCISES below. An exercise without an entry
checks the names its solution assigns that start with "ex" (page 03's). An entry's `result`
names the solution's last expression (a table it displays) so that it can be compared; its
`extra` is code appended to the key that keeps a value the solution only prints. The script
fails, naming the exercise, when an entry names a variable the key does not assign, when an
exercise has no names, when a solution cell follows no exercise, or when an entry matches no
exercise (the notebooks changed): update EXERCISES.

    python scripts/make_student.py [--out DIR] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakeml.exercises import encode_key  # noqa: E402

HEADING = re.compile(r"^### Exercise (\d+):", re.M)
SOLUTION_TAG = "solution"
CHECK_TAG = "exercise-check"
ANSWER_TAG = "exercise-answer"


@dataclass(frozen=True)
class Exercise:
    """What the check of one exercise looks at."""

    names: tuple[str, ...]
    hint: str
    about: str = ""  # what the names hold, for the empty cell's comment
    result: str | None = None  # assign the key's last expression to this name
    extra: str = ""  # code appended to the key
    atol: float = 1e-8
    rtol: float = 1e-5


EXERCISES: dict[str, Exercise] = {
    "01-1": Exercise(
        ("cloudiest", "rows"),
        "the candidate with the largest fractions[it.id]; rows maps each scene's "
        "attrs['item_id'] to {flag: fraction of the bbox} for every flag of load.MASK_BITS "
        "plus 'not valid' (1 - valid.mean()).",
        "cloudiest: the STAC item; rows: dict item id -> {flag: fraction}",
    ),
    "01-2": Exercise(
        ("water_by_hand", "n_water"),
        "water_by_hand = ((qa >> 7) & 1) == 1 on the picked scene's qa; n_water is its count "
        "(an int).",
        "water_by_hand: bool DataArray like qa; n_water: the number of water pixels",
    ),
    "01-3": Exercise(
        ("kelvin", "median"),
        "kelvin = dn * scale + offset with lwir11's own raster:bands, NaN where dn is its "
        "nodata; median = float(kelvin.median()) in kelvin.",
        "kelvin: lwir11 at 300 m in K (DataArray); median: its median, K",
    ),
    "02-1": Exercise(
        ("unstacked", "came_back_nan", "regridded"),
        "unstack the dropna'd three-band table (no reindex); came_back_nan is "
        "unstacked.isnull().any('band'); regridded is the table without the top row, "
        "unstacked and reindexed to ds.y, ds.x.",
        "unstacked, came_back_nan, regridded: DataArrays",
    ),
    "02-2": Exercise(
        ("calls", "differ"),
        "every 4th valid pixel, 4 clusters, random_state=0, water clusters from "
        "water.cluster_table with MNDWI > 0; calls is a DataFrame of bools with the columns "
        "'global' and 'per band'; differ the share of pixels where they disagree.",
        "calls: DataFrame ('global', 'per band') water or not per pixel; differ: a share",
    ),
    "02-3": Exercise(
        ("band_shares",),
        "a DataFrame with the columns 'unscaled', 'global z', 'per-band z', "
        "'reflectance only, global z', one row per band of reflectance + thermal, rounded to 3.",
        "band_shares: DataFrame, each band's share of the mean squared distance",
        result="band_shares",
        atol=2e-3,
    ),
    "03-1": Exercise(
        ("ex1_maps", "ex1_rows"),
        "k in (4, 6), m in (20, 300), spectral_clustering(Zc, k, n_components=m, "
        "random_state=0, n_init=3); ex1_maps[k, m] is water_of's map, ex1_rows['k=4, m=20'] "
        "its {'water km2': ..., 'most watery cluster': ...}.",
        "ex1_maps: dict (k, m) -> labels; ex1_rows: dict 'k=.., m=..' -> row",
    ),
    "03-2": Exercise(
        ("ex2_moons", "ex2_table", "ex2_scene", "ex2_index"),
        "ex2_moons[(gamma, seed)] is the ARI (NaN where lakeml refuses gamma); ex2_scene[gamma] "
        "is water_of(...)[1:] for gamma 0.02, 1/7, 2 with spectral_clustering(Zc, 6, "
        "random_state=0, n_init=3).",
        "ex2_moons, ex2_table (ARI by gamma and seed), ex2_scene, ex2_index",
    ),
    "04-1": Exercise(
        ("land_point", "message"),
        "use the example point land_point = (-118.80, 38.60), check it against your mask "
        "water_after and keep the ValueError's text: except ValueError as err: "
        "message = str(err).",
        "land_point: (lon, lat); message: str of check_lake_point's ValueError",
        extra=(
            "try:\n"
            "    water.check_lake_point(water_after, land_point)\n"
            "except ValueError as err:\n"
            "    message = str(err)\n"
        ),
    ),
    "04-2": Exercise(
        ("mean_passes", "by_mean"),
        "means = ds_after[shared] (without the time and spatial_ref coordinates) grouped by "
        "labels_after.rename('cluster'), .mean(), cluster -1 dropped; mean_passes = "
        "dswe_passes(means).to_series(); by_mean = the clusters (ints) with 3 or more.",
        "mean_passes: Series cluster -> tests passed by its mean; by_mean: list of clusters",
    ),
    "04-3": Exercise(
        ("code_there",),
        "code_there = water.value_at(change, lon, lat) at a red pixel (2 is water lost).",
        "code_there: the change code at your place",
    ),
    "04-4": Exercise(
        ("mask",),
        "mask is the Otsu mask: (index > otsu).astype('float32').where(index.notnull()).",
        "mask: the later scene's water with Otsu's threshold (float32, NaN = no data)",
    ),
    "05-1": Exercise(
        ("mid_summer", "july_august"),
        "mid_summer = the rows of table whose datetime month is 07 or 08; july_august = "
        "trend.trend(mid_summer).",
        "mid_summer: the rows of table; july_august: its trend",
    ),
    "05-2": Exercise(
        ("admit", "relaxed"),
        "admit = partial years with valid_fraction >= 0.90; relaxed = table with their "
        "status set to 'ok'.",
        "admit: bool Series over table; relaxed: table with those years 'ok'",
    ),
    "06-1": Exercise(
        ("darkest",),
        "darkest[k] = {'water %', 'IoU wofs', 'IoU consensus', 'same as old'} for k = 2, 4, 8 "
        "(random_state=0, standardised SHARED_BANDS).",
        "darkest: dict k -> {'water %', 'IoU wofs', 'IoU consensus', 'same as old'}",
    ),
    "06-2": Exercise(
        ("dswe_rows",),
        "dswe_rows['1'], ['1-2'], ['1-4'] = {'DSWE water %', 'IoU vs DSWE', "
        "'IoU vs consensus', 'consensus covers %'}.",
        "dswe_rows: dict classes label -> row of scores",
    ),
    "06-3": Exercise(
        ("disputed", "odd"),
        "disputed = valid, known to all three references, NaN in refs.consensus; odd[name] "
        "marks where that reference is the only one to say water or the only one dry.",
        "disputed: bool DataArray; odd: dict reference name -> bool DataArray",
    ),
}


def assigned(source: str) -> set[str]:
    """The names a key's top level binds (assignments, loops, with, imports, defs)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def name_result(source: str, name: str) -> str:
    """Assign the source's last top-level expression to ``name``."""
    last = ast.parse(source).body[-1]
    if not isinstance(last, ast.Expr):
        raise SystemExit(f"make_student: the key's last statement is no expression for {name}")
    lines = source.splitlines()
    lines[last.lineno - 1] = f"{name} = " + lines[last.lineno - 1]
    return "\n".join(lines) + "\n"


def check_source(exercise: str, spec: Exercise, key: str) -> str:
    """The check cell's code."""
    tolerance = ""
    if spec.atol != 1e-8:
        tolerance += f"    atol={spec.atol!r},\n"
    if spec.rtol != 1e-5:
        tolerance += f"    rtol={spec.rtol!r},\n"
    return (
        f"# Check Exercise {exercise}: run it after your answer. The key below is the solution,\n"
        "# compressed out of sight (not secret): try the exercise first.\n"
        "from lakeml import exercises\n\n"
        "exercises.check(\n"
        f"    {exercise!r},\n"
        "    globals(),\n"
        f"    names={list(spec.names)!r},\n"
        f"    hint={spec.hint!r},\n"
        f"{tolerance}"
        f"    key={key!r},\n"
        ")"
    )


def spec_for(exercise: str, source: str) -> Exercise:
    """The check of one exercise: its EXERCISES entry, else the ex* names its solution assigns."""
    spec = EXERCISES.get(exercise)
    if spec is None:
        names = tuple(sorted(n for n in assigned(source) if n.startswith("ex")))
        if not names:
            raise SystemExit(
                f"make_student: Exercise {exercise}'s solution assigns no ex* name: "
                "add it to EXERCISES in scripts/make_student.py"
            )
        spec = Exercise(names, "compare with the solution in the book.", ", ".join(names))
    return spec


def student_notebook(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """The student edition of one notebook and its exercises' ids (none: not a lesson)."""
    nb = nbformat.read(path, as_version=4)
    page = path.stem.split("-")[0]
    cells: list[nbformat.NotebookNode] = []
    found: list[str] = []
    i = 0
    while i < len(nb.cells):
        cell = nb.cells[i]
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags:
            raise SystemExit(f"make_student: {path.name}, cell {i}: a solution after no exercise")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        i += 1
        headings = HEADING.findall(cell.source) if cell.cell_type == "markdown" else []
        if not headings:
            continue
        if len(headings) > 1:
            raise SystemExit(f"make_student: {path.name}, cell {i - 1}: two exercises in a cell")
        exercise = f"{page}-{headings[0]}"
        solution = []
        while i < len(nb.cells) and SOLUTION_TAG in nb.cells[i].metadata.get("tags", []):
            solution.append(nb.cells[i].source.strip())
            i += 1
        if not solution:
            raise SystemExit(f"make_student: {path.name}: Exercise {exercise} has no solution")
        source = "\n\n".join(solution) + "\n"
        spec = spec_for(exercise, source)
        if spec.result:
            source = name_result(source, spec.result)
        if spec.extra:
            source += "\n" + spec.extra
        missing = [n for n in spec.names if n not in assigned(source)]
        if missing:
            raise SystemExit(
                f"make_student: Exercise {exercise}'s solution assigns no {missing}: "
                "update EXERCISES in scripts/make_student.py"
            )
        found.append(exercise)
        answer = nbformat.v4.new_code_cell(
            f"# Exercise {exercise}: your code here\n"
            f"# the check below looks at: {spec.about or ', '.join(spec.names)}\n",
            metadata={"tags": [ANSWER_TAG]},
        )
        check = nbformat.v4.new_code_cell(
            check_source(exercise, spec, encode_key(source)),
            metadata={"tags": [CHECK_TAG]},
        )
        cells += [answer, check]
    if found:
        note = nbformat.v4.new_markdown_cell(
            "```{note}\n**Student edition.** The solutions are removed. Under each exercise, write "
            "your code in the empty cell, run it, then run the check cell below it: it says "
            '"right", "wrong" (with a hint) or "not tried yet". Run the notebook from the top '
            "first: the exercises use names that earlier cells define.\n```"
        )
        cells.insert(1, note)
    nb.cells = cells
    return nb, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    seen: list[str] = []
    for path in paths:
        nb, found = student_notebook(path)
        if not found:
            continue
        seen += found
        nbformat.validate(nb)
        nbformat.write(nb, args.out / path.name)
        print(f"{args.out / path.name}: exercises {', '.join(found)}")
    if not args.notebooks:
        stale = sorted(set(EXERCISES) - set(seen))
        if stale:
            raise SystemExit(f"make_student: no exercise in notebooks/ for {stale}: update them")
    print(f"student edition: {len(seen)} exercises in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
