"""Real-world check: the lakeml functions find Walker Lake in real Landsat pixels (3 km stubs).

The stubs are Collection 1 (int16, DN * 1e-4, nodata -9999) whole scenes on two different grids:
a real test of masking, reshaping, clustering, water finding and putting two dates on one grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rioxarray
import xarray as xr

from lakeml.cluster import spectral_clustering
from lakeml.load import SHARED_BANDS
from lakeml.references import dswe_water
from lakeml.reshape import from_samples, standardize, to_samples
from lakeml.water import (
    area_km2,
    change_map,
    check_lake_point,
    cluster_table,
    iou,
    lake_only,
    mndwi,
    on_grid,
    split_mixed,
    water_mask,
)

DATA = Path(__file__).parent / "data" / "walker_lake_3km"
LAKE = (-118.71, 38.70)
TM = {"blue": 1, "green": 2, "red": 3, "nir08": 4, "swir16": 5, "swir22": 7}
OLI = {"coastal": 1, "blue": 2, "green": 3, "red": 4, "nir08": 5, "swir16": 6, "swir22": 7}
SCENES = {
    1988: ("LT05_L1TP_042033_19881022_20161001_01_T1", TM),
    2017: ("LC08_L1TP_042033_20171022_20171107_01_T1", OLI),
}


def read_stub(year: int) -> xr.Dataset:
    """Read one real stub as float32 reflectance with NaN for nodata (Collection 1 scaling)."""
    prefix, bands = SCENES[year]
    out = {}
    for name, number in bands.items():
        path = DATA / f"{prefix}_sr_band{number}.tif"
        da = rioxarray.open_rasterio(path).squeeze("band", drop=True)
        out[name] = (da.where(da != -9999) * 1e-4).astype("float32")
    ds = xr.Dataset(out)
    ds = ds.drop_vars("spatial_ref").odc.assign_crs("EPSG:32611")
    ds["valid"] = ds[list(bands)].to_array().notnull().all("variable")
    for name in bands:
        ds[name] = ds[name].where(ds.valid)
    return ds


def classify(ds: xr.Dataset, bands: list[str]) -> xr.DataArray:
    # A whole 185 km scene at 3 km holds mountains, snow and cloud besides the desert, and the lake
    # is only ~0.5 % of its pixels; clusters are named by DSWE's tests on their pixels, and a
    # mixed one is split, as lakeml.workflows.pipeline.classify_scene does.
    samples = standardize(to_samples(ds, bands)).compute()
    labels = spectral_clustering(samples, n_clusters=4, random_state=0)
    evidence = dswe_water(ds).stack(sample=("y", "x"))
    # at 3 km a pixel is ~9 km2: the split thresholds in pixels scale down accordingly
    labels = split_mixed(samples, labels, evidence, min_pixels=20, min_minority=3)
    table = cluster_table(labels, evidence)
    water = water_mask(from_samples(labels, like=ds), table.cluster[table.is_water].values)
    check_lake_point(water, LAKE)
    return water


@pytest.fixture(scope="module")
def scenes() -> dict[int, xr.Dataset]:
    return {year: read_stub(year) for year in SCENES}


def test_real_reflectance_is_in_range(scenes):
    # Real water is dark in NIR; real desert bright in SWIR (FIELD-NOTES: 0.002 vs 0.225 in 2017).
    ds = scenes[2017]
    water = lake_only((mndwi(ds) > 0).astype("float32").where(ds.valid), LAKE) > 0.5
    assert float(ds.nir08.where(water).mean()) < 0.03
    assert float(ds.swir16.where(~water & ds.valid).mean()) > 0.15


@pytest.mark.parametrize("bands", [list(SHARED_BANDS), None], ids=["shared-6", "all-bands"])
def test_lake_found_on_both_dates_and_it_shrinks(scenes, bands):
    masks = {}
    for year, ds in scenes.items():
        use = bands or [b for b in ds.data_vars if b != "valid"]
        water = lake_only(classify(ds, use), LAKE)
        # The whole scene's MNDWI > 0 also catches snow and bright cloud edges in the mountains
        # (October scenes): compare the lake itself, the water body that holds the lake point.
        reference = lake_only((mndwi(ds) > 0).astype("float32").where(ds.valid), LAKE)
        score = iou(water, reference)
        assert score >= 0.85, f"{year}: IoU vs MNDWI>0 {score:.3f}"
        masks[year] = water
    a1988, a2017 = area_km2(masks[1988]), area_km2(masks[2017])
    # At 3 km a pixel is ~9 km2: the lake is some tens of pixels on each date.
    assert 100 < a2017 < a1988 < 400, (a1988, a2017)
    # The two dates are on different grids; change_map puts 2017 on the 1988 grid first.
    codes = change_map(masks[1988], masks[2017])
    assert codes.shape == masks[1988].shape
    lost = int((codes == 2).sum())
    gained = int((codes == 3).sum())
    assert lost > gained


def test_grids_differ_and_alignment_keeps_area(scenes):
    a, b = scenes[1988], scenes[2017]
    assert a.odc.geobox != b.odc.geobox
    water = (mndwi(b) > 0).astype("float32").where(b.valid)
    moved = on_grid(water, a.nir08)
    assert moved.odc.geobox == a.odc.geobox
    # Nearest-neighbour regridding between ~3 km grids keeps the area within a few pixels.
    assert abs(area_km2(moved) - area_km2(water)) < 5 * 9.1
    assert np.isfinite(moved.values).sum() > 0.5 * moved.size
