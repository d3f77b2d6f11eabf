"""Plots: interactive hvplot figures that render offline, and static PNGs for the command.

Maps of data with a CRS are hvplot's ``geo=True`` with the data's own CRS: GeoViews projects
them onto longitude and latitude (:func:`geo_opts`), after they are thinned to the map's width
(:func:`for_display`); see :data:`MAP_OPTS` for why, and what was measured.

By default hvplot output asks a CDN for BokehJS: offline (or on an air-gapped cluster) the
plot area stays empty. :func:`offline` embeds the JavaScript in the notebook instead; call it
before the first ``import hvplot.xarray``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from lakeml.checks import require_bands
from lakeml.files import atomic_write
from lakeml.water import CHANGE_CODES

WATER = "#2171b5"
"""The colour of water on every map of the book (water masks, change maps, water clusters)."""

DRY = "#e8dcc0"
"""The colour of dry land on water masks and change maps."""

NO_DATA = "#bdbdbd"
"""The colour of pixels with no data (cloud, fill, outside the scene) on categorical maps."""

WATER_CLASSES = {-1: ("no data", NO_DATA), 0: ("dry", DRY), 1: ("water", WATER)}
"""Name and colour of the values of a water mask (1 water, 0 dry, -1 or NaN no data)."""

CHANGE_COLORS = {
    0: NO_DATA,
    1: DRY,
    2: "#d7301f",
    3: "#fdae61",
    4: WATER,
}
"""Colours of the change codes: no data, dry both, water lost, water gained, water both."""

CLUSTER_COLORS = (
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
"""Colours of the clusters not named water, by cluster id (Category10 without its blues)."""

COLUMN_PX = 680
"""The width of the book's text column at a 1280 px wide window (688 px, measured in Chromium,
less a margin): every figure of the book fits in it."""

LEGEND_PX = 130
"""Room a map's named legend (its colour bar, labelled with the class names) takes beside it."""

MAP_OPTS = {
    "x": "x",
    "y": "y",
    "data_aspect": 1,
    "frame_width": 400,
    "xlabel": "x (m)",
    "ylabel": "y (m)",
}
"""Defaults of the interactive maps on a grid without a CRS: square pixels, a width that fits
the book's column, axes in the grid's own units. Data with a CRS are drawn in longitude and
latitude instead (:func:`geo_opts`): hvplot's ``geo=True`` with the data's own CRS, the idiom
of the original lesson, GeoViews projecting the pixels onto Plate Carree, after
:func:`for_display` has resampled them to the map's width in screen pixels.

Why resample first: GeoViews projects every pixel in Python (cartopy's nearest-neighbour
regrid) when a map is drawn. One 400 px wide map of the 1,071,600-pixel Walker Lake scene took
1.7-2.9 s to build and render with ``geo=True`` on all its pixels, 0.4-0.8 s resampled to 400
x 475 pixels (this book's 2-core machine, shared). A map never shows more pixels across than
its width in screen pixels, so nothing visible is lost; zoomed in, a map shows those coarser
pixels (measure on the data, never on a map). Against the hand-written reprojection this
replaced (odc-geo's warp of every pixel to EPSG:4326, drawn without GeoViews), measured with
``benchmarks/bench_maps.py`` (fastest of 3, load average 8-12), build and render per map:
cluster labels at 400 px 0.37 s (0.09 s), at 220 px 0.22 s (0.10 s), at 160 px 0.15 s (0.10
s), a true-colour map at 400 px 0.44 s (0.26 s); in all, eight maps 2.0 s instead of 1.1 s
in Python, but 2.0 MB instead of 5.9 MB of page (the maps are no longer sent at the scene's
full resolution) drawn in headless Chromium in 1.0 s instead of 2.2 s. Per notebook, on the
offline sample (load average 2-4), the cells that draw maps took 0.8-1.3 s longer (01: 2.0 s
instead of 1.0, 03: 3.4 instead of 2.6, 04: 1.9 instead of 0.8, 05: 2.4 instead of 1.1, 06:
2.0 instead of 0.7; about 0.6 s of it is importing GeoViews and cartopy), every notebook well
under its minute (10-52 s), and their outputs smaller (01: 7.7 MB instead of 11.9, 04: 6.7
instead of 10.8). Plate Carree draws a degree of longitude as long as a degree of latitude
(the lake 1.28 times too wide at 38.7 N) unless the aspect is set: :func:`geo_opts` sets
``data_aspect`` to 1 / cos(latitude).

No map context (coastlines, borders, rivers, roads, a basemap): GeoViews' and cartopy's
features download Natural Earth files at run time (cartopy ships none of the vector files;
its one raster is a 0.5 degree world image, coarser than the whole Walker Lake map), and a
tile basemap needs the network whenever the page is read, so offline (and wherever a tile
server is slow or down) it leaves blank tiles; the book must draw the same offline and
online, so the axes in degrees are the maps' context."""

DISPLAY_CRS = "EPSG:4326"
"""The CRS the maps are drawn in: longitude and latitude on WGS 84 (cartopy's Plate Carree)."""


def cartopy_crs(crs: Any, extent: tuple[float, float, float, float] | None = None) -> Any:
    """Turn a CRS (odc-geo's, pyproj's, ``"EPSG:32611"``...) into cartopy's, for GeoViews.

    Longitude/latitude on WGS 84 is cartopy's ``PlateCarree`` (GeoViews then draws it
    without reprojecting); any other CRS is a ``cartopy.crs.Projection`` built from its EPSG
    definition when it has an EPSG code. That definition carries the CRS's area of use, from
    which cartopy bounds the projection: a CRS read from a file's WKT (GDAL's WKT1) may name
    its EPSG code without it. Data can lie outside that area: USGS Landsat scenes south of
    the equator come in the northern UTM zone, with negative northings (Canberra, EPSG:32655,
    y about -3,900,000 m), which GeoViews would clip away (and fail); ``extent`` widens the
    bounds to take the data in.

    Parameters
    ----------
    crs : Any
        A CRS odc-geo understands: its own, a ``pyproj.CRS``, an EPSG code or a string.
    extent : tuple of float, optional
        The data's ``(left, bottom, right, top)`` in ``crs``: the projection's bounds are
        widened to hold it, with a margin of its own width and height.

    Returns
    -------
    cartopy.crs.CRS
        The same CRS for cartopy.

    Raises
    ------
    ValueError
        If the CRS has no EPSG code, no area of use and no ``extent`` is given (cartopy
        cannot bound it).

    Examples
    --------
    >>> import pyproj
    >>> utm = cartopy_crs("EPSG:32611")
    >>> type(utm).__name__, utm.to_epsg(), type(cartopy_crs(4326)).__name__
    ('Projection', 32611, 'PlateCarree')
    >>> wkt1 = pyproj.CRS("EPSG:32611").to_wkt(version="WKT1_GDAL")  # no area of use
    >>> cartopy_crs(wkt1).bounds == utm.bounds
    True
    >>> canberra = (688785.0, -3914055.0, 700785.0, -3903975.0)  # UTM 55N, south of 0
    >>> [round(float(b)) for b in cartopy_crs("EPSG:32655", canberra).y_limits]
    [-3924135, 9329005]
    """
    import cartopy.crs as ccrs
    import pyproj
    from odc.geo import CRS

    crs = CRS(crs)
    if crs == CRS(DISPLAY_CRS):
        return ccrs.PlateCarree()
    definition = pyproj.CRS.from_epsg(crs.epsg) if crs.epsg is not None else crs.proj
    projection = ccrs.Projection(definition)
    if extent is not None:
        left, bottom, right, top = extent
        width, height = right - left, top - bottom
        x0, x1, y0, y1 = projection.bounds or (left, right, bottom, top)
        projection.bounds = (
            min(x0, left - width),
            max(x1, right + width),
            min(y0, bottom - height),
            max(y1, top + height),
        )
        x0, x1, y0, y1 = projection.bounds
        projection.threshold = min(x1 - x0, y1 - y0) / 100
    if projection.bounds is None:
        raise ValueError(
            f"cartopy cannot draw maps in {crs.proj.name!r}: it has no EPSG code and no area "
            "of use; draw the map with degrees=False, or reproject the data to an EPSG CRS "
            "(e.g. with .odc.reproject)"
        )
    return projection


def for_display(obj: Any, width: int, categorical: bool = False) -> Any:
    """Resample a raster to ``width`` pixels across, the most a map that wide can show.

    The grid keeps its CRS, its extent (to within a pixel) and square pixels, each
    ``obj``'s width / ``width`` times as large (odc-geo's ``zoom_out``; GDAL's warp). Each new
    pixel is the **mode** of the pixels it covers for categories (labels, codes, masks: the
    most common class, so a class stays a class) and their **mean** otherwise; NaN pixels are
    left out of both (NaN where all are). For display only: measure areas on the data, never
    on this. Data that are already no wider than ``width``, or have no CRS, are returned as
    they are.

    Parameters
    ----------
    obj : xr.DataArray or xr.Dataset
        Data over ``(y, x)`` with a CRS (odc-geo's ``.odc.crs``).
    width : int
        The map's width in screen pixels.
    categorical : bool
        The mode of each block rather than its mean.

    Returns
    -------
    xr.DataArray or xr.Dataset
        The data on the coarser grid.

    Examples
    --------
    >>> import numpy as np, odc.geo.xr
    >>> from odc.geo.geobox import GeoBox
    >>> grid = GeoBox.from_bbox((353010, 4283820, 353130, 4283940), "EPSG:32611", resolution=30)
    >>> da = odc.geo.xr.xr_zeros(grid, dtype="float32") + np.arange(16.0).reshape(4, 4)
    >>> da.values[3, 3] = np.nan
    >>> shown = for_display(da, width=2)  # blocks of 2 x 2 pixels of 30 m: 60 m pixels
    >>> shown.values.round(2).tolist(), shown.odc.geobox.resolution.x  # NaN left out
    ([[2.5, 4.5], [10.5, 11.67]], 60.0)
    >>> for_display(da > 5, width=2, categorical=True).values.astype(int).tolist()
    [[0, 0], [1, 1]]
    >>> for_display(da, width=400) is da
    True
    """
    try:
        geobox = obj.odc.geobox
    except (AttributeError, ValueError):
        return obj
    if geobox is None or obj.odc.crs is None or geobox.shape.x <= width:
        return obj

    def nodata_nan(da: xr.DataArray) -> xr.DataArray:
        # NaN is left out of the mode and the mean; a float array can inherit another nodata
        # from the scene (nodata 1 once drew a frame of class 1 around a map)
        return da.assign_attrs(nodata=np.nan) if da.dtype.kind == "f" else da

    if isinstance(obj, xr.Dataset):
        obj = obj.map(nodata_nan, keep_attrs=True)
    else:
        obj = nodata_nan(obj.astype("float32") if obj.dtype == bool else obj)
    coarser = geobox.zoom_out(geobox.shape.x / max(1, int(width)))
    return obj.odc.reproject(coarser, resampling="mode" if categorical else "average")


def geo_opts(obj: Any, hover: bool = True) -> dict[str, Any]:
    """Options of a map in degrees through hvplot's ``geo=True``: the data's CRS, lon/lat axes.

    GeoViews projects the data from their own CRS (``crs``) onto Plate Carree
    (``projection``); ``data_aspect`` is 1 / cos(latitude) at the map's middle latitude, so
    that a degree of latitude is drawn longer than a degree of longitude by as much as it is
    on the ground.

    Parameters
    ----------
    obj : xr.DataArray or xr.Dataset
        Data over ``(y, x)`` with a CRS (odc-geo's ``.odc.crs``).
    hover : bool
        Add hover tooltips showing longitude and latitude to 4 decimals (about 10 m) and the
        pixel's value (for an image; an RGB map keeps hvplot's own hover).

    Returns
    -------
    dict
        Options for ``hvplot.image`` / ``hvplot.rgb``.

    Raises
    ------
    ValueError
        If ``obj`` has no CRS.

    Examples
    --------
    >>> import odc.geo.xr
    >>> from odc.geo.geobox import GeoBox
    >>> grid = GeoBox.from_bbox((353010, 4283910, 353100, 4284000), "EPSG:32611", resolution=30)
    >>> opts = geo_opts(odc.geo.xr.xr_zeros(grid))  # 3 x 3 pixels of 30 m, UTM 11N
    >>> opts["geo"], opts["crs"].to_epsg(), type(opts["projection"]).__name__
    (True, 32611, 'PlateCarree')
    >>> opts["xlabel"], round(opts["data_aspect"], 3)  # 1 / cos(38.69 degrees)
    ('longitude (°)', 1.281)
    """
    import cartopy.crs as ccrs

    if obj.odc.crs is None:
        raise ValueError("the data have no CRS: load them with lakeml.load.load_scene")
    y, x = obj.odc.spatial_dims
    box = obj.odc.geobox.geographic_extent.boundingbox
    opts: dict[str, Any] = {
        "x": x,
        "y": y,
        "geo": True,
        "crs": cartopy_crs(obj.odc.crs, tuple(obj.odc.geobox.extent.boundingbox)),
        "projection": ccrs.PlateCarree(),
        "data_aspect": float(1 / np.cos(np.radians((box.bottom + box.top) / 2))),
        "xaxis": "bottom",
        "yaxis": "left",
        "xlabel": "longitude (°)",
        "ylabel": "latitude (°)",
    }
    if hover:
        opts["hover_tooltips"] = [
            ("longitude (°)", "$x{0.0000}"),
            ("latitude (°)", "$y{0.0000}"),
            ("value", "@image"),
        ]
    return opts


def offline() -> None:
    """Embed BokehJS and Panel's JS/CSS in notebook outputs instead of loading them from a CDN.

    Sets HoloViews' and Panel's ``inline`` options for the rest of the session. In IPython it
    also displays HoloViews objects (hvplot's plots) through Panel, which inlines its layouts'
    stylesheets when ``inline`` is on: HoloViews' own notebook output links four of them on
    ``cdn.holoviz.org``, which JupyterLab then fetches (and, offline, fails to).

    Examples
    --------
    >>> offline()
    >>> import holoviews as hv, panel as pn
    >>> hv.extension.inline, pn.config.inline
    (True, True)
    """
    import holoviews as hv
    import panel as pn

    hv.extension.inline = True
    pn.config.inline = True  # type: ignore[misc]  # a param.Parameter: its stub says read-only
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every notebook kernel
        return
    shell = get_ipython()
    if shell is not None:
        formatter = shell.display_formatter.mimebundle_formatter
        formatter.for_type(hv.core.Dimensioned, _through_panel)


def _through_panel(obj: Any, include: Any = None, exclude: Any = None) -> Any:
    """Render a HoloViews object for the notebook through Panel (stylesheets inlined)."""
    import panel as pn

    pane: Any = pn.panel(obj)  # a Viewable: the IPython display protocol's method
    return pane._repr_mimebundle_(include, exclude)


def _hvplot() -> None:
    """Register the ``.hvplot`` accessor once.

    hvplot drops ``hvplot.xarray`` from ``sys.modules`` after each notebook cell, so importing
    it again in every call would embed BokehJS (several MB) in every cell's output.
    """
    if not hasattr(xr.DataArray, "hvplot"):
        import hvplot.xarray  # noqa: F401


def true_color(ds: xr.Dataset, gamma: float = 1 / 2.2, clip: float = 0.3) -> xr.DataArray:
    """Make an RGB image (y, x, rgb) in 0..1 from red, green, blue reflectance; NaN white.

    Each band is clipped to ``0 .. clip``, divided by ``clip`` and raised to ``gamma``.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled reflectance with ``red``, ``green`` and ``blue`` over ``(y, x)``.
    gamma : float
        Exponent applied after scaling to 0..1; below 1 it brightens dark land.
    clip : float
        The reflectance shown as full brightness.

    Returns
    -------
    xr.DataArray
        float32 ``(y, x, rgb)`` named ``true_color``, ``rgb`` = red, green, blue; a pixel with
        no data in a band is 1 (white) in that band.

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the three bands.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> refl = [[0.0, 0.03, 0.3], [0.6, np.nan, 0.1]]
    >>> ds = xr.Dataset({b: (("y", "x"), refl) for b in ("red", "green", "blue")},
    ...                 coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> image = true_color(ds)
    >>> image.dims, image.rgb.values.tolist()
    (('y', 'x', 'rgb'), ['red', 'green', 'blue'])
    >>> image.sel(rgb="red").values.astype(float).round(3).tolist()  # >= 0.3 and NaN: 1
    [[0.0, 0.351, 1.0], [1.0, 1.0, 0.607]]
    """
    require_bands(ds, ("red", "green", "blue"), "true colour")
    rgb = ds[["red", "green", "blue"]].to_array("rgb").transpose("y", "x", "rgb")
    rgb = (rgb.clip(0, clip) / clip) ** gamma
    rgb = rgb.fillna(1.0).astype("float32")
    return rgb.assign_coords(rgb=["red", "green", "blue"]).rename("true_color")


def _degrees(da: Any, degrees: bool | None) -> bool:
    """Draw in degrees: as asked, else whenever the data have a CRS."""
    if degrees is not None:
        return degrees
    try:
        return da.odc.crs is not None
    except (AttributeError, ValueError):
        return False


def _fit_ticks(opts: dict[str, Any]) -> None:
    """Fewer longitude ticks on a narrow map, so that their labels do not run together."""
    width = opts.get("frame_width")
    if opts.get("geo") and width is not None and "xticks" not in opts:
        opts["xticks"] = 2 if width < 200 else 3 if width < 320 else 5


def _width(opts: dict[str, Any]) -> int:
    """Return a map's width in screen pixels: its frame's, else its own, else the column's."""
    return int(opts.get("frame_width") or opts.get("width") or COLUMN_PX)


def _map(
    da: xr.DataArray, title: str, degrees: bool | None, categorical: bool, **kwargs: Any
) -> Any:
    """Draw an image map: thinned to its width, in degrees through ``geo=True`` when asked."""
    _hvplot()

    geo = _degrees(da, degrees)
    opts = {**MAP_OPTS, "title": title, **(geo_opts(da) if geo else {})}
    colorbar_opts = kwargs.pop("colorbar_opts", None)
    opts.update(kwargs)
    _fit_ticks(opts)
    da = for_display(da, _width(opts), categorical=categorical)
    plot = da.hvplot.image(**opts)
    return plot.opts(colorbar_opts=colorbar_opts) if colorbar_opts else plot


def image(da: xr.DataArray, title: str = "", degrees: bool | None = None, **kwargs: Any) -> Any:
    """Plot a (y, x) array as an interactive map with axes, sized for the book's column.

    The values are thinned to the map's width first (block means, :func:`for_display`).

    Parameters
    ----------
    da : xr.DataArray
        The values to show, over ``(y, x)``.
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (hvplot's ``geo=True`` with the data's
        CRS, :func:`geo_opts`; needs a CRS). Default: whenever ``da`` has a CRS; else the
        grid's own coordinates (:data:`MAP_OPTS`).
    **kwargs : Any
        Options for ``hvplot.image``, on top of (or replacing) these defaults; ``colorbar_opts``
        goes to the plot's ``.opts``.

    Returns
    -------
    holoviews.Image or geoviews.Image
        The map (a GeoViews image in the data's CRS when in degrees): displayed when it is a
        notebook cell's last value.

    Raises
    ------
    ValueError
        If ``degrees`` is asked for data without a CRS.

    Examples
    --------
    Displaying the map needs a notebook (a browser); building it does not:

    >>> import numpy as np, xarray as xr
    >>> nir = xr.DataArray([[0.02, 0.3, 0.25], [0.01, 0.28, np.nan]], dims=("y", "x"),
    ...                    coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]}, name="nir08")
    >>> plot = image(nir, title="NIR")
    >>> type(plot).__name__, plot.opts["title"], tuple(map(float, plot.range("nir08")))
    ('Image', 'NIR', (0.01, 0.3))
    >>> plot.opts["xlabel"]  # no CRS: the grid's own axes
    'x (m)'
    """
    return _map(da, title, degrees, categorical=False, **kwargs)


def rgb(ds: xr.Dataset, title: str = "", degrees: bool | None = None, **kwargs: Any) -> Any:
    """Plot the red, green and blue bands as an interactive true-colour map.

    The bands are thinned to the map's width first (block means, :func:`for_display`).

    Parameters
    ----------
    ds : xr.Dataset
        Scaled reflectance with ``red``, ``green`` and ``blue`` (see :func:`true_color`).
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`; default: whenever
        ``ds`` has a CRS); outside the scene's footprint is transparent.
    **kwargs : Any
        Options for ``hvplot.rgb``, on top of (or replacing) :data:`MAP_OPTS`.

    Returns
    -------
    holoviews.RGB or geoviews.RGB
        The map: displayed when it is a notebook cell's last value.

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the three bands.

    Examples
    --------
    Displaying the map needs a notebook (a browser); building it does not:

    >>> import numpy as np, xarray as xr
    >>> refl = [[0.02, 0.1, 0.3], [0.05, np.nan, 0.2]]
    >>> ds = xr.Dataset({b: (("y", "x"), refl) for b in ("red", "green", "blue")},
    ...                 coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> plot = rgb(ds, title="Walker Lake 2017")
    >>> type(plot).__name__, plot.opts["title"], [d.name for d in plot.vdims]
    ('RGB', 'Walker Lake 2017', ['R', 'G', 'B'])
    """
    _hvplot()

    require_bands(ds, ("red", "green", "blue"), "true colour")
    geo = _degrees(ds, degrees)
    opts = {**MAP_OPTS, "bands": "rgb", **(geo_opts(ds, hover=False) if geo else {})}
    opts.update(kwargs)
    _fit_ticks(opts)
    bands = for_display(ds[["red", "green", "blue"]], _width(opts))
    y, x = bands.odc.spatial_dims
    image = true_color(bands.rename({y: "y", x: "x"})).rename({"y": y, "x": x})
    if geo:
        image, opts = _projected_rgb(image, opts)
    return image.hvplot.rgb(title=title, **opts)


def _projected_rgb(image: xr.DataArray, opts: dict[str, Any]) -> tuple[xr.DataArray, dict]:
    """Project an RGB image onto its map's projection with GeoViews, once for all bands.

    GeoViews would project an RGB map when it is drawn, as it does an image, but one band at
    a time (three nearest-neighbour regrids), and HoloViews' RGB plot then drops the mask
    GeoViews puts on the pixels outside the data's footprint, drawing the edge pixels'
    colours there. So the map is projected here: GeoViews' ``project_image`` projects the
    index of each pixel (one regrid); each projected pixel takes the colour of the pixel whose
    index it got, NaN (transparent) outside the footprint. The returned options draw it as
    it is (its CRS is the projection's).
    """
    from geoviews.operation import project_image

    y, x = image.dims[:2]
    ny, nx, nbands = image.shape
    index = xr.DataArray(
        np.arange(ny * nx, dtype="float64").reshape(ny, nx),
        coords={y: image[y].values, x: image[x].values},
        dims=(y, x),
        name="index",
    )
    source = index.hvplot.image(x=x, y=y, geo=True, crs=opts["crs"], projection=opts["crs"])
    projected = project_image(source, projection=opts["projection"])
    data = projected.data  # an xarray Dataset: "index" over (y, x), NaN outside the footprint
    found: np.ndarray = np.ma.filled(np.ma.asarray(data["index"].transpose(y, x).values), np.nan)
    inside = np.isfinite(found)
    colours = np.full((*found.shape, nbands), np.nan, dtype="float32")
    colours[inside] = image.values.reshape(ny * nx, nbands)[found[inside].astype(np.int64)]
    shown = xr.DataArray(
        colours,
        coords={"latitude": data[y].values, "longitude": data[x].values, "rgb": image.rgb.values},
        dims=("latitude", "longitude", "rgb"),
        name=image.name,
    )
    return shown, {**opts, "x": "longitude", "y": "latitude", "crs": opts["projection"]}


def categories(
    da: xr.DataArray,
    classes: dict[int, tuple[str, str]],
    title: str = "",
    degrees: bool | None = None,
    legend: bool = True,
    **kwargs: Any,
) -> Any:
    """Plot a map of classes (codes) with one named colour each, and a legend of the names.

    The legend is the map's colour bar, one block per class labelled with its name (not a
    numeric scale). Values not in ``classes`` (and NaN) are transparent. The codes are thinned
    to the map's width first by nearest neighbour (:func:`for_display`): a class stays a class.

    Parameters
    ----------
    da : xr.DataArray
        Integer codes over ``(y, x)``.
    classes : dict of int to (str, str)
        For each code, its name and colour, in the legend's order (bottom to top).
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`).
    legend : bool
        Draw the legend (take :data:`LEGEND_PX` more room); off for a panel whose neighbour
        carries the same legend.
    **kwargs : Any
        Options for ``hvplot.image`` (see :func:`image`).

    Returns
    -------
    holoviews.Image
        The map of class positions 0 .. n - 1 (the legend names them).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray([[1.0, 0.0, np.nan], [1.0, 1.0, 0.0]], dims=("y", "x"),
    ...                     coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> plot = categories(mask.fillna(-1), WATER_CLASSES, title="water")
    >>> plot.opts["cmap"] == [NO_DATA, DRY, WATER], plot.range("class")
    (True, (-0.5, 2.5))
    >>> plot.opts["colorbar_opts"]["major_label_overrides"]
    {0: 'no data', 1: 'dry', 2: 'water'}
    """
    from bokeh.models import FixedTicker

    codes = list(classes)
    shown = xr.full_like(da, np.nan, dtype="float32")
    for position, code in enumerate(codes):
        shown = shown.where(da != code, float(position))
    opts: dict[str, Any] = {
        "cmap": [classes[c][1] for c in codes],
        "clim": (-0.5, len(codes) - 0.5),
        "colorbar": legend,
        "clabel": "",
    }
    if legend:
        opts["colorbar_opts"] = {
            "ticker": FixedTicker(ticks=list(range(len(codes)))),
            "major_label_overrides": {i: classes[c][0] for i, c in enumerate(codes)},
            "major_tick_line_color": None,
            "width": 14,
        }
    opts.update(kwargs)
    plot = _map(shown.rename(da.name or "class"), title, degrees, categorical=True, **opts)
    # As a plot option, not only the dimension's range hvplot sets: in a layout HoloViews
    # gives every map of the same dimension ("cluster") the union of their ranges, which
    # drew k = 2's clusters in the colours of k = 8's first two classes.
    return plot.opts(clim=opts["clim"])


def water_mask(
    da: xr.DataArray, title: str = "", degrees: bool | None = None, **kwargs: Any
) -> Any:
    """Plot a water mask (1 water, 0 dry, NaN no data) with the legend water / dry / no data.

    Parameters
    ----------
    da : xr.DataArray
        1 where water, 0 where dry, NaN (or -1) where no data, over ``(y, x)``.
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`).
    **kwargs : Any
        Options of :func:`categories`.

    Returns
    -------
    holoviews.Image
        The map, colours :data:`WATER_CLASSES`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> mask = xr.DataArray([[1.0, 0.0, np.nan], [1.0, 1.0, 0.0]], dims=("y", "x"),
    ...                     coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> water_mask(mask, title="2017").opts["cmap"][-1] == WATER
    True
    """
    return categories(da.fillna(-1), WATER_CLASSES, title, degrees=degrees, **kwargs)


def cluster_classes(ids: Any, water: Any = ()) -> dict[int, tuple[str, str]]:
    """Names and colours of cluster ids: the water clusters in :data:`WATER`, named so.

    Every other cluster takes a colour of :data:`CLUSTER_COLORS` by its id, so that a cluster
    id keeps its colour from map to map.

    Parameters
    ----------
    ids : iterable of int
        The cluster ids (-1, no data, is left out).
    water : iterable of int
        The ids of the clusters named water.

    Returns
    -------
    dict of int to (str, str)
        For :func:`categories`.

    Examples
    --------
    >>> cluster_classes([0, 1, 2, -1], water=[2])
    {0: ('0', '#ff7f0e'), 1: ('1', '#2ca02c'), 2: ('2 water', '#2171b5')}
    """
    wet = {int(w) for w in water}
    return {
        int(c): (f"{int(c)} water", WATER)
        if int(c) in wet
        else (str(int(c)), CLUSTER_COLORS[int(c) % len(CLUSTER_COLORS)])
        for c in sorted({int(i) for i in ids})
        if c >= 0
    }


def labels(
    da: xr.DataArray,
    title: str = "",
    degrees: bool | None = None,
    water: Any = (),
    **kwargs: Any,
) -> Any:
    """Plot cluster labels as an interactive map, with a legend of the cluster ids.

    Parameters
    ----------
    da : xr.DataArray
        Integer labels over ``(y, x)``, -1 where no data (as from
        :func:`lakeml.reshape.from_samples` of :func:`lakeml.cluster.spectral_clustering`).
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`).
    water : iterable of int
        The clusters named water: drawn in :data:`WATER` and named in the legend.
    **kwargs : Any
        Options of :func:`categories`.

    Returns
    -------
    holoviews.Image
        The map, no-data pixels transparent: displayed when it is a notebook cell's last value.

    Examples
    --------
    Displaying the map needs a notebook (a browser); building it does not:

    >>> import numpy as np, xarray as xr
    >>> lab = xr.DataArray([[0, 1, 2], [1, -1, 0]], dims=("y", "x"),
    ...                    coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> plot = labels(lab, title="3 clusters", water=[1])
    >>> plot.opts["cmap"][1] == WATER, int(np.isnan(plot.dimension_values(2)).sum())
    (True, 1)
    >>> plot.opts["colorbar_opts"]["major_label_overrides"]
    {0: '0', 1: '1 water', 2: '2'}
    """
    classes = cluster_classes(np.unique(np.asarray(da)), water)
    opts = {"clabel": "cluster", **kwargs}
    return categories(da, classes, title, degrees=degrees, **opts)


def change(da: xr.DataArray, title: str = "", degrees: bool | None = None, **kwargs: Any) -> Any:
    """Plot change codes as an interactive map, a named colour per code.

    Parameters
    ----------
    da : xr.DataArray
        Change codes 0-4 over ``(y, x)``, from :func:`lakeml.water.change_map`.
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`); outside the grid's
        footprint is transparent.
    **kwargs : Any
        Options of :func:`categories`.

    Returns
    -------
    holoviews.Image
        The map, colours :data:`CHANGE_COLORS`, legend the names of
        :data:`lakeml.water.CHANGE_CODES`: displayed when it is a notebook cell's last value.

    Examples
    --------
    Displaying the map needs a notebook (a browser); building it does not:

    >>> import numpy as np, xarray as xr
    >>> codes = xr.DataArray(np.array([[0, 1, 2], [3, 4, 4]], "uint8"), dims=("y", "x"),
    ...                      coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> plot = change(codes, title="1988 -> 2017")
    >>> plot.opts["cmap"][2], plot.opts["colorbar_opts"]["major_label_overrides"][2]
    ('#d7301f', 'water lost')

    With a CRS: a GeoViews map in the data's own CRS, drawn in longitude and latitude (Plate
    Carree), which the hover shows:

    >>> import odc.geo.xr
    >>> from odc.geo.geobox import GeoBox
    >>> grid = GeoBox.from_bbox((353010, 4283910, 353100, 4284000), "EPSG:32611", resolution=30)
    >>> codes = odc.geo.xr.xr_zeros(grid, dtype="uint8") + 4  # water on both dates
    >>> plot = change(codes, title="1988 -> 2017")
    >>> plot.crs.to_epsg(), type(plot.opts["projection"]).__name__, plot.opts["xlabel"]
    (32611, 'PlateCarree', 'longitude (°)')
    >>> plot.opts["hover_tooltips"][0]
    ('longitude (°)', '$x{0.0000}')
    """
    classes = {code: (CHANGE_CODES[code], CHANGE_COLORS[code]) for code in sorted(CHANGE_CODES)}
    return categories(da, classes, title, degrees=degrees, **kwargs)


def save_change_png(change_da: xr.DataArray, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write a static PNG of a change map with a legend (matplotlib, atomically).

    Parameters
    ----------
    change_da : xr.DataArray
        Change codes 0-4 over ``(y, x)``, from :func:`lakeml.water.change_map`.
    path : str or os.PathLike
        The PNG file to write (see :func:`lakeml.files.atomic_write`).
    title : str
        The figure's title.

    Returns
    -------
    Path
        ``path``: a 720 x 840 pixel PNG (6 x 7 inches at 120 dpi).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np, xarray as xr
    >>> codes = xr.DataArray(np.array([[0, 1, 2], [3, 4, 4]], "uint8"), dims=("y", "x"),
    ...                      coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_change_png(codes, Path(tmp.name, "change.png"), title="1988 -> 2017")
    >>> import matplotlib.image
    >>> path.name, path.read_bytes()[1:4], matplotlib.image.imread(path).shape
    ('change.png', b'PNG', (840, 720, 4))
    >>> tmp.cleanup()
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    path = Path(path)
    codes = sorted(CHANGE_CODES)
    cmap = ListedColormap([CHANGE_COLORS[k] for k in codes])
    fig, ax = plt.subplots(figsize=(6, 7), dpi=120)
    x, y = change_da.x.values, change_da.y.values
    extent = (x.min(), x.max(), y.min(), y.max())
    ax.imshow(
        np.asarray(change_da),
        cmap=cmap,
        vmin=-0.5,
        vmax=4.5,
        extent=extent,
        interpolation="nearest",
    )
    ax.set_title(title)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.legend(
        handles=[Patch(color=CHANGE_COLORS[k], label=CHANGE_CODES[k]) for k in codes[1:]],
        loc="lower left",
        fontsize=8,
    )
    fig.tight_layout()
    return _save(fig, path)


MARKERS = {"landsat-4": "v", "landsat-5": "o", "landsat-7": "s", "landsat-8": "D", "landsat-9": "^"}
"""Matplotlib marker per mission in :func:`save_area_png`."""

COLORS = {
    "landsat-4": "#7f7f7f",
    "landsat-5": "#1f77b4",
    "landsat-7": "#ff7f0e",
    "landsat-8": "#2ca02c",
    "landsat-9": "#d62728",
}
"""Colour per mission in :func:`save_area_png`."""


def save_area_png(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    title: str = "",
    trend_line: dict[str, float] | None = None,
) -> Path:
    """Write a static PNG of lake area per year (matplotlib, atomically).

    Mission markers, partly observed years hollow, missing years ticked at the bottom, the
    trend line and (when the table has it) the sample's truth.

    Parameters
    ----------
    table : pd.DataFrame
        One row per year: ``year``, ``water_km2`` (NaN if missing), ``platform`` and
        ``partial`` (bool); optionally ``truth_water_km2``.
    path : str or os.PathLike
        The PNG file to write (see :func:`lakeml.files.atomic_write`).
    title : str
        The figure's title.
    trend_line : dict of str to float, optional
        ``km2_per_decade`` and ``intercept_km2`` (as from
        :func:`lakeml.trend.trend`), drawn dashed when the slope is finite.

    Returns
    -------
    Path
        ``path``: a 960 x 504 pixel PNG (8 x 4.2 inches at 120 dpi).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> table = pd.DataFrame({"year": [2016, 2017, 2018], "water_km2": [140.0, 138.5, None],
    ...                       "platform": ["landsat-8"] * 3, "partial": [False, True, False]})
    >>> trend_line = {"km2_per_decade": -15.0, "intercept_km2": 3164.0}
    >>> import matplotlib.image
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_area_png(table, f"{tmp}/lake_area.png", "Walker Lake", trend_line)
    ...     print(path.name, path.stat().st_size > 10_000, matplotlib.image.imread(path).shape)
    lake_area.png True (504, 960, 4)
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    if "truth_water_km2" in table and table["truth_water_km2"].notna().any():
        t = table[table["truth_water_km2"].notna()]
        ax.plot(
            t["year"], t["truth_water_km2"], color="#bbbbbb", lw=3, zorder=1, label="truth (sample)"
        )
    for platform, rows in table[table["water_km2"].notna()].groupby("platform"):
        full = rows[~rows["partial"].astype(bool)]
        part = rows[rows["partial"].astype(bool)]
        color, marker = COLORS.get(platform, "k"), MARKERS.get(platform, "o")
        if len(full):
            ax.scatter(
                full["year"],
                full["water_km2"],
                color=color,
                marker=marker,
                zorder=3,
                label=platform,
            )
        if len(part):
            ax.scatter(
                part["year"],
                part["water_km2"],
                facecolors="none",
                edgecolors=color,
                marker=marker,
                zorder=3,
                label=f"{platform}, partly observed",
            )
    if trend_line is not None and np.isfinite(trend_line.get("km2_per_decade", np.nan)):
        xs = np.array([table["year"].min(), table["year"].max()], dtype=float)
        ax.plot(
            xs,
            trend_line["km2_per_decade"] / 10 * xs + trend_line["intercept_km2"],
            color="k",
            ls="--",
            lw=1,
            zorder=2,
            label=f"trend {trend_line['km2_per_decade']:+.1f} km²/decade",
        )
    gaps = table[table["water_km2"].isna()]
    if len(gaps):
        ymin = np.nanmin(table[["water_km2"]].to_numpy(float))
        ax.scatter(
            gaps["year"],
            np.full(len(gaps), ymin * 0.97),
            marker="x",
            color="k",
            zorder=3,
            label="missing",
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("water area (km²)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    return _save(fig, Path(path))


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
