"""The ``lakeml change`` command end to end on the offline sample, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio

from lakeml import sample
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
LAKEML = [sys.executable, "-m", "lakeml.cli"]


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
    assert list(summary) == ["before", "after", "lost_km2", "gained_km2", "change_km2", "seconds"]
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
