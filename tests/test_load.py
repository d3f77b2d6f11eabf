"""Scaling and QA masking, checked against the metadata of real Planetary Computer items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import xarray as xr

from lakeml.load import QA_BITS, data_bands, qa_flag, qa_mask, scale

REAL_ITEMS = Path(__file__).parent / "data" / "landsat-c2-l2-pc.json"


@pytest.fixture(scope="module")
def item() -> pystac.Item:
    return pystac.Item.from_dict(json.loads(REAL_ITEMS.read_text())[0])


def test_scale_uses_raster_bands_of_the_real_item(item):
    dn = np.array([[0, 7273, 43636], [10000, 65535, 1]], dtype="uint16")
    ds = xr.Dataset(
        {
            "red": (("y", "x"), dn),
            "lwir11": (("y", "x"), dn),
            "qa_pixel": (("y", "x"), np.full(dn.shape, 21824, "uint16")),
        }
    )
    out = scale(ds, item)
    red = out.red.values
    assert np.isnan(red[0, 0])  # nodata 0 -> NaN
    assert red[0, 1] == pytest.approx(7273 * 2.75e-5 - 0.2, abs=1e-6)  # ~0.0
    assert red[0, 2] == pytest.approx(1.0, abs=1e-4)
    assert out.red.dtype == np.float32
    assert out.lwir11.values[1, 0] == pytest.approx(10000 * 0.00341802 + 149.0, rel=1e-6)
    assert out.lwir11.attrs["units"] == "kelvin"
    assert out.qa_pixel.dtype == np.uint16  # untouched


def test_qa_mask_bits():
    clear_land = 1 << QA_BITS["clear"]
    water = clear_land | 1 << QA_BITS["water"]
    values = [1, clear_land, water, 1 << 3, 1 << 4, 1 << 2, 1 << 1, 1 << 5]
    qa = xr.DataArray(np.array(values, dtype="uint16"))
    assert qa_mask(qa).values.tolist() == [True, False, False, True, True, True, True, False]
    assert qa_flag(qa, "water").values.tolist() == [False, False, True] + [False] * 5
    assert qa_mask(qa, ["fill"]).values.tolist() == [True] + [False] * 7
    with pytest.raises(ValueError, match="unknown qa_pixel flag"):
        qa_mask(qa, ["clouds"])


def test_qa_bits_are_read_from_the_items_bitfields(item):
    """The real item's classification:bitfields are Collection 2's layout (QA_BITS); an item
    that says otherwise is read as it says; Landsat 4-7 items list no cirrus bit."""
    import copy

    from lakeml.load import qa_bit_positions, qa_bits
    from lakeml.offline.sample.missions import asset_definitions

    assert qa_bit_positions(item) == QA_BITS
    assert qa_bits(["fill", "cloud", "water"], item) == 0b10001001
    moved = copy.deepcopy(item)
    fields = moved.assets["qa_pixel"].extra_fields["classification:bitfields"]
    for field in fields:  # swap water (7) and clear (6), drop cirrus
        field["offset"] = {"water": 6, "clear": 7}.get(field["name"], field["offset"])
    fields[:] = [f for f in fields if f["name"] != "cirrus"]
    qa = xr.DataArray(np.array([1 << 6, 1 << 7, 1 << 2], dtype="uint16"))
    assert qa_flag(qa, "water", moved).values.tolist() == [True, False, False]
    assert qa_flag(qa, "water").values.tolist() == [False, True, False]  # QA_BITS: no item
    assert qa_mask(qa, ["cirrus"], moved).values.tolist() == [False] * 3  # no such bit
    assert qa_mask(qa, ["cirrus"]).values.tolist() == [False, False, True]
    with pytest.raises(ValueError, match=r"'clouds': choose from fill, dilated_cloud, cloud, "):
        qa_bits(["clouds"], moved)
    # the sample's items say the same as Planetary Computer's: TM/ETM+ without cirrus
    tm = copy.deepcopy(item)
    tm.assets["qa_pixel"].extra_fields.update(
        {k: v for k, v in asset_definitions("landsat-5")["qa_pixel"].items() if ":" in k}
    )
    assert qa_bit_positions(tm) == {k: v for k, v in QA_BITS.items() if k != "cirrus"}
    # an item without the classification extension: the documented fallback
    plain = pystac.Item("x", None, None, item.datetime, {})
    plain.add_asset(
        "qa_pixel", pystac.Asset("qa.tif", extra_fields={"classification:bitfields": []})
    )
    assert qa_bit_positions(plain) == QA_BITS


def test_data_bands_follow_the_mission(item):
    assert data_bands(item) == ["coastal", "blue", "green", "red", "nir08", "swir16", "swir22"]
    assert data_bands(item, thermal=True)[-1] == "lwir11"


def test_sign_replaces_an_expired_planetary_computer_signature(monkeypatch):
    """An href signed an hour ago (expired token) is re-signed with the current token."""
    import datetime as dt

    import planetary_computer.sas as sas

    from lakeml import signing
    from lakeml.signing import sign

    fresh = sas.SASToken(
        **{
            "token": "st=now&se=later&sp=rl&sig=FRESH",
            "msft:expiry": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=45)).isoformat(),
        }
    )
    url = "https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/x/LC09_SR_B4.TIF"
    key = f"{sas.Settings.get().sas_url}/landsateuwest/landsat-c2"
    monkeypatch.setitem(signing._TOKENS, key, fresh)
    expired = url + "?st=then&se=2020-01-01&sp=rl&sig=OLD"
    assert sign(expired) == url + "?st=now&se=later&sp=rl&sig=FRESH"
    assert sign("http://127.0.0.1:9/data/x.TIF") == "http://127.0.0.1:9/data/x.TIF"


def test_band_missing_from_the_mission_is_named_before_any_read(item):
    from lakeml.load import load_scene

    with pytest.raises(ValueError, match=r"has no asset 'lwir'.*blue, green, red"):
        load_scene(item, (-118.89, 38.54, -118.57, 38.84), bands=["red", "lwir"])
