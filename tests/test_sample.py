"""The offline sample looks like Planetary Computer's landsat-c2-l2 and has a trustworthy truth.

The sample is built once per machine (``lakeml.offline.sample.build()``, cached under
``$LAKEML_SAMPLE_DIR`` or ``~/.cache/lakeml/sample-v1``; ~30 s the first time); every test here
reads it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio

from lakeml.offline import sample

REAL_ITEMS = Path(__file__).parent / "data" / "landsat-c2-l2-pc.json"
L5_1988 = "LT05_L2SP_042033_19880702_02_T1"
L8_2017 = "LC08_L2SP_042033_20170718_02_T1"
L7_2012 = "LE07_L2SP_042033_20120829_02_T1"


@pytest.fixture(scope="session")
def built() -> Path:
    """The sample directory (built on first use, then reused)."""
    return sample.build()


@pytest.fixture(scope="session")
def catalog(built: Path) -> dict[str, dict[str, Any]]:
    # the synthetic Walker Lake scenes only: the real ones (lakeml.offline.sample.real_scenes) have
    # their own tests (tests/test_real_scenes.py)
    return {it["id"]: it for it in sample.items(built, synthetic=True)}


@pytest.fixture(scope="session")
def truth_docs(built: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in (built / "truth").glob("*.json")}


@pytest.fixture(scope="session")
def real_item() -> dict[str, Any]:
    return json.loads(REAL_ITEMS.read_text())[0]


def read(built: Path, item: dict[str, Any], key: str) -> np.ndarray:
    with rasterio.open(built / item["assets"][key]["href"]) as ds:
        return ds.read(1)


def absolute(built: Path, item: dict[str, Any]) -> pystac.Item:
    d = copy.deepcopy(item)
    for asset in d["assets"].values():
        asset["href"] = str(built / asset["href"])
    return pystac.Item.from_dict(d)


def decode(dn: np.ndarray) -> np.ndarray:
    return dn.astype("float64") * 2.75e-05 - 0.2


# ------------------------------------------------------------------------------------------
# Metadata shaped like the real thing
# ------------------------------------------------------------------------------------------


def test_items_have_the_real_planetary_computer_shape(catalog, real_item):
    real_props = set(real_item["properties"])
    for item in catalog.values():
        assert set(item) == set(real_item)
        assert item["stac_version"] == real_item["stac_version"]
        assert item["stac_extensions"] == real_item["stac_extensions"]
        assert set(item["properties"]) == real_props, item["id"]
        assert item["collection"] == "landsat-c2-l2"
        props = item["properties"]
        assert props["landsat:wrs_path"] == "042" and props["landsat:wrs_row"] == "033"
        assert props["proj:epsg"] == 32611 and props["proj:shape"] == list(sample.SCENE_SHAPE)
        assert props["proj:transform"] == list(sample.SCENE_TRANSFORM)
        assert props["platform"] in ("landsat-5", "landsat-7", "landsat-8", "landsat-9")
        assert 0 <= props["eo:cloud_cover"] <= 100
        assert 40 < props["view:sun_elevation"] < 75 and 90 < props["view:sun_azimuth"] < 160
        parsed = pystac.Item.from_dict(copy.deepcopy(item))
        assert parsed.id == item["id"] and parsed.datetime.month in (5, 6, 7, 8, 9)


@pytest.mark.parametrize("item_id", [L8_2017, "LC09_L2SP_042033_20240713_02_T1"])
def test_oli_assets_equal_planetary_computers_except_href(catalog, real_item, item_id):
    item = catalog[item_id]
    assert sorted(item["assets"]) == sorted(
        ["coastal", "blue", "green", "red", "nir08", "swir16", "swir22", "lwir11", "qa_pixel"]
    )
    for key, asset in item["assets"].items():
        ours = {k: v for k, v in asset.items() if k != "href"}
        theirs = {k: v for k, v in real_item["assets"][key].items() if k != "href"}
        assert ours == theirs, key
    assert item["properties"]["instruments"] == real_item["properties"]["instruments"]


def test_tm_assets_share_the_real_keys_roles_types_and_scaling(catalog, real_item):
    item = catalog[L5_1988]
    assert sorted(item["assets"]) == sorted(
        ["blue", "green", "red", "nir08", "swir16", "swir22", "lwir", "qa_pixel"]
    )
    for key, asset in item["assets"].items():
        real = real_item["assets"]["lwir11" if key == "lwir" else key]
        assert asset["type"] == real["type"] and asset["roles"] == real["roles"], key
        assert asset["raster:bands"] == real["raster:bands"], key
        assert set(asset) == set(real), key
    assert item["assets"]["red"]["eo:bands"][0]["name"] == "TM_B3"
    assert item["assets"]["lwir"]["eo:bands"][0]["common_name"] == "lwir"
    names = [f["name"] for f in item["assets"]["qa_pixel"]["classification:bitfields"]]
    assert "cirrus" not in names and names[:2] == ["fill", "dilated_cloud"]


def test_file_names_and_hrefs_like_usgs(built, catalog):
    pattern = re.compile(
        r"^cogs/(?P<id>L(?P<s>[TEC])0(?P<n>[5789])_L2SP_042033_(?P<d>\d{8})_02_T1)/"
        r"L(?P=s)0(?P=n)_L2SP_042033_(?P=d)_\d{8}_02_T1_(SR_B[1-7]|ST_B6|ST_B10|QA_PIXEL)\.TIF$"
    )
    for item in catalog.values():
        for asset in item["assets"].values():
            href = asset["href"]
            assert pattern.match(href), href
            assert href.startswith(f"cogs/{item['id']}/"), href
            assert (built / href).is_file(), href
    tm = catalog[L5_1988]["assets"]
    assert tm["blue"]["href"].endswith("_SR_B1.TIF") and tm["swir22"]["href"].endswith("_SR_B7.TIF")
    assert tm["lwir"]["href"].endswith("_ST_B6.TIF")
    oli = catalog[L8_2017]["assets"]
    assert oli["coastal"]["href"].endswith("_SR_B1.TIF") and oli["red"]["href"].endswith(
        "_SR_B4.TIF"
    )
    assert oli["lwir11"]["href"].endswith("_ST_B10.TIF")


def test_collection_is_shaped_like_planetary_computers(built, catalog):
    doc = json.loads((built / "catalog" / "collection.json").read_text())
    collection = pystac.Collection.from_dict(doc)
    assert collection.id == sample.COLLECTION_ID == "landsat-c2-l2"
    used = {k for it in catalog.values() for k in it["assets"]}
    assert used <= set(doc["item_assets"])
    assert doc["summaries"]["platform"] == ["landsat-5", "landsat-7", "landsat-8", "landsat-9"]
    (start, end) = doc["extent"]["temporal"]["interval"][0]
    times = sorted(it["properties"]["datetime"] for it in catalog.values())
    assert start == times[0] and end == times[-1]
    w, s, e, n = doc["extent"]["spatial"]["bbox"][0]
    bw, bs, be, bn = sample.SAMPLE_BBOX
    assert w < bw and s < bs and e > be and n > bn
    assert "SYNTHETIC" in doc["description"]


# ------------------------------------------------------------------------------------------
# Scenes, searches, time series
# ------------------------------------------------------------------------------------------


def test_one_summer_scene_per_year_and_the_original_searches(catalog, truth_docs):
    yearly = [it for it in catalog.values() if truth_docs[it["id"]]["role"] == "yearly"]
    years = sorted(int(it["properties"]["datetime"][:4]) for it in yearly)
    assert years == list(range(1984, 2025))
    by_year = {int(it["properties"]["datetime"][:4]): it["properties"] for it in yearly}
    assert by_year[1990]["platform"] == "landsat-5" and by_year[2000]["platform"] == "landsat-7"
    assert by_year[2012]["platform"] == "landsat-7" and by_year[2017]["platform"] == "landsat-8"
    assert by_year[2023]["platform"] == "landsat-9"
    usable = [y for y, p in by_year.items() if p["eo:cloud_cover"] < 20]
    assert 38 <= len(usable) < 41  # some years are missing under a cloud filter, not too many
    assert sum(p["eo:cloud_cover"] > 50 for p in by_year.values()) == 2

    ordered = sorted(catalog.values(), key=lambda it: it["properties"]["datetime"], reverse=True)
    for (platform, window), expected in sample.EXPECTED_SEARCH.items():
        start, end = window.split("/")
        found = [
            it["id"]
            for it in ordered
            if it["properties"]["platform"] == platform
            and start <= it["properties"]["datetime"][:10] <= end
            and it["properties"]["eo:cloud_cover"] < 1
        ]
        assert found == expected
        clearest = sample.EXPECTED_CLEAREST[(platform, window)]
        assert catalog[clearest]["properties"]["eo:cloud_cover"] == 0.0
        others = [catalog[i]["properties"]["eo:cloud_cover"] for i in expected if i != clearest]
        assert others and all(0 < c < 1 for c in others)  # small clouds: not the clearest
    # the real Planetary Computer ids of the original notebook's scenes (real overpass dates)
    assert (
        "LT05_L2SP_042033_19880702_02_T1"
        in sample.EXPECTED_SEARCH[("landsat-5", "1988-06-01/1988-09-30")]
    )
    assert sample.EXPECTED_SEARCH[("landsat-8", "2017-06-01/2017-09-30")] == [
        "LC08_L2SP_042033_20170718_02_T1",
        "LC08_L2SP_042033_20170702_02_T1",
        "LC08_L2SP_042033_20170616_02_T1",
    ]
    for item in catalog.values():  # every date on its mission's 16-day cycle over path 042
        day = dt.date.fromisoformat(item["properties"]["datetime"][:10])
        phase = 0 if item["properties"]["platform"] in ("landsat-5", "landsat-8") else 8
        assert (day - dt.date(1988, 7, 2)).days % 16 == phase, item["id"]
    # the decoys the searches must exclude are there
    summer88 = [i for i, it in catalog.items() if it["properties"]["datetime"].startswith("1988")]
    assert any(catalog[i]["properties"]["eo:cloud_cover"] > 20 for i in summer88)
    assert "LE07_L2SP_042033_20170726_02_T1" in catalog
    assert "LC08_L2SP_042033_20170531_02_T1" in catalog
    assert catalog["LC08_L2SP_042033_20170803_02_T1"]["properties"]["eo:cloud_cover"] > 20


def test_lake_shrinks_from_1988_to_2017_and_the_centre_is_always_water(built, truth_docs):
    t88, t17 = sample.truth(L5_1988, built), sample.truth(L8_2017, built)
    # levels follow the published record (sample.LAKE_LEVEL_FT: 3,967 ft in 1988, 3,917 ft in
    # 2017), areas the sample's hypsometry calibrated on USGS SIR 2007-5012 (130.3 km2 in 2005)
    assert 155 < t88.attrs["water_km2"] < 172 and 100 < t17.attrs["water_km2"] < 115
    assert t88.attrs["lake_level_m"] - t17.attrs["lake_level_m"] == pytest.approx(
        (3967.0 - 3917.0) * 0.3048, abs=0.05
    )
    assert t88.water.sum() * 900 / 1e6 == pytest.approx(t88.attrs["water_km2"], abs=1e-3)
    # truth water = water fraction >= 0.5; the fractions themselves add up to about that area
    for t in (t88, t17):
        assert t.attrs["water_fraction_sum_km2"] == pytest.approx(t.attrs["water_km2"], rel=0.01)
        assert 0 < t.attrs["water_mixed_fraction"] < 0.05
    assert t17.attrs["water_turbid_fraction"] > t88.attrs["water_turbid_fraction"]  # 2017 flood
    kinds = t17.water_kind.values
    assert set(np.unique(kinds)) == {0, 1, 2, 3} and ((kinds > 0) == t17.water.values).all()
    doc2005 = next(d for i, d in truth_docs.items() if i[17:21] == "2005")
    land = sample._landscape()
    r, c, h, w = sample.LOAD_WINDOW
    zb = land["z_basin"][r : r + h, c : c + w]
    at_survey = sample._level_at(sample._levels(land), dt.date(2005, 6, 28))
    assert (zb <= at_survey).sum() * 900 / 1e6 == pytest.approx(32190 * 4046.86 / 1e6, abs=0.3)
    assert doc2005["water_km2"] == pytest.approx(130.3, abs=2.0)
    assert bool((t17.water & ~t88.water).sum() == 0)  # the 2017 lake lies inside the 1988 one
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 32611, always_xy=True).transform(*sample.LAKE_CENTRE)
    areas = {}
    for item_id, t in truth_docs.items():
        areas[item_id] = t["water_km2"]
        assert 0.0 <= t["valid_fraction"] <= 1.0 and 0.0 <= t["water_observed_fraction"] <= 1.0
        with rasterio.open(built / "truth" / f"{item_id}_water.tif") as ds:
            assert next(ds.sample([(x, y)]))[0] == 1, item_id
    mid80s = np.mean([a for i, a in areas.items() if i[17:21] in ("1984", "1985", "1986")])
    recent = np.mean([a for i, a in areas.items() if i[17:21] in ("2020", "2021", "2022")])
    assert 155 < mid80s < 175 and 92 < recent < 110


def test_truth_dataset_and_bad_id(built):
    t = sample.truth(L8_2017, built)
    assert t.water.dtype == bool and t.classes.dtype == np.uint8
    assert t.water.shape == (1128, 950) and t.odc.geobox == sample.load_geobox()
    assert t.odc.crs.epsg == 32611
    classes = t.classes.values
    assert set(np.unique(classes)) <= set(sample.CLASSES.values())
    assert (classes[t.water.values] == sample.CLASSES["water"]).all()  # clear scene
    full = sample.truth(L8_2017, built, full=True)
    assert full.water.shape == sample.SCENE_SHAPE
    with pytest.raises(ValueError, match="no truth for item"):
        sample.truth("LC08_L2SP_000000_20000101_02_T1", built)


# ------------------------------------------------------------------------------------------
# Pixels
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item_id", "water", "land_nir"),
    [
        # measured mean Walker Lake reflectance (water per band, land nir08): TM 1988, OLI 2017
        (L5_1988, {"blue": 0.033, "green": 0.037, "red": 0.024, "nir08": 0.019}, 0.198),
        (L8_2017, {"blue": 0.021, "green": 0.021, "red": 0.009, "nir08": 0.002}, 0.225),
    ],
)
def test_dn_decode_to_the_intended_reflectance_per_class(built, catalog, item_id, water, land_nir):
    item = catalog[item_id]
    t = sample.truth(item_id, built, full=True)
    classes = t.classes.values
    deep = (t.water_kind.values == 1) & (classes == sample.CLASSES["water"])
    from scipy import ndimage

    deep = ndimage.binary_erosion(deep, iterations=60)  # away from shallows, shore and plume
    rows = np.nonzero(t.water.values)[0]
    deep[: int(np.median(rows))] = False  # the southern basin: the plume's faint tail is north
    for band, expected in water.items():
        got = decode(read(built, item, band))[deep]
        assert np.mean(got) == pytest.approx(expected, abs=0.003), band
        assert 0 < np.std(got) < 0.004, band  # noisy, not identical pixels
    nir = decode(read(built, item, "nir08"))
    swir = decode(read(built, item, "swir16"))
    red = decode(read(built, item, "red"))
    scrub = classes == sample.CLASSES["scrub"]
    shore = classes == sample.CLASSES["shore"]
    veg = classes == sample.CLASSES["vegetation"]
    assert np.mean(nir[scrub]) == pytest.approx(land_nir, rel=0.15)
    assert np.mean(swir[shore]) > 0.3 and np.mean(nir[shore]) > 1.3 * np.mean(nir[scrub])
    assert np.mean(nir[veg]) > 3 * np.mean(red[veg])  # green vegetation
    thermal = "lwir" if item["properties"]["platform"] == "landsat-5" else "lwir11"
    kelvin = read(built, item, thermal).astype("float64") * 0.00341802 + 149.0
    assert 285 < np.mean(kelvin[deep]) < 305 and np.mean(kelvin[scrub]) > np.mean(kelvin[deep]) + 10


def test_fill_pixels_are_zero_in_every_band_and_flagged_in_qa(built, catalog):
    for item_id in (L5_1988, L8_2017, L7_2012):
        item = catalog[item_id]
        qa = read(built, item, "qa_pixel")
        fill = (qa & 1) == 1
        assert (qa[fill] == 1).all()  # fill is exactly the value 1 (nodata of qa_pixel)
        assert 0.02 < fill.mean() < (0.4 if item_id == L7_2012 else 0.06)
        for key in item["assets"]:
            if key == "qa_pixel":
                continue
            dn = read(built, item, key)
            assert (dn[fill] == 0).all() and (dn[~fill] > 0).all(), key
        classes = sample.truth(item_id, built, full=True).classes.values
        assert ((classes == sample.CLASSES["nodata"]) == fill).all()


def test_slc_off_gaps_only_after_may_2003(truth_docs):
    assert truth_docs[L7_2012]["fill_fraction"] > 0.2
    assert truth_docs["LE07_L2SP_042033_20170726_02_T1"]["fill_fraction"] > 0.2
    assert truth_docs["LE07_L2SP_042033_20010612_02_T1"]["fill_fraction"] < 0.06
    assert truth_docs[L7_2012]["water_observed_fraction"] < 0.85


def fmask_water(built: Path, item: dict[str, Any], aerosol: float) -> np.ndarray:
    """The Fmask water test on the item's pixels, at the sample's approximate TOA reflectance."""
    i_red, i_nir = sample._BANDS.index("red"), sample._BANDS.index("nir08")
    red = sample._PATH[i_red] * aerosol + sample._TRANSMIT[i_red] * decode(read(built, item, "red"))
    nir = sample._PATH[i_nir] * aerosol + sample._TRANSMIT[i_nir] * decode(
        read(built, item, "nir08")
    )
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    return ((ndvi < 0.01) & (nir < 0.11)) | ((ndvi < 0.1) & (nir < 0.05))


def test_qa_bits_follow_collection_2_and_make_water_like_cfmask(built, catalog):
    for item_id in (L5_1988, "LT05_L2SP_042033_20040815_02_T1", L8_2017):
        item = catalog[item_id]
        qa = read(built, item, "qa_pixel").astype(np.int64)
        t = sample.truth(item_id, built, full=True)
        fill = (qa & 1) == 1
        cloud = ((qa >> 3) & 1) == 1
        dilated = ((qa >> 1) & 1) == 1
        clear = ((qa >> 6) & 1) == 1
        assert (clear == (~fill & ~cloud & ~dilated)).all()
        qa_water = ((qa >> 7) & 1) == 1
        seen = ~fill & ~cloud & ~dilated
        assert not (qa_water & ~seen).any()  # never on cloud, dilated cloud or fill
        assert not (qa_water & (((qa >> 4) & 1) == 1)).any()  # nor on flagged cloud shadow
        assert ((t.classes.values == sample.CLASSES["cloud"]) == cloud).all()
        # bit 7 is the Fmask water test of the pixels (not a copy of the truth): where the test
        # gives the same answer for any aerosol amount the sample draws, the bit agrees with it
        low, high = fmask_water(built, item, 0.8), fmask_water(built, item, 1.2)
        sure = seen & (low == high) & (((qa >> 4) & 1) == 0)
        assert sure.mean() > 0.9 * seen.mean()
        assert (qa_water[sure] == low[sure]).mean() > 0.999
        # so it has the real errors: some lake pixels missed, some land flagged (shaded slopes,
        # dark volcanic rock, cloud shadow), yet it is a good reference for a lake this big
        truth_water = t.water.values & seen
        iou = (qa_water & truth_water).sum() / (qa_water | truth_water).sum()
        assert 0.75 <= iou < 0.999, (item_id, iou)
        assert (truth_water & ~qa_water).any() and (qa_water & ~truth_water).any()
        if item["properties"]["platform"] == "landsat-8":
            assert np.bincount(qa[~fill & ~qa_water & clear].ravel()).argmax() == 21824
            assert np.bincount(qa[qa_water].ravel()).argmax() == 21952


def test_cloud_shadows_are_projected_and_partly_missed_like_cfmask(built, catalog, truth_docs):
    item = catalog["LT05_L2SP_042033_20040815_02_T1"]
    qa = read(built, item, "qa_pixel").astype(np.int64)
    t = sample.truth(item["id"], built, full=True)
    flagged = ((qa >> 4) & 1) == 1
    real = t.classes.values == sample.CLASSES["cloud_shadow"]
    assert real.sum() > 1000 and flagged.sum() > 0
    assert (real & ~flagged).sum() > 0.05 * real.sum()  # CFMask misses some shadows
    assert (flagged & ~real).any()  # and dilates the ones it finds
    nir = decode(read(built, item, "nir08"))
    scrub = t.classes.values == sample.CLASSES["scrub"]
    assert np.mean(nir[real]) < 0.5 * np.mean(nir[scrub])  # shadows are dark
    doc = truth_docs[item["id"]]
    assert doc["shadow_true_fraction"] > 0 and doc["shadow_fraction"] > 0


@pytest.mark.parametrize("item_id", [L5_1988, L8_2017])
def test_the_hard_cases_are_there_and_physical(built, catalog, item_id):
    """Turbid plume, shallow margins, terrain shade, dark rock, wet playa: real traps."""
    item = catalog[item_id]
    t = sample.truth(item_id, built)
    r, c, h, w = sample.LOAD_WINDOW
    win = (slice(r, r + h), slice(c, c + w))
    px = {k: decode(read(built, item, k))[win] for k in ("blue", "green", "red", "nir08", "swir16")}
    kinds, classes = t.water_kind.values, t.classes.values
    turbid = kinds == 2
    assert turbid.sum() > 100
    assert np.percentile(px["red"][turbid], 90) > 0.07  # sediment: bright red ...
    assert 0.015 < np.percentile(px["nir08"][turbid], 90) < 0.11  # ... raised NIR ...
    assert np.percentile(px["swir16"][turbid], 99) < 0.03  # ... but the SWIR stays dark
    mndwi = (px["green"] - px["swir16"]) / (px["green"] + px["swir16"])
    assert (mndwi[turbid] > 0).mean() > 0.95  # it is water
    dark = classes == sample.CLASSES["dark_rock"]
    assert 0.04 < np.median(px["red"][dark]) < 0.1
    assert np.median(px["swir16"][dark]) > np.median(px["red"][dark])  # a slight rise in SWIR
    wet = classes == sample.CLASSES["wet_playa"]
    dry = classes == sample.CLASSES["shore"]
    assert np.median(px["swir16"][wet]) < np.median(px["swir16"][dry])  # moisture absorbs SWIR
    assert np.median(px["swir16"][wet]) > np.median(px["green"][wet])  # but it is not water
    # terrain: west-facing slopes under a morning sun from the ESE are darker, and bluer
    sun_az = item["properties"]["view:sun_azimuth"]
    assert 90 < sun_az < 140
    land = sample._landscape()
    facing = land["nx"][win] * np.sin(np.radians(sun_az))  # > 0: slope faces the sun (east)
    rock = classes == sample.CLASSES["rock"]
    lit, shade = rock & (facing > 0.3), rock & (facing < -0.3)
    assert lit.sum() > 1000 and shade.sum() > 1000
    ratio = px["nir08"][shade].mean() / px["nir08"][lit].mean()
    assert ratio < 0.8
    blue_ratio = px["blue"][shade].mean() / px["blue"][lit].mean()
    assert blue_ratio > ratio  # diffuse skylight: shade keeps more blue than NIR


def test_the_old_rule_is_fooled_but_not_mndwi(built, catalog):
    """lakeml's own early rule (4 clusters, the darkest in the NIR is water) takes dark rock
    and shade for water on this sample, as on real scenes; MNDWI > 0 stays close to the truth."""
    from sklearn.cluster import KMeans

    r, c, h, w = sample.LOAD_WINDOW
    for item_id in (L5_1988, L8_2017):
        item = catalog[item_id]
        keys = [k for k in item["assets"] if "reflectance" in item["assets"][k]["roles"]]
        qa = read(built, item, "qa_pixel")[r : r + h, c : c + w].ravel()
        ok = (qa & 0b11111) == 0
        X = np.stack(
            [decode(read(built, item, k)[r : r + h, c : c + w]).ravel()[ok] for k in keys], -1
        )
        Z = (X - X.mean(0)) / X.std(0)
        km = KMeans(4, n_init=2, random_state=0).fit(Z[::10])
        labels = km.predict(Z)
        nir = X[:, keys.index("nir08")]
        water_label = np.argmin([nir[labels == k].mean() for k in range(4)])
        pred = labels == water_label
        truth = sample.truth(item_id, built).water.values.ravel()[ok]
        iou = (pred & truth).sum() / (pred | truth).sum()
        green, swir = X[:, keys.index("green")], X[:, keys.index("swir16")]
        mndwi = (green - swir) / (green + swir) > 0
        iou_mndwi = (mndwi & truth).sum() / (mndwi | truth).sum()
        assert iou_mndwi > 0.95, (item_id, iou_mndwi)
        assert iou < iou_mndwi - 0.02, (item_id, iou, iou_mndwi)


def test_odc_stac_load_gives_the_original_grid(built, catalog):
    import odc.stac

    items = [absolute(built, catalog[i]) for i in (L8_2017, "LC08_L2SP_042033_20170702_02_T1")]
    ds = odc.stac.load(items, bbox=sample.SAMPLE_BBOX, chunks={})
    assert ds.sizes["y"] == 1128 and ds.sizes["x"] == 950 and ds.sizes["time"] == 2
    assert ds.odc.geobox == sample.load_geobox() and ds.odc.crs.epsg == 32611
    assert ds.red.dtype == np.uint16 and ds.red.attrs["nodata"] == 0
    assert ds.qa_pixel.attrs["nodata"] == 1
    t = sample.truth(L8_2017, built)
    np.testing.assert_array_equal(ds.x.values, t.x.values)
    np.testing.assert_array_equal(ds.y.values, t.y.values)
    nir = decode(ds.nir08.isel(time=0).values)
    clear_water = t.water_kind.values == 1  # turbid and shallow water are brighter in the NIR
    assert nir[clear_water].mean() < 0.01 < 0.1 < nir[~t.water.values & (nir > -0.2)].mean()
    tm = odc.stac.load([absolute(built, catalog[L5_1988])], bbox=sample.SAMPLE_BBOX, chunks={})
    assert sorted(tm.data_vars) == sorted(
        ["blue", "green", "red", "nir08", "swir16", "swir22", "lwir", "qa_pixel"]
    )


def test_cogs_are_tiled_deflate_with_overviews(built, catalog):
    item = catalog[L8_2017]
    for key in ("red", "lwir11", "qa_pixel"):
        with rasterio.open(built / item["assets"][key]["href"]) as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert ds.profile["compress"] == "deflate" and ds.block_shapes == [(512, 512)]
            assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
            assert ds.overviews(1) == [2, 4]
            assert ds.crs.to_epsg() == 32611 and ds.dtypes[0] == "uint16"
            assert tuple(ds.transform)[:6] == sample.SCENE_TRANSFORM
            assert ds.transform.c % 30 == 15 and ds.transform.f % 30 == 15


# ------------------------------------------------------------------------------------------
# Build: cached, deterministic, careful
# ------------------------------------------------------------------------------------------


def test_build_is_cached_and_deterministic(built, tmp_path):
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["version"] == sample.SAMPLE_VERSION and manifest["seed"] == sample.SEED
    assert manifest["items"] == [s.item_id for s in sample.scene_specs()]
    stamp = (built / "manifest.json").stat().st_mtime_ns
    assert sample.build(built) == built  # cached: nothing rewritten
    assert (built / "manifest.json").stat().st_mtime_ns == stamp
    # re-render two scenes in a fresh process-independent directory: bit-identical files
    specs = [s for s in sample.scene_specs() if s.item_id in (L8_2017, L7_2012)]
    sample._render_and_write(specs, str(tmp_path))
    rewritten = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(rewritten) == 2 * 3 + 9 + 8  # truth json + class + water, and the COGs
    for path in rewritten:
        rel = path.relative_to(tmp_path).as_posix()
        assert sample._sha256(path) == manifest["files"][rel], rel


def test_build_refuses_to_replace_a_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a lakeml sample"):
        sample.build(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert not sample.is_complete(tmp_path)
    (tmp_path / "precious.txt").unlink()
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "0.0.0-old"}))
    assert not sample.is_complete(tmp_path)  # another version: would be rebuilt
    with pytest.raises(ValueError, match="workers"):
        sample.build(tmp_path, workers=0)
