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
import xarray as xr

from lakeml.files import atomic_write
from lakeml.water import CHANGE_CODES

CHANGE_COLORS = {
    0: "#ffffff",
    1: "#e8dcc0",
    2: "#d7301f",
    3: "#2c7fb8",
    4: "#08306b",
}
"""Colours of the change codes: no data, dry both, water lost, water gained, water both."""

MAP_OPTS = {
    "x": "x",
    "y": "y",
    "data_aspect": 1,
    "frame_width": 400,
    "xaxis": None,
    "yaxis": None,
}
"""Defaults of the interactive maps: square pixels, a width that fits the book's column, no axes
(the coordinates are UTM metres; hover shows them)."""


def offline() -> None:
    """Embed BokehJS and Panel's JS/CSS in notebook outputs instead of loading them from a CDN.

    Example
    -------
    >>> offline()
    """
    import holoviews as hv
    import panel as pn

    hv.extension.inline = True
    pn.config.inline = True


def _hvplot() -> None:
    """Register the ``.hvplot`` accessor once.

    hvplot drops ``hvplot.xarray`` from ``sys.modules`` after each notebook cell, so importing
    it again in every call would embed BokehJS (several MB) in every cell's output.
    """
    if not hasattr(xr.DataArray, "hvplot"):
        import hvplot.xarray  # noqa: F401


def true_color(ds: xr.Dataset, gamma: float = 1 / 2.2, clip: float = 0.3) -> xr.DataArray:
    """An RGB image (y, x, rgb) in 0..1 from red, green, blue reflectance; NaN pixels white.

    ``clip`` is the reflectance shown as full brightness; ``gamma`` brightens dark land.

    Example
    -------
    >>> rgb = true_color(ds)  # doctest: +SKIP
    >>> rgb.dims  # doctest: +SKIP
    ('y', 'x', 'rgb')
    """
    for band in ("red", "green", "blue"):
        if band not in ds:
            raise ValueError(f"true colour needs the {band!r} band; the dataset has {list(ds)}")
    rgb = ds[["red", "green", "blue"]].to_array("rgb").transpose("y", "x", "rgb")
    rgb = (rgb.clip(0, clip) / clip) ** gamma
    rgb = rgb.fillna(1.0).astype("float32")
    return rgb.assign_coords(rgb=["red", "green", "blue"]).rename("true_color")


def image(da: xr.DataArray, title: str = "", **kwargs: Any) -> Any:
    """An interactive map of a (y, x) array with equal aspect, sized to fit the book column.

    Example
    -------
    >>> image(ds.nir08, title="NIR")  # doctest: +SKIP
    """
    _hvplot()

    opts = {**MAP_OPTS, "title": title}
    opts.update(kwargs)
    return da.hvplot.image(**opts)


def rgb(ds: xr.Dataset, title: str = "", **kwargs: Any) -> Any:
    """An interactive true-colour map (see :func:`true_color`).

    Example
    -------
    >>> rgb(ds, title="Walker Lake 2017")  # doctest: +SKIP
    """
    _hvplot()

    opts = {**MAP_OPTS, "bands": "rgb"}
    opts.update(kwargs)
    return true_color(ds).hvplot.rgb(title=title, **opts)


def labels(da: xr.DataArray, title: str = "", **kwargs: Any) -> Any:
    """An interactive map of cluster labels (categorical colours, no-data -1 transparent).

    Example
    -------
    >>> labels(label_image, title="4 clusters")  # doctest: +SKIP
    """
    _hvplot()

    shown = da.where(da >= 0)
    opts = {
        **MAP_OPTS,
        "cmap": "Category10",
        "colorbar": True,
        "title": title,
    }
    opts.update(kwargs)
    return shown.hvplot.image(**opts)


def change(da: xr.DataArray, title: str = "", **kwargs: Any) -> Any:
    """An interactive map of change codes with a fixed colour per code.

    Example
    -------
    >>> change(change_map, title="1988 -> 2017")  # doctest: +SKIP
    """
    _hvplot()

    cmap = [CHANGE_COLORS[k] for k in sorted(CHANGE_COLORS)]
    opts = {
        **MAP_OPTS,
        "cmap": cmap,
        "clim": (-0.5, 4.5),
        "colorbar": True,
        "title": title,
    }
    opts.update(kwargs)
    return da.astype("float32").hvplot.image(**opts)


def save_change_png(change_da: xr.DataArray, path: str | os.PathLike[str], title: str = "") -> Path:
    """Write a static PNG of a change map with a legend (matplotlib, atomically).

    Example
    -------
    >>> save_change_png(change_map, "out/change.png")  # doctest: +SKIP
    PosixPath('out/change.png')
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
    ax.imshow(np.asarray(change_da), cmap=cmap, vmin=-0.5, vmax=4.5, extent=extent,
              interpolation="nearest")
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


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
