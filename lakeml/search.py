"""Search: find Landsat Collection 2 Level-2 scenes in a STAC API.

The same code talks to Microsoft Planetary Computer (the default) and to the local
sample catalog (``lakeml sample serve``): set ``LAKEML_STAC_URL`` to switch.

Searches are expressed in CQL2-JSON (``filter``), which Planetary Computer and every
pgstac-based API understand. The older ``query`` extension's ``in`` operator is rejected
by some servers, so it is not used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pystac
import pystac_client
import requests
import tenacity
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from lakeml.checks import (
    PC_STAC_URL,
    BadInput,
    validate_bbox,
    validate_datetime,
    validate_max_cloud,
    validate_platforms,
    validate_stac_url,
)

COLLECTION = "landsat-c2-l2"
"""Landsat Collection 2 Level-2 (surface reflectance and temperature)."""

log = logging.getLogger(__name__)

WALKER_LAKE_BBOX = (-118.89, 38.54, -118.57, 38.84)
"""The original cookbook's bounding box around Walker Lake, Nevada (W, S, E, N in degrees)."""

WALKER_LAKE_CENTRE = (-118.71, 38.70)
"""A point in the middle of Walker Lake (lon, lat): water on every date."""


def stac_url(url: str | None = None) -> str:
    """Return the STAC API to use: ``url``, else ``$LAKEML_STAC_URL``, else Planetary Computer.

    Parameters
    ----------
    url : str or None
        A STAC API address; None or empty for the environment's or the default.

    Returns
    -------
    str
        The address, checked (:func:`lakeml.checks.validate_stac_url`).

    Raises
    ------
    BadInput
        Not an http(s) URL (the message says where it came from).

    Examples
    --------
    >>> stac_url("http://127.0.0.1:8080/api/stac/v1")
    'http://127.0.0.1:8080/api/stac/v1'
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"LAKEML_STAC_URL": ""}):
    ...     stac_url()
    'https://planetarycomputer.microsoft.com/api/stac/v1'
    >>> with mock.patch.dict(os.environ, {"LAKEML_STAC_URL": "127.0.0.1:8080"}):
    ...     stac_url()
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: LAKEML_STAC_URL must be an http(s) URL, got '127.0.0.1:8080'; ...
    """
    url = url.strip() if url else url
    if url:
        return validate_stac_url(url)
    if os.environ.get("LAKEML_STAC_URL"):
        return validate_stac_url(os.environ["LAKEML_STAC_URL"], "LAKEML_STAC_URL")
    return PC_STAC_URL


def cql2_filter(max_cloud: float | None = None, platforms: Sequence[str] = ()) -> dict[str, Any]:
    """Build the CQL2-JSON filter for ``eo:cloud_cover < max_cloud`` and ``platform in platforms``.

    Parameters
    ----------
    max_cloud : float or None
        The cloud cover limit in percent; None for no limit.
    platforms : sequence of str
        The missions to keep; empty for all.

    Returns
    -------
    dict
        The filter (``{}`` when there is nothing to filter on).

    Examples
    --------
    >>> cql2_filter(20)
    {'op': '<', 'args': [{'property': 'eo:cloud_cover'}, 20]}
    >>> cql2_filter(1, ["landsat-5", "landsat-7"])  # doctest: +NORMALIZE_WHITESPACE
    {'op': 'and', 'args': [{'op': '<', 'args': [{'property': 'eo:cloud_cover'}, 1]},
                           {'op': 'in', 'args': [{'property': 'platform'},
                                                 ['landsat-5', 'landsat-7']]}]}
    >>> cql2_filter(None)
    {}
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

    Parameters
    ----------
    url : str or None
        The STAC API (default :func:`stac_url`: ``$LAKEML_STAC_URL``, else Planetary
        Computer).
    retries : int
        Tries again after the first, on 429, 5xx, timeouts and dropped connections.
    timeout : float
        Seconds to wait for an answer.

    Returns
    -------
    pystac_client.Client
        The open catalog.

    Raises
    ------
    BadInput
        A bad ``url``, ``retries`` or ``timeout`` (checked before any request).
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    Bad settings are refused before any request:

    >>> open_catalog(timeout=0)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: timeout is the seconds to wait for an answer, > 0; got 0

    The offline sample's local STAC API (``sample_stac_url``, as ``lakeml sample serve``
    starts one):

    >>> open_catalog(sample_stac_url).get_collection("landsat-c2-l2").id
    'landsat-c2-l2'

    Planetary Computer, the default (skipped here: it needs the internet):

    >>> open_catalog().id  # doctest: +SKIP
    'microsoft-pc'
    """
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise BadInput(f"timeout is the seconds to wait for an answer, > 0; got {timeout!r}")
    if not (isinstance(retries, int) and retries >= 0):
        raise BadInput(f"retries is a whole number >= 0, got {retries!r}")
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


def _transient(err: BaseException) -> bool:
    """Tell whether a STAC API call failed in a way worth trying again (tenacity's test).

    pystac-client raises its ``APIError`` from inside the ``except`` that caught requests'
    error, so that error is the ``APIError``'s ``__context__``. Worth retrying: a requests
    error (the connection dropped or timed out while the answer's body was read, which happens
    after urllib3's ``Retry`` has handed the answer over). Not retried: an HTTP answer (4xx:
    the request is wrong; 5xx: urllib3 already retried it), nor a failure urllib3 has already
    retried until it gave up (``MaxRetryError`` inside), which would multiply its retries.
    """
    cause = err.__context__
    if not isinstance(err, APIError) or not isinstance(cause, requests.RequestException):
        return False
    return not (cause.args and isinstance(cause.args[0], MaxRetryError))


BODY_RETRIES = 3
"""Tries of a STAC API call whose answer's body is cut (backoff 0.5 s, 1 s; tenacity)."""


def _retry_body(call: Any, url: str) -> Any:
    """Run ``call``; retry when the connection broke while the answer's body was read.

    urllib3's ``Retry`` (:func:`open_catalog`) covers connection errors and 5xx answers, but
    requests reads the body after urllib3 has returned, so a drop mid-body is retried here by
    tenacity (:func:`_transient` says which failures, by their type, not their text). Any
    failure left becomes a ``RuntimeError`` naming the STAC API.
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_transient),
        stop=tenacity.stop_after_attempt(BODY_RETRIES),
        wait=tenacity.wait_exponential(multiplier=0.5),
        before_sleep=tenacity.before_sleep_log(log, logging.DEBUG),
        reraise=True,
    )
    try:
        return retrying(call)
    except APIError as err:
        raise RuntimeError(f"STAC API {url} failed: {str(err)[:300]}") from None


def search(
    bbox: Sequence[float],
    datetime: str,
    platform: str | Iterable[str] | None = None,
    max_cloud: float | None = 1,
    collection: str = COLLECTION,
    catalog: pystac_client.Client | None = None,
    require_found: bool = True,
) -> list[pystac.Item]:
    """Search Landsat scenes over ``bbox`` in ``datetime`` below ``max_cloud`` percent cloud.

    Input is checked before any request (:mod:`lakeml.checks`). A connection cut while an
    answer is read is retried (as are 5xx answers and timeouts, by :func:`open_catalog`).

    Parameters
    ----------
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    datetime : str
        ``YYYY-MM-DD/YYYY-MM-DD``.
    platform : str, iterable of str or None
        Landsat mission(s); None for all.
    max_cloud : float or None
        Keep scenes with ``eo:cloud_cover`` below this percentage; None for no limit.
    collection : str
        The STAC collection.
    catalog : pystac_client.Client or None
        An open catalog (default: :func:`open_catalog` of :func:`stac_url`).
    require_found : bool
        Raise when nothing matches (the default); False returns an empty list instead.

    Returns
    -------
    list of pystac.Item
        The scenes, sorted by date (then id).

    Raises
    ------
    BadInput
        Bad input, an unknown collection, or (with ``require_found``) no scene: the message
        says what was searched and what to widen.
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    Input is checked before any request, so these fail at once, without a STAC API:

    >>> search((-118.57, 38.54, -118.89, 38.84), "2017-06-01/2017-09-30")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: bbox west (-118.57) must be less than east (-118.89): the order is ...
    >>> search(WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", platform="landsat-10")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: unknown platform 'landsat-10': choose from landsat-4, landsat-5, ...

    On the offline sample's local STAC API (``sample_stac_url``; the default is Planetary
    Computer, which needs the internet):

    >>> items = search(WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", "landsat-8",
    ...                catalog=open_catalog(sample_stac_url))
    >>> [it.id[17:25] for it in items], items[0].properties["platform"]
    (['20170616', '20170702', '20170718'], 'landsat-8')
    """
    bbox = validate_bbox(bbox)
    validate_datetime(datetime)
    platforms = validate_platforms(platform)
    if max_cloud is not None:
        max_cloud = validate_max_cloud(max_cloud)
    catalog = catalog if catalog is not None else open_catalog()
    url = catalog.self_href or "the STAC API"
    # None only for a 404; a server that fails is a RuntimeError, not the user's mistake
    known = _retry_body(lambda: catalog.get_collection(collection), url)
    if known is None:
        raise BadInput(
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
    items = sorted(found, key=lambda it: (it.datetime or dt.datetime.min, it.id))
    if not items and require_found:
        what = ", ".join(platforms) or "any platform"
        cloud = f" with cloud cover < {max_cloud}%" if max_cloud is not None else ""
        raise BadInput(
            f"no {collection} scene found for {what} over bbox {list(bbox)} in {datetime}"
            f"{cloud}; widen the dates or raise the cloud cover limit"
        )
    return items


def band_table(items: Iterable[pystac.Item]) -> list[dict[str, Any]]:
    """One row per (platform, asset) with the band's common name, wavelength and scaling.

    Useful to see why Landsat 5 and Landsat 8 scenes carry different bands.

    Parameters
    ----------
    items : iterable of pystac.Item
        Scenes; each platform's assets are listed once (from its first scene).

    Returns
    -------
    list of dict
        One row per (platform, asset with ``eo:bands``): ``platform``, ``asset``, ``band``,
        ``common_name``, ``wavelength_um`` and the ``raster:bands`` ``scale``, ``offset``,
        ``nodata``.

    Examples
    --------
    Four real Landsat 9 items, as Planetary Computer serves them (stored with lakeml's tests),
    give one row per band:

    >>> import json
    >>> from pathlib import Path
    >>> import lakeml
    >>> path = Path(lakeml.__file__).parents[1] / "tests/data/landsat-c2-l2-pc.json"
    >>> items = [pystac.Item.from_dict(d) for d in json.loads(path.read_text())]
    >>> rows = band_table(items)
    >>> [row["asset"] for row in rows]
    ['red', 'blue', 'green', 'nir08', 'lwir11', 'swir16', 'swir22', 'coastal']
    >>> rows[0]  # doctest: +NORMALIZE_WHITESPACE
    {'platform': 'landsat-9', 'asset': 'red', 'band': 'OLI_B4', 'common_name': 'red',
     'wavelength_um': 0.65, 'scale': 2.75e-05, 'offset': -0.2, 'nodata': 0}

    Landsat 5's thermal band is another instrument's, under another asset key:

    >>> import datetime as dt
    >>> tm = pystac.Item("LT05_DEMO", None, None, dt.datetime(1988, 8, 1),
    ...                  {"platform": "landsat-5"})
    >>> tm.add_asset("lwir", pystac.Asset("lwir.tif", extra_fields={
    ...     "eo:bands": [{"name": "TM_B6", "common_name": "lwir", "center_wavelength": 11.45}],
    ...     "raster:bands": [{"scale": 0.00341802, "offset": 149.0, "nodata": 0}]}))
    >>> [(row["platform"], row["asset"], row["band"]) for row in band_table([items[0], tm])
    ...  if row["wavelength_um"] > 10]
    [('landsat-9', 'lwir11', 'TIRS_B10'), ('landsat-5', 'lwir', 'TM_B6')]
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


@dataclasses.dataclass(frozen=True)
class DataNote:
    """Which data a page ran on: the catalog, the scenes, and which of them are synthetic.

    Made by :func:`data_note`. A notebook prints :attr:`line` and glues the note itself
    (myst-nb's ``glue``, whose ``{glue:md}`` directive shows its markdown, :attr:`myst`, at the
    top of the page), so the page says what it ran on at run time.
    """

    url: str
    """The STAC API the scenes came from."""
    item_ids: tuple[str, ...]
    """The scenes' ids, in the order given."""
    synthetic_ids: tuple[str, ...]
    """The ids of the scenes whose pixels were generated (the offline sample's)."""

    @property
    def catalog(self) -> str:
        """The catalog: "Microsoft Planetary Computer", else "the (local) STAC API at URL"."""
        return self._catalog("{}")

    def _catalog(self, url_format: str) -> str:
        url = url_format.format(self.url)
        if self.url.rstrip("/") == PC_STAC_URL:
            return f"Microsoft Planetary Computer ({url})"
        host = urllib.parse.urlsplit(self.url).hostname
        return f"the {'local ' if host in LOOPBACK else ''}STAC API at {url}"

    @property
    def synthetic(self) -> bool:
        """True when any scene's pixels were generated (the sample's warning applies)."""
        return bool(self.synthetic_ids)

    @property
    def line(self) -> str:
        """One line of plain text: how many scenes, real or synthetic, from which catalog."""
        real = [i for i in self.item_ids if i not in self.synthetic_ids]
        parts = []
        if self.synthetic_ids:
            parts.append(f"{_scenes(len(self.synthetic_ids))} of the offline sample (synthetic)")
        if real:
            parts.append(f"{_scenes(len(real))} of real Landsat pixels")
        return f"data: {' and '.join(parts)}, from {self.catalog}: {', '.join(self.item_ids)}"

    @property
    def myst(self) -> str:
        """The same as MyST markdown: a warning when the sample served any scene, else a note."""
        ids = ", ".join(f"`{i}`" for i in self.item_ids)
        if not self.synthetic:
            return (
                f"```{{note}}\n**Real pixels.** This page ran on "
                f"{_scenes(len(self.item_ids))} of real Landsat Collection 2 Level-2 surface "
                f"reflectance from {self._catalog('`{}`')}: {ids}.\n```"
            )
        real = [f"`{i}`" for i in self.item_ids if i not in self.synthetic_ids]
        also = f" The real scenes among them: {', '.join(real)}." if real else ""
        return (
            "```{warning}\n**Offline sample: synthetic pixels.** This page ran on "
            f"{_scenes(len(self.synthetic_ids))} of `lakeml`'s generated sample of Walker "
            "Lake ({mod}`lakeml.offline.sample`), served by "
            f"{self._catalog('`{}`')}: {ids}. The scenes are shaped exactly like Planetary "
            "Computer's, "
            "under the real scene ids, but their pixels were made by a program, with a known "
            "truth: the areas and scores on this page describe that sample, not the real lake, "
            'and figures say "offline sample" in their titles. Run the notebook without '
            "`LAKEML_STAC_URL` to read the real scenes from Planetary Computer; real pixels are "
            f"on the page [Does it work on other water?](06-other-water).{also}\n```"
        )

    def _repr_markdown_(self) -> str:
        # what myst-nb's glue stores, and its {glue:md} role shows
        return self.myst


LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Host names of this machine: a STAC API there is a local one (e.g. the offline sample's)."""


def _scenes(n: int) -> str:
    return f"{n} scene" if n == 1 else f"{n} scenes"


def data_note(
    items: Iterable[pystac.Item],
    is_synthetic: Callable[[pystac.Item], bool],
    url: str | None = None,
) -> DataNote:
    """Say which data a page ran on: the catalog, the scenes, and which are synthetic.

    Parameters
    ----------
    items : iterable of pystac.Item
        The scenes the page read (duplicates are listed once).
    is_synthetic : callable
        Tells a generated scene from a real one, e.g.
        :func:`lakeml.offline.sample.is_synthetic` (passed in: the core does not import the
        offline kit).
    url : str or None
        The STAC API the items came from; None for :func:`stac_url`'s (``$LAKEML_STAC_URL``,
        else Planetary Computer).

    Returns
    -------
    DataNote
        Its ``line`` is one line of text, its ``myst`` a warning (synthetic) or a note (real).

    Raises
    ------
    BadInput
        No item: a page that read no scene has no data to name.

    Examples
    --------
    >>> import datetime as dt
    >>> def scene(id_):
    ...     return pystac.Item(id_, None, None, dt.datetime(2017, 7, 18), {})
    >>> note = data_note([scene("LC08_L2SP_042033_20170718_02_T1")], lambda it: False)
    >>> note.line  # doctest: +NORMALIZE_WHITESPACE
    'data: 1 scene of real Landsat pixels, from Microsoft Planetary Computer
     (https://planetarycomputer.microsoft.com/api/stac/v1): LC08_L2SP_042033_20170718_02_T1'
    >>> note.myst.splitlines()[0], note.synthetic
    ('```{note}', False)
    >>> local = data_note([scene("a"), scene("b"), scene("a")], lambda it: it.id == "a",
    ...                   url="http://127.0.0.1:8080/api/stac/v1")
    >>> local.line  # doctest: +NORMALIZE_WHITESPACE
    'data: 1 scene of the offline sample (synthetic) and 1 scene of real Landsat pixels,
     from the local STAC API at http://127.0.0.1:8080/api/stac/v1: a, b'
    >>> local.myst.splitlines()[0], local.synthetic_ids
    ('```{warning}', ('a',))
    >>> data_note([], lambda it: False)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: data_note needs the items the page read, got none
    """
    unique = list({it.id: it for it in items}.values())
    if not unique:
        raise BadInput("data_note needs the items the page read, got none")
    return DataNote(
        url=stac_url(url),
        item_ids=tuple(it.id for it in unique),
        synthetic_ids=tuple(it.id for it in unique if is_synthetic(it)),
    )
