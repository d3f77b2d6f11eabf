"""Maps: in degrees with axes whenever the data have a CRS, categories in a named legend, one
water colour."""

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


@pytest.mark.parametrize("kind", ["image", "labels", "change", "rgb"])
def test_maps_of_data_with_a_crs_are_in_degrees_by_default(kind):
    data = {
        "image": _scene().red,
        "labels": _labels(),
        "change": _labels().astype("uint8"),
        "rgb": _scene(),
    }[kind]
    plot = getattr(plots, kind)(data, title=kind)
    assert [d.name for d in plot.kdims] == ["longitude", "latitude"]
    assert plot.opts["xaxis"] == "bottom" and plot.opts["yaxis"] == "left"


def test_maps_without_a_crs_keep_their_grid_and_label_its_axes():
    bare = xr.DataArray(
        np.zeros((2, 2)), dims=("y", "x"), coords={"y": [45.0, 15.0], "x": [15.0, 45.0]}
    )
    plot = plots.image(bare)
    assert [d.name for d in plot.kdims] == ["x", "y"]
    assert (plot.opts["xlabel"], plot.opts["ylabel"]) == ("x (m)", "y (m)")


def _legend(plot) -> list[str]:
    """The names the map's legend (its colour bar) shows, bottom to top."""
    names = plot.opts["colorbar_opts"]["major_label_overrides"]
    assert list(plot.opts["colorbar_opts"]["ticker"].ticks) == list(names)
    return [names[i] for i in sorted(names)]


def test_categorical_maps_name_their_classes():
    mask = (_labels() == 1).astype("float32").where(_labels() >= 0)
    assert _legend(plots.water_mask(mask)) == ["no data", "dry", "water"]
    change = (_labels() + 2).astype("uint8")
    assert _legend(plots.change(change)) == [
        "no data",
        "dry both",
        "water lost",
        "water gained",
        "water both",
    ]
    assert _legend(plots.labels(_labels(), water=[2])) == ["0", "1", "2 water"]


def test_water_is_one_colour_on_every_map():
    mask = (_labels() == 1).astype("float32")
    assert plots.water_mask(mask).opts["cmap"][-1] == plots.WATER
    assert plots.change(_labels().astype("uint8")).opts["cmap"][-1] == plots.WATER
    for k in (3, 5, 8):
        lab = _labels() % k
        # whatever its id, the water cluster is drawn in the water colour; others never are
        for wet in range(min(k, 3)):
            cmap = plots.labels(lab, water=[wet]).opts["cmap"]
            ids = sorted(set(np.unique(lab.values).tolist()) - {-1})
            assert cmap[ids.index(wet)] == plots.WATER
            assert cmap.count(plots.WATER) == 1


def test_maps_side_by_side_keep_their_own_colours():
    """In a layout each categorical map keeps its classes' colour range (HoloViews would
    otherwise give both maps the union of their ranges: 2 clusters in the colours of 8's)."""
    import holoviews as hv
    from bokeh.models import LinearColorMapper

    two, eight = _labels().clip(0, 1), _labels().copy()
    eight[:] = np.arange(eight.size).reshape(eight.shape) % 8
    layout = plots.labels(two, water=[1]) + plots.labels(eight, water=[1])
    mappers = hv.render(layout, backend="bokeh").select({"type": LinearColorMapper})
    assert {(m.low, m.high) for m in mappers} == {(-0.5, 1.5), (-0.5, 7.5)}


def test_a_cluster_keeps_its_colour_from_map_to_map():
    three = plots.cluster_classes([0, 1, 2])
    five = plots.cluster_classes([0, 1, 2, 3, 4], water=[4])
    assert all(three[c][1] == five[c][1] for c in three)


def test_narrow_maps_get_fewer_longitude_ticks():
    narrow = plots.image(_scene().red, frame_width=150)
    wide = plots.image(_scene().red, frame_width=400)
    assert narrow.opts["xticks"] < wide.opts["xticks"] <= 5


def test_nearest_keeps_labels_labels():
    shown = plots.to_lonlat(_labels().where(_labels() >= 0))
    values = set(np.unique(shown.values[np.isfinite(shown.values)]).tolist())
    assert values <= {0.0, 1.0, 2.0}


def test_outside_the_footprint_is_nan_whatever_nodata_the_attrs_say():
    # a float array that inherited nodata=1 (a scene's attrs): outside must not read as 1
    nothing = (_labels() * np.nan).astype("float32").assign_attrs(nodata=1)
    shown = plots.to_lonlat(nothing)
    assert shown.size > nothing.size and bool(shown.isnull().all())


def test_degrees_need_a_crs():
    bare = xr.DataArray(
        np.zeros((2, 2)), dims=("y", "x"), coords={"y": [45.0, 15.0], "x": [15.0, 45.0]}
    )
    with pytest.raises(ValueError, match="no CRS"):
        plots.image(bare, degrees=True)
