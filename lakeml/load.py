"""Load: read Landsat C2 L2 scenes lazily with odc-stac, scale them and mask bad pixels.

Collection 2 Level-2 bands are stored as ``uint16`` digital numbers. The item's
``raster:bands`` metadata says how to turn them into physical values
(reflectance = DN * 2.75e-5 - 0.2; temperature in kelvin = DN * 0.00341802 + 149.0)
and which value means "no data". ``qa_pixel`` flags fill, clouds and their shadows.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import odc.stac
import pystac
import xarray as xr
from odc.loader import RioDriver, RioReader
from odc.loader.types import RasterSource

from lakeml.files import atomic_write, sweep_temporary
from lakeml.search import validate_bbox

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
"""Bit positions in Collection 2 ``qa_pixel``."""

MASK_BITS = ("fill", "dilated_cloud", "cirrus", "cloud", "cloud_shadow")
"""The ``qa_pixel`` flags that make a pixel unusable for mapping water."""

GDAL_HTTP_OPTIONS = {
    "GDAL_HTTP_MAX_RETRY": "5",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_TIMEOUT": "60",
}
"""GDAL's own retry settings for COG reads over HTTP (5xx, timeouts). A value set in the
environment under the same name (e.g. ``GDAL_HTTP_TIMEOUT=20``) takes precedence."""

log = logging.getLogger(__name__)


def gdal_options() -> dict[str, str]:
    """The GDAL HTTP settings lakeml reads COGs with: :data:`GDAL_HTTP_OPTIONS`, environment first.

    Example
    -------
    >>> gdal_options()["GDAL_HTTP_MAX_RETRY"]  # doctest: +SKIP
    '5'
    """
    return {key: os.environ.get(key, value) for key, value in GDAL_HTTP_OPTIONS.items()}


def configure_gdal() -> None:
    """Set GDAL's cloud-friendly defaults and HTTP retries (:func:`gdal_options`) for odc-stac.

    odc-stac captures these settings when a load is planned and ships them with the read tasks,
    so dask workers (a ``distributed.Client`` included) read with the same settings: nothing
    needs registering on a cluster.

    Example
    -------
    >>> configure_gdal()
    """
    odc.stac.configure_rio(cloud_defaults=True, **gdal_options())


def current_client() -> Any:
    """The current ``distributed.Client`` (the default one), or None; never creates one.

    Example
    -------
    >>> current_client() is None  # doctest: +SKIP
    True
    """
    try:
        from distributed import Client

        return Client.current(allow_global=True)
    except (ImportError, ValueError):
        return None


_BLOB_HOST = ".blob.core.windows.net"
_SIGNED_QUERY = re.compile(
    r"(?i)(?:\?|%3F)"  # a query string (maybe URL-encoded) ...
    r"(?=(?:[^\s'\"<>]*?(?:&|%26))?(?:sig|se|skoid)(?:=|%3D))"  # ... that holds a signature
    r"[^\s'\"<>)]*"
)
TOKEN_RETRIES = 3
"""Tries at Planetary Computer's token service before a read fails (backoff 0, 1 s)."""

TOKEN_TIMEOUT = 10.0
"""Seconds to wait for the token service to connect, then to answer, before trying again."""


def sign(url: str, refresh: bool = False) -> str:
    """Sign a Planetary Computer blob URL with a SAS token; other URLs pass through unchanged.

    Any old signature is dropped first. ``planetary_computer`` caches one token per storage
    container and renews it a minute before it expires; ``refresh=True`` drops the cached token
    and asks for a new one (used when the storage answered 403 to a token it thought valid).
    lakeml calls this when each block is read (see :class:`SigningDriver`), so tokens are fresh
    and signed URLs never sit in the STAC items, a dask graph or a notebook's output.

    Parameters
    ----------
    url : an asset link, signed or not.
    refresh : ask the token service for a new token instead of the cached one.

    Returns
    -------
    The link with a current SAS token if it is on ``*.blob.core.windows.net``, else ``url``.

    Example
    -------
    >>> sign("http://127.0.0.1:8000/data/x.TIF")
    'http://127.0.0.1:8000/data/x.TIF'
    """
    base = url.split("?", 1)[0]
    host = (urlsplit(base).hostname or "").lower()
    if not host.endswith(_BLOB_HOST):
        return url
    from planetary_computer.utils import parse_blob_url

    account, container = parse_blob_url(urlsplit(base))
    return sign_with_token_service(base, account, container, refresh)


def sign_with_token_service(url: str, account: str, container: str, refresh: bool = False) -> str:
    """Append a SAS token for ``account``/``container`` from Planetary Computer's token service.

    The service is ``planetary_computer``'s setting ``sas_url`` (environment variable
    ``PC_SDK_SAS_URL``; its ``subscription_key`` is sent if set). Tokens are kept in
    ``planetary_computer``'s own cache until a minute before they expire, or dropped with
    ``refresh=True``. Unlike ``planetary_computer.sas.get_token``, a request that gets no answer
    within :data:`TOKEN_TIMEOUT` seconds is retried (:data:`TOKEN_RETRIES` tries in all), then a
    ``RuntimeError`` names the service. :func:`sign` uses this for ``*.blob.core.windows.net``.

    Example
    -------
    >>> sign_with_token_service(  # doctest: +SKIP
    ...     "https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF",
    ...     "landsateuwest", "landsat-c2")
    'https://landsateuwest.blob.core.windows.net/landsat-c2/x.TIF?st=...&se=...&sig=...'
    """
    from planetary_computer import sas
    from planetary_computer.settings import Settings

    settings = Settings.get()
    service = f"{settings.sas_url}/{account}/{container}"
    token = None if refresh else sas.TOKEN_CACHE.get(service)
    if token is None or token.ttl() < 60:  # planetary_computer's own margin
        try:
            token = _fetch_token(service, settings.subscription_key)
        except Exception as err:  # noqa: BLE001 - requests' many errors: one clear message
            raise RuntimeError(
                f"Planetary Computer's token service {service} gave no token "
                f"({redact(str(err))[:200]}); try again later, or check PC_SDK_SAS_URL"
            ) from None
        sas.TOKEN_CACHE[service] = token
    return f"{url.split('?', 1)[0]}?{token.token}"


def _fetch_token(service: str, key: str | None) -> Any:
    """One token from the service, with urllib3 retries on 5xx, 429, timeouts and drops."""
    import requests
    from planetary_computer.sas import SASToken
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=TOKEN_RETRIES - 1, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504)
    )
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        headers = {"Ocp-Apim-Subscription-Key": key} if key else None
        response = session.get(service, headers=headers, timeout=TOKEN_TIMEOUT)
        response.raise_for_status()
        return SASToken(**response.json())


def redact(text: str) -> str:
    """Remove SAS signatures (``?st=...&se=...&sig=...``) from ``text``: for logs and messages.

    A query string that holds ``sig``, ``se`` or ``skoid`` (also URL-encoded, as in GDAL's
    ``/vsicurl?url=...``) is replaced; other query strings are kept.

    Example
    -------
    >>> redact("HEAD https://a.blob.core.windows.net/c/x.TIF?st=1&se=2&sig=abc failed")
    'HEAD https://a.blob.core.windows.net/c/x.TIF?<signature removed> failed'
    >>> redact("https://h/api/stac/v1/search?limit=10&st=x")
    'https://h/api/stac/v1/search?limit=10&st=x'
    """
    return _SIGNED_QUERY.sub("?<signature removed>", text)


_RETRYING = contextvars.ContextVar("lakeml_retrying_403", default=False)
_REFRESH_LOCK = threading.Lock()  # one token renewal at a time, shared by parallel reads
_FORBIDDEN = re.compile(r"HTTP response code: 403\b|AuthenticationFailed")


def _redact_record(record: logging.LogRecord) -> bool:
    """Logging filter: no signed URL in a log line; no alarm for a 403 lakeml retries."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record: let logging report it as usual
        return True
    clean = redact(message)
    if _RETRYING.get() and record.levelno >= logging.ERROR and _FORBIDDEN.search(clean):
        return False
    if clean != message:
        record.msg, record.args = clean, ()
    return True


def _install_log_filter() -> None:
    """Put the filter on every rasterio and odc-loader logger (a logger's filters do not see
    its children's records, so each one gets it). Idempotent."""
    import rasterio  # noqa: F401 - its loggers exist once it is imported

    names = [n for n in logging.root.manager.loggerDict if n.startswith(("rasterio", "odc."))]
    for name in {*names, "odc.loader._rio", "rasterio._err", "rasterio._base", "rasterio._env"}:
        logger = logging.getLogger(name)
        if _redact_record not in logger.filters:
            logger.addFilter(_redact_record)


_install_log_filter()


def describe_error(err: BaseException, limit: int = 5) -> str:
    """One line for an error and the errors that caused it, without SAS signatures.

    GDAL often names the file only in a cause, so the chain is kept; a cause hidden with
    ``raise ... from None`` is left out.

    Example
    -------
    >>> try:
    ...     try:
    ...         raise OSError("'/vsicurl/http://h/x.TIF?st=1&se=2&sig=abc' not recognized")
    ...     except OSError as inner:
    ...         raise RuntimeError("Read failed") from inner
    ... except RuntimeError as err:
    ...     print(describe_error(err))
    Read failed <- '/vsicurl/http://h/x.TIF?<signature removed>' not recognized
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(parts) < limit:
        seen.add(id(current))
        text = str(current).strip()
        if text and text not in parts:
            parts.append(text)
        hidden = current.__suppress_context__  # raise ... from None
        current = current.__cause__ or (None if hidden else current.__context__)
    return redact(" <- ".join(parts)) or type(err).__name__


def read_signed(
    src: RasterSource, ctx: Any, signer: Callable[[str, bool], str], *args: Any, **kwargs: Any
) -> Any:
    """Read one block of ``src`` through rasterio with its URL signed now; re-sign once on 403.

    A token can expire between the search and the read, or between planning a lazy load and
    computing it (Planetary Computer's last about 45 minutes). The storage then answers 403:
    if the link was signed, it is signed again (a new token, fetched once for all the blocks
    that failed together) and the read retried once. Any read error is raised as a
    ``RasterioIOError`` that names the file and the cause, never the signature.

    Parameters
    ----------
    src : the odc-loader raster source (its ``uri`` is the unsigned link).
    ctx : odc-loader's load context.
    signer : ``signer(url, refresh)`` gives the link to read (see :func:`sign`).
    *args, **kwargs : passed to ``odc.loader.RioReader.read``.

    Example
    -------
    >>> read_signed(src, ctx, sign, cfg, geobox)  # doctest: +SKIP
    """
    from rasterio.errors import RasterioError, RasterioIOError, WindowEvaluationError

    uri = signer(src.uri, False)
    signed = uri != src.uri
    for retry in (False, True):
        token = _RETRYING.set(signed and not retry)
        try:
            return RioReader(dataclasses.replace(src, uri=uri), ctx).read(*args, **kwargs)
        except (RasterioError, WindowEvaluationError) as err:
            what = describe_error(err)
            if signed and not retry and _FORBIDDEN.search(what):
                log.info("HTTP 403 on %s: signing it again and retrying", redact(src.uri))
                with _REFRESH_LOCK:  # parallel reads that failed together renew the token once
                    again = signer(src.uri, False)
                    uri = again if again != uri else signer(src.uri, True)
                continue
            if signed and _FORBIDDEN.search(what):
                what += " even with a freshly signed URL: the token service's tokens are refused"
            raise RasterioIOError(f"{what} (reading {redact(src.uri)})") from None
        finally:
            _RETRYING.reset(token)
    raise AssertionError("unreachable")


class SigningDriver(RioDriver):
    """odc-stac's rasterio reader, with each block's URL signed when it is read.

    odc-stac's ``patch_url`` signs URLs when the load is planned; a lazy load computed later
    would then carry a token that may have expired. This driver keeps the unsigned URL in the
    dask graph and signs it in the task (:func:`read_signed`). It pickles, so it works on a
    ``distributed`` cluster.

    Example
    -------
    >>> odc.stac.load([item], bands=["red"], driver=SigningDriver(sign))  # doctest: +SKIP
    """

    def __init__(self, signer: Callable[[str, bool], str] = sign) -> None:
        super().__init__()
        self.signer = signer

    def open(self, src: RasterSource, ctx: Any) -> Any:
        """A reader of ``src`` that signs its link at each read (odc-loader's driver API)."""
        return _SignedReader(src, ctx, self.signer)


@dataclasses.dataclass
class _SignedReader:
    src: RasterSource
    ctx: Any
    signer: Callable[[str, bool], str]

    def read(self, *args: Any, **kwargs: Any) -> Any:
        return read_signed(self.src, self.ctx, self.signer, *args, **kwargs)


def data_bands(item: pystac.Item, thermal: bool = False) -> list[str]:
    """Return the item's reflectance asset keys (and thermal ones if ``thermal``), in band order.

    Example
    -------
    >>> data_bands(item_landsat5)  # doctest: +SKIP
    ['blue', 'green', 'red', 'nir08', 'swir16', 'swir22']
    """
    names = REFLECTANCE_BANDS + (THERMAL_BANDS if thermal else ())
    return [b for b in names if b in item.assets]


def _raster_band(item: pystac.Item, band: str) -> dict[str, Any]:
    asset = item.assets[band]
    bands = asset.extra_fields.get("raster:bands") or [{}]
    return bands[0]


def qa_bits(flags: Iterable[str]) -> int:
    """The ``qa_pixel`` bit mask of ``flags``; ``ValueError`` names an unknown flag.

    Examples
    --------
    >>> qa_bits(["fill", "cloud"])
    9
    """
    bits = 0
    for flag in flags:
        if flag not in QA_BITS:
            raise ValueError(f"unknown qa_pixel flag {flag!r}: choose from {', '.join(QA_BITS)}")
        bits |= 1 << QA_BITS[flag]
    return bits


def qa_mask(qa: xr.DataArray, flags: Iterable[str] = MASK_BITS) -> xr.DataArray:
    """True where any of the ``qa_pixel`` ``flags`` is set (pixels to drop).

    Example
    -------
    >>> qa = xr.DataArray(np.array([1, 64, 8 | 64], dtype="uint16"))
    >>> qa_mask(qa).values.tolist()
    [True, False, True]
    """
    out = (qa.astype("uint16") & np.uint16(qa_bits(flags))) != 0
    return out.rename("masked")


def qa_flag(qa: xr.DataArray, flag: str) -> xr.DataArray:
    """True where one ``qa_pixel`` flag is set, e.g. ``"water"`` (the USGS water flag).

    Example
    -------
    >>> qa_flag(xr.DataArray(np.array([128 | 64, 64], dtype="uint16")), "water").values.tolist()
    [True, False]
    """
    return (qa.astype("uint16") & np.uint16(qa_bits([flag]))) != 0


def scale(ds: xr.Dataset, item: pystac.Item) -> xr.Dataset:
    """Turn digital numbers into physical values using the item's ``raster:bands``.

    Reflectance bands become float32 reflectance, thermal bands float32 kelvin; the
    ``nodata`` value becomes NaN. ``qa_pixel`` (no scale) is left as it is.

    Example
    -------
    >>> scaled = scale(raw, item)  # doctest: +SKIP
    >>> float(scaled.red.max()) < 1.7  # doctest: +SKIP
    True
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
    item : the STAC item.
    bbox : (W, S, E, N) in degrees.
    bands : asset keys; default the item's reflectance bands. ``qa_pixel`` is always loaded
        when the item has it.
    resolution : pixel size in metres (30 is native; coarser reads the COG overviews).
    chunks : dask chunks (default one 2048 x 2048 block per band).
    mask : ``qa_pixel`` flags to mask (see :data:`MASK_BITS`); pass ``()`` to keep every pixel.
        An item without a ``qa_pixel`` asset (e.g. a real scene of :mod:`lakeml.real_scenes`
        whose source had no QA band) is masked by nodata only: there is nothing to mask the
        flags with, so asking for them is fine and masks nothing.
    geobox : an odc-geo ``GeoBox`` to load onto instead of ``bbox``/``resolution``
        (use it to put two dates on one grid).
    cache : ``True`` to keep the downloaded pixels in :func:`cache_dir` (or a folder given as a
        path), keyed by item, bands and grid: a rerun or a restarted notebook reads them from
        disk instead of downloading them again. The read is then done at load time, not lazily.
    signer : ``signer(url, refresh)`` returns the URL to read (default :func:`sign`, Planetary
        Computer's SAS tokens; other URLs pass through).

    Returns
    -------
    xr.Dataset with dims (y, x), one float32 variable per band, ``qa_pixel`` (uint16; only if
    the item has it), a ``valid`` boolean mask, the scene's ``time`` as a scalar coordinate and
    its CRS. ``attrs``: ``item_id``, ``platform``, ``datetime``, ``masked_flags`` (the flags
    actually masked: empty without QA) and ``qa_available`` (1 if ``qa_pixel`` was loaded, 0 if
    the item has none and only nodata was masked).

    Example
    -------
    >>> ds = load_scene(item, WALKER_LAKE_BBOX)  # doctest: +SKIP
    >>> ds.odc.crs  # doctest: +SKIP
    CRS('EPSG:32611')
    """
    bbox = validate_bbox(bbox)
    bands = list(bands) if bands is not None else data_bands(item)
    if not bands:
        raise ValueError(f"item {item.id} has no reflectance band assets; pass bands=[...]")
    has_qa = "qa_pixel" in item.assets
    qa_band = ["qa_pixel"] if has_qa else []
    missing = [b for b in [*bands, *qa_band] if b not in item.assets]
    if missing:
        raise ValueError(
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
        raw = _read_cached(path, chunks)
    else:
        configure_gdal()
        raw = odc.stac.load(
            [item],
            bands=[*bands, *qa_band],
            chunks=chunks,
            resampling={"qa_pixel": "nearest", "*": "nearest"},
            driver=SigningDriver(signer),
            **where,
        ).isel(time=0)
        if path is not None:
            _write_cached(raw, path)
            raw = _read_cached(path, chunks)
    ds = scale(raw, item)
    if not has_qa:
        qa_bits(flags)  # an unknown flag is still an error, though there is nothing to mask
        bad = xr.zeros_like(raw[bands[0]], dtype=bool)
        flags = ()
    else:
        qa = raw["qa_pixel"]
        bad = qa_mask(qa, flags) if flags else xr.zeros_like(qa, dtype=bool)
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


CACHE_VERSION = "1"
"""Bump to invalidate every cached scene (e.g. when what is cached changes)."""


def cache_dir() -> Path:
    """Folder of cached scenes: ``$LAKEML_CACHE_DIR``, else ``~/.cache/lakeml/scenes``.

    Example
    -------
    >>> cache_dir().name  # doctest: +SKIP
    'scenes'
    """
    env = os.environ.get("LAKEML_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "lakeml" / "scenes"


def scene_key(item: pystac.Item, bands: Sequence[str], where: dict[str, Any]) -> str:
    """A short hash of what defines a loaded scene: item, bands, grid (bbox + resolution or geobox).

    Example
    -------
    >>> scene_key(item, ["red"], {"bbox": (0, 0, 1, 1), "resolution": 30})  # doctest: +SKIP
    '3f1c2a9b0d4e5f60'
    """
    spec = {
        "v": CACHE_VERSION,
        "item": item.id,
        "updated": item.properties.get("updated") or item.properties.get("created"),
        "bands": list(bands),
        "where": {k: repr(v) for k, v in sorted(where.items())},
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _write_cached(raw: xr.Dataset, path: Path) -> None:
    """Write the raw (uint16) bands as one deflated GeoTIFF, to a temporary name then renamed."""
    import rasterio

    names = list(raw.data_vars)
    data = raw.to_array("band").values  # the download happens here
    gbox = raw.odc.geobox
    profile = {
        "driver": "GTiff", "width": gbox.width, "height": gbox.height, "count": len(names),
        "dtype": str(data.dtype), "crs": str(gbox.crs), "transform": gbox.transform,
        "compress": "deflate", "predictor": 2, "tiled": True, "blockxsize": 512,
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


def _read_cached(path: Path, chunks: dict[str, int]) -> xr.Dataset:
    import rasterio
    import rioxarray

    with rasterio.open(path) as src:
        tags = [src.tags(i) for i in range(1, src.count + 1)]
        when = src.tags().get("time", "")
    arr = rioxarray.open_rasterio(path, chunks={"band": 1, **chunks}, lock=False)
    out = {}
    for i, tag in enumerate(tags):
        da = arr.isel(band=i, drop=True)
        da.attrs = {"nodata": int(tag["nodata"])} if tag.get("nodata") else {}
        out[tag["name"]] = da
    ds = xr.Dataset(out)
    if when:
        ds = ds.assign_coords(time=np.datetime64(when))
    return ds


def masked_fraction(
    item: pystac.Item,
    bbox: Sequence[float],
    resolution: float = 300,
    flags: Iterable[str] = MASK_BITS,
    signer: Callable[[str, bool], str] = sign,
) -> float:
    """Fraction of the bbox that ``qa_pixel`` marks as fill, cloud or shadow in this scene.

    Reads only ``qa_pixel``, at a coarse ``resolution`` (COG overviews), so it is cheap.

    Example
    -------
    >>> masked_fraction(item, WALKER_LAKE_BBOX)  # doctest: +SKIP
    0.031
    """
    bbox = validate_bbox(bbox)
    if "qa_pixel" not in item.assets:
        raise ValueError(f"item {item.id} has no qa_pixel asset to measure clouds with")
    configure_gdal()
    qa = odc.stac.load(
        [item], bands=["qa_pixel"], bbox=bbox, resolution=resolution,
        resampling="nearest", chunks=None, driver=SigningDriver(signer),
    ).qa_pixel.isel(time=0)
    return float(qa_mask(qa, flags).mean())


def pick_clearest(items: Sequence[pystac.Item], bbox: Sequence[float]) -> pystac.Item:
    """The scene with the least fill/cloud/shadow over ``bbox`` (ties: lower ``eo:cloud_cover``).

    This replaces the original notebook's ``items[1]``: a rule you can state and test.

    Example
    -------
    >>> item = pick_clearest(items, WALKER_LAKE_BBOX)  # doctest: +SKIP
    """
    if not items:
        raise ValueError("no scene to choose from: the search returned nothing")
    scored = [
        (round(masked_fraction(it, bbox), 4), it.properties.get("eo:cloud_cover", 100), it.id, it)
        for it in items
    ]
    return min(scored, key=lambda s: s[:3])[3]
