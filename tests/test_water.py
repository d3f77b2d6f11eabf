"""Water finding, validation metrics, areas and change codes on small arrays."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lakeml.water import (
    area_km2,
    change_areas,
    change_map,
    iou,
    kappa,
    mndwi,
    otsu_water,
    value_at,
    water_cluster,
    water_mask,
)


def grid(values: np.ndarray, name: str = "v") -> xr.DataArray:
    ny, nx = values.shape
    # UTM 11N around Walker Lake, 30 m pixels.
    y = 4284000.0 - 30.0 * np.arange(ny) - 15
    x = 353000.0 + 30.0 * np.arange(nx) + 15
    return xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name=name).odc.assign_crs(
        "EPSG:32611"
    )


def lake_scene() -> tuple[xr.Dataset, xr.DataArray]:
    water = np.zeros((20, 30), bool)
    water[5:15, 10:20] = True
    green = np.where(water, 0.04, 0.12).astype("float32")
    swir = np.where(water, 0.01, 0.25).astype("float32")
    nir = np.where(water, 0.02, 0.2).astype("float32")
    labels = np.where(water, 2, 0)
    labels[:, :3] = 1
    labels[0, 0] = -1
    green[0, 0] = swir[0, 0] = nir[0, 0] = np.nan
    ds = xr.Dataset({"green": grid(green), "swir16": grid(swir), "nir08": grid(nir)})
    return ds, grid(labels.astype("int16"))


def test_water_cluster_is_found_by_spectrum_and_checked_at_a_point():
    ds, labels = lake_scene()
    assert water_cluster(labels, ds) == 2
    # centre of the lake, in lon/lat
    centre = labels.isel(y=10, x=15)
    lon, lat = _lonlat(float(centre.x), float(centre.y))
    assert water_cluster(labels, ds, lake_point=(lon, lat)) == 2
    corner = labels.isel(y=18, x=28)
    lon, lat = _lonlat(float(corner.x), float(corner.y))
    with pytest.raises(ValueError, match="not on water"):
        water_cluster(labels, ds, lake_point=(lon, lat))
    with pytest.raises(ValueError, match="outside the scene"):
        value_at(labels, -100.0, 40.0)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    from odc.geo.geom import point

    return point(x, y, "EPSG:32611").to_crs("EPSG:4326").coords[0]


def test_water_mask_area_and_metrics():
    ds, labels = lake_scene()
    water = water_mask(labels, 2)
    assert np.isnan(water.values[0, 0])
    assert area_km2(water) == pytest.approx(100 * 0.0009)
    assert iou(water, water) == 1.0
    assert kappa(water, water) == 1.0
    shifted = water.copy(data=np.roll(water.values, 1, axis=1))
    assert iou(water, shifted) == pytest.approx(90 / 110)
    ref = otsu_water(ds)
    assert iou(water, ref) == 1.0
    assert 0.0 < mndwi(ds).max() < 1.0


def test_all_masked_input_is_refused():
    ds, labels = lake_scene()
    with pytest.raises(ValueError, match="every pixel is masked"):
        water_cluster(labels.copy(data=np.full(labels.shape, -1, "int16")), ds)
    with pytest.raises(ValueError, match="every pixel is masked"):
        otsu_water(ds.where(False))


def test_change_codes_and_areas():
    before = grid(np.array([[1, 1, 0, np.nan], [1, 0, 0, 1]], dtype="float32"))
    after = grid(np.array([[1, 0, 1, 0], [1, 0, 0, np.nan]], dtype="float32"))
    codes = change_map(before, after)
    assert codes.values.tolist() == [[4, 2, 3, 0], [4, 1, 1, 0]]
    areas = change_areas(codes)
    assert areas["lost_km2"] == pytest.approx(0.0009)
    assert areas["gained_km2"] == pytest.approx(0.0009)
    assert areas["before_km2"] == pytest.approx(3 * 0.0009)
    assert codes.odc.crs == before.odc.crs


def test_masks_on_offset_grids_are_compared_on_the_first_grid():
    """A bool mask is aligned as float: outside its footprint is no data, not 'no water'."""
    a = grid(np.ones((20, 30), bool))
    b = a.assign_coords(x=a.x + 300.0).odc.assign_crs("EPSG:32611")  # 10 pixels east
    assert iou(a, b) == 1.0 and kappa(a.astype("float32"), b.astype("float32")) == 1.0
    codes = change_map(a.astype("float32"), b)
    assert (codes.values[:, :10] == 0).all(), "no data where the second grid has none"
    assert (codes.values[:, 10:] == 4).all(), "water on both dates elsewhere"
