"""Load: read Landsat C2 L2 scenes lazily with odc-stac, scale them and mask bad pixels.

Collection 2 Level-2 bands are stored as ``uint16`` digital numbers. The item's
``raster:bands`` metadata says how to turn them into physical values
(reflectance = DN * 2.75e-5 - 0.2; temperature in kelvin = DN * 0.00341802 + 149.0)
and which value means "no data". ``qa_pixel`` flags fill, clouds and their shadows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import odc.stac
import pystac
import xarray as xr

from lakeml.cache import cache_dir, read_cached, scene_key, write_cached
from lakeml.checks import BadInput, check_choice, check_resolution, validate_bbox
from lakeml.signing import SigningDriver, sign

REFLECTANCE_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
"""Surface reflectance assets, in wavelength order (``coastal`` exists on Landsat 8/9 only)."""

THERMAL_BANDS = ("lwir11", "lwir")
"""Surface temperature assets: ``lwir11`` on Landsat 8/9, ``lwir`` on Landsat 4/5/7."""

SHARED_BANDS = ("blue", "green", "red", "nir08", "swir16", "swir22")
"""Reflectance bands every Landsat mission from 4 to 9 has: use these to compare missions."""

QA_BITS = {
    "fill": 0,
    "dilated_cloud": 1,
    "cirrus": 2,
    "cloud": 3,
    "cloud_shadow": 4,
    "snow": 5,
    "clear": 6,
    "water": 7,
}
"""Bit positions in Collection 2 ``qa_pixel`` (USGS's Landsat 8-9 Collection 2 Level-2 guide).

The fallback of :func:`qa_bit_positions`: an item that describes its ``qa_pixel`` with the STAC
classification extension's ``classification:bitfields`` (Planetary Computer's do, and so do the
offline sample's) is read by its own description."""

MASK_BITS = ("fill", "dilated_cloud", "cirrus", "cloud", "cloud_shadow")
"""The ``qa_pixel`` flags that make a pixel unusable for mapping water."""

GDAL_HTTP_OPTIONS = {
    "GDAL_HTTP_MAX_RETRY": "5",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_TIMEOUT": "60",
}
"""GDAL's own retry settings for COG reads over HTTP (5xx, timeouts). A value set in the
environment under the same name (e.g. ``GDAL_HTTP_TIMEOUT=20``) takes precedence."""


def gdal_options() -> dict[str, str]:
    """Return the GDAL HTTP settings lakeml reads COGs with, the environment's first.

    Returns
    -------
    dict of str to str
        Each setting of :data:`GDAL_HTTP_OPTIONS`: the environment variable of that name if it
        is set, else lakeml's default.

    Examples
    --------
    ``GDAL_HTTP_TIMEOUT`` set in the environment wins; the other settings keep their default:

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"GDAL_HTTP_TIMEOUT": "20"}):
    ...     options = gdal_options()
    >>> options["GDAL_HTTP_TIMEOUT"], options["GDAL_HTTP_MAX_RETRY"]
    ('20', '5')
    """
    return {key: os.environ.get(key, value) for key, value in GDAL_HTTP_OPTIONS.items()}


def configure_gdal() -> None:
    """Set GDAL's cloud-friendly defaults and HTTP retries (:func:`gdal_options`) for odc-stac.

    odc-stac captures these settings when a load is planned and ships them with the read tasks,
    so dask workers (a ``distributed.Client`` included) read with the same settings: nothing
    needs registering on a cluster.

    Examples
    --------
    What odc-stac ships with each read task once lakeml has configured it:

    >>> from odc.loader import RioDriver
    >>> configure_gdal()
    >>> settings = RioDriver().capture_env()
    >>> settings["GDAL_HTTP_MAX_RETRY"], settings["GDAL_DISABLE_READDIR_ON_OPEN"]
    ('5', 'EMPTY_DIR')
    """
    options: dict[str, Any] = gdal_options()  # GDAL settings, as configure_rio's **params
    odc.stac.configure_rio(cloud_defaults=True, **options)


def current_client() -> Any:
    """Return the current ``distributed.Client`` (the default one), or None; never create one.

    Returns
    -------
    distributed.Client or None
        The client that ``distributed`` would use, or None when none is running (or
        ``distributed`` is not installed).

    Examples
    --------
    No client has been started here, and asking does not start one:

    >>> current_client() is None
    True
    """
    try:
        from distributed import Client

        return Client.current(allow_global=True)
    except (ImportError, ValueError):
        return None


def data_bands(item: pystac.Item, thermal: bool = False) -> list[str]:
    """Return the item's reflectance asset keys (and thermal ones if ``thermal``), in band order.

    Parameters
    ----------
    item : pystac.Item
        A ``landsat-c2-l2`` item.
    thermal : bool
        Also list the surface temperature assets (:data:`THERMAL_BANDS`).

    Returns
    -------
    list of str
        The keys of :data:`REFLECTANCE_BANDS` (then of :data:`THERMAL_BANDS`) that the item has.

    Examples
    --------
    A real Landsat 9 item, as Planetary Computer serves it (stored with lakeml's tests):

    >>> import json
    >>> import lakeml
    >>> path = Path(lakeml.__file__).parents[1] / "tests/data/landsat-c2-l2-pc.json"
    >>> item = pystac.Item.from_dict(json.loads(path.read_text())[0])
    >>> data_bands(item, thermal=True)
    ['coastal', 'blue', 'green', 'red', 'nir08', 'swir16', 'swir22', 'lwir11']

    A Landsat 5 item has no ``coastal`` band, and its thermal band is ``lwir``:

    >>> import datetime as dt
    >>> tm = pystac.Item("LT05_DEMO", None, None, dt.datetime(1988, 8, 1), {})
    >>> for key in ("qa_pixel", "blue", "green", "red", "nir08", "swir16", "swir22", "lwir"):
    ...     tm.add_asset(key, pystac.Asset(f"{key}.tif"))
    >>> data_bands(tm), data_bands(tm, thermal=True)[-1]
    (['blue', 'green', 'red', 'nir08', 'swir16', 'swir22'], 'lwir')
    """
    names = REFLECTANCE_BANDS + (THERMAL_BANDS if thermal else ())
    return [b for b in names if b in item.assets]


def _raster_band(item: pystac.Item, band: str) -> dict[str, Any]:
    asset = item.assets[band]
    bands = asset.extra_fields.get("raster:bands") or [{}]
    return bands[0]


def qa_bit_positions(item: pystac.Item | None = None) -> dict[str, int]:
    """Return the one-bit ``qa_pixel`` flags and their bit, as ``item`` describes them.

    Read from the ``qa_pixel`` asset's ``classification:bitfields`` (the STAC classification
    extension, through pystac's :class:`~pystac.extensions.classification.ClassificationExtension`)
    when the item declares the extension and the asset has bitfields: each field one bit long,
    by name. Otherwise (no item, no ``qa_pixel``, no bitfields) :data:`QA_BITS`, Collection 2's
    documented layout. Planetary Computer's Landsat 4-7 items list no ``cirrus`` field (TM and
    ETM+ have no cirrus band): a flag the item does not list is not in the answer.

    Parameters
    ----------
    item : pystac.Item or None
        The scene; None for :data:`QA_BITS`.

    Returns
    -------
    dict of str to int
        Flag name -> bit position.

    Examples
    --------
    Four real Landsat 9 items, as Planetary Computer serves them (stored with lakeml's tests):
    their bitfields say what :data:`QA_BITS` says.

    >>> import json
    >>> import lakeml
    >>> path = Path(lakeml.__file__).parents[1] / "tests/data/landsat-c2-l2-pc.json"
    >>> item = pystac.Item.from_dict(json.loads(path.read_text())[0])
    >>> qa_bit_positions(item) == QA_BITS
    True
    >>> qa_bit_positions(None) == QA_BITS  # the fallback
    True
    """
    from pystac.extensions.classification import ClassificationExtension

    asset = item.assets.get("qa_pixel") if item is not None else None
    if (
        item is None
        or asset is None
        or not ClassificationExtension.has_extension(item)
        or not asset.extra_fields.get("classification:bitfields")
    ):
        return dict(QA_BITS)
    fields = ClassificationExtension.ext(asset).bitfields or []
    return {f.name: f.offset for f in fields if f.name and f.length == 1}


def qa_bits(flags: Iterable[str], item: pystac.Item | None = None) -> int:
    """Return the ``qa_pixel`` bit mask of ``flags``.

    Parameters
    ----------
    flags : iterable of str
        Flag names (:func:`qa_bit_positions` of ``item``; :data:`QA_BITS` without one).
    item : pystac.Item or None
        The scene whose ``qa_pixel`` the mask is for: its ``classification:bitfields`` give the
        bits. A flag of :data:`QA_BITS` that the item does not list (``cirrus`` on Landsat 4-7)
        adds nothing: the sensor has no such bit.

    Returns
    -------
    int
        ``1 << bit`` of each flag, or-ed together.

    Raises
    ------
    BadInput
        A flag that is neither the item's nor in :data:`QA_BITS` (a ``ValueError``; the
        message lists them).

    Examples
    --------
    >>> qa_bits(["fill", "cloud"])
    9
    >>> bin(qa_bits(MASK_BITS))
    '0b11111'
    >>> qa_bits(["clouds"])
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: unknown qa_pixel flag 'clouds': choose from fill, dilated_cloud, ...
    """
    positions = qa_bit_positions(item)
    bits = 0
    for flag in flags:
        if flag in positions:
            bits |= 1 << positions[flag]
        elif flag not in QA_BITS:
            check_choice(flag, positions, "qa_pixel flag")
    return bits


def qa_mask(
    qa: xr.DataArray, flags: Iterable[str] = MASK_BITS, item: pystac.Item | None = None
) -> xr.DataArray:
    """Mark the pixels where any of the ``qa_pixel`` ``flags`` is set (the pixels to drop).

    Parameters
    ----------
    qa : xr.DataArray
        ``qa_pixel`` values.
    flags : iterable of str
        The flags that make a pixel unusable (default :data:`MASK_BITS`: fill, clouds and
        cloud shadows).
    item : pystac.Item or None
        The scene: its ``classification:bitfields`` give the bits (see :func:`qa_bits`).

    Returns
    -------
    xr.DataArray
        Boolean, named ``masked``: True where any of ``flags`` is set.

    Raises
    ------
    BadInput
        An unknown flag.

    Examples
    --------
    Collection 2 codes for fill, clear land, clear water, cloud and cloud shadow:

    >>> qa = xr.DataArray(np.array([1, 21824, 21952, 22280, 23888], dtype="uint16"))
    >>> qa_mask(qa).values.tolist()
    [True, False, False, True, True]
    >>> qa_mask(qa, ["fill"]).values.tolist()
    [True, False, False, False, False]
    """
    out = (qa.astype("uint16") & np.uint16(qa_bits(flags, item))) != 0
    return out.rename("masked")


def qa_flag(qa: xr.DataArray, flag: str, item: pystac.Item | None = None) -> xr.DataArray:
    """Mark the pixels where one ``qa_pixel`` flag is set, e.g. ``"water"`` (USGS's water flag).

    Parameters
    ----------
    qa : xr.DataArray
        ``qa_pixel`` values.
    flag : str
        A flag name (:func:`qa_bit_positions`).
    item : pystac.Item or None
        The scene: its ``classification:bitfields`` give the bit (see :func:`qa_bits`).

    Returns
    -------
    xr.DataArray
        Boolean: True where ``flag`` is set.

    Raises
    ------
    BadInput
        An unknown flag.

    Examples
    --------
    Collection 2 codes for clear water and clear land:

    >>> qa_flag(xr.DataArray(np.array([21952, 21824], dtype="uint16")), "water").values.tolist()
    [True, False]
    """
    return (qa.astype("uint16") & np.uint16(qa_bits([flag], item))) != 0


def scale(ds: xr.Dataset, item: pystac.Item) -> xr.Dataset:
    """Turn digital numbers into physical values using the item's ``raster:bands``.

    Reflectance bands become float32 reflectance, thermal bands float32 kelvin; the
    ``nodata`` value becomes NaN. ``qa_pixel`` (no scale) is left as it is.

    Parameters
    ----------
    ds : xr.Dataset
        Digital numbers, one variable per asset (as odc-stac loads them).
    item : pystac.Item
        The scene's item: each asset's ``raster:bands`` gives ``scale``, ``offset``,
        ``nodata`` (and ``unit``).

    Returns
    -------
    xr.Dataset
        The same variables, coordinates and attrs; the scaled ones float32 with attrs
        ``units``, ``long_name`` (the asset's title), ``scale`` and ``offset``.

    Examples
    --------
    An item whose ``red`` and ``lwir11`` assets carry Collection 2's scaling, and a 2 x 3
    scene of digital numbers (0 is no data):

    >>> import datetime as dt
    >>> item = pystac.Item("LC08_DEMO", None, None, dt.datetime(2017, 7, 1), {})
    >>> item.add_asset("red", pystac.Asset("red.tif", title="Red Band", extra_fields={
    ...     "raster:bands": [{"scale": 2.75e-5, "offset": -0.2, "nodata": 0}]}))
    >>> item.add_asset("lwir11", pystac.Asset("lwir11.tif", extra_fields={
    ...     "raster:bands": [{"unit": "kelvin", "scale": 0.00341802, "offset": 149.0,
    ...                       "nodata": 0}]}))
    >>> raw = xr.Dataset({
    ...     "red": (("y", "x"), np.array([[0, 7273, 10909], [14545, 25455, 43636]], "uint16")),
    ...     "lwir11": (("y", "x"), np.array([[0, 38000, 40000], [42000, 44000, 46000]], "uint16")),
    ...     "qa_pixel": (("y", "x"), np.full((2, 3), 21824, "uint16")),
    ... })
    >>> scaled = scale(raw, item)
    >>> print(scaled.red.values.round(3))
    [[nan 0.  0.1]
     [0.2 0.5 1. ]]
    >>> print(scaled.lwir11.values.round(1))
    [[  nan 278.9 285.7]
     [292.6 299.4 306.2]]
    >>> scaled.red.attrs
    {'units': '1', 'long_name': 'Red Band', 'scale': 2.75e-05, 'offset': -0.2}
    >>> scaled.lwir11.attrs["units"], scaled.qa_pixel.dtype.name
    ('kelvin', 'uint16')
    """
    out = {}
    for name, da in ds.data_vars.items():
        info = _raster_band(item, str(name)) if name in item.assets else {}
        if "scale" not in info and "offset" not in info:
            out[name] = da
            continue
        nodata = info.get("nodata", da.attrs.get("nodata"))
        value = da.astype("float32") * np.float32(info.get("scale", 1.0)) + np.float32(
            info.get("offset", 0.0)
        )
        if nodata is not None:
            value = value.where(da != nodata)
        value.attrs = {
            "units": info.get("unit", "1" if str(name) not in THERMAL_BANDS else "kelvin"),
            "long_name": item.assets[str(name)].title or str(name),
            "scale": info.get("scale", 1.0),
            "offset": info.get("offset", 0.0),
        }
        out[name] = value
    return xr.Dataset(out, coords=ds.coords, attrs=ds.attrs)


def load_scene(
    item: pystac.Item,
    bbox: Sequence[float],
    bands: Sequence[str] | None = None,
    resolution: float = 30,
    chunks: dict[str, int] | None = None,
    mask: Iterable[str] = MASK_BITS,
    geobox: Any = None,
    cache: bool | str | os.PathLike[str] = False,
    signer: Callable[[str, bool], str] = sign,
) -> xr.Dataset:
    """Load one scene lazily over ``bbox``, scaled to physical units, bad pixels set to NaN.

    Planetary Computer asset URLs are signed when each block is read, and signed again if the
    storage answers 403 (:class:`SigningDriver`): a token that expired since the search, or
    while a lazy dataset waited to be computed, does not break the load.

    Parameters
    ----------
    item : pystac.Item
        The scene's STAC item.
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    bands : sequence of str or None
        Asset keys; default the item's reflectance bands (:func:`data_bands`). ``qa_pixel`` is
        always loaded when the item has it.
    resolution : float
        Pixel size in metres (30 is native; coarser reads the COG overviews).
    chunks : dict of str to int or None
        Dask chunks (default one 2048 x 2048 block per band).
    mask : iterable of str
        ``qa_pixel`` flags to mask (see :data:`MASK_BITS`); pass ``()`` to keep every pixel. An item
        without a ``qa_pixel`` asset (e.g. a real scene of :mod:`lakeml.offline.sample.real_scenes`
        whose source had no QA band) is masked by nodata only: there is nothing to mask the flags
        with, so asking for them is fine and masks nothing. The bits are the item's own
        ``classification:bitfields`` when it has them (:func:`qa_bit_positions`), else
        :data:`QA_BITS`.
    geobox : odc.geo.geobox.GeoBox or None
        A grid to load onto instead of ``bbox``/``resolution`` (use it to put two dates on one
        grid).
    cache : bool, str or os.PathLike
        ``True`` to keep the downloaded pixels in :func:`lakeml.cache.cache_dir` (or a folder
        given as a path), keyed by item, bands and grid: a rerun or a restarted notebook reads
        them from disk instead of downloading them again. The read is then done at load time,
        not lazily.
    signer : callable
        ``signer(url, refresh)`` returns the URL to read (default :func:`lakeml.signing.sign`,
        Planetary Computer's SAS tokens; other URLs pass through).

    Returns
    -------
    xr.Dataset
        Dims (y, x), one float32 variable per band, ``qa_pixel`` (uint16; only if the item has
        it), a ``valid`` boolean mask, the scene's ``time`` as a scalar coordinate and its CRS.
        ``attrs``: ``item_id``, ``platform``, ``datetime``, ``masked_flags`` (the flags actually
        masked: empty without QA; no ``cirrus`` where the item lists no such bit) and
        ``qa_available`` (1 if ``qa_pixel`` was loaded, 0 if the item has none and only nodata
        was masked).

    Raises
    ------
    BadInput
        A bad bbox, resolution or ``qa_pixel`` flag, or a band the item has no asset for (the
        message names the bands it has).
    rasterio.errors.RasterioIOError
        A block could not be read (when the data is computed, or at once with ``cache``): the
        message names the file and the cause, without any SAS signature.

    Examples
    --------
    A scene whose COGs are local files (Planetary Computer's are read the same way, over
    HTTP): a ``red`` band and its ``qa_pixel`` on a 2 x 3 grid of 30 m pixels in UTM zone 11N.

    >>> import datetime as dt
    >>> import tempfile
    >>> from odc.geo import geom
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> bbox = (-118.71, 38.70, -118.709, 38.7005)
    >>> area = geom.box(*bbox, "EPSG:4326")
    >>> grid = GeoBox.from_geopolygon(area, resolution=30, crs="EPSG:32611")
    >>> item = pystac.Item(
    ...     "LC08_DEMO", area.json, list(bbox), dt.datetime(2017, 7, 1),
    ...     {"platform": "landsat-8", "proj:epsg": 32611, "proj:shape": [2, 3],
    ...      "proj:transform": list(grid.transform)[:6]},
    ...     stac_extensions=["https://stac-extensions.github.io/projection/v1.1.0/schema.json"])
    >>> pixels = {  # digital numbers and their raster:bands; qa_pixel 1 is fill, 22280 cloud
    ...     "red": ([[0, 9091, 9455], [10000, 10364, 10727]],
    ...             {"scale": 2.75e-5, "offset": -0.2, "nodata": 0}),
    ...     "qa_pixel": ([[1, 21824, 21952], [21824, 22280, 21824]], {"nodata": 1}),
    ... }
    >>> folder = tempfile.TemporaryDirectory()
    >>> for key, (dn, info) in pixels.items():
    ...     path = f"{folder.name}/{key}.tif"
    ...     _ = wrap_xr(np.array(dn, dtype="uint16"), grid).odc.write_cog(path)
    ...     item.add_asset(key, pystac.Asset(path, extra_fields={
    ...         "raster:bands": [{**info, "data_type": "uint16"}]}))
    >>> ds = load_scene(item, bbox, bands=["red"])
    >>> ds.odc.crs.epsg, ds.attrs["item_id"], ds.attrs["qa_available"]
    (32611, 'LC08_DEMO', 1)
    >>> print(ds.red.values.round(3))  # reflectance; NaN at the fill and the cloud
    [[  nan 0.05  0.06 ]
     [0.075   nan 0.095]]
    >>> print(ds.valid.values)
    [[False  True  True]
     [ True False  True]]
    >>> folder.cleanup()
    """
    bbox = validate_bbox(bbox)
    if geobox is None:
        check_resolution(resolution)
    bands = list(bands) if bands is not None else data_bands(item)
    if not bands:
        raise BadInput(f"item {item.id} has no reflectance band assets; pass bands=[...]")
    has_qa = "qa_pixel" in item.assets
    qa_band = ["qa_pixel"] if has_qa else []
    missing = [b for b in [*bands, *qa_band] if b not in item.assets]
    if missing:
        raise BadInput(
            f"item {item.id} ({item.properties.get('platform')}) has no asset {missing[0]!r}; "
            f"it has {', '.join(data_bands(item, thermal=True))}. Use bands both missions "
            f"share, e.g. {', '.join(SHARED_BANDS)}"
        )
    flags = tuple(mask)
    where = {"geobox": geobox} if geobox is not None else {"bbox": bbox, "resolution": resolution}
    chunks = chunks or {"x": 2048, "y": 2048}
    path = None
    if cache:
        folder = cache_dir() if cache is True else Path(cache)
        path = folder / f"{item.id}_{scene_key(item, bands, where)}.tif"
    if path is not None and path.exists():
        raw = read_cached(path, chunks)
    else:
        configure_gdal()
        raw = odc.stac.load(
            [item],
            bands=[*bands, *qa_band],
            chunks=cast("dict[str, int | Literal['auto']]", chunks),  # dict is invariant
            resampling={"qa_pixel": "nearest", "*": "nearest"},
            driver=SigningDriver(signer),
            **where,
        ).isel(time=0)
        if path is not None:
            write_cached(raw, path)
            raw = read_cached(path, chunks)
    ds = scale(raw, item)
    if not has_qa:
        qa_bits(flags)  # an unknown flag is still an error, though there is nothing to mask
        bad = xr.zeros_like(raw[bands[0]], dtype=bool)
        flags = ()
    else:
        qa = raw["qa_pixel"]
        bad = qa_mask(qa, flags, item) if flags else xr.zeros_like(qa, dtype=bool)
        flags = tuple(f for f in flags if f in qa_bit_positions(item))  # Landsat 4-7: no cirrus
    refl = [b for b in bands if b in REFLECTANCE_BANDS or b in THERMAL_BANDS]
    nodata_any = ds[refl].to_array("band").isnull().any("band") if refl else False
    valid = ~bad & ~nodata_any
    for b in bands:
        ds[b] = ds[b].where(valid)
    ds["valid"] = valid.rename("valid")
    ds.attrs.update(
        item_id=item.id,
        platform=item.properties.get("platform", ""),
        datetime=str(item.properties.get("datetime", "")),
        masked_flags=",".join(flags),
        qa_available=int(has_qa),
    )
    return ds


def masked_fraction(
    item: pystac.Item,
    bbox: Sequence[float],
    resolution: float = 300,
    flags: Iterable[str] = MASK_BITS,
    signer: Callable[[str, bool], str] = sign,
) -> float:
    """Measure the fraction of the bbox that ``qa_pixel`` marks as fill, cloud or shadow.

    Reads only ``qa_pixel``, at a coarse ``resolution`` (COG overviews), so it is cheap.

    Parameters
    ----------
    item : pystac.Item
        The scene; it must have a ``qa_pixel`` asset.
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    resolution : float
        Pixel size in metres of the read (300: a hundredth of the pixels of a 30 m read).
    flags : iterable of str
        The ``qa_pixel`` flags that count as masked (default :data:`MASK_BITS`).
    signer : callable
        ``signer(url, refresh)`` returns the URL to read (default :func:`lakeml.signing.sign`).

    Returns
    -------
    float
        The masked fraction, 0-1 (pixels outside the scene are fill: masked).

    Raises
    ------
    BadInput
        The item has no ``qa_pixel`` asset, or an unknown flag.

    Examples
    --------
    A scene whose ``qa_pixel`` COG is a local file, cloudy (22280) over the northern 40 of its
    76 rows of 30 m pixels, clear land (21824) elsewhere:

    >>> import datetime as dt
    >>> import tempfile
    >>> from odc.geo import geom
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> bbox = (-118.72, 38.69, -118.70, 38.71)
    >>> area = geom.box(*bbox, "EPSG:4326")
    >>> grid = GeoBox.from_geopolygon(area, resolution=30, crs="EPSG:32611")
    >>> grid.shape
    Shape2d(x=60, y=76)
    >>> item = pystac.Item(
    ...     "LC08_DEMO", area.json, list(bbox), dt.datetime(2017, 7, 1),
    ...     {"proj:epsg": 32611, "proj:shape": list(grid.shape),
    ...      "proj:transform": list(grid.transform)[:6]},
    ...     stac_extensions=["https://stac-extensions.github.io/projection/v1.1.0/schema.json"])
    >>> qa = np.full(grid.shape, 21824, dtype="uint16")
    >>> qa[:40] = 22280
    >>> folder = tempfile.TemporaryDirectory()
    >>> _ = wrap_xr(qa, grid).odc.write_cog(f"{folder.name}/qa_pixel.tif")
    >>> item.add_asset("qa_pixel", pystac.Asset(f"{folder.name}/qa_pixel.tif"))
    >>> masked_fraction(item, bbox)  # a few 300 m pixels
    0.5
    >>> round(masked_fraction(item, bbox, resolution=30), 3)  # every pixel: 40 / 76
    0.526
    >>> folder.cleanup()
    """
    if "qa_pixel" not in item.assets:
        raise BadInput(f"item {item.id} has no qa_pixel asset to measure clouds with")
    configure_gdal()
    w, s, e, n = bbox
    qa = odc.stac.load(
        [item],
        bands=["qa_pixel"],
        bbox=(w, s, e, n),
        resolution=resolution,
        resampling="nearest",
        chunks=None,
        driver=SigningDriver(signer),
    ).qa_pixel.isel(time=0)
    return float(qa_mask(qa, flags, item).mean())


def pick_clearest(items: Sequence[pystac.Item], bbox: Sequence[float]) -> pystac.Item:
    """Pick the scene with the least fill, cloud and shadow over ``bbox``.

    This replaces the original notebook's ``items[1]``: a rule you can state and test. Each
    scene's :func:`masked_fraction` is read at 300 m, rounded to 4 decimals; a tie goes to the
    lower ``eo:cloud_cover``, then to the first id in alphabetical order.

    Parameters
    ----------
    items : sequence of pystac.Item
        The candidates (e.g. what :func:`lakeml.search.search` found); each needs ``qa_pixel``.
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees: what matters is the sky over the lake, not the whole scene.

    Returns
    -------
    pystac.Item
        The clearest scene.

    Raises
    ------
    BadInput
        No candidate, or one without ``qa_pixel``.

    Examples
    --------
    Two scenes whose ``qa_pixel`` COGs are local files, cloudy (22280) over their northern 40
    and 5 rows of 30 m pixels:

    >>> import datetime as dt
    >>> import tempfile
    >>> from odc.geo import geom
    >>> from odc.geo.geobox import GeoBox
    >>> from odc.geo.xr import wrap_xr
    >>> bbox = (-118.72, 38.69, -118.70, 38.71)
    >>> area = geom.box(*bbox, "EPSG:4326")
    >>> grid = GeoBox.from_geopolygon(area, resolution=30, crs="EPSG:32611")
    >>> folder = tempfile.TemporaryDirectory()
    >>> def scene(name, cloudy_rows):
    ...     item = pystac.Item(
    ...         name, area.json, list(bbox), dt.datetime(2017, 7, 1),
    ...         {"proj:epsg": 32611, "proj:shape": list(grid.shape),
    ...          "proj:transform": list(grid.transform)[:6]},
    ...         stac_extensions=["https://stac-extensions.github.io/projection/v1.1.0/schema.json"])
    ...     qa = np.full(grid.shape, 21824, dtype="uint16")  # clear land
    ...     qa[:cloudy_rows] = 22280
    ...     _ = wrap_xr(qa, grid).odc.write_cog(f"{folder.name}/{name}.tif")
    ...     item.add_asset("qa_pixel", pystac.Asset(f"{folder.name}/{name}.tif"))
    ...     return item
    >>> pick_clearest([scene("LC08_CLOUDY", 40), scene("LC08_CLEAR", 5)], bbox).id
    'LC08_CLEAR'
    >>> folder.cleanup()
    >>> pick_clearest([], bbox)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: no scene to choose from: the search returned nothing
    """
    bbox = validate_bbox(bbox)  # once here, not again per candidate
    if not items:
        raise BadInput("no scene to choose from: the search returned nothing")
    scored = [
        (round(masked_fraction(it, bbox), 4), it.properties.get("eo:cloud_cover", 100), it.id, it)
        for it in items
    ]
    return min(scored, key=lambda s: s[:3])[3]
