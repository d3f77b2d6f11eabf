"""Plots: interactive hvplot figures that render offline, and static PNGs for the command.

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
latitude instead (:func:`to_lonlat`, :func:`degree_opts`).

Why not hvplot's ``geo=True`` with the data's own CRS (GeoViews, cartopy): it renders
offline in Chromium (no tiles or features), but measured on this book's machine (2 cores) one
map of the 1,071,600-pixel Walker Lake scene took 2.1 s to build with ``geo=True``
(GeoViews projects every pixel in Python when the figure is made) against 0.16 s with
:func:`to_lonlat` (odc-geo's nearest-neighbour warp) and 0.08 s unprojected; notebook 03 alone
draws 14 maps, and each notebook must run in under a minute. GeoViews' Plate Carree also draws
a degree of longitude as long as a degree of latitude (the lake 1.28 times too wide at 38.7 N)
unless the aspect is set by hand, as :func:`degree_opts` does."""
LONLAT_CRS = "EPSG:4326"
"""The CRS maps are drawn in with ``degrees=True``: longitude and latitude on WGS 84."""


def to_lonlat(obj: Any, resampling: str = "nearest") -> Any:
    """Reproject a gridded array or dataset to longitude/latitude degrees, for display.

    The pixels are resampled (``nearest`` by default: each value is one of the input's, so
    labels and codes stay labels and codes); measure areas on the input's own grid, not on this
    one. Pixels outside the input's footprint are NaN for float data.

    Parameters
    ----------
    obj : xr.DataArray or xr.Dataset
        Data over ``(y, x)`` with a CRS (odc-geo's ``.odc.crs``), e.g. from
        :func:`lakeml.load.load_scene`.
    resampling : str
        The resampling method (``nearest``, ``bilinear``, ...).

    Returns
    -------
    xr.DataArray or xr.Dataset
        The same variables over ``(latitude, longitude)`` in degrees (:data:`LONLAT_CRS`).

    Raises
    ------
    ValueError
        If ``obj`` has no CRS.

    Examples
    --------
    >>> import numpy as np, odc.geo.xr
    >>> from odc.geo.geobox import GeoBox
    >>> grid = GeoBox.from_bbox((353010, 4283910, 353100, 4284000), "EPSG:32611", resolution=30)
    >>> water = odc.geo.xr.xr_zeros(grid, dtype="float32")  # 3 x 3 pixels of 30 m, UTM 11N
    >>> shown = to_lonlat(water)
    >>> shown.dims, shown.odc.crs.epsg
    (('latitude', 'longitude'), 4326)
    >>> [round(float(v), 3) for v in (shown.longitude.mean(), shown.latitude.mean())]
    [-118.69, 38.692]
    """
    if obj.odc.crs is None:
        raise ValueError("the data have no CRS: load them with lakeml.load.load_scene")

    def nan_outside(da: xr.DataArray) -> xr.DataArray:
        # odc-geo fills outside the footprint with the array's "nodata" attribute, which a
        # float array can inherit from the scene (nodata 1 drew a frame of class 1 on a map)
        return da.assign_attrs(nodata=np.nan) if da.dtype.kind == "f" else da

    if isinstance(obj, xr.Dataset):
        return obj.map(nan_outside, keep_attrs=True).odc.reproject(
            LONLAT_CRS, resampling=resampling
        )
    return nan_outside(obj).odc.reproject(LONLAT_CRS, resampling=resampling)


def degree_opts(da: Any, hover: bool = True) -> dict[str, Any]:
    """Options of a map in degrees: axes labelled in degrees, undistorted, lon/lat in the hover.

    ``data_aspect`` is 1 / cos(latitude) at the map's middle latitude, so that a degree of
    latitude is drawn longer than a degree of longitude by as much as it is on the ground.

    Parameters
    ----------
    da : xr.DataArray or xr.Dataset
        Data over ``(latitude, longitude)``, as from :func:`to_lonlat`.
    hover : bool
        Add hover tooltips showing longitude and latitude to 4 decimals (about 10 m) and the
        pixel's value (for an image; an RGB map keeps hvplot's own hover).

    Returns
    -------
    dict
        Options for ``hvplot.image`` / ``hvplot.rgb``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 2)), dims=("latitude", "longitude"),
    ...                   coords={"latitude": [60.5, 59.5], "longitude": [10.0, 11.0]})
    >>> opts = degree_opts(da)
    >>> opts["x"], opts["xlabel"], round(opts["data_aspect"], 2)  # 1 / cos(60 degrees)
    ('longitude', 'longitude (°)', 2.0)
    """
    lat = float(np.mean([da.latitude.min(), da.latitude.max()]))
    opts: dict[str, Any] = {
        "x": "longitude",
        "y": "latitude",
        "data_aspect": float(1 / np.cos(np.radians(lat))),
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
    if opts.get("x") == "longitude" and width is not None and "xticks" not in opts:
        opts["xticks"] = 2 if width < 200 else 3 if width < 320 else 5


def image(da: xr.DataArray, title: str = "", degrees: bool | None = None, **kwargs: Any) -> Any:
    """Plot a (y, x) array as an interactive map with axes, sized for the book's column.

    Parameters
    ----------
    da : xr.DataArray
        The values to show, over ``(y, x)``.
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (:func:`to_lonlat`, :func:`degree_opts`;
        nearest-neighbour resampling; needs a CRS). Default: whenever ``da`` has a CRS; else
        the grid's own coordinates (:data:`MAP_OPTS`).
    **kwargs : Any
        Options for ``hvplot.image``, on top of (or replacing) these defaults; ``colorbar_opts``
        goes to the plot's ``.opts``.

    Returns
    -------
    holoviews.Image
        The map: displayed when it is a notebook cell's last value.

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
    _hvplot()

    opts = {**MAP_OPTS, "title": title}
    if _degrees(da, degrees):
        da = to_lonlat(da)
        opts.update(degree_opts(da))
    colorbar_opts = kwargs.pop("colorbar_opts", None)
    opts.update(kwargs)
    _fit_ticks(opts)
    plot = da.hvplot.image(**opts)
    return plot.opts(colorbar_opts=colorbar_opts) if colorbar_opts else plot


def rgb(ds: xr.Dataset, title: str = "", degrees: bool | None = None, **kwargs: Any) -> Any:
    """Plot the red, green and blue bands as an interactive true-colour map.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled reflectance with ``red``, ``green`` and ``blue`` (see :func:`true_color`).
    title : str
        The map's title.
    degrees : bool, optional
        Draw the map in longitude/latitude degrees (see :func:`image`; default: whenever
        ``ds`` has a CRS); outside the scene's footprint is white.
    **kwargs : Any
        Options for ``hvplot.rgb``, on top of (or replacing) :data:`MAP_OPTS`.

    Returns
    -------
    holoviews.RGB
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

    opts = {**MAP_OPTS, "bands": "rgb"}
    if not _degrees(ds, degrees):
        opts.update(kwargs)
        return true_color(ds).hvplot.rgb(title=title, **opts)
    require_bands(ds, ("red", "green", "blue"), "true colour")
    shown = to_lonlat(ds[["red", "green", "blue"]])
    opts.update(degree_opts(shown, hover=False))
    opts.update(kwargs)
    _fit_ticks(opts)
    image = true_color(shown.rename(latitude="y", longitude="x"))
    image = image.rename(y="latitude", x="longitude")
    return image.hvplot.rgb(title=title, **opts)


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
    numeric scale). Values not in ``classes`` (and NaN) are transparent.

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
    plot = image(shown.rename(da.name or "class"), title, degrees=degrees, **opts)
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

    In degrees (the array needs a CRS): axes in longitude and latitude, shown in the hover:

    >>> import odc.geo.xr
    >>> from odc.geo.geobox import GeoBox
    >>> grid = GeoBox.from_bbox((353010, 4283910, 353100, 4284000), "EPSG:32611", resolution=30)
    >>> codes = odc.geo.xr.xr_zeros(grid, dtype="uint8") + 4  # water on both dates
    >>> plot = change(codes, title="1988 -> 2017")
    >>> [d.name for d in plot.kdims], plot.opts["xlabel"], plot.opts["hover_tooltips"][0]
    (['longitude', 'latitude'], 'longitude (°)', ('longitude (°)', '$x{0.0000}'))
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
