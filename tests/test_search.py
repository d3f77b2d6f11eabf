"""Input checks (lakeml.checks) and the CQL2 filter (the live search: test_server, notebooks)."""

from __future__ import annotations

import json
from pathlib import Path

import pystac
import pytest

from lakeml.checks import (
    PC_STAC_URL,
    BadInput,
    validate_bbox,
    validate_datetime,
    validate_max_cloud,
    validate_platforms,
)
from lakeml.search import band_table, cql2_filter, stac_url

REAL_ITEMS = Path(__file__).parent / "data" / "landsat-c2-l2-pc.json"


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ([-118.89, 38.54, -118.57], "four numbers"),
        ("abc", "four numbers"),
        ([-118.57, 38.54, -118.89, 38.84], "west"),
        ([-118.89, 38.84, -118.57, 38.54], "south"),
        ([-118.89, 38.54, -118.89, 38.84], "west"),
        ([38.54, -118.89, 38.84, -118.57], "latitudes"),
        ([-200, 38.54, -118.57, 38.84], "longitudes"),
        ([float("nan"), 38.54, -118.57, 38.84], "finite"),
    ],
)
def test_bad_bbox_is_refused_with_a_message(bbox, message):
    with pytest.raises(BadInput, match=message):
        validate_bbox(bbox)


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("2017-06-01", "YYYY-MM-DD/YYYY-MM-DD"),
        ("2017/06/01-2017/09/30", "YYYY-MM-DD/YYYY-MM-DD"),
        ("2017-09-30/2017-06-01", "reversed"),
        ("2017-02-30/2017-06-01", "calendar"),
    ],
)
def test_bad_dates_are_refused(interval, message):
    with pytest.raises(ValueError, match=message):
        validate_datetime(interval)


def test_good_inputs_pass_through():
    assert validate_bbox([-118.89, 38.54, -118.57, 38.84]) == (-118.89, 38.54, -118.57, 38.84)
    assert validate_datetime("1988-06-01/1988-09-30") == "1988-06-01/1988-09-30"
    assert validate_platforms("landsat-5") == ["landsat-5"]
    assert validate_max_cloud(0) == 0.0


def test_unknown_platform_and_cloud_range():
    with pytest.raises(ValueError, match="landsat-6"):
        validate_platforms(["landsat-6"])
    with pytest.raises(ValueError, match="0-100"):
        validate_max_cloud(101)


def test_cql2_filter_has_the_original_search_terms():
    f = cql2_filter(1, ["landsat-8"])
    assert f == {
        "op": "and",
        "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, 1]},
            {"op": "in", "args": [{"property": "platform"}, ["landsat-8"]]},
        ],
    }
    assert cql2_filter(None, []) == {}


def test_stac_url_defaults_to_planetary_computer(monkeypatch):
    monkeypatch.delenv("LAKEML_STAC_URL", raising=False)
    assert stac_url() == PC_STAC_URL
    monkeypatch.setenv("LAKEML_STAC_URL", "http://127.0.0.1:9/api")
    assert stac_url() == "http://127.0.0.1:9/api"


def test_band_table_reads_real_planetary_computer_items():
    items = [pystac.Item.from_dict(d) for d in json.loads(REAL_ITEMS.read_text())]
    rows = {r["asset"]: r for r in band_table(items)}
    assert rows["red"]["common_name"] == "red"
    assert rows["red"]["scale"] == 2.75e-05 and rows["red"]["offset"] == -0.2
    assert rows["red"]["nodata"] == 0
    assert rows["lwir11"]["scale"] == 0.00341802 and rows["lwir11"]["offset"] == 149.0
    assert rows["coastal"]["wavelength_um"] == pytest.approx(0.44, abs=0.01)


def test_unknown_collection_is_named(stac_url):
    from lakeml.search import WALKER_LAKE_BBOX, open_catalog, search

    with pytest.raises(ValueError, match="unknown collection 'landsat-c3-l9'"):
        search(
            WALKER_LAKE_BBOX,
            "2017-06-01/2017-09-30",
            "landsat-8",
            collection="landsat-c3-l9",
            catalog=open_catalog(stac_url),
        )
