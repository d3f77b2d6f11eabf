"""Bad input, as one table: what a student mistypes, and the exact answer lakeml gives.

Command rows run ``lakeml change`` / ``lakeml timeseries`` (``lakeml.workflows.cli.main``, in this
process) and assert the exit code 2, the exact one-line message on stderr and that nothing was
written. Function rows call the library and assert the exact message and the type: a
``lakeml.checks.BadInput`` for the user's mistakes, a plain ``ValueError`` for a state of the
data (both are ``ValueError``). Every check runs
before the expensive part: a bad command never starts the sample server (rows with
``--sample`` would start it otherwise; the test fails if it is called).

Two real processes (end of file) show what a user's shell sees: exit code 2, one line, no
traceback.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import xarray as xr

from lakeml import checks, load, search, water
from lakeml.search import WALKER_LAKE_BBOX
from lakeml.workflows import cli, pipeline

BBOX = ["--bbox", "-118.89", "38.54", "-118.57", "38.84"]
DATES = ["--before", "1988-06-01/1988-09-30", "--after", "2017-06-01/2017-09-30"]
CHANGE = ["change", *BBOX, *DATES]
SERIES = ["timeseries", *BBOX, "--years", "1984-1985"]
PLATFORMS = "landsat-4, landsat-5, landsat-7, landsat-8, landsat-9"
THIS_YEAR = time.gmtime().tm_year


def _set(args: list[str], option: str, *values: str) -> list[str]:
    """``args`` with ``option``'s values replaced (or the option added)."""
    out, i = [], 0
    while i < len(args):
        if args[i] == option:
            i += 1
            while i < len(args) and not (args[i].startswith("--") and args[i][2:3].isalpha()):
                i += 1
            continue
        out.append(args[i])
        i += 1
    return [*out, option, *values]


@dataclass
class Cmd:
    id: str
    argv: list[str]
    message: str  # the exact stderr line, without "lakeml: error: "
    source: str = "--sample"


CMD_ROWS = [
    Cmd(
        "bbox-three-numbers",
        [*CHANGE[:5], *DATES],
        "argument --bbox: expected 4 arguments; see lakeml change --help",
    ),
    Cmd(
        "bbox-not-a-number",
        _set(CHANGE, "--bbox", "-118.89", "38.54", "-118.57", "north"),
        "argument --bbox: invalid float value: 'north'; see lakeml change --help",
    ),
    Cmd(
        "bbox-longitude-out-of-range",
        _set(CHANGE, "--bbox", "-200", "38.54", "-118.57", "38.84"),
        "bbox longitudes must lie in [-180, 180], got W=-200.0, E=-118.57",
    ),
    Cmd(
        "bbox-west-greater-than-east",
        _set(CHANGE, "--bbox", "-118.57", "38.54", "-118.89", "38.84"),
        "bbox west (-118.57) must be less than east (-118.89): the order is W S E N",
    ),
    Cmd(
        "bbox-zero-area",
        _set(CHANGE, "--bbox", "-118.89", "38.54", "-118.89", "38.84"),
        "bbox has zero width: west and east are both -118.89; give W < E",
    ),
    Cmd(
        "bbox-south-greater-than-north",
        _set(CHANGE, "--bbox", "-118.89", "38.84", "-118.57", "38.54"),
        "bbox south (38.84) must be less than north (38.54): the order is W S E N",
    ),
    Cmd(
        "bbox-lat-lon-swapped",
        _set(CHANGE, "--bbox", "38.54", "-118.89", "38.84", "-118.57"),
        "bbox latitudes must lie in [-90, 90], got S=-118.89, N=-118.57 (did you swap longitude "
        "and latitude? the order is W S E N)",
    ),
    Cmd(
        "dates-malformed",
        _set(CHANGE, "--after", "2017-6-1/2017-9-30"),
        "after must be dates START/END written YYYY-MM-DD/YYYY-MM-DD, got '2017-6-1/2017-9-30'",
    ),
    Cmd(
        "dates-one-date",
        _set(CHANGE, "--before", "1988-06-01"),
        "before must be dates START/END written YYYY-MM-DD/YYYY-MM-DD, got '1988-06-01'",
    ),
    Cmd(
        "dates-not-in-calendar",
        _set(CHANGE, "--before", "1988-02-30/1988-09-30"),
        "before '1988-02-30/1988-09-30' holds a date that is not in the calendar: day is out of "
        "range for month",
    ),
    Cmd(
        "dates-reversed",
        _set(CHANGE, "--before", "1988-09-30/1988-06-01"),
        "before is reversed: start 1988-09-30 is after end 1988-06-01; write START/END",
    ),
    Cmd(
        "platform-unknown",
        _set(CHANGE, "--platform-before", "landsat-6"),
        f"unknown platform 'landsat-6': choose from {PLATFORMS}",
    ),
    Cmd(
        "max-cloud-out-of-range",
        _set(CHANGE, "--max-cloud", "150"),
        "max cloud cover is a percentage in 0-100, got 150.0",
    ),
    Cmd(
        "clusters-below-two",
        _set(CHANGE, "--clusters", "1"),
        "clusters must be at least 2 (water and the rest), got 1",
    ),
    Cmd(
        "clusters-not-a-number",
        _set(CHANGE, "--clusters", "two"),
        "argument --clusters: invalid int value: 'two'; see lakeml change --help",
    ),
    Cmd(
        "lake-point-outside-bbox",
        _set(CHANGE, "--lake-point", "-100", "40"),
        "lake point (-100.0, 40.0) lies outside the bbox [-118.89, 38.54, -118.57, 38.84]; give "
        "a point on the lake, inside the bbox, as LON LAT",
    ),
    Cmd(
        "no-scene-found",
        _set(CHANGE, "--before", "1950-06-01/1950-09-30"),
        "no landsat-c2-l2 scene found for landsat-5 over bbox [-118.89, 38.54, -118.57, 38.84] "
        "in 1950-06-01/1950-09-30 with cloud cover < 1.0%; widen the dates or raise the cloud "
        "cover limit",
        source="--stac-url",
    ),
    Cmd(
        "stac-url-not-a-url",
        [*CHANGE, "--stac-url", "planetarycomputer.microsoft.com"],
        "the STAC API URL must be an http(s) URL, got 'planetarycomputer.microsoft.com'; e.g. "
        "https://planetarycomputer.microsoft.com/api/stac/v1 (Planetary Computer) or the URL "
        "`lakeml sample serve` prints",
        source="",
    ),
    Cmd(
        "out-is-a-file",
        _set(CHANGE, "--out", "{file}"),
        "output folder '{file}' is a file; give a folder for --out",
    ),
    Cmd(
        "catalog-source-missing",
        [*SERIES, "--out", "{out}"],
        "one of the arguments --stac-url --sample is required; see lakeml timeseries --help",
        source="",
    ),
    Cmd(
        "years-reversed",
        _set(SERIES, "--years", "2024-1984"),
        "years are reversed: 2024 is after 1984; write START-END",
    ),
    Cmd(
        "years-before-landsat",
        _set(SERIES, "--years", "1970-1975"),
        f"years must lie in 1982-{THIS_YEAR} (Landsat Collection 2 Level-2 starts in 1982), "
        "got 1970-1975",
    ),
    Cmd(
        "months-reversed",
        _set(SERIES, "--months", "9-6"),
        "months are reversed: 9 is after 6; a season across the new year is not supported, "
        "write M1-M2 within one year",
    ),
    Cmd("months-out-of-range", _set(SERIES, "--months", "0-5"), "months must lie in 1-12, got 0-5"),
    Cmd(
        "resolution-zero",
        _set(SERIES, "--resolution", "0"),
        "resolution is a pixel size in metres > 0, got 0.0",
    ),
    Cmd(
        "min-observed-above-one",
        _set(SERIES, "--min-observed", "1.5"),
        "min_observed is a fraction in (0, 1], got 1.5",
    ),
    Cmd(
        "workers-negative",
        _set(SERIES, "--workers", "-1"),
        "workers must be 0 (dask threads) or more, got -1",
    ),
]


@pytest.fixture
def quiet_logging():
    """cli.main silences odc-loader's per-read log; give other tests in this worker it back."""
    logger = logging.getLogger("odc.loader")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the sample server starts (i.e. work begins)."""
    started: list[str] = []

    def refuse(name):
        def call(*args, **kwargs):
            started.append(name)
            raise AssertionError(f"{name} was called for bad input")

        return call

    import lakeml.offline.server

    monkeypatch.setattr(lakeml.offline.server, "serve_sample", refuse("serve_sample"))
    return started


@pytest.mark.parametrize("row", CMD_ROWS, ids=[r.id for r in CMD_ROWS])
def test_bad_command_input(row: Cmd, tmp_path, stac_server, capsys, quiet_logging, no_work):
    file = tmp_path / "a-file"
    file.write_text("not a folder\n")
    out = tmp_path / "out"
    fill = {"{file}": str(file), "{out}": str(out)}
    argv = [fill.get(a, a) for a in row.argv]
    if "--out" not in argv:
        argv += ["--out", str(out)]
    if row.source == "--sample":
        argv += ["--sample", "--quiet"]
    elif row.source == "--stac-url":
        argv += ["--stac-url", stac_server.stac_url, "--quiet"]
    start = time.perf_counter()
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    expected = "lakeml: error: " + row.message.replace("{file}", str(file)) + "\n"
    assert (code, err) == (2, expected)
    assert not out.exists() or not list(out.iterdir()), "nothing written"
    assert not no_work, "refused before any server starts"
    assert seconds < 10, seconds  # and before any download (finding nothing needs a search)


# --- the library's own checks ----------------------------------------------------------------

SMALL = (-118.73, 38.68, -118.69, 38.72)
NE_CORNER = (-118.59, 38.81, -118.565, 38.84)  # in the scene's bbox, outside its footprint


@pytest.fixture(scope="module")
def items(stac_server) -> dict[str, object]:
    catalog = search.open_catalog(stac_server.stac_url)
    l8 = search.search(WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", "landsat-8", catalog=catalog)
    l5 = search.search(WALKER_LAKE_BBOX, "1988-06-01/1988-09-30", "landsat-5", catalog=catalog)
    return {"l8": l8[-1], "l5": l5[0], "catalog": catalog}


def _unknown_collection(it):
    search.search(
        WALKER_LAKE_BBOX,
        "2017-06-01/2017-09-30",
        "landsat-8",
        collection="landsat-c3-l9",
        catalog=it["catalog"],
    )


def _band_missing(it):
    load.load_scene(it["l5"], WALKER_LAKE_BBOX, bands=["red", "coastal"])


def _every_pixel_masked(it):
    pipeline.classify_scene(it["l8"], NE_CORNER, lake_point=None, cache=False)


def _every_sample_masked(it):
    from lakeml.cluster import spectral_clustering
    from lakeml.reshape import to_samples

    ds = load.load_scene(it["l8"], SMALL, bands=["red", "nir08"]).where(False)
    spectral_clustering(to_samples(ds, ["red", "nir08"]))


def _lake_point_not_on_water(it):
    pipeline.classify_scene(
        it["l8"], WALKER_LAKE_BBOX, lake_point=(-118.85, 38.80), resolution=120, cache=False
    )


def _lake_point_outside(it):
    pipeline.classify_scene(it["l8"], SMALL, lake_point=(-118.85, 38.80))


def _two_shapes_no_crs(it):
    water.iou(xr.DataArray(np.ones((2, 2))), xr.DataArray(np.ones((3, 3))))


def _timeout_zero(it):
    search.open_catalog("http://127.0.0.1:9/api/stac/v1", timeout=0)


def _point_as_text(it):
    checks.validate_point("12", WALKER_LAKE_BBOX)


def _bad_qa_flag(it):
    load.qa_mask(xr.DataArray(np.zeros(3, "uint16")), ["clouds"])


@dataclass
class Fn:
    id: str
    call: Callable[[dict[str, object]], object]
    message: str  # the exact ValueError text; "{url}" is the STAC API's
    bad_input: bool = True  # a lakeml.checks.BadInput (exit 2 in the command), else ValueError
    unusable: bool = False  # a lakeml.checks.UnusableData: the data cannot answer, not a bug


FN_ROWS = [
    Fn(
        "collection-unknown",
        _unknown_collection,
        "unknown collection 'landsat-c3-l9' in the STAC API {url}; Landsat Collection 2 Level-2 "
        "is 'landsat-c2-l2'",
    ),
    Fn(
        "band-missing-from-mission",
        _band_missing,
        "item LT05_L2SP_042033_19880702_02_T1 (landsat-5) has no asset 'coastal'; it has blue, "
        "green, red, nir08, swir16, swir22, lwir. Use bands both missions share, e.g. blue, "
        "green, red, nir08, swir16, swir22",
    ),
    Fn(
        "every-pixel-masked",
        _every_pixel_masked,
        "every pixel of LC08_L2SP_042033_20170718_02_T1 over the bbox is masked (fill, cloud or "
        "shadow); pick another scene or a lower cloud cover limit",
        bad_input=False,  # the scene's pixels, not the call: UnusableData
        unusable=True,
    ),
    Fn(
        "every-sample-masked",
        _every_sample_masked,
        "every sample is masked (NaN): there is nothing to cluster",
        bad_input=False,
        unusable=True,
    ),
    Fn(
        "lake-point-not-on-water",
        _lake_point_not_on_water,
        "the lake point (-118.85, 38.8) is not water in this scene's water mask: the point is not "
        "on water in this scene, or no cluster there passed the water test; check the point and "
        "the cloud mask",
    ),
    Fn(
        "lake-point-outside-bbox",
        _lake_point_outside,
        "lake point (-118.85, 38.8) lies outside the bbox [-118.73, 38.68, -118.69, 38.72]; give "
        "a point on the lake, inside the bbox, as LON LAT",
    ),
    Fn(
        "two-shapes-without-crs",
        _two_shapes_no_crs,
        "masks differ in shape (2, 2) vs (3, 3) and have no CRS to align them by: load both with "
        "lakeml.load.load_scene, or put them on one grid",
        bad_input=False,
    ),
    Fn(
        "stac-timeout-zero",
        _timeout_zero,
        "timeout is the seconds to wait for an answer, > 0; got 0",
    ),
    Fn(
        "lake-point-as-text",
        _point_as_text,
        "lake point must be two numbers LON LAT in degrees, got '12'",
    ),
    Fn(
        "qa-flag-unknown",
        _bad_qa_flag,
        "unknown qa_pixel flag 'clouds': choose from fill, dilated_cloud, cirrus, cloud, "
        "cloud_shadow, snow, clear, water",
    ),
]


@pytest.mark.parametrize("row", FN_ROWS, ids=[r.id for r in FN_ROWS])
def test_bad_library_input(row: Fn, items, stac_server):
    with pytest.raises(ValueError) as caught:
        row.call(items)
    message = str(caught.value)
    assert message == row.message.replace("{url}", stac_server.stac_url)
    assert isinstance(caught.value, checks.BadInput) == row.bad_input, type(caught.value)
    assert isinstance(caught.value, checks.UnusableData) == row.unusable, type(caught.value)


def test_two_grids_are_aligned_automatically(items):
    """Masks on two grids (30 m and 60 m) are compared on the first one's grid (odc-geo)."""
    before = load.load_scene(items["l5"], SMALL, bands=["green"], resolution=30)
    other = load.load_scene(items["l8"], SMALL, bands=["green"], resolution=60)
    assert before.green.shape == (151, 119) and other.green.shape == (76, 61)
    aligned = water.on_grid(other.green, before.green)
    assert aligned.odc.geobox == before.odc.geobox
    direct = load.load_scene(items["l8"], SMALL, bands=["green"], geobox=before.odc.geobox)
    # nearest neighbour from 60 m to 30 m vs a read at 30 m: the same pixels, mostly
    same = np.isclose(aligned.values, direct.green.values, atol=0.02) | np.isnan(aligned.values)
    assert same.mean() > 0.9, same.mean()
    lake_b = (before.green < 0.05).where(before.valid)
    lake_o = (other.green < 0.05).where(other.valid)
    codes = water.change_map(lake_b, lake_o)
    assert codes.shape == (151, 119) and codes.odc.geobox == before.odc.geobox
    assert water.iou(lake_b, lake_o) == water.iou(lake_b, water.on_grid(lake_o, lake_b))


# --- what a user's shell sees ---------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [*_set(CHANGE, "--bbox", "-118.57", "38.54", "-118.89", "38.84"), "--sample"],
        [*_set(SERIES, "--months", "9-6"), "--sample"],
    ],
    ids=["change", "timeseries"],
)
def test_a_real_process_exits_2_with_one_line(argv, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lakeml.workflows.cli", *argv, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("lakeml: error: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not list(tmp_path.iterdir())


# --- runtime failures are not bad input -------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (
            ValueError("array must not contain infs or NaNs"),
            1,
            "lakeml: failed: ValueError: array must not contain infs or NaNs\n",
        ),
        (
            RuntimeError("STAC API http://127.0.0.1:9/api/stac/v1 failed: 503"),
            1,
            "lakeml: failed: RuntimeError: STAC API http://127.0.0.1:9/api/stac/v1 failed: 503\n",
        ),
        (
            checks.BadInput("no landsat-c2-l2 scene found"),
            2,
            "lakeml: error: no landsat-c2-l2 scene found\n",
        ),
    ],
    ids=["value-error-deep-inside", "runtime-error", "bad-input"],
)
def test_only_bad_input_exits_2(error, code, line, monkeypatch, capsys, tmp_path, quiet_logging):
    """A ValueError raised deep in the work (here: by the pipeline) is a failure (exit 1), not
    the user's mistake; only lakeml.checks.BadInput is exit 2."""

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(pipeline, "change", fail)
    assert cli.main([*CHANGE, "--sample", "--quiet", "--out", str(tmp_path)]) == code
    assert capsys.readouterr().err == line
