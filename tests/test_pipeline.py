"""The ``lakeml change`` command end to end on the offline sample, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import odc.geo.xr
import pytest
import rasterio
import xarray as xr
from affine import Affine
from odc.geo.geobox import GeoBox

from lakeml.offline import sample
from lakeml.water import area_km2
from lakeml.workflows.pipeline import AGREEMENT_KEYS, change_summary
from tests.leaks import SIGNED_OR_TOKEN

ORIGINAL = [
    "--bbox",
    "-118.89",
    "38.54",
    "-118.57",
    "38.84",
    "--before",
    "1988-06-01/1988-09-30",
    "--after",
    "2017-06-01/2017-09-30",
]
LAKEML = [sys.executable, "-m", "lakeml.workflows.cli"]


def run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LAKEML, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def change_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("change")
    proc = run(["change", *ORIGINAL, "--sample", "--quiet", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_change_on_the_sample_matches_the_truth(change_run):
    out, _ = change_run
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == [
        "before",
        "after",
        "lost_km2",
        "gained_km2",
        "change_km2",
        "observed_fraction",
        "partial",
        "seconds",
    ]
    # both clear summer scenes: the water of either date is seen on both
    assert summary["observed_fraction"] >= 0.98 and summary["partial"] is False
    for key, expected_id in (
        ("before", "LT05_L2SP_042033_19880702_02_T1"),
        ("after", "LC08_L2SP_042033_20170718_02_T1"),
    ):
        s = summary[key]
        assert list(s) == [
            "item_id",
            "platform",
            "datetime",
            "n_clusters",
            "water_found",
            "water_km2",
            "water_iou_vs_dswe",
            "water_iou_vs_wofs",
            "water_iou_vs_mndwi",
            "water_iou_vs_qa",
            "water_iou_vs_consensus",
            "truth_water_km2",
            "water_iou_vs_truth",
        ]
        assert (
            s["item_id"]
            == expected_id
            == sample.EXPECTED_CLEAREST[
                (
                    {"before": "landsat-5", "after": "landsat-8"}[key],
                    {"before": "1988-06-01/1988-09-30", "after": "2017-06-01/2017-09-30"}[key],
                )
            ]
        )
        assert s["water_iou_vs_truth"] >= 0.98
        assert abs(s["water_km2"] / s["truth_water_km2"] - 1) <= 0.01
        assert s["water_found"] == 1
        # WOfS is the reference lakeml does not build on
        assert s["water_iou_vs_wofs"] >= 0.97
        # where DSWE, WOfS and MNDWI-Otsu agree, the water agrees with them
        assert s["water_iou_vs_consensus"] >= 0.97
        # the sample's qa_pixel water bit is made like USGS's (Fmask's water test, on the
        # spectra): it calls dark rock and shaded slopes water, so it is a weak reference here
        assert 0.5 <= s["water_iou_vs_qa"] < 0.999
    true_change = summary["after"]["truth_water_km2"] - summary["before"]["truth_water_km2"]
    assert true_change < -50  # the lake shrank
    assert abs(summary["change_km2"] / true_change - 1) <= 0.02
    assert summary["lost_km2"] > 50 and summary["gained_km2"] < 1


def test_change_tif_is_a_cog_with_the_codes(change_run):
    out, _ = change_run
    with rasterio.open(out / "change.tif") as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.crs.to_epsg() == 32611
        assert src.overviews(1), "a COG has overviews"
        codes = src.read(1)
        px_km2 = abs(src.res[0] * src.res[1]) / 1e6
    summary = json.loads((out / "summary.json").read_text())
    assert set(map(int, set(codes.ravel()))) <= {0, 1, 2, 3, 4}
    assert (codes == 2).sum() * px_km2 == pytest.approx(summary["lost_km2"], abs=1e-3)
    assert ((codes == 2) | (codes == 4)).sum() * px_km2 == pytest.approx(
        summary["before"]["water_km2"], rel=1e-6
    )
    png = (out / "change.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert not list(out.glob(".*")), "no temporary file left behind"


def test_outputs_carry_no_signed_url_or_token(change_run):
    out, proc = change_run
    texts = [proc.stdout, proc.stderr, (out / "summary.json").read_text()]
    with rasterio.open(out / "change.tif") as src:
        texts.append(json.dumps(src.tags()))
    for text in texts:
        assert not SIGNED_OR_TOKEN.search(text), text[:300]


def _classified(water: np.ndarray, item_id: str) -> xr.Dataset:
    """A classified scene as classify_scene returns it: a 30 m UTM grid, its water, attrs."""
    grid = GeoBox((10, 10), Affine(30, 0, 353010, 0, -30, 4284010), "EPSG:32611")
    mask = odc.geo.xr.xr_zeros(grid, dtype="float32").copy(data=water.astype("float32"))
    attrs = {
        "item_id": item_id,
        "platform": "landsat-8",
        "datetime": "2017-07-18T18:00:00Z",
        "n_clusters": 4,
        "water_found": 1,
        "water_km2": area_km2(mask),  # as classify_scene: unobserved pixels count as dry
        **{f"water_iou_vs_{key}": 1.0 for key in AGREEMENT_KEYS},
    }
    return xr.Dataset({"water": mask}, attrs=attrs)


def test_change_summary_measures_only_pixels_seen_on_both_dates():
    """A 6 x 6 pixel lake shrinks to 5 x 5, and a 3 x 3 cloud sits on the lake on the
    second date. Before, change_km2 was the difference of the scenes' own areas: the cloud's
    9 pixels counted as water lost (-20 pixels), while lost_km2 (11 pixels, measured where
    both dates are seen) said otherwise. Now all three agree and the summary says 9 of the 36
    water pixels were not seen twice."""
    px = 0.0009  # km2 of one 30 m pixel
    before = np.zeros((10, 10))
    before[2:8, 2:8] = 1  # 36 pixels
    after = np.zeros((10, 10))
    after[2:7, 2:7] = 1  # 25 pixels: an L-shaped strip of 11 lost
    after[3:6, 3:6] = np.nan  # the cloud, over the lake
    summary = change_summary(_classified(before, "A"), _classified(after, "B"))
    assert summary["lost_km2"] == pytest.approx(11 * px)
    assert summary["gained_km2"] == 0
    assert summary["change_km2"] == pytest.approx(-11 * px)
    assert summary["change_km2"] == pytest.approx(summary["gained_km2"] - summary["lost_km2"])
    assert summary["observed_fraction"] == pytest.approx(27 / 36, abs=1e-4)
    assert summary["partial"] is True
    clear = change_summary(_classified(before, "A"), _classified(np.nan_to_num(after, nan=1), "B"))
    assert clear["change_km2"] == pytest.approx(-11 * px)
    assert (clear["observed_fraction"], clear["partial"]) == (1.0, False)
