"""Cache: downloaded scenes kept on disk, so a rerun or a restarted notebook reads no pixel twice.

A cached scene is one deflated GeoTIFF of the raw ``uint16`` bands (before scaling and masking,
so the cache holds exactly what the COGs hold), named by the item and a hash of what was
loaded (:func:`scene_key`). Files are written to a temporary name and renamed
(:func:`lakeml.files.atomic_write`): a run killed mid-write leaves no half-written scene.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pystac
import xarray as xr

from lakeml.files import atomic_write, sweep_temporary

CACHE_VERSION = "1"
"""Bump to invalidate every cached scene (e.g. when what is cached changes)."""


def cache_dir() -> Path:
    """Return the folder of cached scenes: ``$LAKEML_CACHE_DIR``, else ``~/.cache/lakeml/scenes``.

    Returns
    -------
    pathlib.Path
        The folder (not created here: :func:`write_cached` creates it).

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"LAKEML_CACHE_DIR": "/data/lakeml-scenes"}):
    ...     cache_dir()
    PosixPath('/data/lakeml-scenes')
    >>> with mock.patch.dict(os.environ, {"LAKEML_CACHE_DIR": ""}):
    ...     cache_dir() == Path.home() / ".cache" / "lakeml" / "scenes"
    True
    """
    env = os.environ.get("LAKEML_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "lakeml" / "scenes"


def scene_key(item: pystac.Item, bands: Sequence[str], where: dict[str, Any]) -> str:
    """Hash what defines a loaded scene: item, bands and grid (bbox and resolution, or geobox).

    Parameters
    ----------
    item : pystac.Item
        The scene; its id and its ``updated`` (else ``created``) time are hashed, so a
        reprocessed scene is downloaded again.
    bands : sequence of str
        The assets loaded, in order.
    where : dict
        The grid, as :func:`lakeml.load.load_scene` passes it to odc-stac: ``bbox`` and
        ``resolution``, or ``geobox``.

    Returns
    -------
    str
        16 hexadecimal digits, part of the cached file's name; also changed by
        :data:`CACHE_VERSION`.

    Examples
    --------
    >>> import datetime as dt
    >>> item = pystac.Item("LC08_DEMO", None, None, dt.datetime(2017, 7, 1),
    ...                    {"created": "2017-07-10T00:00:00Z"})
    >>> bbox = (-118.89, 38.54, -118.57, 38.84)
    >>> scene_key(item, ["red"], {"bbox": bbox, "resolution": 30})
    'b00b062bc95c270b'
    >>> scene_key(item, ["red"], {"bbox": bbox, "resolution": 60})  # another grid
    '3bb1325cef7b3dcc'
    """
    spec = {
        "v": CACHE_VERSION,
        "item": item.id,
        "updated": item.properties.get("updated") or item.properties.get("created"),
        "bands": list(bands),
        "where": {k: repr(v) for k, v in sorted(where.items())},
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def write_cached(raw: xr.Dataset, path: Path) -> None:
    """Write the raw (uint16) bands as one deflated GeoTIFF, to a temporary name then renamed.

    The pixels are computed here (a lazy dataset is downloaded). Each band's name and
    ``nodata`` attr, and the ``time`` coordinate, are kept in the file's tags for
    :func:`read_cached`. Temporary files left in the folder by runs killed mid-write are
    removed first.

    Parameters
    ----------
    raw : xr.Dataset
        The bands as odc-stac loaded them, on one grid with a CRS (``raw.odc.geobox``).
    path : pathlib.Path
        The GeoTIFF to write; its folder is created if needed.

    Examples
    --------
    A 2 x 3 scene with a CRS, written to a temporary folder:

    >>> import tempfile
    >>> import rasterio
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> grid = GeoBox.from_bbox((336000, 4286010, 336090, 4286070), "EPSG:32611", resolution=30)
    >>> red = wrap_xr(np.array([[0, 9091, 9455], [10000, 10364, 10727]], "uint16"), grid)
    >>> raw = xr.Dataset({"red": red.assign_attrs(nodata=0)})
    >>> folder = tempfile.TemporaryDirectory()
    >>> write_cached(raw, Path(folder.name) / "LC08_DEMO_b00b062bc95c270b.tif")
    >>> with rasterio.open(Path(folder.name) / "LC08_DEMO_b00b062bc95c270b.tif") as src:
    ...     src.descriptions, src.dtypes, src.compression.value, src.crs.to_epsg()
    (('red',), ('uint16',), 'DEFLATE', 32611)
    >>> folder.cleanup()
    """
    import rasterio

    names = list(raw.data_vars)
    data = raw.to_array("band").values  # the download happens here
    gbox = raw.odc.geobox
    profile = {
        "driver": "GTiff",
        "width": gbox.width,
        "height": gbox.height,
        "count": len(names),
        "dtype": str(data.dtype),
        "crs": str(gbox.crs),
        "transform": gbox.transform,
        "compress": "deflate",
        "predictor": 2,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    sweep_temporary(path.parent)  # left by runs killed mid-write

    def write(tmp: str) -> None:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            dst.descriptions = tuple(names)
            for i, name in enumerate(names, 1):
                nodata = raw[name].attrs.get("nodata")
                dst.update_tags(i, name=name, nodata="" if nodata is None else str(nodata))
            dst.update_tags(time=str(raw.time.values) if "time" in raw.coords else "")

    atomic_write(path, write)


def read_cached(path: Path, chunks: dict[str, int]) -> xr.Dataset:
    """Read a scene written by :func:`write_cached`, lazily, as odc-stac would have loaded it.

    Parameters
    ----------
    path : pathlib.Path
        The cached GeoTIFF.
    chunks : dict of str to int
        Dask chunks of each band, e.g. ``{"x": 2048, "y": 2048}``.

    Returns
    -------
    xr.Dataset
        One dask-backed variable per band, under its name, with its ``nodata`` attr (if it had
        one); the file's CRS; the scene's ``time`` as a scalar coordinate (if it was written).

    Examples
    --------
    A round trip of a 2 x 3 scene with a CRS through a temporary folder:

    >>> import tempfile
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> grid = GeoBox.from_bbox((336000, 4286010, 336090, 4286070), "EPSG:32611", resolution=30)
    >>> red = wrap_xr(np.array([[0, 9091, 9455], [10000, 10364, 10727]], "uint16"), grid)
    >>> qa = wrap_xr(np.full((2, 3), 21824, "uint16"), grid)
    >>> raw = xr.Dataset({"red": red.assign_attrs(nodata=0), "qa_pixel": qa.assign_attrs(nodata=1)})
    >>> raw = raw.assign_coords(time=np.datetime64("2017-07-01T18:20:00"))
    >>> folder = tempfile.TemporaryDirectory()
    >>> write_cached(raw, Path(folder.name) / "scene.tif")
    >>> back = read_cached(Path(folder.name) / "scene.tif", {"x": 2048, "y": 2048})
    >>> list(back.data_vars), back.red.values.tolist(), back.red.attrs
    (['red', 'qa_pixel'], [[0, 9091, 9455], [10000, 10364, 10727]], {'nodata': 0})
    >>> back.odc.crs.epsg, str(back.time.values)
    (32611, '2017-07-01T18:20:00')
    >>> folder.cleanup()
    """
    import rasterio
    import rioxarray

    with rasterio.open(path) as src:
        tags = [src.tags(i) for i in range(1, src.count + 1)]
        when = src.tags().get("time", "")
    # one GeoTIFF opens as one DataArray (a list or a Dataset only for subdatasets)
    arr = cast(
        xr.DataArray, rioxarray.open_rasterio(path, chunks={"band": 1, **chunks}, lock=False)
    )
    out = {}
    for i, tag in enumerate(tags):
        da = arr.isel(band=i, drop=True)
        da.attrs = {"nodata": int(tag["nodata"])} if tag.get("nodata") else {}
        out[tag["name"]] = da
    ds = xr.Dataset(out)
    if when:
        ds = ds.assign_coords(time=np.datetime64(when))
    return ds


__all__ = ["CACHE_VERSION", "cache_dir", "read_cached", "scene_key", "write_cached"]
