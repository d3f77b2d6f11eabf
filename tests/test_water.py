"""Water finding, validation metrics, areas and change codes on small arrays."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lakeml.references import dswe_water, mndwi_otsu
from lakeml.water import (
    area_km2,
    change_areas,
    change_map,
    check_lake_point,
    cluster_table,
    darkest_cluster,
    iou,
    kappa,
    mndwi,
    split_mixed,
    value_at,
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


def test_clusters_are_named_by_the_water_test_on_their_pixels():
    ds, labels = lake_scene()
    evidence = (mndwi(ds) > 0.124).astype("float32").where(ds.green.notnull())
    table = cluster_table(labels, evidence)
    assert table.cluster.values.tolist() == [0, 1, 2]
    assert table.pixels.values.tolist() == [600 - 100 - 60, 59, 100]  # one pixel is no data
    assert table.water_fraction.values.tolist() == [0.0, 0.0, 1.0]
    assert table.is_water.values.tolist() == [False, False, True]
    water = water_mask(labels, table.cluster[table.is_water].values)
    centre = labels.isel(y=10, x=15)
    check_lake_point(water, _lonlat(float(centre.x), float(centre.y)))
    corner = labels.isel(y=18, x=28)
    with pytest.raises(ValueError, match=r"is not water in this scene's water mask"):
        check_lake_point(water, _lonlat(float(corner.x), float(corner.y)))
    with pytest.raises(ValueError, match="outside the scene"):
        value_at(labels, -100.0, 40.0)


def test_no_water_is_an_answer_and_the_old_rule_names_dark_land():
    """Dark forest (low everywhere, NIR well above red): no cluster passes the water test, while
    the darkest-cluster rule calls it water all the same."""
    forest = {"blue": 0.02, "green": 0.04, "red": 0.025, "nir08": 0.25, "swir16": 0.11,
              "swir22": 0.05}  # fmt: skip
    soil = {"blue": 0.10, "green": 0.14, "red": 0.17, "nir08": 0.22, "swir16": 0.30,
            "swir22": 0.25}  # fmt: skip
    dark = np.zeros((10, 10), bool)
    dark[:, :4] = True
    ds = xr.Dataset({b: grid(np.where(dark, forest[b], soil[b]).astype("float32")) for b in forest})
    labels = grid(np.where(dark, 0, 1).astype("int16"))
    table = cluster_table(labels, dswe_water(ds))
    assert table.water_fraction.values.tolist() == [0.0, 0.0]
    water = water_mask(labels, table.cluster[table.is_water].values)
    assert float(water.sum()) == 0.0 and area_km2(water) == 0.0
    assert darkest_cluster(labels, ds) == 0  # the old rule's answer: the forest


def test_a_mixed_cluster_is_split_until_its_pixels_agree():
    rng = np.random.default_rng(1)
    water_px = rng.normal([0.0, 0.0, 0.0], 0.05, (400, 3))
    land_px = rng.normal([1.0, 1.0, 1.0], 0.05, (400, 3))
    samples = xr.DataArray(np.concatenate([water_px, land_px]).astype("float32"),
                           dims=("sample", "band"))  # fmt: skip
    evidence = xr.DataArray(np.repeat([1.0, 0.0], 400), dims="sample")
    evidence[::50] = np.nan  # untested pixels do not count either way
    lumped = xr.DataArray(np.zeros(800, "int32"), dims="sample")
    split = split_mixed(samples, lumped, evidence)
    table = cluster_table(split, evidence)
    assert split.attrs["splits"] == 1 and split.attrs["n_clusters"] == 2
    assert sorted(table.water_fraction.values.tolist()) == [0.0, 1.0]
    assert sorted(table.pixels.values.tolist()) == [400, 400]
    # already pure clusters are left alone; tiny mixed ones too
    assert split_mixed(samples, split, evidence).attrs["splits"] == 0
    assert split_mixed(samples, lumped, evidence, min_pixels=1000).attrs["splits"] == 0
    # a land cluster with 3 pixels that pass the test: 3 < 1 % of the 403 water pixels, kept
    two = lumped.copy(data=np.repeat([0, 1], 400).astype("int32"))
    noisy = evidence.copy(data=np.r_[np.ones(400), np.ones(3), np.zeros(397)])
    assert split_mixed(samples, two, noisy).attrs["splits"] == 0
    assert split_mixed(samples, two, noisy, tolerance=0.005, min_minority=1).attrs["splits"] >= 1
    # a dry scene: a few scattered test errors (fewer than min_minority) split nothing
    dry = evidence.copy(data=np.r_[np.zeros(795), np.ones(5)])
    assert split_mixed(samples, two, dry).attrs["splits"] == 0
    # near-identical pixels cannot be split: the cluster is left whole, not an error
    flat = samples.copy(data=np.ones_like(samples.values))
    assert split_mixed(flat, lumped, evidence).attrs["splits"] == 0
    with pytest.raises(ValueError, match="tolerance is a share of the scene's water"):
        split_mixed(samples, lumped, evidence, tolerance=1.5)


def test_a_cluster_stays_whole_only_when_it_has_no_structure(monkeypatch):
    """Near-identical pixels cannot be split (UnusableData): the cluster stays whole. Any
    other ValueError is a bug and raises; before, every ValueError meant 'cannot split'."""
    import lakeml.cluster

    samples = xr.DataArray(np.ones((800, 3), "float32"), dims=("sample", "band"))
    lumped = xr.DataArray(np.zeros(800, "int32"), dims="sample")
    evidence = xr.DataArray(np.repeat([1.0, 0.0], 400), dims="sample")
    same = split_mixed(samples, lumped, evidence)  # identical rows: the real refusal
    assert same.attrs["splits"] == 0 and np.all(same.values == 0)

    def bug(*args, **kwargs):
        raise ValueError("conflicting sizes for dimension 'band'")

    monkeypatch.setattr(lakeml.cluster, "spectral_clustering", bug)
    with pytest.raises(ValueError, match="conflicting sizes"):
        split_mixed(samples, lumped, evidence)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    from odc.geo.geom import point

    return point(x, y, "EPSG:32611").to_crs("EPSG:4326").coords[0]


def test_water_mask_area_and_metrics():
    ds, labels = lake_scene()
    water = water_mask(labels, 2)
    assert np.isnan(water.values[0, 0])
    assert water_mask(labels, [1, 2]).sum() == 100 + 59
    assert area_km2(water) == pytest.approx(100 * 0.0009)
    assert iou(water, water) == 1.0
    assert kappa(water, water) == 1.0
    shifted = water.copy(data=np.roll(water.values, 1, axis=1))
    assert iou(water, shifted) == pytest.approx(90 / 110)
    ref = mndwi_otsu(ds)
    assert iou(water, ref) == 1.0
    assert 0.0 < mndwi(ds).max() < 1.0


def test_all_masked_input_is_refused():
    ds, labels = lake_scene()
    with pytest.raises(ValueError, match="every pixel is masked"):
        cluster_table(labels.copy(data=np.full(labels.shape, -1, "int16")), ds.green)
    with pytest.raises(ValueError, match="every pixel is masked"):
        mndwi_otsu(ds.where(False))


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


def test_the_lake_is_bridged_across_a_scan_line_gap_but_not_to_a_far_pond():
    """A lake cut by a 3-pixel SLC-off stripe stays one lake; a pond that the same stripe
    touches 30 pixels (900 m) further down stays out, and so does a shadow patch on land."""
    from lakeml.water import lake_only

    img = np.zeros((70, 60), "float32")
    img[5:20, 5:30] = 1  # the lake
    img[50:54, 18:22] = 1  # a pond beside the stripe, 900 m from the lake along it
    img[2:4, 45:48] = 1  # a dark patch called water on a mountain
    img[:, 15:18] = np.nan  # a scan-line gap across everything
    mask = grid(img)
    centre = mask.isel(y=10, x=25)
    lake = lake_only(mask, _lonlat(float(centre.x), float(centre.y)))
    assert float(lake.sum()) == 15 * 25 - 15 * 3  # both halves of the lake, not the pond
    assert float(lake[50:54, 18:22].sum()) == 0 and float(lake[2:4, 45:48].sum()) == 0
    # the same pond 10 pixels (300 m) from the lake along the stripe joins it
    near = img.copy()
    near[50:54, 18:22] = 0
    near[30:34, 18:22] = 1
    joined = lake_only(grid(near), _lonlat(float(centre.x), float(centre.y)))
    assert float(joined.sum()) == 330 + 16
    assert np.isnan(lake.values[:, 15:18]).all()
    # without bridging, only the half holding the point
    half = lake_only(mask, _lonlat(float(centre.x), float(centre.y)), max_gap_m=None)
    assert float(half.sum()) == 15 * 12
    # a point hidden in the gap, next to the lake, still finds it
    hidden = mask.isel(y=10, x=16)
    assert float(lake_only(mask, _lonlat(float(hidden.x), float(hidden.y))).sum()) == 330
