"""Time series: one clear summer scene per year, its water area, flagged when partly observed.

The change workflow (:func:`lakeml.workflows.pipeline.classify_scene`) run over every summer of a
range of years, with rules stated once and tested:

- **Selection.** For each year, every ``landsat-c2-l2`` scene over the bbox in the months
  ``months`` (default June-September) with ``eo:cloud_cover`` below ``max_cloud`` is a candidate,
  whatever the mission; the one with the least fill, cloud and shadow *over the bbox*
  (:func:`lakeml.load.pick_clearest`) is kept. A year without any candidate is reported as
  ``missing``, never silently skipped.
- **Harmonisation.** Every scene is clustered on the reflectance bands all missions share
  (:data:`lakeml.load.SHARED_BANDS`), scaled and masked (``qa_pixel`` fill, which includes the
  Landsat 7 SLC-off gaps, clouds, cloud shadows) the same way.
- **Water.** Exactly as in the change notebook: clusters named water by USGS DSWE's tests on
  their own pixels (:func:`lakeml.workflows.pipeline.classify_scene`), cross-checked at a point in
  the lake (if that pixel is masked, at the nearest observed pixel within ``lake_point_search_m``;
  with none, the year is not cross-checked and says so). The lake's area is the water body that
  holds the lake point (:func:`lakeml.water.lake_only`); ``all_water_km2`` is every water pixel in
  the bbox.
- **Partly observed years.** A year whose scene observes less than ``min_observed`` (0.98) of
  the lake's *maximum extent* is flagged ``partial``: its area is the *observed* water only,
  reported but left out of the trend. The extent is the one given (``extent``, ``lakeml
  timeseries --extent``: e.g. the ``lake_extent.tif`` a run over the whole record wrote), so
  that a year is judged the same whatever other years are requested; without one, it is
  measured from the years requested (pixels seen as water in at least two of them), and the
  series says so (``extent_source``).
- **Trend.** Over the reported, fully observed years, in km2 per decade: the Theil-Sen slope,
  the Mann-Kendall test and a 95 % interval of the slope, both corrected for the lake's
  year-to-year memory (serial correlation, Yue & Wang 2004): see :func:`lakeml.trend.trend`.

Scenes are processed in parallel: one task per year on the current ``distributed.Client`` (at
most ``max_in_flight`` at once; each year's own dask work runs on the same cluster), or on
dask's threaded scheduler when there is no client. None is created here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pystac
import xarray as xr

from lakeml.checks import (
    BadInput,
    UnusableData,
    check_fraction,
    check_n_clusters,
    check_resolution,
    parse_months,
    parse_years,
    validate_bbox,
    validate_max_cloud,
    validate_platforms,
)
from lakeml.files import atomic_write, output_dir, write_cog, write_json
from lakeml.load import SHARED_BANDS, current_client, pick_clearest
from lakeml.search import COLLECTION, WALKER_LAKE_CENTRE, open_catalog, search
from lakeml.trend import lake_extent, observed_fraction, read_extent, trend
from lakeml.water import MIN_OBSERVED, START_CLUSTERS

TABLE_COLUMNS = (
    "year",
    "item_id",
    "platform",
    "datetime",
    "water_km2",
    "all_water_km2",
    "valid_fraction",
    "water_iou_vs_dswe",
    "water_iou_vs_wofs",
    "water_iou_vs_mndwi",
)
"""Columns of ``lake_area.csv`` (then ``truth_water_km2`` on the sample, then ``partial``)."""

STATUSES = ("ok", "partial", "missing", "failed")
"""Per-year status: measured; measured but partly observed; no scene under the cloud limit;
scene found but its data could not be measured (:class:`lakeml.checks.UnusableData`, or an
item without the assets needed: the reason is in ``note``)."""


# --------------------------------------------------------------------------------------------
# Selection: search per year, pick the clearest
# --------------------------------------------------------------------------------------------


def season(year: int, months: tuple[int, int] = (6, 9)) -> str:
    """Return the STAC datetime interval of ``months`` in ``year``: first day of M1 to last of M2.

    Parameters
    ----------
    year : int
        The year.
    months : tuple of int
        First and last month, 1-12 (also ``"M1-M2"``, see :func:`lakeml.checks.parse_months`).

    Returns
    -------
    str
        ``YYYY-MM-DD/YYYY-MM-DD``.

    Raises
    ------
    BadInput
        Bad months.

    Examples
    --------
    >>> season(1988)
    '1988-06-01/1988-09-30'
    >>> season(2024, (2, 2)), season(2000, (11, 12))
    ('2024-02-01/2024-02-29', '2000-11-01/2000-12-31')
    """
    first, last = parse_months(months)
    end = dt.date(year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
    return f"{year}-{first:02d}-01/{end.isoformat()}"


def search_years(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    platforms: Iterable[str] | None = None,
    catalog: Any = None,
    collection: str = COLLECTION,
) -> dict[int, list[pystac.Item]]:
    """Search the candidate scenes of each year: over ``bbox``, in ``months``, below ``max_cloud``.

    ``platforms`` (default: every Landsat mission) restricts the missions. A year without any
    candidate maps to an empty list (a *missing* year). Items are sorted by date.

    Parameters
    ----------
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    years : str or sequence of int
        ``"START-END"``, ``"YEAR"`` or a list of years.
    months : str or sequence of int
        ``"M1-M2"`` or ``(m1, m2)``: the season searched each year.
    max_cloud : float
        Scene ``eo:cloud_cover`` limit, percent.
    platforms : iterable of str or None
        Missions to keep; None for all.
    catalog : pystac_client.Client or None
        An open catalog (default :func:`lakeml.search.open_catalog`).
    collection : str
        The STAC collection.

    Returns
    -------
    dict of int to list of pystac.Item
        Every requested year, with its candidates (maybe none).

    Raises
    ------
    BadInput
        Bad input (checked before any request).
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    Input is checked before any request:

    >>> search_years((-118.89, 38.54, -118.57, 38.84), "1986-1984")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: years are reversed: 1986 is after 1984; write START-END

    Needs a STAC API: here the offline sample's, served locally (``sample_stac_url``):

    >>> from lakeml.search import WALKER_LAKE_BBOX
    >>> found = search_years(WALKER_LAKE_BBOX, "1984-1986", catalog=open_catalog(sample_stac_url))
    >>> {year: len(items) for year, items in found.items()}
    {1984: 1, 1985: 1, 1986: 1}
    """
    bbox = validate_bbox(bbox)
    year_list = parse_years(years)
    month_range = parse_months(months)
    max_cloud = validate_max_cloud(max_cloud)
    names = validate_platforms(list(platforms) if platforms is not None else None)
    catalog = catalog if catalog is not None else open_catalog()
    return {
        year: search(
            bbox,
            season(year, month_range),
            names or None,
            max_cloud,
            collection,
            catalog=catalog,
            require_found=False,
        )
        for year in year_list
    }


def pick_year(items: Sequence[pystac.Item], bbox: Sequence[float]) -> pystac.Item | None:
    """Pick the year's scene: the least fill, cloud and shadow over ``bbox``; None if no candidate.

    The rule of :func:`lakeml.load.pick_clearest` (ties: the lower ``eo:cloud_cover``); no
    candidate means a *missing* year.

    Parameters
    ----------
    items : sequence of pystac.Item
        The year's candidates (:func:`search_years`).
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.

    Returns
    -------
    pystac.Item or None
        The clearest candidate; None when there is none.

    Examples
    --------
    A year without a candidate is *missing*, not an error (as it is for
    :func:`lakeml.load.pick_clearest`):

    >>> pick_year([], (-118.89, 38.54, -118.57, 38.84)) is None
    True
    """
    return pick_clearest(items, bbox) if items else None


# --------------------------------------------------------------------------------------------
# One year
# --------------------------------------------------------------------------------------------


def _observed_point(
    labels: xr.DataArray, lake_point: tuple[float, float], max_distance_m: float
) -> tuple[float, float] | None:
    """Return the lake point if observed there, else the nearest observed pixel in the distance.

    Observed: ``labels >= 0`` (clouds and gaps are -1). The nearest observed pixel to the
    point's own pixel is scipy's Euclidean distance transform's (``return_indices``), on a
    window of ``max_distance_m`` around the point; its centre must lie within ``max_distance_m``
    of the point itself. None when there is none (or the point is off the grid by more).
    """
    from odc.geo.geom import point
    from scipy.ndimage import distance_transform_edt

    from lakeml.water import lonlat_to_xy

    x0, y0 = lonlat_to_xy(labels, *lake_point)
    xs, ys = labels.x.values, labels.y.values
    dx = abs(float(xs[1] - xs[0])) if xs.size > 1 else 30.0
    dy = abs(float(ys[1] - ys[0])) if ys.size > 1 else dx
    ix, iy = int(np.abs(xs - x0).argmin()), int(np.abs(ys - y0).argmin())
    rx, ry = int(np.ceil(max_distance_m / dx)), int(np.ceil(max_distance_m / dy))
    cols = slice(max(ix - rx, 0), ix + rx + 1)
    rows = slice(max(iy - ry, 0), iy + ry + 1)
    hidden = np.asarray(labels[rows, cols]) < 0
    py, px = iy - rows.start, ix - cols.start
    if hidden.all():
        return None
    if not hidden[py, px] and np.hypot(xs[ix] - x0, ys[iy] - y0) <= np.hypot(dx, dy) / 2:
        return lake_point  # the point's own pixel is observed
    _, (near_y, near_x) = distance_transform_edt(hidden, sampling=(dy, dx), return_indices=True)
    x, y = float(xs[cols][near_x[py, px]]), float(ys[rows][near_y[py, px]])
    if np.hypot(x - x0, y - y0) > max_distance_m:
        return None
    lon, lat = point(x, y, labels.odc.crs).to_crs("EPSG:4326").coords[0]
    return float(lon), float(lat)


def process_year(
    item: pystac.Item,
    bbox: Sequence[float],
    resolution: float = 30,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    n_clusters: int = START_CLUSTERS,
    truth: Callable[[str], xr.Dataset] | None = None,
    lake_point_search_m: float = 1500,
) -> xr.Dataset:
    """Classify one scene (:func:`lakeml.workflows.pipeline.classify_scene`) and measure its lake.

    With ``lake_point``, the lake is the water body that holds the point
    (:func:`lakeml.water.lake_only`, connected through clouds and scan-line gaps): the series
    follows the lake, not every pixel that a water test accepts in the bbox (ponds, or deep
    terrain shadow on the ranges, which DSWE and WOfS call water without a terrain model).
    ``all_water_km2`` keeps the whole scene's water.

    Parameters
    ----------
    item : pystac.Item
        The year's scene.
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    resolution : float
        Pixel size in metres (30 native; 120 is ~16x faster, for quick looks).
    lake_point : tuple of float or None
        ``(lon, lat)`` known to be lake; None measures all the water in the bbox.
    n_clusters : int
        Clusters to start with (see :func:`lakeml.workflows.pipeline.classify_scene`).
    truth : callable or None
        A scene's ground truth by item id (the offline sample's:
        :func:`lakeml.offline.sample.truth`), compared with the year's water.
    lake_point_search_m : float
        How far from a hidden lake point to look for an observed pixel to check, in metres.

    Returns
    -------
    xr.Dataset
        ``water`` (float32 1 water / 0 dry / NaN not observed, on the scene's grid, with its
        CRS: the lake, or all water without ``lake_point``) and attrs ``item_id``,
        ``platform``, ``datetime``, ``water_km2`` (the lake), ``all_water_km2``,
        ``water_iou_vs_<ref>`` (the whole scene's water vs DSWE, WOfS, MNDWI-Otsu, the qa
        water bit, see :func:`lakeml.workflows.pipeline.classify_scene`), ``lake_point_checked``,
        ``note`` (why the lake point was not checked, if so), ``seconds``; with ``truth`` also
        ``truth_water_km2`` (the real lake, hidden parts included) and ``water_iou_vs_truth``
        (over observed pixels).

    Raises
    ------
    BadInput
        Bad input (checked before any read), or every pixel is masked.
    ValueError
        The lake point's own pixel is observed and is not water.

    Examples
    --------
    Input is checked before any pixel is read:

    >>> import datetime as dt
    >>> item = pystac.Item("LT05_DEMO", None, None, dt.datetime(1984, 8, 8), {})
    >>> process_year(item, (-118.89, 38.54, -118.57, 38.84), resolution=0)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: resolution is a pixel size in metres > 0, got 0

    Needs a STAC API and its COGs: here the offline sample's (``sample_stac_url``); its 1984
    scene:

    >>> from lakeml.search import WALKER_LAKE_BBOX
    >>> found = search_years(WALKER_LAKE_BBOX, "1984", catalog=open_catalog(sample_stac_url))
    >>> year = process_year(pick_year(found[1984], WALKER_LAKE_BBOX), WALKER_LAKE_BBOX,
    ...                     resolution=120)
    >>> year.attrs["platform"], year.attrs["water_km2"]  # doctest: +NUMBER
    ('landsat-5', 163.4)
    >>> year.attrs["lake_point_checked"], year.attrs["all_water_km2"]  # doctest: +NUMBER
    (1, 165.6)
    """
    from lakeml import water as w
    from lakeml.workflows.pipeline import classify_scene

    start = time.perf_counter()
    scene = classify_scene(
        item,
        bbox,
        bands=SHARED_BANDS,
        n_clusters=n_clusters,
        lake_point=None,
        resolution=resolution,
    )
    checked, note = False, ""
    if lake_point is not None:
        near = _observed_point(scene.labels, lake_point, lake_point_search_m)
        if near == lake_point:
            # raises ValueError (with the reason) if the lake point is not water
            w.check_lake_point(scene.water, lake_point)
            checked = True
        elif near is not None:
            # the point itself is hidden (cloud, SLC-off gap): check at the nearest observed
            # pixel, which may be shore; a disagreement there is reported, not fatal
            try:
                w.check_lake_point(scene.water, near)
                checked = True
            except BadInput:
                note = f"lake point hidden; nearest observed pixel {near} is not water"
        else:
            note = f"lake point hidden within {lake_point_search_m:g} m: not cross-checked"
    lake = scene.water
    if lake_point is not None:
        try:  # the point's water body; a hidden point connects through the no-data around it
            lake = w.lake_only(scene.water, lake_point)
        except UnusableData:
            fallback = "lake point not on water: all water in the bbox is measured"
            note = f"{note}; {fallback}" if note else fallback
    attrs = {
        k: scene.attrs[k]
        for k in (
            "item_id",
            "platform",
            "datetime",
            "water_iou_vs_dswe",
            "water_iou_vs_wofs",
            "water_iou_vs_mndwi",
            "water_iou_vs_qa",
        )
    }
    attrs["water_km2"] = w.area_km2(lake)
    attrs["all_water_km2"] = scene.attrs["water_km2"]
    attrs["lake_point_checked"] = int(checked)
    attrs["note"] = note
    if truth is not None:
        t = truth(scene.attrs["item_id"])
        attrs["truth_water_km2"] = float(t.attrs["water_km2"])
        attrs["water_iou_vs_truth"] = w.iou(lake, w.on_grid(t.water.astype("float32"), lake))
    attrs["seconds"] = round(time.perf_counter() - start, 3)
    return xr.Dataset({"water": lake}, attrs=attrs)


def _year_task(
    year: int, items: list[pystac.Item], bbox: Sequence[float], options: dict[str, Any]
) -> dict[str, Any]:
    """Pick and process one year; a year its data cannot measure becomes status ``failed``.

    :class:`~lakeml.checks.UnusableData` (every pixel masked, the lake point observed and
    not water...) and :class:`~lakeml.checks.BadInput` about the item itself (an asset
    missing) become ``failed`` with their message; any other error is raised: a bug in
    lakeml or in a library must not pass for a cloudy year.
    """
    start = time.perf_counter()
    out: dict[str, Any] = {"year": year, "candidates": len(items)}
    item = pick_year(items, bbox)
    if item is None:
        return {**out, "status": "missing", "note": "no scene under the cloud limit"}
    out.update(
        item_id=item.id,
        platform=item.properties.get("platform", ""),
        datetime=str(item.properties.get("datetime", "")),
    )
    try:
        ds = process_year(item, bbox, **options)
    except (UnusableData, BadInput) as err:
        return {**out, "status": "failed", "note": str(err)}
    out.update(ds.attrs, status="ok", water=ds.water, seconds=round(time.perf_counter() - start, 3))
    return out


# --------------------------------------------------------------------------------------------
# Running many years at once
# --------------------------------------------------------------------------------------------


def _run(
    tasks: list[tuple[Any, ...]],
    func: Callable[..., dict[str, Any]],
    client: Any = None,
    max_in_flight: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """``func(*args)`` for every ``args`` in ``tasks``, many at once on dask; results in order."""
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    if client is None:
        import dask

        def call(*args: Any) -> dict[str, Any]:
            res = func(*args)
            if on_result:
                on_result(res)  # as each year completes (from dask's worker thread)
            return res

        lazy = [dask.delayed(call, pure=False)(*args) for args in tasks]
        with (
            dask.config.set(num_workers=max_in_flight)
            if max_in_flight
            else (contextlib.nullcontext())
        ):
            return list(dask.compute(*lazy, scheduler="threads"))
    from distributed import as_completed

    if max_in_flight is None:
        max_in_flight = max(1, sum(client.nthreads().values()))
    todo = iter(enumerate(tasks))
    index = {}

    def submit() -> Any:
        nxt = next(todo, None)
        if nxt is None:
            return None
        fut = client.submit(func, *nxt[1], pure=False)
        index[fut.key] = nxt[0]
        return fut

    first = [f for f in (submit() for _ in range(max_in_flight)) if f is not None]
    queue = as_completed(first)
    for fut in queue:
        res = fut.result()
        results[index.pop(fut.key)] = res
        fut.release()
        if on_result:
            on_result(res)
        nxt = submit()
        if nxt is not None:
            queue.add(nxt)
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# The series
# --------------------------------------------------------------------------------------------


def timeseries(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    platforms: Iterable[str] | None = None,
    resolution: float = 30,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    n_clusters: int = START_CLUSTERS,
    min_observed: float = MIN_OBSERVED,
    truth: Callable[[str], xr.Dataset] | None = None,
    catalog: Any = None,
    client: Any = None,
    max_in_flight: int | None = None,
    on_year: Callable[[dict[str, Any]], None] | None = None,
    extent: xr.DataArray | None = None,
) -> xr.Dataset:
    """Measure the lake's area per year: search, pick the clearest scene, classify, flag.

    The years run in parallel on dask (see the module's description).

    Parameters
    ----------
    bbox, years, months, max_cloud, platforms
        What to search (see :func:`search_years`).
    resolution : float
        Pixel size in metres (30 native; 120 is ~16x faster, for quick looks).
    lake_point : tuple of float or None
        ``(lon, lat)`` known to be lake, to cross-check the water cluster.
    n_clusters : int
        Spectral clusters to start with, per scene.
    min_observed : float
        Below this observed fraction of the lake's maximum extent a year is ``partial``.
    truth : callable or None
        A scene's ground truth by item id (the offline sample's:
        :func:`lakeml.offline.sample.truth`): adds ``truth_water_km2`` and
        ``water_iou_vs_truth``. It goes to the workers with each year, so it must pickle (a
        module-level function does).
    catalog : pystac_client.Client or None
        An open catalog (default :func:`lakeml.search.open_catalog`).
    client : distributed.Client or None
        The cluster to run the years on (default: the current one, if any; else dask's
        threaded scheduler).
    max_in_flight : int or None
        Years processed at once (default: the cluster's thread count).
    on_year : callable or None
        Called with each year's result (a dict) as it completes.
    extent : xr.DataArray or None
        The lake's maximum extent to judge every year against (boolean or 1/0, with a CRS; put
        on the series' grid), e.g. :func:`lakeml.trend.read_extent` of the ``lake_extent.tif``
        a run over the whole record wrote. With it, a year's ``valid_fraction`` and
        ``partial`` are the same whatever other years are requested. Without it, the extent
        is measured from the years requested (:func:`lakeml.trend.lake_extent`): water in
        at least two of them; then they depend on that request (a single year is judged
        against its own water, never partial), and ``extent_source`` says so.

    Returns
    -------
    xr.Dataset
        A ``year`` dimension: ``water`` (year, y, x; 1 / 0 / NaN), the per-year variables
        ``item_id``, ``platform``, ``datetime``, ``day_of_year`` (the scene's, NaN without
        one), ``status`` (:data:`STATUSES`), ``note``, ``candidates``, ``water_km2``,
        ``all_water_km2``, ``valid_fraction`` (observed fraction of the lake's maximum
        extent), ``partial``, ``water_iou_vs_<ref>``, ``lake_point_checked``, ``seconds`` (and
        the truth columns), ``lake_extent`` (y, x) and attrs: ``trend_<key>`` for each key
        of :func:`lakeml.trend.trend` (``trend_km2_per_decade``, ``trend_ci_low_km2_per_decade``,
        ``trend_mk_p``, ..., ``trend_years``), ``min_observed``, ``resolution`` and
        ``extent_source`` (``"given"``, or the years the extent was measured from).

    Raises
    ------
    BadInput
        Bad input (checked before any search), or no year could be measured.
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    Input is checked before any search:

    >>> timeseries((-118.89, 38.54, -118.57, 38.84), "1984-2024", months="9-6")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: months are reversed: 9 is after 6; a season across the new year ...

    Needs a STAC API and its COGs: here the offline sample's (``sample_stac_url``; ~10 s):

    >>> from lakeml.search import WALKER_LAKE_BBOX
    >>> series = timeseries(WALKER_LAKE_BBOX, "1990-1994", resolution=120,
    ...                     catalog=open_catalog(sample_stac_url))
    >>> to_table(series)[["year", "platform", "status", "water_km2"]].round(1)  # doctest: +NUMBER
       year   platform   status  water_km2
    0  1990  landsat-5  partial      153.6
    1  1991  landsat-5       ok      148.9
    2  1992             missing        NaN
    3  1993  landsat-5       ok      140.4
    4  1994  landsat-5       ok      137.4
    >>> series.attrs["trend_km2_per_decade"], series.attrs["trend_years"]  # doctest: +NUMBER
    (-38.2, 3)
    """
    bbox, years, months = check_inputs(
        bbox, years, months, max_cloud, resolution, n_clusters, min_observed
    )
    if extent is not None:
        _check_extent_covers(extent, bbox)
    found = search_years(bbox, years, months, max_cloud, platforms, catalog=catalog)
    options = {
        "resolution": float(resolution),
        "lake_point": lake_point,
        "n_clusters": int(n_clusters),
        "truth": truth,
    }
    client = client if client is not None else current_client()
    tasks = [(year, found[year], bbox, options) for year in years]
    results = _run(tasks, _year_task, client=client, max_in_flight=max_in_flight, on_result=on_year)
    return _assemble(results, min_observed, truth is not None, extent)


def _check_extent_covers(extent: xr.DataArray, bbox: Sequence[float]) -> None:
    """Refuse an extent that has no CRS or does not overlap the bbox, before any search."""
    from odc.geo.geom import box

    crs = extent.odc.crs
    if crs is None:
        raise BadInput("the lake extent has no CRS: give one with a CRS (odc-geo's assign_crs)")
    footprint = extent.odc.geobox.extent.to_crs("EPSG:4326")
    west, south, east, north = bbox
    if not footprint.intersects(box(west, south, east, north, "EPSG:4326")):
        w, s, e, n = footprint.boundingbox
        raise BadInput(
            f"the lake extent covers {w:.3f}, {s:.3f}, {e:.3f}, {n:.3f} (W, S, E, N), which does "
            f"not overlap the bbox {tuple(bbox)}: give the extent of this lake"
        )


def _assemble(
    results: list[dict[str, Any]],
    min_observed: float,
    truth: bool,
    extent: xr.DataArray | None = None,
) -> xr.Dataset:
    """Stack the per-year results on one grid, flag partial years, add the trend."""
    from lakeml.water import on_grid

    masks = [r["water"] for r in results if r.get("water") is not None]
    if not masks:
        reasons = sorted({r.get("note", "") for r in results})
        raise BadInput(
            f"no year could be measured ({'; '.join(reasons)}); widen the months, raise the "
            "cloud cover limit or check the bbox"
        )
    masks = [m.drop_vars("time", errors="ignore") for m in masks]  # per year: ``datetime``
    like = masks[0]
    empty = xr.full_like(like, np.nan, dtype="float32")
    found = iter(masks)
    stack = xr.concat(
        [on_grid(next(found), like) if r.get("water") is not None else empty for r in results],
        dim=pd.Index([r["year"] for r in results], name="year"),
        coords="minimal",
        compat="override",
        join="override",
    )
    if extent is not None:
        extent = (on_grid(extent.astype("float32"), like) > 0.5).rename("lake_extent")
        source = "given"
    else:
        extent = lake_extent(stack)
        measured = [r["year"] for r in results if r.get("water") is not None]
        span = f"{measured[0]}-{measured[-1]}" if len(measured) > 1 else f"{measured[0]}"
        source = (
            f"measured: water in at least {min(2, len(measured))} of the {len(measured)} "
            f"year(s) measured, {span}"
        )
    valid = observed_fraction(stack, extent).where(
        xr.DataArray([r.get("water") is not None for r in results], dims="year")
    )
    numeric = [
        "water_km2",
        "all_water_km2",
        "water_iou_vs_dswe",
        "water_iou_vs_wofs",
        "water_iou_vs_mndwi",
        "water_iou_vs_qa",
        "seconds",
    ]
    if truth:
        numeric += ["truth_water_km2", "water_iou_vs_truth"]
    table = pd.DataFrame(
        {
            "year": [r["year"] for r in results],
            "item_id": [r.get("item_id", "") for r in results],
            "platform": [r.get("platform", "") for r in results],
            "datetime": [r.get("datetime", "") for r in results],
            "day_of_year": _day_of_year([r.get("datetime", "") for r in results]),
            "status": [r["status"] for r in results],
            "note": [r.get("note", "") for r in results],
            "candidates": [int(r.get("candidates", 0)) for r in results],
            "lake_point_checked": [bool(r.get("lake_point_checked", 0)) for r in results],
            **{k: [float(r.get(k, np.nan)) for r in results] for k in numeric},
        }
    )
    table["valid_fraction"] = valid.values.round(6)
    table["partial"] = table["valid_fraction"] < min_observed
    table.loc[(table["status"] == "ok") & table["partial"], "status"] = "partial"
    table.loc[table["status"].isin(["missing", "failed"]), "partial"] = False
    ds = xr.Dataset.from_dataframe(table.set_index("year"))
    for name in ("item_id", "platform", "datetime", "status", "note"):
        ds[name] = ds[name].astype(str)
    ds["water"] = stack.astype("float32")
    ds["lake_extent"] = extent
    ds.attrs.update(
        {f"trend_{k}": v for k, v in trend(table).items()},
        min_observed=float(min_observed),
        resolution=float(abs(like.odc.geobox.resolution.x)),
        extent_source=source,
    )
    return ds


def _day_of_year(datetimes: Sequence[str]) -> list[float]:
    """Day of the year (1-366) of each ISO datetime; NaN for an empty one (no scene)."""
    stamps = pd.Series(list(datetimes), dtype=str)
    stamps = pd.to_datetime(stamps, utc=True, errors="coerce", format="ISO8601")
    return stamps.dt.day_of_year.astype(float).tolist()


def to_table(series: xr.Dataset) -> pd.DataFrame:
    """Return the per-year variables of a :func:`timeseries` result as a DataFrame.

    Parameters
    ----------
    series : xr.Dataset
        A :func:`timeseries` result.

    Returns
    -------
    pandas.DataFrame
        One row a year: ``year`` and every variable whose only dimension is ``year`` (not
        ``water`` or ``lake_extent``).

    Examples
    --------
    A series of two years (as :func:`timeseries` builds it from its per-year table), with
    each year's water mask:

    >>> series = xr.Dataset.from_dataframe(pd.DataFrame({
    ...     "year": [1991, 1992], "status": ["ok", "missing"], "water_km2": [148.8816, np.nan],
    ... }).set_index("year"))
    >>> series["water"] = xr.DataArray(np.zeros((2, 2, 3), "float32"), dims=("year", "y", "x"))
    >>> to_table(series)
       year   status  water_km2
    0  1991       ok   148.8816
    1  1992  missing        NaN
    """
    per_year = [k for k, v in series.data_vars.items() if v.dims == ("year",)]
    return series[per_year].to_dataframe().reset_index()


# --------------------------------------------------------------------------------------------
# The command: lake_area.csv, lake_area.png, summary.json
# --------------------------------------------------------------------------------------------


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def csv_table(series: xr.Dataset) -> pd.DataFrame:
    """Return the rows of ``lake_area.csv``: :data:`TABLE_COLUMNS`, the truth if any, ``partial``.

    Areas, fractions and IoUs are rounded to 4 decimals; a year without a measurement has an
    empty ``partial`` (it is neither partial nor complete).

    Parameters
    ----------
    series : xr.Dataset
        A :func:`timeseries` result.

    Returns
    -------
    pandas.DataFrame
        One row a year.

    Examples
    --------
    A series of three years (as :func:`timeseries` builds it from its per-year table): 1990
    partly observed, 1992 missing:

    >>> nan = float("nan")
    >>> series = xr.Dataset.from_dataframe(pd.DataFrame({
    ...     "year": [1990, 1991, 1992],
    ...     "item_id": ["LT05_L2SP_042033_19900708_02_T1", "LT05_L2SP_042033_19910828_02_T1", ""],
    ...     "platform": ["landsat-5", "landsat-5", ""],
    ...     "datetime": ["1990-07-08T17:54:53Z", "1991-08-28T17:55:13Z", ""],
    ...     "status": ["partial", "ok", "missing"],
    ...     "water_km2": [153.57603, 148.88162, nan],
    ...     "all_water_km2": [154.58401, 151.90559, nan],
    ...     "valid_fraction": [0.961634, 1.0, nan],
    ...     "water_iou_vs_dswe": [0.98691, 0.99243, nan],
    ...     "water_iou_vs_wofs": [0.97022, 0.99198, nan],
    ...     "water_iou_vs_mndwi": [0.96498, 0.98051, nan],
    ...     "partial": [True, False, False],
    ... }).set_index("year"))
    >>> rows = csv_table(series)
    >>> list(rows.columns) == [*TABLE_COLUMNS, "partial"]
    True
    >>> rows[["year", "water_km2", "valid_fraction", "partial"]]
       year  water_km2  valid_fraction partial
    0  1990   153.5760          0.9616    True
    1  1991   148.8816          1.0000   False
    2  1992        NaN             NaN    None
    """
    table = to_table(series)
    cols = list(TABLE_COLUMNS)
    if "truth_water_km2" in table:
        cols.append("truth_water_km2")
    out = table[[*cols, "partial"]].copy()
    for k in (
        "water_km2",
        "all_water_km2",
        "truth_water_km2",
        "valid_fraction",
        "water_iou_vs_dswe",
        "water_iou_vs_wofs",
        "water_iou_vs_mndwi",
    ):
        if k in out:
            out[k] = out[k].round(4)
    # a year without a measurement is neither partial nor complete: leave the flag empty
    out["partial"] = out["partial"].astype(object).where(out["water_km2"].notna(), None)
    return out


def check_inputs(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    resolution: float = 30,
    clusters: int = START_CLUSTERS,
    min_observed: float = MIN_OBSERVED,
) -> tuple[tuple[float, float, float, float], list[int], tuple[int, int]]:
    """Check every input of :func:`run` before any work.

    Parameters
    ----------
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    years : str or sequence of int
        ``"START-END"``, ``"YEAR"`` or a list of years.
    months : str or sequence of int
        ``"M1-M2"`` or ``(m1, m2)``.
    max_cloud : float
        Scene cloud cover limit, percent.
    resolution : float
        Pixel size in metres.
    clusters : int
        Clusters to start with.
    min_observed : float
        The observed fraction below which a year is partial, in (0, 1].

    Returns
    -------
    tuple
        The bbox (a tuple of floats), the list of years and the month range ``(m1, m2)``.

    Raises
    ------
    BadInput
        The first input that is wrong (a ``ValueError``; the message says how to fix it).

    Examples
    --------
    >>> check_inputs((-118.89, 38.54, -118.57, 38.84), "1984-1985")[1:]
    ([1984, 1985], (6, 9))
    >>> check_inputs((-118.89, 38.54, -118.57, 38.84), "1984-1985", min_observed=98)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: min_observed is a fraction in (0, 1], got 98
    """
    bbox = validate_bbox(bbox)
    year_list = parse_years(years)
    month_range = parse_months(months)
    validate_max_cloud(max_cloud)
    check_resolution(resolution)
    check_n_clusters(clusters)
    check_fraction(min_observed, "min_observed")
    return bbox, year_list, month_range


def run(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    stac_url: str | None = None,
    out: str | os.PathLike[str] = "lakeml-timeseries",
    resolution: float = 30,
    clusters: int = START_CLUSTERS,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    min_observed: float = MIN_OBSERVED,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
    truth: Callable[[str], xr.Dataset] | None = None,
    extent: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run the ``lakeml timeseries`` command: write the series to ``out``, return the summary.

    Writes ``lake_area.csv`` (one row per requested year, missing years with empty values),
    ``lake_area.png``, ``lake_extent.tif`` (the lake's maximum extent the years were judged
    against, 1 lake / 0 not: give it back as ``extent`` to judge other years the same way)
    and ``summary.json``; every file to a temporary name, then renamed.

    Parameters
    ----------
    bbox, years, months, max_cloud
        What to search (see :func:`search_years`).
    stac_url : str or None
        The STAC API (default ``$LAKEML_STAC_URL``, else Planetary Computer).
    out : str or os.PathLike
        The folder to write into (created if needed).
    resolution : float
        Pixel size in metres.
    clusters : int
        Clusters to start with, per scene.
    lake_point : tuple of float or None
        ``(lon, lat)`` known to be lake.
    min_observed : float
        Below this observed fraction of the lake's maximum extent a year is ``partial``.
    client : distributed.Client or None
        The cluster to run the years on (see :func:`timeseries`).
    progress : callable or None
        Called with one line of text as each year completes.
    truth : callable or None
        A scene's ground truth by item id (see :func:`timeseries`); ``lakeml timeseries
        --sample`` passes the offline sample's.
    extent : str or os.PathLike or None
        A GeoTIFF of the lake's maximum extent to judge the years against
        (:func:`lakeml.trend.read_extent`; see :func:`timeseries`), read before any work;
        default: measured from the years requested.

    Returns
    -------
    dict
        What ``summary.json`` holds: ``years_requested``, ``years_reported``,
        ``trend_km2_per_decade`` (Theil-Sen) with its 95 % interval
        ``trend_ci_low_km2_per_decade``, ``trend_ci_high_km2_per_decade``, the Mann-Kendall
        ``trend_mk_tau`` and ``trend_mk_p``, ``trend_lag1_autocorrelation``,
        ``trend_effective_years`` (all from :func:`lakeml.trend.trend`; ``null`` where NaN),
        ``years_in_trend``, ``years_partial``, ``years_missing``, ``years_failed`` (year:
        reason), ``extent_source`` (see :func:`timeseries`), the settings and the ``seconds``
        taken.

    Raises
    ------
    BadInput
        Bad input (checked before any work), or no year could be measured.
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    Input is checked before any work:

    >>> run((-118.89, 38.54, -118.57, 38.84), "1984-2024", max_cloud=120, out="lakeml-series")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: max cloud cover is a percentage in 0-100, got 120

    On the offline sample's STAC API (``sample_stac_url``), five summers at 120 m
    (``make test`` runs all 41 at 30 m through the ``lakeml timeseries`` command):

    >>> import tempfile
    >>> from lakeml.search import WALKER_LAKE_BBOX
    >>> out = tempfile.mkdtemp()
    >>> summary = run(WALKER_LAKE_BBOX, "1990-1994", stac_url=sample_stac_url, out=out,
    ...               resolution=120)
    >>> summary["years_reported"], summary["years_missing"], summary["years_partial"]
    (4, [1992], [1990])
    >>> summary["trend_km2_per_decade"], summary["years_in_trend"]  # doctest: +NUMBER
    (-38.2, 3)
    >>> sorted(os.listdir(out))
    ['lake_area.csv', 'lake_area.png', 'lake_extent.tif', 'summary.json']
    """
    from lakeml import plots

    start = time.perf_counter()
    bbox, year_list, months = check_inputs(
        bbox, years, months, max_cloud, resolution, clusters, min_observed
    )
    reference = read_extent(extent) if extent is not None else None
    out = output_dir(out)

    def report(r: dict[str, Any]) -> None:
        if progress is None:
            return
        if r.get("water") is not None:
            progress(f"{r['year']} {r['item_id']} {r['water_km2']:.2f} km2 ({r['seconds']:.1f} s)")
        else:
            progress(f"{r['year']} {r['status']}: {r.get('note', '')}")

    series = timeseries(
        bbox,
        year_list,
        months,
        max_cloud,
        resolution=resolution,
        lake_point=lake_point,
        n_clusters=clusters,
        min_observed=min_observed,
        truth=truth,
        catalog=open_catalog(stac_url),
        client=client,
        on_year=report,
        extent=reference,
    )
    table = to_table(series)
    rows = csv_table(series)
    _write_csv(rows, out / "lake_area.csv")
    grid = series.lake_extent.odc.geobox
    write_cog(
        out / "lake_extent.tif",
        series.lake_extent.values.astype("uint8"),
        str(grid.crs),
        tuple(grid.transform)[:6],
    )
    t = {k.removeprefix("trend_"): v for k, v in series.attrs.items() if k.startswith("trend_")}
    first, last = year_list[0], year_list[-1]
    plots.save_area_png(
        table,
        out / "lake_area.png",
        trend_line=t,
        title=f"Water area {first}-{last}, months {months[0]}-{months[1]}",
    )
    by_status = {s: [int(y) for y in table.loc[table["status"] == s, "year"]] for s in STATUSES}
    summary: dict[str, Any] = {
        "years_requested": len(year_list),
        "years_reported": int(table["water_km2"].notna().sum()),
        "trend_km2_per_decade": _num(series.attrs["trend_km2_per_decade"]),
        "seconds": 0.0,
        **{
            f"trend_{k}": _num(series.attrs[f"trend_{k}"])
            for k in (
                "ci_low_km2_per_decade",
                "ci_high_km2_per_decade",
                "mk_tau",
                "mk_p",
                "lag1_autocorrelation",
                "effective_years",
            )
        },
        "years_in_trend": int(series.attrs["trend_years"]),
        "years_partial": by_status["partial"],
        "years_missing": by_status["missing"],
        "years_failed": {
            str(r.year): r.note for r in table[table["status"] == "failed"].itertuples()
        },
        "months": list(months),
        "max_cloud": float(max_cloud),
        "resolution_m": float(series.attrs["resolution"]),
        "min_observed": float(min_observed),
        "extent_source": series.attrs["extent_source"],
        "scene_seconds_mean": _num(round(float(table["seconds"].mean()), 3)),
    }
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(summary, out / "summary.json")
    return summary


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


__all__ = [
    "MIN_OBSERVED",
    "STATUSES",
    "TABLE_COLUMNS",
    "check_inputs",
    "csv_table",
    "pick_year",
    "process_year",
    "run",
    "search_years",
    "season",
    "timeseries",
    "to_table",
]
