"""Stacking pixels into samples and back loses nothing; standardisation is per band."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from lakeml.reshape import from_samples, standardize, to_samples


def scene(nb: int = 3) -> xr.Dataset:
    rng = np.random.default_rng(1)
    y, x = np.arange(5) * -30.0 + 1000, np.arange(4) * 30.0 + 500
    ds = xr.Dataset(
        {f"b{i}": (("y", "x"), rng.random((5, 4)).astype("float32") * (i + 1)) for i in range(nb)},
        coords={"y": y, "x": x},
    ).odc.assign_crs("EPSG:32611")
    ds["b0"][1, 2] = np.nan
    ds["b1"][1, 2] = np.nan
    ds["b2"][1, 2] = np.nan
    return ds


def test_round_trip_is_exact_with_masked_pixels():
    ds = scene()
    X = to_samples(ds, ["b0", "b1", "b2"])
    assert X.dims == ("sample", "band") and X.shape == (20, 3)
    back = from_samples(X, like=ds)
    for i, name in enumerate(["b0", "b1", "b2"]):
        np.testing.assert_array_equal(back.isel(band=i).values, ds[name].values)
    assert np.isnan(back.isel(band=0).values[1, 2])
    assert list(back.y.values) == list(ds.y.values)
    assert back.odc.crs == ds.odc.crs


def test_round_trip_on_dask():
    ds = scene().chunk({"y": 2})
    X = to_samples(ds, ["b0", "b2"])
    back = from_samples(X, like=ds).compute()
    np.testing.assert_array_equal(back.isel(band=1).values, ds.b2.values)


def test_standardize_is_per_band_and_skips_nan():
    X = to_samples(scene(), ["b0", "b1", "b2"])
    Z = standardize(X)
    np.testing.assert_allclose(Z.mean("sample", skipna=True).values, 0, atol=1e-6)
    np.testing.assert_allclose(Z.std("sample", skipna=True).values, 1, atol=1e-5)
    assert int(Z.isnull().any("band").sum()) == 1


def test_bad_inputs():
    with pytest.raises(ValueError, match="band 'nope'"):
        to_samples(scene(), ["nope"])
    with pytest.raises(ValueError, match="sample"):
        from_samples(xr.DataArray(np.zeros(3), dims="z"))
