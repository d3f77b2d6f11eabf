"""Five real Landsat crops through the real path: local STAC API -> search -> odc-stac load.

The raw files (``lakeml/offline/sample/data/real_scenes``, see
``lakeml/offline/sample/data/ATTRIBUTION.md``) are read here independently of
:mod:`lakeml.offline.sample.real_scenes` (tarfile + rasterio, the MTL grid worked out the way
xlandsat does it: corners are pixel centres), and every loaded pixel is compared with them.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning
from shapely.geometry import box, shape

from lakeml import load, search
from lakeml.offline import sample
from lakeml.offline.sample import real_scenes
from lakeml.offline.sample.real_scenes import SCENES

RAW = Path(__file__).parents[1] / "lakeml" / "offline" / "sample" / "data" / "real_scenes"
REAL_PC = Path(__file__).parent / "data" / "landsat-c2-l2-pc.json"

LIVERPOOL = "LC08_L2SP_204023_20200927_02_T1"
BRUMADINHO = "LC08_L2SP_218074_20190114_02_T1"
MANAUS = "LC09_L2SP_231062_20230723_02_T1"
PORTO_VELHO = "LC08_L2SP_232066_20190727_02_T1"
CANBERRA = "LC08_L2SP_091084_20190205_02_T1"

# id -> (EPSG, crop grid (rows, cols), crop's upper-left edge (x, y), loaded shape over its
# SCENES bbox (rows, cols), MTL datetime, MTL cloud cover)
EXPECTED: dict[str, tuple[Any, ...]] = {
    LIVERPOOL: (32630, (267, 433), (487005.0, 5929995.0), (243, 400),
                "2020-09-27T11:10:50.314003Z", 6.23),
    BRUMADINHO: (32623, (300, 400), (583485.0, -2222685.0), (279, 368),
                 "2019-01-14T12:57:13.180496Z", 9.86),
    MANAUS: (32620, (468, 851), (832485.0, -340995.0), (428, 800),
             "2023-07-23T14:12:31.279905Z", 0.64),
    PORTO_VELHO: (32620, (235, 318), (393465.0, -962925.0), (205, 295),
                  "2019-07-27T14:20:00.000000Z", None),
    CANBERRA: (32655, (336, 400), (688785.0, -3903975.0), (305, 387),
               "2019-02-05T23:56:14.511542Z", 2.38),
}  # fmt: skip

C2_BANDS = {"SR_B1": "coastal", "SR_B2": "blue", "SR_B3": "green", "SR_B4": "red",
            "SR_B5": "nir08", "SR_B6": "swir16", "SR_B7": "swir22", "ST_B10": "lwir11"}  # fmt: skip
C1_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")


# ------------------------------------------------------------------------------------------
# The raw files, read independently
# ------------------------------------------------------------------------------------------


def _read(data: bytes | Path) -> tuple[np.ndarray, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        if isinstance(data, Path):
            with rasterio.open(data) as ds:
                return ds.read(), ds.crs, ds.transform
        with rasterio.MemoryFile(data) as mem, mem.open() as ds:
            return ds.read(), ds.crs, ds.transform


def raw_scene(item_id: str) -> dict[str, Any]:
    """{'bands': key -> raw DN, 'refl': key -> reflectance (float64, NaN nodata), 'x0', 'y0',
    'qa' (C1 pixel_qa or None), 'c1' (bool)} straight from the files."""
    source = RAW / SCENES[item_id].source
    out: dict[str, Any] = {"bands": {}, "refl": {}, "qa": None}
    if source.name.endswith(".tar.gz"):
        with tarfile.open(source) as tar:
            for name in tar.getnames():
                if name.endswith("_MTL.txt"):
                    mtl = io.TextIOWrapper(tar.extractfile(name)).read()  # type: ignore[arg-type]
                m = re.search(r"_((?:SR|ST)_B\d+)\.TIF$", name)
                if m:
                    data = tar.extractfile(name).read()  # type: ignore[union-attr]
                    out["bands"][C2_BANDS[m.group(1)]] = _read(data)[0][0]
        corners = re.findall(r"(CORNER_\w\w_PROJECTION_[XY])_PRODUCT = (\S+)", mtl)
        num = {k: float(v) for k, v in corners}
        samples = int(re.findall(r"REFLECTIVE_SAMPLES = (\d+)", mtl)[0])
        # xlandsat: easting = linspace(LL_X, LR_X, samples), i.e. the corners are pixel centres
        easting = np.linspace(num["CORNER_LL_PROJECTION_X"], num["CORNER_LR_PROJECTION_X"], samples)
        assert easting[1] - easting[0] == 30.0
        out["x0"], out["y0"] = easting[0] - 15, num["CORNER_UL_PROJECTION_Y"] + 15
        out["zone"] = int(re.findall(r"UTM_ZONE = (\d+)", mtl)[0])
        out["c1"] = False
        for key, dn in out["bands"].items():
            assert dn.dtype == np.uint16
            scale, offset = (0.00341802, 149.0) if key == "lwir11" else (2.75e-5, -0.2)
            out["refl"][key] = np.where(dn == 0, np.nan, dn * scale + offset)
        return out
    if source.is_file():
        data, crs, transform = _read(source)
        arrays = dict(zip(C1_BANDS[1:], data, strict=True))
    else:
        product = source.name.removesuffix("_espa_sr")
        arrays = {}
        for n, key in enumerate(C1_BANDS, 1):
            data, crs, transform = _read(source / f"{product}_sr_band{n}.tif")
            arrays[key] = data[0]
        out["qa"] = _read(source / f"{product}_pixel_qa.tif")[0][0]
    out["x0"], out["y0"], out["epsg"], out["c1"] = transform.c, transform.f, crs.to_epsg(), True
    for key, dn in arrays.items():
        assert dn.dtype == np.int16
        out["bands"][key] = dn
        out["refl"][key] = np.where(dn == -9999, np.nan, dn * 1e-4)
    return out


def window(ds: Any, raw: dict[str, Any]) -> tuple[slice, slice]:
    """The raw rows/cols under the loaded grid (which must sit on the crop's 30 m grid)."""
    t = ds.odc.geobox.transform
    col = (t.c - raw["x0"]) / 30
    row = (raw["y0"] - t.f) / 30
    assert col == int(col) and row == int(row), "loaded grid is not the crop's pixel grid"
    h, w = ds.odc.geobox.shape
    return slice(int(row), int(row) + h), slice(int(col), int(col) + w)


# ------------------------------------------------------------------------------------------
# Fixtures: the sample server and what it serves
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(stac_server: Any) -> Any:
    return search.open_catalog(stac_server.stac_url)


@pytest.fixture(scope="module")
def found(catalog: Any) -> dict[str, Any]:
    """Each real scene as the local STAC API's search returns it (by its own bbox and date)."""
    out = {}
    for item_id, scene in SCENES.items():
        max_cloud = None if item_id == PORTO_VELHO else 10  # Porto Velho: cloud cover unknown
        items = search.search(
            scene.bbox, scene.datetime, scene.platform, max_cloud, catalog=catalog
        )
        assert [it.id for it in items] == [item_id]
        out[item_id] = items[0]
    return out


@pytest.fixture(scope="module")
def loaded(found: dict[str, Any]) -> dict[str, Any]:
    return {
        item_id: load.load_scene(item, SCENES[item_id].bbox, bands=load.data_bands(item, True))
        for item_id, item in found.items()
    }


# ------------------------------------------------------------------------------------------
# The table, the catalog, the items
# ------------------------------------------------------------------------------------------


def test_a_sample_without_every_real_scene_is_never_complete(tmp_path, monkeypatch):
    """Before, an install without the raw files built a sample without the real scenes, and
    its manifest (which checked only the version) passed it as complete from then on."""
    doc = {"version": sample.SAMPLE_VERSION, "real_items": [], "real_scenes": "SKIPPED"}
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    assert not sample.is_complete(tmp_path)
    doc["real_items"] = list(SCENES)[:4]
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    assert not sample.is_complete(tmp_path)
    doc["real_items"] = list(SCENES)[::-1]
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    assert sample.is_complete(tmp_path)
    # an install without the files refuses to build, before any work, and writes nothing
    empty = tmp_path / "no-scenes"
    empty.mkdir()
    monkeypatch.setattr(real_scenes, "raw_dir", lambda: empty)
    root = tmp_path / "sample"
    with pytest.raises(RuntimeError, match="this install of lakeml is incomplete"):
        sample.build(root)
    assert not root.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json",
        "no-scenes",
    ]


def test_scenes_table_and_manifest(sample_root: Path):
    assert list(SCENES) == [LIVERPOOL, BRUMADINHO, MANAUS, PORTO_VELHO, CANBERRA]
    assert [s.name for s in SCENES.values()] == [
        "Liverpool", "Brumadinho", "Manaus", "Porto Velho", "Canberra"
    ]  # fmt: skip
    assert [s.qa for s in SCENES.values()] == [False, False, False, False, True]
    assert [s.platform for s in SCENES.values()].count("landsat-9") == 1
    for s in SCENES.values():
        assert s.item_id[17:25] == s.date.replace("-", "") and s.water
    manifest = json.loads((sample_root / "manifest.json").read_text())
    assert manifest["version"] == "1.3.0" == sample.SAMPLE_VERSION
    assert manifest["real_items"] == list(SCENES)
    assert manifest["real_scenes"].startswith("included: Liverpool")
    assert manifest["items"] == [s.item_id for s in sample.scene_specs()]
    real = sample.items(sample_root, synthetic=False)
    synthetic = sample.items(sample_root, synthetic=True)
    assert [it["id"] for it in real] == list(SCENES)
    n = len(sample.scene_specs())
    assert len(synthetic) == n and len(sample.items(sample_root)) == n + 5
    doc = json.loads((sample_root / "catalog" / "collection.json").read_text())
    assert "Except 5 REAL Landsat scenes" in doc["description"]
    w, s, e, n = doc["extent"]["spatial"]["bbox"][0]
    assert w < -63.97 and e > 149.2 and s < -35.35 and n > 53.51  # Porto Velho .. Canberra


def test_items_are_shaped_like_planetary_computers(sample_root: Path):
    pc = json.loads(REAL_PC.read_text())[0]
    unknown = {  # Porto Velho has no MTL: left out rather than invented
        "eo:cloud_cover", "landsat:cloud_cover_land", "view:sun_azimuth", "view:sun_elevation",
        "landsat:scene_id",
    }  # fmt: skip
    for item in sample.items(sample_root, synthetic=False):
        item_id = item["id"]
        epsg, grid, (x0, y0), _, when, cloud = EXPECTED[item_id]
        scene = SCENES[item_id]
        assert set(item) == set(pc) and item["stac_extensions"] == pc["stac_extensions"]
        props = item["properties"]
        missing = set(pc["properties"]) - set(props)
        assert missing == (unknown if item_id == PORTO_VELHO else set()), item_id
        assert set(props) <= set(pc["properties"])
        assert props["platform"] == scene.platform and props["datetime"] == when
        assert props["proj:epsg"] == epsg and props["proj:shape"] == list(grid)
        assert props["proj:transform"] == [30.0, 0.0, x0, 0.0, -30.0, y0]
        assert props.get("eo:cloud_cover") == cloud
        assert (props["landsat:wrs_path"], props["landsat:wrs_row"]) == (
            item_id[10:13],
            item_id[13:16],
        )
        assert props["landsat:collection_category"] == "T1"
        # assets: exactly Planetary Computer's definitions for the bands that exist
        defs = sample.asset_definitions(scene.platform)
        for key, asset in item["assets"].items():
            assert {k: v for k, v in asset.items() if k != "href"} == defs[key]
            assert asset["href"].startswith(f"cogs/{item_id}/") and asset["href"].endswith(".TIF")
            assert (sample_root / asset["href"]).is_file()
        assert ("qa_pixel" in item["assets"]) == scene.qa
        # the footprint is the crop's extent and holds the SCENES bbox
        footprint = shape(item["geometry"])
        assert footprint.contains(box(*scene.bbox)), item_id
        assert item["bbox"] == list(footprint.bounds)
    by_id = {it["id"]: it for it in sample.items(sample_root, synthetic=False)}
    assert sorted(by_id[LIVERPOOL]["assets"]) == sorted(
        ["coastal", "blue", "green", "red", "nir08", "swir16", "swir22", "lwir11"]
    )
    assert sorted(by_id[CANBERRA]["assets"]) == sorted([*C1_BANDS, "qa_pixel"])
    assert sorted(by_id[PORTO_VELHO]["assets"]) == sorted(C1_BANDS[1:])
    assert by_id[LIVERPOOL]["properties"]["description"] == "Landsat Collection 2 Level-2"
    assert "tier) not known" in by_id[PORTO_VELHO]["properties"]["description"]
    assert "Collection 1 ESPA" in by_id[CANBERRA]["properties"]["description"]
    assert by_id[CANBERRA]["properties"]["landsat:scene_id"] == "LC80910842019036LGN00"
    href = by_id[BRUMADINHO]["assets"]["red"]["href"]
    assert href.endswith("/LC08_L2SP_218074_20190114_20200829_02_T1_SR_B4.TIF")


def test_cogs_are_c2_encoded_on_the_scenes_own_grid(sample_root: Path):
    for item in sample.items(sample_root, synthetic=False):
        epsg, grid, (x0, y0), *_ = EXPECTED[item["id"]]
        for key, asset in item["assets"].items():
            with rasterio.open(sample_root / asset["href"]) as ds:
                assert ds.crs.to_epsg() == epsg and ds.dtypes[0] == "uint16"
                assert ds.shape == grid and tuple(ds.transform)[:6] == (30, 0, x0, 0, -30, y0)
                assert ds.nodata == (1 if key == "qa_pixel" else 0)
                assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_real_scenes_rebuild_bit_identical(sample_root: Path, tmp_path: Path):
    manifest = json.loads((sample_root / "manifest.json").read_text())
    items = real_scenes.write_scenes(tmp_path)
    assert items == sample.items(sample_root, synthetic=False)
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 8 + 6 + 6 + 6 + 8
    for path in files:
        rel = path.relative_to(tmp_path).as_posix()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest["files"][rel], rel


# ------------------------------------------------------------------------------------------
# Search and load through the local STAC API
# ------------------------------------------------------------------------------------------


def test_search_finds_each_scene_by_its_own_bbox_and_date(found, catalog):
    assert sorted(found) == sorted(SCENES)
    # the Walker Lake searches do not see them, nor does a date off by one day
    for scene in SCENES.values():
        day = int(scene.date[-2:])
        other = f"{scene.date[:-2]}{day + 1:02d}"
        with pytest.raises(ValueError, match="no landsat-c2-l2 scene found"):
            search.search(scene.bbox, f"{other}/{other}", None, None, catalog=catalog)
    walker = search.search(
        search.WALKER_LAKE_BBOX, "1984-01-01/2024-12-31", None, None, catalog=catalog
    )
    ids = [it.id for it in walker]
    assert len(ids) == len(sample.scene_specs()) and not set(ids) & set(SCENES)
    # Porto Velho's cloud cover is unknown: any cloud filter leaves it out
    pv = SCENES[PORTO_VELHO]
    with pytest.raises(ValueError, match="no landsat-c2-l2 scene found"):
        search.search(pv.bbox, pv.datetime, "landsat-8", 100, catalog=catalog)


@pytest.mark.parametrize("item_id", list(SCENES))
def test_load_gives_the_raw_files_reflectance(loaded, item_id):
    ds = loaded[item_id]
    raw = raw_scene(item_id)
    epsg, _, _, shape_, *_ = EXPECTED[item_id]
    assert ds.odc.crs.epsg == epsg == raw.get("epsg", 32600 + raw.get("zone", 0))
    assert ds.odc.geobox.resolution.xy == (30, -30)
    assert ds.odc.geobox.shape == shape_
    # the loaded grid covers the bbox (projected) and exceeds it by less than a pixel
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    w, s, e, n = SCENES[item_id].bbox
    xs, ys = to_utm.transform(*np.meshgrid(np.linspace(w, e, 50), np.linspace(s, n, 50)))
    left, bottom, right, top = ds.odc.geobox.boundingbox
    assert left <= xs.min() < left + 30 and right - 30 < xs.max() <= right
    assert bottom <= ys.min() < bottom + 30 and top - 30 < ys.max() <= top
    rows, cols = window(ds, raw)
    n_valid = int(ds.valid.sum())
    nodata = np.zeros(ds.odc.geobox.shape, bool)
    for key, refl in raw["refl"].items():
        ref = refl[rows, cols]
        got = ds[key].values
        assert ref.shape == got.shape
        nodata |= np.isnan(ref)
        if not raw["c1"]:
            dn = raw["bands"][key][rows, cols]
            scale, offset = (0.00341802, 149.0) if key == "lwir11" else (2.75e-5, -0.2)
            exact = dn.astype("float32") * np.float32(scale) + np.float32(offset)
            ok = ds.valid.values
            assert np.array_equal(got[ok], exact[ok]), key  # bit for bit
        else:
            both = ~np.isnan(ref) & ds.valid.values
            err = np.abs(got[both].astype("float64") - ref[both])
            clipped = raw["bands"][key][rows, cols][both] == -2000
            assert err[~clipped].max() <= real_scenes.C1_C2_MAX_ERROR + 1e-7, key
            assert (err[clipped] <= 2.75e-5 + 1e-7).all(), key
    if not SCENES[item_id].qa:
        # no qa_pixel: masked by nodata only
        assert "qa_pixel" not in ds and ds.attrs["qa_available"] == 0
        assert ds.attrs["masked_flags"] == ""
        assert np.array_equal(ds.valid.values, ~nodata)
        assert n_valid == int((~nodata).sum())


def test_load_numbers(loaded):
    """Counts of valid pixels, and a few raw values, per scene (regression on real pixels)."""
    counts = {k: (int(ds.valid.sum()), int(ds.valid.size)) for k, ds in loaded.items()}
    assert counts == {
        LIVERPOOL: (97200, 97200),
        BRUMADINHO: (102646, 102672),
        MANAUS: (342400, 342400),
        PORTO_VELHO: (60475, 60475),
        CANBERRA: (55871, 118035),
    }
    liv = loaded[LIVERPOOL]
    raw = raw_scene(LIVERPOOL)
    rows, cols = window(liv, raw)
    dn = int(raw["bands"]["lwir11"][rows, cols][0, 0])
    assert float(liv.lwir11[0, 0]) == pytest.approx(dn * 0.00341802 + 149.0, abs=1e-4)
    assert 270 < float(np.nanmedian(liv.lwir11.values)) < 300  # kelvin, an autumn day


def test_canberra_qa_is_the_c1_pixel_qa(loaded, found):
    ds = loaded[CANBERRA]
    raw = raw_scene(CANBERRA)
    rows, cols = window(ds, raw)
    c1 = raw["qa"][rows, cols]
    qa = ds.qa_pixel.values
    assert ds.attrs["qa_available"] == 1
    water = load.qa_flag(ds.qa_pixel, "water").values
    assert np.array_equal(water, (c1 >> 2) & 1 == 1)  # the USGS water bit, pixel for pixel
    assert int(water.sum()) == int(((c1 >> 2) & 1).sum()) > 2000
    for c2_flag, c1_bit in (("fill", 0), ("cloud_shadow", 3), ("snow", 4), ("cloud", 5)):
        assert np.array_equal(load.qa_flag(ds.qa_pixel, c2_flag).values, (c1 >> c1_bit) & 1 == 1)
    assert not load.qa_flag(ds.qa_pixel, "dilated_cloud").values.any()
    assert np.array_equal((qa >> 8) & 3, np.where(c1 & 1, 0, (c1 >> 6) & 3))  # cloud confidence
    # valid = not fill, cloud or shadow (C1 has no dilated cloud; no cirrus here)
    bad = (c1 & (1 | 8 | 32)) != 0
    assert np.array_equal(ds.valid.values, ~bad)
    assert int(bad.sum()) == ds.valid.size - 55871
    # masking nothing keeps every non-fill pixel
    again = load.load_scene(found[CANBERRA], SCENES[CANBERRA].bbox, mask=())
    assert int(again.valid.sum()) == int(((c1 & 1) == 0).sum())


def test_items_without_qa_accept_flags_and_reject_unknown_ones(found):
    item = found[BRUMADINHO]
    bbox = SCENES[BRUMADINHO].bbox
    ds = load.load_scene(item, bbox, bands=["blue", "nir08"], mask=("cloud", "water"))
    assert "qa_pixel" not in ds and ds.attrs["qa_available"] == 0
    assert ds.attrs["masked_flags"] == ""
    raw = raw_scene(BRUMADINHO)
    rows, cols = window(ds, raw)
    zero = (raw["bands"]["blue"][rows, cols] == 0) | (raw["bands"]["nir08"][rows, cols] == 0)
    assert int((~ds.valid).sum()) == int(zero.sum()) == 26  # DN 0 in the real blue band
    assert np.array_equal(ds.valid.values, ~zero)
    assert int(ds.blue.isnull().sum()) == int(ds.nir08.isnull().sum()) == 26
    with pytest.raises(ValueError, match="unknown qa_pixel flag 'clouds'"):
        load.load_scene(item, bbox, bands=["red"], mask=("clouds",))
    with pytest.raises(ValueError, match="has no qa_pixel asset to measure clouds with"):
        load.masked_fraction(item, bbox)


# ------------------------------------------------------------------------------------------
# The Collection 1 -> 2 conversion, measured on the raw pixels
# ------------------------------------------------------------------------------------------


def test_c1_to_c2_conversion_error_on_every_raw_pixel():
    worst, clipped = {}, {}
    for item_id in (PORTO_VELHO, CANBERRA):
        raw = raw_scene(item_id)
        errs, n_clip = [], 0
        for dn1 in raw["bands"].values():
            dn2 = real_scenes.c2_dn_from_c1(dn1)
            assert dn2.dtype == np.uint16
            assert np.array_equal(dn2 == 0, dn1 == -9999)
            ok = dn1 != -9999
            err = np.abs(dn2[ok] * 2.75e-5 - 0.2 - dn1[ok] * 1e-4)
            floor = dn1[ok] == -2000
            n_clip += int(floor.sum())
            errs.append(err[~floor].max())
            if floor.any():
                assert err[floor].max() == pytest.approx(2.75e-5, abs=1e-12)
        worst[item_id], clipped[item_id] = max(errs), n_clip
    for item_id in worst:
        assert worst[item_id] == pytest.approx(5 / 11 * 2.75e-5, abs=1e-12)
    assert real_scenes.C1_C2_MAX_ERROR == pytest.approx(1.25e-5)
    assert clipped == {PORTO_VELHO: 1, CANBERRA: 2}  # DN1 = -2000 (blue; coastal)
