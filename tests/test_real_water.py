"""Water on REAL pixels: the five real Landsat scenes, through the local STAC API.

Each scene is searched and loaded exactly as on Planetary Computer
(``lakeml.offline.sample.real_scenes`` serves them as ``landsat-c2-l2`` items with COGs), classified
by :func:`lakeml.workflows.pipeline.classify_scene`, and scored by :mod:`lakeml.workflows.validate`
against the consensus of USGS DSWE, Geoscience Australia's WOfS and MNDWI-Otsu (the pixels on which
all three agree) and, on Canberra, against the USGS ``qa_pixel`` water bit. The report is also
written to ``_build/reports/real_scenes.json`` (``make validate`` adds the sweep over clusters).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakeml.offline.sample.real_scenes import SCENES
from lakeml.workflows import validate

LIVERPOOL = "LC08_L2SP_204023_20200927_02_T1"
BRUMADINHO = "LC08_L2SP_218074_20190114_02_T1"
MANAUS = "LC09_L2SP_231062_20230723_02_T1"
PORTO_VELHO = "LC08_L2SP_232066_20190727_02_T1"
CANBERRA = "LC08_L2SP_091084_20190205_02_T1"
REPORT = Path(__file__).resolve().parents[1] / "_build" / "reports" / "real_scenes_test.json"


@pytest.fixture(scope="module")
def report(stac_server):
    out = validate.run(stac_server.stac_url, SCENES)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(out, indent=2))
    return out["scenes"]


@pytest.mark.parametrize("item_id", [LIVERPOOL, MANAUS, PORTO_VELHO, CANBERRA])
def test_water_agrees_with_the_reference_consensus(report, item_id):
    row = report[item_id]
    cons = row["lakeml"]["consensus"]
    assert row["water_found"] == 1
    assert cons["iou"] >= 0.90, (row["name"], cons)
    # the consensus covers most of the scene: the check is not made on a sliver of easy pixels
    assert row["consensus_coverage"] >= 0.9, row["consensus_coverage"]
    assert cons["producers_accuracy"] >= 0.9 and cons["users_accuracy"] >= 0.9, cons
    # lakeml names clusters with DSWE's tests, so the consensus is partly its own yardstick;
    # WOfS (Geoscience Australia's tree) is independent of it
    assert row["lakeml"]["wofs"]["iou"] >= 0.90, row["lakeml"]["wofs"]


def test_canberra_agrees_with_the_usgs_water_bit(report):
    qa = report[CANBERRA]["lakeml"]["qa_water"]
    assert qa["iou"] >= 0.90, qa
    assert report[CANBERRA]["lakeml"]["wofs"]["iou"] >= 0.90


def test_scenes_without_qa_have_no_qa_score(report):
    for item_id, scene in SCENES.items():
        assert ("qa_water" in report[item_id]["lakeml"]) == scene.qa


def test_dark_forest_is_not_water(report):
    """Brumadinho: dark forest and hills with a few small reservoirs."""
    row = report[BRUMADINHO]
    fraction = row["lakeml"]["consensus"]["water_fraction"]
    dswe = row["lakeml"]["dswe_water"]["water_fraction"]
    assert fraction <= 0.005, fraction
    assert dswe <= 0.005, dswe
    # and the few reservoirs the references agree on are found, not lost with the forest
    assert row["lakeml"]["consensus"]["producers_accuracy"] >= 0.5, row["lakeml"]["consensus"]
    # the old rule always names a cluster: here the dark forest, a tenth of the scene or more
    assert row["old_rule"]["dswe_water"]["water_fraction"] > 0.1


def test_old_rule_fails_where_the_new_one_holds(report):
    """Canberra: the darkest of 4 clusters lumps the lake with cloud shadow and dark land."""
    old = report[CANBERRA]["old_rule"]["consensus"]["iou"]
    new = report[CANBERRA]["lakeml"]["consensus"]["iou"]
    assert old < 0.5 and new >= 0.9, (old, new)
