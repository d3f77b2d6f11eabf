"""Maps: through hvplot's geo=True with the data's CRS, in longitude and latitude whenever the
data have a CRS, thinned to their width; categories in a named legend, one water colour; tick
labels that do not overlap (measured in Chromium)."""

from __future__ import annotations

import time

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


# The lesson's scene: 1128 x 950 pixels of 30 m in UTM 11N over its bbox
# [-118.89, 38.54, -118.57, 38.84]
WALKER = GeoBox.from_bbox((335250, 4267020, 363750, 4300860), "EPSG:32611", resolution=30)


def _walker(kind: str) -> xr.Dataset | xr.DataArray:
    zeros = odc.geo.xr.xr_zeros(WALKER, dtype="float32")
    yy, xx = np.meshgrid(*(np.arange(n) for n in WALKER.shape), indexing="ij")
    lake = (yy - 560) ** 2 / 400**2 + (xx - 470) ** 2 / 200**2 < 1
    if kind == "rgb":
        return xr.Dataset({b: zeros + np.where(lake, 0.03, 0.15) for b in ("red", "green", "blue")})
    if kind == "image":
        return zeros + np.where(lake, 0.01, 0.2).astype("float32")
    if kind == "labels":
        return (zeros + (xx // 100 + yy // 100) % 3 + 1).where(~lake, 0).astype("int16")
    return (zeros + np.where(lake, 4, 1)).astype("uint8")


def _shown(plot) -> tuple[tuple[float, float], tuple[float, float]]:
    """The longitudes and latitudes a map shows: its axes' ranges as Bokeh draws them."""
    import holoviews as hv

    figure = hv.render(plot, backend="bokeh")
    return (figure.x_range.start, figure.x_range.end), (figure.y_range.start, figure.y_range.end)


@pytest.mark.parametrize("kind", ["image", "labels", "change", "rgb"])
def test_maps_are_geoviews_maps_of_the_datas_crs_drawn_in_lonlat(kind):
    import cartopy.crs as ccrs
    import geoviews as gv

    plot = getattr(plots, kind)(_walker(kind), title=kind)
    assert isinstance(plot, gv.Image if kind != "rgb" else gv.RGB)
    # the data's own CRS, which GeoViews projects when it draws the map; an RGB map is
    # projected by GeoViews when it is made (see test_rgb_outside_the_footprint_is_transparent)
    # (compared by where it puts a point: holoviews may hand back an equal copy of the CRS,
    # built from its PROJ string, which does not compare equal to the EPSG-built one)
    expected = ccrs.PlateCarree() if kind == "rgb" else plots.cartopy_crs("EPSG:32611")
    x, y = (-118.7, 38.7) if kind == "rgb" else (353010.0, 4283910.0)
    lonlat = ccrs.PlateCarree().transform_point(x, y, plot.crs)
    assert lonlat == pytest.approx(ccrs.PlateCarree().transform_point(x, y, expected), abs=1e-7)
    assert isinstance(plot.opts["projection"], ccrs.PlateCarree)
    assert plot.opts["xlabel"] == "longitude (°)" and plot.opts["ylabel"] == "latitude (°)"
    assert plot.opts["xaxis"] == "bottom" and plot.opts["yaxis"] == "left"
    lon, lat = _shown(plot)
    # the lesson's bbox, to the scene's edges (a pixel is about 0.0003 degrees)
    assert lon == pytest.approx((-118.898, -118.563), abs=0.002)
    assert lat == pytest.approx((38.536, 38.846), abs=0.002)
    # a degree of latitude is drawn 1 / cos(38.69°) = 1.28 times as long as one of longitude
    assert plot.opts["data_aspect"] == pytest.approx(1 / np.cos(np.radians(38.691)), abs=1e-3)


@pytest.mark.parametrize("kind", ["image", "labels", "change", "rgb"])
def test_maps_of_data_with_a_crs_are_in_degrees_by_default(kind):
    data = {
        "image": _scene().red,
        "labels": _labels(),
        "change": _labels().astype("uint8"),
        "rgb": _scene(),
    }[kind]
    plot = getattr(plots, kind)(data, title=kind)
    assert plot.opts["xlabel"] == "longitude (°)"
    lon, lat = _shown(plot)
    assert -118.70 < lon[0] < lon[1] < -118.68 and 38.68 < lat[0] < lat[1] < 38.70


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


@pytest.mark.parametrize("width", [150, 220, 400])
def test_maps_are_thinned_to_their_width(width):
    """As many pixels across as the map is wide in screen pixels."""
    for kind in ("labels", "image"):
        plot = getattr(plots, kind)(_walker(kind), frame_width=width)
        assert len(plot.dimension_values(0, expanded=False)) == width, kind


def test_thinning_keeps_classes_and_averages_values():
    labels = _walker("labels")
    thin = plots.for_display(labels, 220, categorical=True)
    assert thin.shape == (262, 220) and thin.odc.crs == labels.odc.crs
    assert thin.odc.geobox.resolution.x == pytest.approx(950 * 30 / 220)  # square pixels
    assert set(np.unique(thin.values).tolist()) == {0, 1, 2, 3}  # the mode: classes
    # the lake (class 0) keeps its share of the map
    assert float((thin == 0).mean()) == pytest.approx(float((labels == 0).mean()), abs=0.01)
    values = _walker("image")
    mean = plots.for_display(values, 220)
    assert mean.shape == (262, 220)
    assert float(mean.mean()) == pytest.approx(float(values.mean()), rel=0.01)
    # on the shore, block means lie between the lake's value and the land's
    assert ((mean > 0.011) & (mean < 0.199)).any()


def test_thinning_makes_geo_maps_several_times_faster():
    """GeoViews projects every pixel in Python: thinned to 220 px, the map draws in a
    fraction of the time of the same map with every pixel (measured: 0.1 s against 1.7 s)."""
    import holoviews as hv

    labels = _walker("labels")
    plots.labels(labels, frame_width=220)  # warm-up: imports, caches

    def seconds(width: int) -> float:
        started = time.perf_counter()
        hv.render(plots.labels(labels, frame_width=width), backend="bokeh")
        return time.perf_counter() - started

    thinned = min(seconds(220) for _ in range(2))
    every_pixel = seconds(950)  # as wide as the scene: nothing thinned
    assert thinned < every_pixel / 3, (thinned, every_pixel)


def test_rgb_outside_the_footprint_is_transparent():
    """The UTM scene is not a lon/lat rectangle: its map's corners are NaN (drawn
    transparent), not the edge pixels' colours."""
    plot = plots.rgb(_walker("rgb"), frame_width=220)
    red = plot.dimension_values("R", flat=False)
    outside = np.isnan(red)
    assert 0.005 < outside.mean() < 0.1
    assert outside[0].any() and outside[-1].any() and outside[:, 0].any()
    assert not np.isnan(red[red.shape[0] // 2, red.shape[1] // 2])


def test_rgb_is_geoviews_projection_of_each_band():
    """Projected once through each pixel's index, the RGB map is what GeoViews makes of each
    band on its own: the same colour at every projected pixel, NaN where it masks."""
    from geoviews.operation import project_image

    scene = _walker("rgb")
    scene["red"][100:200, 700:800] = 0.3  # a bright square in the north-east: orientation
    plot = plots.rgb(scene, frame_width=150)
    opts = {**plots.MAP_OPTS, **plots.geo_opts(scene, hover=False), "frame_width": 150}
    per_band = project_image(
        plots.true_color(plots.for_display(scene, 150)).hvplot.rgb(bands="rgb", **opts),
        projection=opts["projection"],
    )
    for band in ("R", "G", "B"):
        theirs = np.ma.filled(np.ma.asarray(per_band.dimension_values(band, flat=False)), np.nan)
        assert np.allclose(plot.dimension_values(band, flat=False), theirs, equal_nan=True)
    assert plot.range(0) == pytest.approx(per_band.range(0))


def test_maps_outside_the_footprint_are_masked_when_projected():
    import cartopy.crs as ccrs
    from geoviews.operation import project_image

    plot = plots.labels(_walker("labels"), frame_width=220)
    shown = project_image(plot, projection=ccrs.PlateCarree()).dimension_values(2, flat=False)
    outside = np.ma.getmaskarray(shown) | np.isnan(np.ma.filled(shown, np.nan))
    assert 0.005 < outside.mean() < 0.1


def test_cartopy_crs():
    import cartopy.crs as ccrs

    assert plots.cartopy_crs("EPSG:4326") == ccrs.PlateCarree()
    utm = plots.cartopy_crs(_labels().odc.crs)
    assert utm.to_epsg() == 32611 and utm.bounds[0] < 353010 < utm.bounds[1]


def test_a_scene_south_of_the_equator_in_a_northern_utm_zone_draws():
    """USGS's Canberra scene (page 06) is in UTM 55N with negative northings, outside the
    zone's area of use: the map draws where it is (GeoViews failed on it before)."""
    grid = GeoBox.from_bbox((688785, -3914055, 700785, -3903975), "EPSG:32655", resolution=30)
    scene = xr.Dataset(
        {b: odc.geo.xr.xr_zeros(grid, dtype="float32") + 0.1 for b in ("red", "green", "blue")}
    )
    mask = (scene.red > 0).astype("float32")
    for plot in (plots.rgb(scene, frame_width=220), plots.water_mask(mask, frame_width=220)):
        lon, lat = _shown(plot)
        assert 149.0 < lon[0] < lon[1] < 149.3 and -35.4 < lat[0] < lat[1] < -35.2


def test_a_crs_read_from_a_files_wkt1_draws():
    """GDAL's WKT1 (a COG's CRS) names EPSG:32611 without its area of use: the map still
    draws (page 04's scenes failed with cartopy's NotImplementedError before)."""
    import pyproj

    wkt1 = pyproj.CRS("EPSG:32611").to_wkt(version="WKT1_GDAL")
    grid = GeoBox.from_bbox(WALKER.extent.boundingbox.bbox, wkt1, resolution=30)
    scene = xr.Dataset({b: odc.geo.xr.xr_zeros(grid, dtype="float32") + 0.1 for b in "rgb"})
    scene = scene.rename(r="red", g="green", b="blue")
    for plot in (plots.rgb(scene, frame_width=150), plots.image(scene.red, frame_width=150)):
        lon, lat = _shown(plot)
        assert lon == pytest.approx((-118.898, -118.563), abs=0.002)
    with pytest.raises(ValueError, match="no EPSG code and no area of use"):
        plots.cartopy_crs("+proj=tmerc +lon_0=-118.7 +lat_0=38.7 +ellps=WGS84")


def test_degrees_need_a_crs():
    bare = xr.DataArray(
        np.zeros((2, 2)), dims=("y", "x"), coords={"y": [45.0, 15.0], "x": [15.0, 45.0]}
    )
    with pytest.raises(ValueError, match="no CRS"):
        plots.image(bare, degrees=True)


# For every axis of every map on the page: its major ticks' labels as BokehJS formats them,
# where it draws them (screen px along the axis) and how long each label is (canvas text
# metrics in the axis's font); Bokeh draws inside shadow roots, so through its views.
TICK_LABELS = """
() => {
  const views = [];
  const walk = (v) => {
    views.push(v);
    for (const c of v.child_views ?? []) walk(c);
    for (const c of v.renderer_views?.values() ?? []) walk(c);
  };
  for (const root of Object.values(Bokeh.index)) walk(root);
  const ctx = document.createElement("canvas").getContext("2d");
  return views.filter((v) => v.model.type === "LinearAxis" && v.model.visible).map((v) => {
    const along = v.dimension;  // 0: x, 1: y
    const ticks = v.tick_coords.major[along];
    const scale = along === 0 ? v.coordinates.x_scale : v.coordinates.y_scale;
    const size = parseFloat(v.model.major_label_text_font_size);
    ctx.font = `${v.model.major_label_text_font_size} ${v.model.major_label_text_font}`;
    const labels = v.model.formatter.doFormat(ticks, {loc: 0});
    return {
      axis: along === 0 ? "x" : "y",
      labels,
      at: ticks.map((t) => scale.compute(t)),
      length: labels.map((l) => (along === 0 ? ctx.measureText(l).width : size)),
    };
  });
}
"""


def test_tick_labels_do_not_overlap_in_chromium(tmp_path):
    """The book's map sizes (400, 260, 220, 160 and 150 px wide), drawn in headless Chromium:
    on every axis at least 2 labelled ticks, at most 6, and 8 px or more between labels."""
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.resources import INLINE
    from playwright.sync_api import sync_playwright

    from tests.browser import BROWSER_ARGS, CHROMIUM

    maps = [plots.rgb(_walker("rgb"), frame_width=400)] + [
        plots.labels(_walker("labels"), frame_width=w) for w in (400, 260, 220, 160, 150)
    ]
    html = tmp_path / "maps.html"
    layout = hv.Layout(maps).cols(2).opts(shared_axes=False)
    html.write_text(file_html(hv.render(layout, backend="bokeh"), INLINE, "maps"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function("() => window.Bokeh && Object.keys(Bokeh.index).length")
            page.wait_for_timeout(500)
            axes = page.evaluate(TICK_LABELS)
        finally:
            browser.close()
    assert len(axes) == 2 * len(maps)
    for axis in axes:
        assert 2 <= len(axis["labels"]) <= 6, axis
        order = np.argsort(axis["at"])
        at, length = np.array(axis["at"])[order], np.array(axis["length"])[order]
        gaps = np.diff(at) - (length[1:] + length[:-1]) / 2  # labels centred on their ticks
        assert gaps.min() >= 8, axis
    # longitudes in degrees, as Walker Lake's
    x_labels = {label for axis in axes if axis["axis"] == "x" for label in axis["labels"]}
    assert x_labels <= {"−118.9", "−118.8", "−118.7", "−118.6", "−118.85", "−118.75", "−118.65"}
