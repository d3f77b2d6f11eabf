"""Maps in degrees (plots' ``degrees=True``): lon/lat axes and hover, the UTM default unchanged."""

from __future__ import annotations

import numpy as np
import odc.geo.xr
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox

from lakeml import plots

# 4 x 5 pixels of 30 m in UTM 11N, near Walker Lake
GRID = GeoBox.from_bbox((353010, 4283880, 353160, 4284000), "EPSG:32611", resolution=30)


def _scene() -> xr.Dataset:
    zeros = odc.geo.xr.xr_zeros(GRID, dtype="float32")
    rng = np.random.default_rng(0)
    return xr.Dataset(
        {
            b: zeros + rng.uniform(0, 0.3, zeros.shape).astype("float32")
            for b in ("red", "green", "blue")
        }
    )


def _labels() -> xr.DataArray:
    lab = odc.geo.xr.xr_zeros(GRID, dtype="int16")
    lab[:] = np.arange(lab.size).reshape(lab.shape) % 3
    lab[0, 0] = -1
    return lab


@pytest.mark.parametrize("kind", ["image", "labels", "change", "rgb"])
def test_maps_in_degrees_have_lonlat_axes(kind):
    data = {
        "image": lambda: _scene().red,
        "labels": _labels,
        "change": lambda: (_labels() + 2).astype("uint8"),
        "rgb": _scene,
    }[kind]()
    plot = getattr(plots, kind)(data, title=kind, degrees=True)
    assert [d.name for d in plot.kdims] == ["longitude", "latitude"]
    assert plot.opts["xlabel"] == "longitude (°)" and plot.opts["ylabel"] == "latitude (°)"
    lon, lat = plot.range("longitude"), plot.range("latitude")
    assert -118.70 < lon[0] < lon[1] < -118.68 and 38.68 < lat[0] < lat[1] < 38.70
    # a degree of latitude is drawn 1 / cos(38.7°) times as long as one of longitude
    assert plot.opts["data_aspect"] == pytest.approx(1 / np.cos(np.radians(38.69)), abs=1e-3)


@pytest.mark.parametrize("kind", ["image", "labels", "change"])
def test_default_maps_stay_on_the_data_grid(kind):
    data = {"image": _scene().red, "labels": _labels(), "change": _labels().astype("uint8")}[kind]
    plot = getattr(plots, kind)(data, title=kind)
    assert [d.name for d in plot.kdims] == ["x", "y"]
    assert plot.opts["xaxis"] is None and plot.opts["data_aspect"] == 1


def test_nearest_keeps_labels_labels():
    shown = plots.to_lonlat(_labels().where(_labels() >= 0))
    values = set(np.unique(shown.values[np.isfinite(shown.values)]).tolist())
    assert values <= {0.0, 1.0, 2.0}


def test_degrees_need_a_crs():
    bare = xr.DataArray(
        np.zeros((2, 2)), dims=("y", "x"), coords={"y": [45.0, 15.0], "x": [15.0, 45.0]}
    )
    with pytest.raises(ValueError, match="no CRS"):
        plots.image(bare, degrees=True)
