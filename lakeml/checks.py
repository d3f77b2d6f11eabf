"""Checks: every test of user input and its message, in one place.

Each check raises :class:`BadInput` (a ``ValueError``, so ``except ValueError`` still catches
it) with a message that says what was wrong and how to fix it, and returns the value in the
form the rest of lakeml uses (floats, tuples, lists). Input is checked where it enters a
public function, before any search, download or clustering; checked values are passed on.

The ``lakeml`` command maps :class:`BadInput`, and only it, to exit code 2; any other error is
a runtime failure (exit code 1).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import urllib.parse
from collections.abc import Collection, Hashable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

PLATFORMS = ("landsat-4", "landsat-5", "landsat-7", "landsat-8", "landsat-9")
"""Platforms in the ``landsat-c2-l2`` collection, as STAC's ``platform`` property spells them."""

FIRST_YEAR = 1982
"""Landsat Collection 2 Level-2 starts with Landsat 4 in 1982."""

PC_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
"""Microsoft Planetary Computer's STAC API: the default catalog."""

BBox = tuple[float, float, float, float]
"""A checked bounding box ``(W, S, E, N)`` in degrees."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")
_MONTHS = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")

T = TypeVar("T")


class BadInput(ValueError):
    """A value the user gave is wrong; the message says what and how to fix it.

    Examples
    --------
    >>> issubclass(BadInput, ValueError)
    True
    """


class UnusableData(ValueError):
    """The data, not the call, cannot give an answer.

    Every pixel masked, no spectral structure left to cluster or split, the lake point not
    on water in this scene. A long series may skip a scene for it (status ``failed``, the
    message as its note) and a mixed cluster may stay whole; any other ``ValueError`` is a
    bug and is raised.

    Examples
    --------
    >>> issubclass(UnusableData, ValueError), issubclass(UnusableData, BadInput)
    (True, False)
    """


def check_choice(value: T, choices: Collection[T], what: str) -> T:
    """Check that ``value`` is one of ``choices``.

    Parameters
    ----------
    value : object
        What the user gave.
    choices : collection
        The values allowed, listed in the message in their order.
    what : str
        The name of the thing, for the message (e.g. ``"platform"``).

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    BadInput
        ``unknown <what> <value>: choose from <choices>``.

    Examples
    --------
    >>> check_choice("red", ("red", "nir08"), "band")
    'red'
    >>> check_choice("nir", ("red", "nir08"), "band")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: unknown band 'nir': choose from red, nir08
    """
    if value not in choices:
        raise BadInput(f"unknown {what} {value!r}: choose from {', '.join(map(str, choices))}")
    return value


def validate_bbox(bbox: Sequence[float]) -> BBox:
    """Check a lon/lat bounding box ``(W, S, E, N)``.

    Parameters
    ----------
    bbox : sequence of float
        West, south, east, north in degrees.

    Returns
    -------
    tuple of float
        The four values as floats.

    Raises
    ------
    BadInput
        Not four finite numbers, out of range, zero-sized or in the wrong order (the message
        names which, and suggests the fix: e.g. swapped longitude and latitude).

    Examples
    --------
    >>> validate_bbox([-118.89, 38.54, -118.57, 38.84])
    (-118.89, 38.54, -118.57, 38.84)
    >>> validate_bbox([38.54, -118.89, 38.84, -118.57])
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: bbox latitudes must lie in [-90, 90], got S=-118.89, N=-118.57 ...
    """
    try:
        values = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise BadInput(f"bbox must be four numbers W S E N in degrees, got {bbox!r}") from None
    if len(values) != 4:
        raise BadInput(
            f"bbox must be four numbers W S E N in degrees, got {len(values)} values: {bbox!r}"
        )
    w, s, e, n = values
    if not all(math.isfinite(v) for v in values):
        raise BadInput(f"bbox values must be finite numbers, got {bbox!r}")
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise BadInput(f"bbox longitudes must lie in [-180, 180], got W={w}, E={e}")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise BadInput(
            f"bbox latitudes must lie in [-90, 90], got S={s}, N={n} "
            "(did you swap longitude and latitude? the order is W S E N)"
        )
    if w == e:
        raise BadInput(f"bbox has zero width: west and east are both {w}; give W < E")
    if s == n:
        raise BadInput(f"bbox has zero height: south and north are both {s}; give S < N")
    if w >= e:
        raise BadInput(f"bbox west ({w}) must be less than east ({e}): the order is W S E N")
    if s >= n:
        raise BadInput(f"bbox south ({s}) must be less than north ({n}): the order is W S E N")
    return w, s, e, n


def bbox_contains(bbox: Sequence[float], point: Sequence[float]) -> bool:
    """Tell whether the ``(lon, lat)`` point lies inside (or on the edge of) ``bbox``.

    Parameters
    ----------
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    point : sequence of float
        ``(lon, lat)`` in degrees.

    Returns
    -------
    bool
        True inside or on the edge.

    Examples
    --------
    >>> bbox_contains((-118.89, 38.54, -118.57, 38.84), (-118.71, 38.70))
    True
    >>> bbox_contains((-118.89, 38.54, -118.57, 38.84), (-100.0, 40.0))
    False
    """
    w, s, e, n = bbox
    lon, lat = point
    return w <= lon <= e and s <= lat <= n


def validate_point(
    point: Sequence[float], bbox: BBox, name: str = "lake point"
) -> tuple[float, float]:
    """Check a ``(lon, lat)`` point that must lie inside an already checked ``bbox``.

    Parameters
    ----------
    point : sequence of float
        ``(lon, lat)`` in degrees.
    bbox : tuple of float
        ``(W, S, E, N)``, as :func:`validate_bbox` returns it.
    name : str
        What the point is, for the message.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` as floats.

    Raises
    ------
    BadInput
        Not two numbers, or outside the bbox.

    Examples
    --------
    >>> validate_point((-118.71, 38.70), (-118.89, 38.54, -118.57, 38.84))
    (-118.71, 38.7)
    >>> validate_point("12", (-118.89, 38.54, -118.57, 38.84))
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: lake point must be two numbers LON LAT in degrees, got '12'
    """
    try:
        if isinstance(point, str) or len(point) != 2:
            raise TypeError
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be two numbers LON LAT in degrees, got {point!r}") from None
    if not bbox_contains(bbox, (lon, lat)):
        raise BadInput(
            f"{name} ({lon}, {lat}) lies outside the bbox {list(bbox)}; give a point on the lake, "
            "inside the bbox, as LON LAT"
        )
    return lon, lat


def validate_datetime(interval: str, name: str = "datetime") -> str:
    """Check a date interval ``YYYY-MM-DD/YYYY-MM-DD``.

    Parameters
    ----------
    interval : str
        Start and end dates, separated by ``/``.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    str
        ``interval``, unchanged.

    Raises
    ------
    BadInput
        Malformed, not in the calendar, or reversed.

    Examples
    --------
    >>> validate_datetime("2017-06-01/2017-09-30")
    '2017-06-01/2017-09-30'
    >>> validate_datetime("1988-02-30/1988-09-30", "before")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: before '1988-02-30/1988-09-30' holds a date that is not in the ...
    """
    parts = str(interval).split("/")
    if len(parts) != 2 or not all(_DATE.match(p) for p in parts):
        raise BadInput(
            f"{name} must be dates START/END written YYYY-MM-DD/YYYY-MM-DD, got {interval!r}"
        )
    try:
        start, end = (dt.date.fromisoformat(p) for p in parts)
    except ValueError as err:
        raise BadInput(
            f"{name} {interval!r} holds a date that is not in the calendar: {err}"
        ) from None
    if start > end:
        raise BadInput(f"{name} is reversed: start {start} is after end {end}; write START/END")
    return interval


def validate_platforms(platform: str | Iterable[str] | None) -> list[str]:
    """Check Landsat platform name(s).

    Parameters
    ----------
    platform : str, iterable of str or None
        One platform, several, or None (every mission).

    Returns
    -------
    list of str
        The platforms (empty for None).

    Raises
    ------
    BadInput
        A name not in :data:`PLATFORMS`.

    Examples
    --------
    >>> validate_platforms("landsat-8")
    ['landsat-8']
    >>> validate_platforms(None)
    []
    """
    if platform is None:
        return []
    names = [platform] if isinstance(platform, str) else list(platform)
    for name in names:
        check_choice(name, PLATFORMS, "platform")
    return names


def validate_max_cloud(max_cloud: float) -> float:
    """Check a maximum scene cloud cover in percent.

    Parameters
    ----------
    max_cloud : float
        The ``eo:cloud_cover`` limit, 0-100.

    Returns
    -------
    float
        The limit as a float.

    Raises
    ------
    BadInput
        Outside 0-100.

    Examples
    --------
    >>> validate_max_cloud(1)
    1.0
    """
    value = float(max_cloud)
    if not 0 <= value <= 100:
        raise BadInput(f"max cloud cover is a percentage in 0-100, got {max_cloud}")
    return value


def validate_stac_url(url: str, where: str = "the STAC API URL") -> str:
    """Check that a STAC API address is an http(s) URL.

    Parameters
    ----------
    url : str
        The address.
    where : str
        Where it came from, for the message (an argument, an environment variable).

    Returns
    -------
    str
        ``url`` without surrounding white space.

    Raises
    ------
    BadInput
        Not an http(s) URL.

    Examples
    --------
    >>> validate_stac_url(" http://127.0.0.1:8080/api/stac/v1 ")
    'http://127.0.0.1:8080/api/stac/v1'
    """
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise BadInput(
            f"{where} must be an http(s) URL, got {url!r}; e.g. {PC_STAC_URL} "
            "(Planetary Computer) or the URL `lakeml sample serve` prints"
        )
    return url


def check_n_clusters(value: int, name: str = "clusters") -> int:
    """Check a number of clusters: a whole number, at least 2 (water and the rest).

    Parameters
    ----------
    value : int
        The number of clusters.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    int
        ``value`` as an int.

    Raises
    ------
    BadInput
        Not a whole number, or below 2.

    Examples
    --------
    >>> check_n_clusters(6)
    6
    >>> check_n_clusters(1, "n_clusters")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: n_clusters must be at least 2 (water and the rest), got 1
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise BadInput(f"{name} must be a whole number, got {value!r}")
    if value < 2:
        raise BadInput(f"{name} must be at least 2 (water and the rest), got {value}")
    return int(value)


def check_resolution(value: float) -> float:
    """Check a pixel size in metres.

    Parameters
    ----------
    value : float
        The pixel size, > 0.

    Returns
    -------
    float
        The pixel size as a float.

    Raises
    ------
    BadInput
        Zero, negative or not a number.

    Examples
    --------
    >>> check_resolution(30)
    30.0
    """
    if not (float(value) > 0):
        raise BadInput(f"resolution is a pixel size in metres > 0, got {value}")
    return float(value)


def check_fraction(value: float, name: str) -> float:
    """Check a fraction in (0, 1].

    Parameters
    ----------
    value : float
        The fraction.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    float
        The fraction as a float.

    Raises
    ------
    BadInput
        Outside (0, 1].

    Examples
    --------
    >>> check_fraction(0.98, "min_observed")
    0.98
    """
    if not (0 < float(value) <= 1):
        raise BadInput(f"{name} is a fraction in (0, 1], got {value}")
    return float(value)


def check_extent_file(path: str | os.PathLike[str]) -> Path:
    """Check a lake-extent raster: an existing single-band GeoTIFF with a CRS.

    The file is opened (its header only), not read.

    Parameters
    ----------
    path : str or os.PathLike
        The raster, e.g. ``lake_extent.tif`` written by an earlier ``lakeml timeseries`` run.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    BadInput
        The file is missing, not a raster, has more than one band or no CRS.

    Examples
    --------
    >>> check_extent_file("no-such-extent.tif")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: the lake extent no-such-extent.tif does not exist: give a GeoTIFF ...
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    how = (
        "give a GeoTIFF of the lake's maximum extent (1 lake, 0 not, with a CRS), e.g. the "
        "lake_extent.tif an earlier lakeml timeseries run wrote"
    )
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"the lake extent {path} does not exist: {how}")
    try:
        with rasterio.open(file) as src:
            count, crs = src.count, src.crs
    except RasterioIOError as err:
        raise BadInput(f"the lake extent {path} is not a raster ({err}): {how}") from err
    if count != 1 or crs is None:
        raise BadInput(
            f"the lake extent {path} has {count} band(s) and CRS {crs}; one band and a CRS are "
            f"needed: {how}"
        )
    return file


def require_bands(have: Collection[Hashable], bands: Iterable[str], what: str) -> None:
    """Check that the bands a computation needs are there.

    Parameters
    ----------
    have : collection of hashable
        The variables of a dataset (``list(ds)``) or the assets of an item.
    bands : iterable of str
        The bands needed.
    what : str
        What needs them, for the message (e.g. ``"DSWE"``).

    Raises
    ------
    BadInput
        Names the bands missing and what there is.

    Examples
    --------
    >>> require_bands(["red", "green", "blue"], ["red", "green"], "true colour")
    >>> require_bands(["red"], ["red", "nir08"], "NDVI")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: NDVI needs the bands red, nir08; the dataset lacks nir08 (it has red)
    """
    need = list(bands)
    missing = [b for b in need if b not in have]
    if missing:
        raise BadInput(
            f"{what} needs the bands {', '.join(need)}; the dataset lacks {', '.join(missing)} "
            f"(it has {', '.join(map(str, have))})"
        )


def parse_years(years: str | Sequence[int]) -> list[int]:
    """Check years given as ``"START-END"``, one ``"YEAR"``, or a list.

    Parameters
    ----------
    years : str or sequence of int
        The years.

    Returns
    -------
    list of int
        Every year, in order.

    Raises
    ------
    BadInput
        Malformed, reversed, or outside Landsat's years.

    Examples
    --------
    >>> parse_years("1984-1987")
    [1984, 1985, 1986, 1987]
    >>> parse_years([1990, 1988])
    [1988, 1990]
    """
    if isinstance(years, str):
        m = _YEARS.match(years)
        if not m:
            raise BadInput(f"years must look like START-END, e.g. 1984-2024, got {years!r}")
        start = int(m.group(1))
        end = int(m.group(2) or start)
        if start > end:
            raise BadInput(f"years are reversed: {start} is after {end}; write START-END")
        out = list(range(start, end + 1))
    else:
        try:
            out = sorted({int(y) for y in years})
        except (TypeError, ValueError):
            raise BadInput(f"years must be whole numbers, got {years!r}") from None
    if not out:
        raise BadInput("no year given")
    this_year = dt.date.today().year
    if out[0] < FIRST_YEAR or out[-1] > this_year:
        raise BadInput(
            f"years must lie in {FIRST_YEAR}-{this_year} (Landsat Collection 2 Level-2 starts "
            f"in {FIRST_YEAR}), got {out[0]}-{out[-1]}"
        )
    return out


def parse_months(months: str | Sequence[int]) -> tuple[int, int]:
    """Check a month range ``"M1-M2"`` (or ``(m1, m2)``) within one year.

    Parameters
    ----------
    months : str or sequence of int
        First and last month, 1-12.

    Returns
    -------
    tuple of int
        ``(m1, m2)`` with m1 <= m2.

    Raises
    ------
    BadInput
        Malformed, outside 1-12, or across the new year.

    Examples
    --------
    >>> parse_months("6-9")
    (6, 9)
    """
    if isinstance(months, str):
        m = _MONTHS.match(months)
        if not m:
            raise BadInput(f"months must look like M1-M2, e.g. 6-9, got {months!r}")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    else:
        try:
            first, last = (int(v) for v in months)
        except (TypeError, ValueError):
            raise BadInput(f"months must be two month numbers (M1, M2), got {months!r}") from None
    if not (1 <= first <= 12 and 1 <= last <= 12):
        raise BadInput(f"months must lie in 1-12, got {first}-{last}")
    if first > last:
        raise BadInput(
            f"months are reversed: {first} is after {last}; a season across the new year is "
            "not supported, write M1-M2 within one year"
        )
    return first, last


__all__ = [
    "FIRST_YEAR",
    "PLATFORMS",
    "BBox",
    "BadInput",
    "UnusableData",
    "bbox_contains",
    "check_choice",
    "check_fraction",
    "check_extent_file",
    "check_n_clusters",
    "check_resolution",
    "parse_months",
    "parse_years",
    "require_bands",
    "validate_bbox",
    "validate_datetime",
    "validate_max_cloud",
    "validate_platforms",
    "validate_point",
    "validate_stac_url",
]
