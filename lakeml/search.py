"""Search: find Landsat Collection 2 Level-2 scenes in a STAC API.

The same code talks to Microsoft Planetary Computer (the default) and to the local
sample catalog (``lakeml sample serve``): set ``LAKEML_STAC_URL`` to switch.

Searches are expressed in CQL2-JSON (``filter``), which Planetary Computer and every
pgstac-based API understand. The older ``query`` extension's ``in`` operator is rejected
by some servers, so it is not used.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import pystac
import pystac_client
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from urllib3.util.retry import Retry

PC_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
"""Microsoft Planetary Computer's STAC API: the default catalog."""

COLLECTION = "landsat-c2-l2"
"""Landsat Collection 2 Level-2 (surface reflectance and temperature)."""

PLATFORMS = ("landsat-4", "landsat-5", "landsat-7", "landsat-8", "landsat-9")
"""Platforms in the ``landsat-c2-l2`` collection, as STAC's ``platform`` property spells them."""

WALKER_LAKE_BBOX = (-118.89, 38.54, -118.57, 38.84)
"""The original cookbook's bounding box around Walker Lake, Nevada (W, S, E, N in degrees)."""

WALKER_LAKE_CENTRE = (-118.71, 38.70)
"""A point in the middle of Walker Lake (lon, lat): water on every date."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def stac_url(url: str | None = None) -> str:
    """Return the STAC API to use: ``url``, else ``$LAKEML_STAC_URL``, else Planetary Computer.

    Example
    -------
    >>> stac_url("http://127.0.0.1:8080/api/stac/v1")
    'http://127.0.0.1:8080/api/stac/v1'
    """
    url = url.strip() if url else url
    if url:
        where = "the STAC API URL"
    elif os.environ.get("LAKEML_STAC_URL"):
        url, where = os.environ["LAKEML_STAC_URL"].strip(), "LAKEML_STAC_URL"
    else:
        return PC_STAC_URL
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValueError(
            f"{where} must be an http(s) URL, got {url!r}; e.g. {PC_STAC_URL} "
            "(Planetary Computer) or the URL `lakeml sample serve` prints"
        )
    return url


def validate_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Check a lon/lat bounding box ``(W, S, E, N)`` and return it as a tuple of floats.

    Raises ``ValueError`` naming what is wrong and how to fix it.

    Example
    -------
    >>> validate_bbox([-118.89, 38.54, -118.57, 38.84])
    (-118.89, 38.54, -118.57, 38.84)
    """
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise ValueError(
            f"bbox must be four numbers W S E N in degrees, got {bbox!r}"
        ) from None
    if len(values) != 4:
        raise ValueError(
            f"bbox must be four numbers W S E N in degrees, got {len(values)} values: {bbox!r}"
        )
    w, s, e, n = values
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"bbox values must be finite numbers, got {bbox!r}")
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise ValueError(f"bbox longitudes must lie in [-180, 180], got W={w}, E={e}")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise ValueError(
            f"bbox latitudes must lie in [-90, 90], got S={s}, N={n} "
            "(did you swap longitude and latitude? the order is W S E N)"
        )
    if w == e:
        raise ValueError(f"bbox has zero width: west and east are both {w}; give W < E")
    if s == n:
        raise ValueError(f"bbox has zero height: south and north are both {s}; give S < N")
    if w >= e:
        raise ValueError(
            f"bbox west ({w}) must be less than east ({e}): the order is W S E N"
        )
    if s >= n:
        raise ValueError(
            f"bbox south ({s}) must be less than north ({n}): the order is W S E N"
        )
    return values  # type: ignore[return-value]


def bbox_contains(bbox: Sequence[float], point: Sequence[float]) -> bool:
    """True if the ``(lon, lat)`` point lies inside (or on the edge of) ``(W, S, E, N)``.

    Example
    -------
    >>> bbox_contains((-118.89, 38.54, -118.57, 38.84), (-118.71, 38.70))
    True
    """
    w, s, e, n = bbox
    lon, lat = point
    return w <= lon <= e and s <= lat <= n


def validate_point(
    point: Sequence[float], bbox: Sequence[float], name: str = "lake point"
) -> tuple[float, float]:
    """Check a ``(lon, lat)`` point that must lie inside ``bbox``; return it as floats.

    Example
    -------
    >>> validate_point((-118.71, 38.70), (-118.89, 38.54, -118.57, 38.84))
    (-118.71, 38.7)
    """
    try:
        if isinstance(point, str) or len(point) != 2:
            raise TypeError
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers LON LAT in degrees, got {point!r}") from None
    if not bbox_contains(validate_bbox(bbox), (lon, lat)):
        raise ValueError(
            f"{name} ({lon}, {lat}) lies outside the bbox {list(bbox)}; give a point on the lake, "
            "inside the bbox, as LON LAT"
        )
    return lon, lat


def validate_datetime(interval: str, name: str = "datetime") -> str:
    """Check a date interval ``YYYY-MM-DD/YYYY-MM-DD`` and return it unchanged.

    ``name`` is the parameter's name, for the message.

    Example
    -------
    >>> validate_datetime("2017-06-01/2017-09-30")
    '2017-06-01/2017-09-30'
    """
    parts = str(interval).split("/")
    if len(parts) != 2 or not all(_DATE.match(p) for p in parts):
        raise ValueError(
            f"{name} must be dates START/END written YYYY-MM-DD/YYYY-MM-DD, got {interval!r}"
        )
    try:
        start, end = (dt.date.fromisoformat(p) for p in parts)
    except ValueError as err:
        raise ValueError(
            f"{name} {interval!r} holds a date that is not in the calendar: {err}"
        ) from None
    if start > end:
        raise ValueError(
            f"{name} is reversed: start {start} is after end {end}; write START/END"
        )
    return interval


def validate_platforms(platform: str | Iterable[str] | None) -> list[str]:
    """Return the platform(s) as a list, checking each is a Landsat platform.

    Example
    -------
    >>> validate_platforms("landsat-8")
    ['landsat-8']
    """
    if platform is None:
        return []
    names = [platform] if isinstance(platform, str) else list(platform)
    unknown = [p for p in names if p not in PLATFORMS]
    if unknown:
        raise ValueError(
            f"unknown platform {unknown[0]!r}: choose from {', '.join(PLATFORMS)}"
        )
    return names


def validate_max_cloud(max_cloud: float) -> float:
    """Check a maximum cloud cover in percent (0-100).

    Example
    -------
    >>> validate_max_cloud(1)
    1.0
    """
    value = float(max_cloud)
    if not 0 <= value <= 100:
        raise ValueError(f"max cloud cover is a percentage in 0-100, got {max_cloud}")
    return value


def cql2_filter(max_cloud: float | None = None, platforms: Sequence[str] = ()) -> dict[str, Any]:
    """Build the CQL2-JSON filter for ``eo:cloud_cover < max_cloud`` and ``platform in platforms``.

    Example
    -------
    >>> cql2_filter(1, ["landsat-5"])["op"]
    'and'
    """
    args: list[dict[str, Any]] = []
    if max_cloud is not None:
        args.append({"op": "<", "args": [{"property": "eo:cloud_cover"}, max_cloud]})
    if platforms:
        args.append({"op": "in", "args": [{"property": "platform"}, list(platforms)]})
    if not args:
        return {}
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def open_catalog(
    url: str | None = None, retries: int = 5, timeout: float = 60
) -> pystac_client.Client:
    """Open a STAC API with retries on 5xx, timeouts and dropped connections.

    ``timeout`` is the seconds to wait for an answer before trying again (with backoff), up to
    ``retries`` times; connecting gets at most 10 seconds.

    Asset links are left unsigned: :func:`lakeml.load.load_scene` signs Planetary Computer links
    when it reads them (fresh tokens, and no signed URL ends up in a notebook's output).

    Example
    -------
    >>> catalog = open_catalog()  # doctest: +SKIP
    >>> catalog.id  # doctest: +SKIP
    'microsoft-pc'
    """
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout is the seconds to wait for an answer, > 0; got {timeout!r}")
    if not (isinstance(retries, int) and retries >= 0):
        raise ValueError(f"retries is a whole number >= 0, got {retries!r}")
    retry = Retry(
        total=retries,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST searches are idempotent reads
    )
    limits = (min(10, timeout), timeout)
    io = StacApiIO(max_retries=retry)
    url = stac_url(url)
    # Client.open passes its own ``timeout`` (default None: wait forever) on to the StacApiIO,
    # replacing one set there: it must be given here.
    return _retry_body(lambda: pystac_client.Client.open(url, stac_io=io, timeout=limits), url)


_BODY_ERRORS = ("Connection broken", "IncompleteRead", "Connection aborted", "Read timed out")


def _retry_body(call: Any, url: str, attempts: int = 3) -> Any:
    """Run ``call``; retry when the connection broke while the answer's body was read.

    urllib3's ``Retry`` (above) covers connection errors and 5xx answers, but requests reads
    the body after urllib3 has returned, so a drop mid-body is retried here. Any failure left
    becomes a ``RuntimeError`` naming the STAC API.
    """
    for attempt in range(attempts):
        try:
            return call()
        except APIError as err:
            text = str(err)
            if attempt + 1 < attempts and any(s in text for s in _BODY_ERRORS):
                time.sleep(0.5 * 2**attempt)
                continue
            raise RuntimeError(f"STAC API {url} failed: {text[:300]}") from None
    raise AssertionError("unreachable")


def search(
    bbox: Sequence[float],
    datetime: str,
    platform: str | Iterable[str] | None = None,
    max_cloud: float | None = 1,
    collection: str = COLLECTION,
    catalog: pystac_client.Client | None = None,
) -> list[pystac.Item]:
    """Search Landsat scenes over ``bbox`` in ``datetime`` below ``max_cloud`` percent cloud.

    Returns the items sorted by date. Raises ``ValueError`` for bad input before any request,
    and when nothing matches (saying what was searched and what to widen).

    Example
    -------
    >>> items = search(WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", "landsat-8")  # doctest: +SKIP
    >>> items[0].properties["platform"]  # doctest: +SKIP
    'landsat-8'
    """
    bbox = validate_bbox(bbox)
    validate_datetime(datetime)
    platforms = validate_platforms(platform)
    if max_cloud is not None:
        max_cloud = validate_max_cloud(max_cloud)
    catalog = catalog if catalog is not None else open_catalog()
    url = catalog.self_href or "the STAC API"
    try:
        known = _retry_body(lambda: catalog.get_collection(collection), url)
    except RuntimeError:
        known = None
    if known is None:
        raise ValueError(
            f"unknown collection {collection!r} in the STAC API {url}; Landsat Collection 2 "
            f"Level-2 is {COLLECTION!r}"
        )
    query = catalog.search(
        collections=[collection],
        bbox=bbox,
        datetime=datetime,
        filter=cql2_filter(max_cloud, platforms) or None,
        filter_lang="cql2-json",
    )
    found = _retry_body(lambda: list(query.items()), url)
    items = sorted(found, key=lambda it: it.datetime or dt.datetime.min)
    if not items:
        what = ", ".join(platforms) or "any platform"
        cloud = f" with cloud cover < {max_cloud}%" if max_cloud is not None else ""
        raise ValueError(
            f"no {collection} scene found for {what} over bbox {list(bbox)} in {datetime}"
            f"{cloud}; widen the dates or raise the cloud cover limit"
        )
    return items


def band_table(items: Iterable[pystac.Item]) -> list[dict[str, Any]]:
    """One row per (platform, asset) with the band's common name, wavelength and scaling.

    Useful to see why Landsat 5 and Landsat 8 scenes carry different bands.

    Example
    -------
    >>> rows = band_table(items)  # doctest: +SKIP
    >>> rows[0]["asset"]  # doctest: +SKIP
    'blue'
    """
    rows = []
    seen = set()
    for item in items:
        platform = item.properties.get("platform")
        for key, asset in item.assets.items():
            bands = asset.extra_fields.get("eo:bands")
            if not bands or (platform, key) in seen:
                continue
            seen.add((platform, key))
            raster = (asset.extra_fields.get("raster:bands") or [{}])[0]
            rows.append(
                {
                    "platform": platform,
                    "asset": key,
                    "band": bands[0].get("name"),
                    "common_name": bands[0].get("common_name"),
                    "wavelength_um": bands[0].get("center_wavelength"),
                    "scale": raster.get("scale"),
                    "offset": raster.get("offset"),
                    "nodata": raster.get("nodata"),
                }
            )
    return rows
