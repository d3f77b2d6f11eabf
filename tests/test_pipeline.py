"""The ``lakeml change`` command end to end on the offline sample, and its exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio

from lakeml import sample

ORIGINAL = [
    "--bbox", "-118.89", "38.54", "-118.57", "38.84",
    "--before", "1988-06-01/1988-09-30",
    "--after", "2017-06-01/2017-09-30",
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
    assert list(summary) == [
        "before", "after", "lost_km2", "gained_km2", "change_km2", "seconds"
    ]
    for key, expected_id in (("before", "LT05_L2SP_042033_19880702_02_T1"),
                             ("after", "LC08_L2SP_042033_20170717_02_T1")):
        s = summary[key]
        assert list(s) == [
            "item_id", "platform", "datetime", "water_km2", "water_iou_vs_mndwi",
            "water_iou_vs_qa", "truth_water_km2", "water_iou_vs_truth",
        ]
        assert s["item_id"] == expected_id == sample.EXPECTED_CLEAREST[
            ({"before": "landsat-5", "after": "landsat-8"}[key],
             {"before": "1988-06-01/1988-09-30", "after": "2017-06-01/2017-09-30"}[key])
        ]
        assert s["water_iou_vs_truth"] >= 0.98
        assert abs(s["water_km2"] / s["truth_water_km2"] - 1) <= 0.01
        assert s["water_iou_vs_mndwi"] >= 0.95 and s["water_iou_vs_qa"] >= 0.95
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


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bbox", "-118.57", "38.54", "-118.89", "38.84"], "west"),
        (["--bbox", "-118.89", "38.84", "-118.57", "38.54"], "south"),
        (["--bbox", "38.54", "-118.89", "38.84", "-118.57"], "latitudes"),
        (["--before", "1988-09-30/1988-06-01"], "reversed"),
        (["--after", "2017-6-1"], "YYYY-MM-DD"),
        (["--platform-before", "landsat-6"], "unknown platform"),
        (["--max-cloud", "150"], "0-100"),
        (["--clusters", "1"], "at least 2"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path):
    merged = _merge(ORIGINAL, args)
    proc = run(["change", *merged, "--sample", "--quiet", "--out", str(tmp_path)], timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "summary.json").exists()


def _merge(base: list[str], override: list[str]) -> list[str]:
    """Replace the values of options in ``base`` by those in ``override``."""
    opts: dict[str, list[str]] = {}
    for seq in (base, override):
        key = None
        for tok in seq:
            if tok.startswith("--") and not _is_number(tok):
                key = tok
                opts[key] = []
            else:
                opts[key].append(tok)
    return [tok for k, v in opts.items() for tok in (k, *v)]


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def test_no_scene_found_names_what_was_searched(tmp_path):
    args = _merge(ORIGINAL, ["--before", "1950-06-01/1950-09-30"])
    proc = run(["change", *args, "--sample", "--quiet", "--out", str(tmp_path)], timeout=120)
    assert proc.returncode == 2
    assert "no landsat-c2-l2 scene found" in proc.stderr and "1950-06-01/1950-09-30" in proc.stderr
    assert "widen" in proc.stderr


def test_outputs_carry_no_signed_url_or_token(change_run):
    out, proc = change_run
    signed = re.compile(r"[?&](sig|se|skoid|sktid|sv)=|token", re.I)
    texts = [proc.stdout, proc.stderr, (out / "summary.json").read_text()]
    with rasterio.open(out / "change.tif") as src:
        texts.append(json.dumps(src.tags()))
    for text in texts:
        assert not signed.search(text), text[:300]
