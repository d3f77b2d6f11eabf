"""Time series: one clear summer scene per year, its water area, flagged when partly observed.

The change workflow (:func:`lakeml.pipeline.classify_scene`) run over every summer of a range of
years, with rules stated once and tested:

- **Selection.** For each year, every ``landsat-c2-l2`` scene over the bbox in the months
  ``months`` (default June-September) with ``eo:cloud_cover`` below ``max_cloud`` is a candidate,
  whatever the mission; the one with the least fill, cloud and shadow *over the bbox*
  (:func:`lakeml.load.pick_clearest`) is kept. A year without any candidate is reported as
  ``missing``, never silently skipped.
- **Harmonisation.** Every scene is clustered on the reflectance bands all missions share
  (:data:`lakeml.load.SHARED_BANDS`), scaled and masked (``qa_pixel`` fill, which includes the
  Landsat 7 SLC-off gaps, clouds, cloud shadows) the same way.
- **Water.** Exactly as in the change notebook: clusters named water by USGS DSWE's tests on
  their own pixels (:func:`lakeml.pipeline.classify_scene`), cross-checked at a point in the lake
  (if that pixel is masked, at the nearest observed pixel within ``lake_point_search_m``; with
  none, the year is not cross-checked and says so). The lake's area is the water body that
  holds the lake point (:func:`lakeml.water.lake_only`); ``all_water_km2`` is every water pixel
  in the bbox.
- **Partly observed years.** The lake's *maximum extent* is the set of pixels seen as water in at
  least two years of the series. A year whose scene observes less than ``min_observed`` (0.98) of
  that extent is flagged ``partial``: its area is the *observed* water only, reported but
  left out of the trend.
- **Trend.** Least squares over the reported, fully observed years, in km2 per decade.

Scenes are processed in parallel: one task per year on the current ``distributed.Client`` (at
most ``max_in_flight`` at once; each year's own dask work runs on the same cluster), or on
dask's threaded scheduler when there is no client. None is created here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pystac
import xarray as xr

from lakeml.files import atomic_write, output_dir, write_json
from lakeml.load import SHARED_BANDS, current_client, pick_clearest
from lakeml.search import (
    COLLECTION,
    WALKER_LAKE_CENTRE,
    cql2_filter,
    open_catalog,
    validate_bbox,
    validate_max_cloud,
    validate_platforms,
)
from lakeml.water import START_CLUSTERS

FIRST_YEAR = 1982
"""Landsat Collection 2 Level-2 starts with Landsat 4 in 1982."""

MIN_OBSERVED = 0.98
"""A year observing less than this fraction of the lake's maximum extent is ``partial``."""

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
scene found but processing raised a ``ValueError`` (the reason is in ``note``)."""

_YEARS = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?$")
_MONTHS = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2})\s*)?$")


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def parse_years(years: str | Sequence[int]) -> list[int]:
    """Years from ``"START-END"`` (or one ``"YEAR"``, or a list), checked: ``ValueError`` if bad.

    Example
    -------
    >>> parse_years("1984-1987")
    [1984, 1985, 1986, 1987]
    """
    if isinstance(years, str):
        m = _YEARS.match(years)
        if not m:
            raise ValueError(f"years must look like START-END, e.g. 1984-2024, got {years!r}")
        start = int(m.group(1))
        end = int(m.group(2) or start)
        if start > end:
            raise ValueError(f"years are reversed: {start} is after {end}; write START-END")
        out = list(range(start, end + 1))
    else:
        try:
            out = sorted({int(y) for y in years})
        except (TypeError, ValueError):
            raise ValueError(f"years must be whole numbers, got {years!r}") from None
    if not out:
        raise ValueError("no year given")
    this_year = dt.date.today().year
    if out[0] < FIRST_YEAR or out[-1] > this_year:
        raise ValueError(
            f"years must lie in {FIRST_YEAR}-{this_year} (Landsat Collection 2 Level-2 starts "
            f"in {FIRST_YEAR}), got {out[0]}-{out[-1]}"
        )
    return out


def parse_months(months: str | Sequence[int]) -> tuple[int, int]:
    """The month range ``"M1-M2"`` (or ``(m1, m2)``) as two ints in 1-12 with m1 <= m2.

    Example
    -------
    >>> parse_months("6-9")
    (6, 9)
    """
    if isinstance(months, str):
        m = _MONTHS.match(months)
        if not m:
            raise ValueError(f"months must look like M1-M2, e.g. 6-9, got {months!r}")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    else:
        try:
            first, last = (int(v) for v in months)
        except (TypeError, ValueError):
            raise ValueError(f"months must be two month numbers (M1, M2), got {months!r}") from None
    if not (1 <= first <= 12 and 1 <= last <= 12):
        raise ValueError(f"months must lie in 1-12, got {first}-{last}")
    if first > last:
        raise ValueError(
            f"months are reversed: {first} is after {last}; a season across the new year is "
            "not supported, write M1-M2 within one year"
        )
    return first, last


def season(year: int, months: tuple[int, int] = (6, 9)) -> str:
    """The STAC datetime interval of ``months`` (first day of M1 to last day of M2) in ``year``.

    Example
    -------
    >>> season(1988)
    '1988-06-01/1988-09-30'
    """
    first, last = parse_months(months)
    end = dt.date(year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
    return f"{year}-{first:02d}-01/{end.isoformat()}"


# --------------------------------------------------------------------------------------------
# Selection: search per year, pick the clearest
# --------------------------------------------------------------------------------------------


def search_years(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    platforms: Iterable[str] | None = None,
    catalog: Any = None,
    collection: str = COLLECTION,
) -> dict[int, list[pystac.Item]]:
    """Candidate scenes per year: over ``bbox``, in ``months``, ``eo:cloud_cover < max_cloud``.

    ``platforms`` (default: every Landsat mission) restricts the missions. A year without any
    candidate maps to an empty list (a *missing* year). Items are sorted by date.

    Example
    -------
    >>> found = search_years(WALKER_LAKE_BBOX, "1984-1986")  # doctest: +SKIP
    >>> {y: len(v) for y, v in found.items()}  # doctest: +SKIP
    {1984: 1, 1985: 1, 1986: 1}
    """
    bbox = validate_bbox(bbox)
    years = parse_years(years)
    months = parse_months(months)
    max_cloud = validate_max_cloud(max_cloud)
    names = validate_platforms(list(platforms) if platforms is not None else None)
    catalog = catalog if catalog is not None else open_catalog()
    flt = cql2_filter(max_cloud, names)
    out = {}
    for year in years:
        query = catalog.search(
            collections=[collection],
            bbox=bbox,
            datetime=season(year, months),
            filter=flt,
            filter_lang="cql2-json",
        )
        out[year] = sorted(query.items(), key=lambda it: (it.datetime, it.id))
    return out


def pick_year(items: Sequence[pystac.Item], bbox: Sequence[float]) -> pystac.Item | None:
    """The year's scene: the least fill, cloud and shadow over ``bbox``; ``None`` if no candidate.

    The rule of :func:`lakeml.load.pick_clearest` (ties: the lower ``eo:cloud_cover``); no
    candidate means a *missing* year.

    Example
    -------
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
    """The lake point if observed there, else the nearest observed pixel within the distance."""
    from odc.geo.geom import point

    crs = labels.odc.crs
    x0, y0 = point(*lake_point, "EPSG:4326").to_crs(crs).coords[0]
    xs, ys = labels.x.values, labels.y.values
    ix = np.abs(xs - x0) <= max_distance_m
    iy = np.abs(ys - y0) <= max_distance_m
    if not ix.any() or not iy.any():
        return None
    window = np.asarray(labels)[np.ix_(iy, ix)]
    gy, gx = np.meshgrid(ys[iy], xs[ix], indexing="ij")
    d2 = (gx - x0) ** 2 + (gy - y0) ** 2
    ok = (window >= 0) & (d2 <= max_distance_m**2)
    if not ok.any():
        return None
    k = np.argmin(np.where(ok, d2, np.inf))
    if d2.flat[k] <= (abs(float(xs[1] - xs[0])) if xs.size > 1 else 30.0) ** 2 / 2:
        return lake_point  # the point's own pixel is observed
    lon, lat = point(float(gx.flat[k]), float(gy.flat[k]), crs).to_crs("EPSG:4326").coords[0]
    return float(lon), float(lat)


def process_year(
    item: pystac.Item,
    bbox: Sequence[float],
    resolution: float = 30,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    n_clusters: int = START_CLUSTERS,
    truth: bool = False,
    lake_point_search_m: float = 1500,
) -> xr.Dataset:
    """Classify one scene (:func:`lakeml.pipeline.classify_scene`) and measure its lake.

    With ``lake_point``, the lake is the water body that holds the point
    (:func:`lakeml.water.lake_only`, connected through clouds and scan-line gaps): the series
    follows the lake, not every pixel that a water test accepts in the bbox (ponds, or deep
    terrain shadow on the ranges, which DSWE and WOfS call water without a terrain model).
    ``all_water_km2`` keeps the whole scene's water.

    Returns a small dataset: ``water`` (float32 1 water / 0 dry / NaN not observed, on the
    scene's grid, with its CRS: the lake, or all water without ``lake_point``) and attrs
    ``item_id``, ``platform``, ``datetime``, ``water_km2`` (the lake), ``all_water_km2``,
    ``water_iou_vs_<ref>`` (the whole scene's water vs DSWE, WOfS, MNDWI-Otsu, the qa water
    bit, see :func:`lakeml.pipeline.classify_scene`), ``lake_point_checked``,
    ``note`` (why the lake point was not checked, if so), ``seconds``; with ``truth``
    (offline sample only) also ``truth_water_km2`` (the real lake, hidden parts included) and
    ``water_iou_vs_truth`` (over observed pixels).

    Example
    -------
    >>> year = process_year(item, WALKER_LAKE_BBOX, resolution=120)  # doctest: +SKIP
    >>> round(year.attrs["water_km2"])  # doctest: +SKIP
    114
    """
    from lakeml import water as w
    from lakeml.pipeline import classify_scene

    start = time.perf_counter()
    scene = classify_scene(
        item, bbox, bands=SHARED_BANDS, n_clusters=n_clusters, lake_point=None,
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
            except ValueError:
                note = f"lake point hidden; nearest observed pixel {near} is not water"
        else:
            note = f"lake point hidden within {lake_point_search_m:g} m: not cross-checked"
    lake = scene.water
    if lake_point is not None:
        try:  # the point's water body; a hidden point connects through the no-data around it
            lake = w.lake_only(scene.water, lake_point)
        except ValueError:
            fallback = "lake point not on water: all water in the bbox is measured"
            note = f"{note}; {fallback}" if note else fallback
    attrs = {
        k: scene.attrs[k]
        for k in ("item_id", "platform", "datetime", "water_iou_vs_dswe",
                  "water_iou_vs_wofs", "water_iou_vs_mndwi", "water_iou_vs_qa")
    }
    attrs["water_km2"] = w.area_km2(lake)
    attrs["all_water_km2"] = scene.attrs["water_km2"]
    attrs["lake_point_checked"] = int(checked)
    attrs["note"] = note
    if truth:
        from lakeml import sample

        t = sample.truth(scene.attrs["item_id"])
        attrs["truth_water_km2"] = float(t.attrs["water_km2"])
        attrs["water_iou_vs_truth"] = w.iou(lake, w.on_grid(t.water.astype("float32"), lake))
    attrs["seconds"] = round(time.perf_counter() - start, 3)
    return xr.Dataset({"water": lake}, attrs=attrs)


def _year_task(
    year: int, items: list[pystac.Item], bbox: Sequence[float], options: dict[str, Any]
) -> dict[str, Any]:
    """Pick and process one year; a ``ValueError`` becomes status ``failed`` with its message."""
    start = time.perf_counter()
    out: dict[str, Any] = {"year": year, "candidates": len(items)}
    item = pick_year(items, bbox)
    if item is None:
        return {**out, "status": "missing", "note": "no scene under the cloud limit"}
    out.update(item_id=item.id, platform=item.properties.get("platform", ""),
               datetime=str(item.properties.get("datetime", "")))
    try:
        ds = process_year(item, bbox, **options)
    except ValueError as err:
        return {**out, "status": "failed", "note": str(err)}
    out.update(ds.attrs, status="ok", water=ds.water,
               seconds=round(time.perf_counter() - start, 3))
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
        with dask.config.set(num_workers=max_in_flight) if max_in_flight else (
            contextlib.nullcontext()
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


def lake_extent(water: xr.DataArray, min_years: int = 2) -> xr.DataArray:
    """The lake's maximum extent: pixels seen as water in at least ``min_years`` years.

    ``water`` is a (year, y, x) stack of 1 / 0 / NaN masks. Two years rather than one keep a
    one-off misclassified speck out; with fewer years than ``min_years``, one year suffices.

    Example
    -------
    >>> stack = xr.DataArray(np.array([[[1, 0, 1]], [[1, np.nan, 0]]]), dims=("year", "y", "x"))
    >>> lake_extent(stack).values.tolist()
    [[True, False, False]]
    """
    seen = int((water.notnull().any(("y", "x"))).sum())
    need = max(1, min(min_years, seen))
    return ((water > 0.5).sum("year") >= need).rename("lake_extent")


def observed_fraction(water: xr.DataArray, extent: xr.DataArray) -> xr.DataArray:
    """Per year, the fraction of the lake's ``extent`` that is observed (not NaN).

    Example
    -------
    >>> stack = xr.DataArray(np.array([[[1, 0]], [[np.nan, 1]]]), dims=("year", "y", "x"))
    >>> observed_fraction(stack, xr.DataArray([[True, True]], dims=("y", "x"))).values.tolist()
    [1.0, 0.5]
    """
    n = int(extent.sum())
    if n == 0:
        raise ValueError("the lake's extent is empty: no year saw any water")
    return (water.notnull() & extent).sum(("y", "x")) / n


def trend(table: pd.DataFrame) -> dict[str, float]:
    """Least-squares line of ``water_km2`` against ``year`` over the reported, complete years.

    Uses rows whose ``status`` is ``ok`` (not partial, missing or failed). Returns the slope in
    km2 per decade, its standard error, the intercept (km2 at year 0) and the number of years.

    Example
    -------
    >>> t = pd.DataFrame({"year": [2000, 2001, 2002], "water_km2": [10.0, 9.0, 8.0],
    ...                   "status": ["ok", "ok", "ok"]})
    >>> trend(t)["km2_per_decade"]
    -10.0
    """
    rows = table[(table["status"] == "ok") & table["water_km2"].notna()]
    n = len(rows)
    if n < 2:
        return {"km2_per_decade": math.nan, "stderr_km2_per_decade": math.nan,
                "intercept_km2": math.nan, "years": n}
    x = rows["year"].to_numpy(float)
    y = rows["water_km2"].to_numpy(float)
    (slope, intercept), cov = np.polyfit(x, y, 1, cov=True) if n > 3 else (
        np.polyfit(x, y, 1), np.full((2, 2), np.nan)
    )
    return {
        "km2_per_decade": round(float(slope) * 10, 4),
        "stderr_km2_per_decade": round(float(np.sqrt(cov[0, 0])) * 10, 4),
        "intercept_km2": float(intercept),
        "years": n,
    }


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
    truth: bool = False,
    catalog: Any = None,
    client: Any = None,
    max_in_flight: int | None = None,
    on_year: Callable[[dict[str, Any]], None] | None = None,
) -> xr.Dataset:
    """Lake area per year: search, pick the clearest summer scene, classify, flag, on dask.

    Parameters
    ----------
    bbox, years, months, max_cloud, platforms : what to search (see :func:`search_years`).
    resolution : pixel size in metres (30 native; 120 is ~16x faster, for quick looks).
    lake_point : (lon, lat) known to be lake, to cross-check the water cluster.
    n_clusters : spectral clusters per scene.
    min_observed : below this observed fraction of the lake's maximum extent a year is
        ``partial``.
    truth : add the offline sample's truth (``truth_water_km2``, ``water_iou_vs_truth``).
    catalog : an open ``pystac_client.Client`` (default :func:`lakeml.search.open_catalog`).
    client : a ``distributed.Client`` to run the years on (default: the current one, if any;
        else dask's threaded scheduler).
    max_in_flight : years processed at once (default: the cluster's thread count).
    on_year : called with each year's result (a dict) as it completes.

    Returns
    -------
    xr.Dataset with a ``year`` dimension: ``water`` (year, y, x; 1 / 0 / NaN), the per-year
    variables ``item_id``, ``platform``, ``datetime``, ``status`` (:data:`STATUSES`), ``note``,
    ``candidates``, ``water_km2``, ``valid_fraction`` (observed fraction of the lake's maximum
    extent), ``partial``, ``water_iou_vs_mndwi``, ``water_iou_vs_qa``, ``lake_point_checked``,
    ``seconds`` (and the truth columns), ``lake_extent`` (y, x) and attrs with the trend.

    Example
    -------
    >>> series = timeseries(WALKER_LAKE_BBOX, "1984-2024", resolution=120)  # doctest: +SKIP
    >>> to_table(series).query("status == 'missing'").year.tolist()  # doctest: +SKIP
    [1992, 2010]
    """
    bbox, years, months = check_inputs(
        bbox, years, months, max_cloud, resolution, n_clusters, min_observed
    )
    found = search_years(bbox, years, months, max_cloud, platforms, catalog=catalog)
    options = {"resolution": float(resolution), "lake_point": lake_point,
               "n_clusters": int(n_clusters), "truth": bool(truth)}
    client = client if client is not None else current_client()
    tasks = [(year, found[year], bbox, options) for year in years]
    results = _run(tasks, _year_task, client=client, max_in_flight=max_in_flight,
                   on_result=on_year)
    return _assemble(results, min_observed, truth)


def _assemble(results: list[dict[str, Any]], min_observed: float, truth: bool) -> xr.Dataset:
    """Stack the per-year results on one grid, flag partial years, add the trend."""
    from lakeml.water import on_grid

    masks = [r["water"] for r in results if r.get("water") is not None]
    if not masks:
        reasons = sorted({r.get("note", "") for r in results})
        raise ValueError(
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
    extent = lake_extent(stack)
    valid = observed_fraction(stack, extent).where(
        xr.DataArray([r.get("water") is not None for r in results], dims="year")
    )
    numeric = ["water_km2", "all_water_km2", "water_iou_vs_dswe", "water_iou_vs_wofs",
               "water_iou_vs_mndwi", "water_iou_vs_qa", "seconds"]
    if truth:
        numeric += ["truth_water_km2", "water_iou_vs_truth"]
    table = pd.DataFrame(
        {
            "year": [r["year"] for r in results],
            "item_id": [r.get("item_id", "") for r in results],
            "platform": [r.get("platform", "") for r in results],
            "datetime": [r.get("datetime", "") for r in results],
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
    t = trend(table)
    ds.attrs.update(
        trend_km2_per_decade=t["km2_per_decade"],
        trend_stderr_km2_per_decade=t["stderr_km2_per_decade"],
        trend_intercept_km2=t["intercept_km2"],
        trend_years=t["years"],
        min_observed=float(min_observed),
        resolution=float(abs(like.odc.geobox.resolution.x)),
    )
    return ds


def to_table(series: xr.Dataset) -> pd.DataFrame:
    """The per-year variables of a :func:`timeseries` result as a DataFrame (one row a year).

    Example
    -------
    >>> to_table(series)[["year", "water_km2", "partial"]].head(2)  # doctest: +SKIP
    """
    per_year = [k for k, v in series.data_vars.items() if v.dims == ("year",)]
    return series[per_year].to_dataframe().reset_index()


# --------------------------------------------------------------------------------------------
# The command: lake_area.csv, lake_area.png, summary.json
# --------------------------------------------------------------------------------------------

MARKERS = {"landsat-4": "v", "landsat-5": "o", "landsat-7": "s", "landsat-8": "D",
           "landsat-9": "^"}
COLORS = {"landsat-4": "#7f7f7f", "landsat-5": "#1f77b4", "landsat-7": "#ff7f0e",
          "landsat-8": "#2ca02c", "landsat-9": "#d62728"}
"""Marker and colour per mission in the plots."""


def save_area_png(
    table: pd.DataFrame, path: str | os.PathLike[str], title: str = "", trend_line: Any = None
) -> Path:
    """A static PNG of lake area per year: mission markers, partial years hollow, missing years
    ticked, the trend line and (when present) the truth. Written atomically.

    Example
    -------
    >>> save_area_png(to_table(series), "out/lake_area.png")  # doctest: +SKIP
    PosixPath('out/lake_area.png')
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    if "truth_water_km2" in table and table["truth_water_km2"].notna().any():
        t = table[table["truth_water_km2"].notna()]
        ax.plot(t["year"], t["truth_water_km2"], color="#bbbbbb", lw=3, zorder=1,
                label="truth (sample)")
    for platform, rows in table[table["water_km2"].notna()].groupby("platform"):
        full = rows[~rows["partial"].astype(bool)]
        part = rows[rows["partial"].astype(bool)]
        color, marker = COLORS.get(platform, "k"), MARKERS.get(platform, "o")
        if len(full):
            ax.scatter(full["year"], full["water_km2"], color=color, marker=marker, zorder=3,
                       label=platform)
        if len(part):
            ax.scatter(part["year"], part["water_km2"], facecolors="none", edgecolors=color,
                       marker=marker, zorder=3, label=f"{platform}, partly observed")
    if trend_line is not None and np.isfinite(trend_line.get("km2_per_decade", np.nan)):
        xs = np.array([table["year"].min(), table["year"].max()], dtype=float)
        ax.plot(xs, trend_line["km2_per_decade"] / 10 * xs + trend_line["intercept_km2"],
                color="k", ls="--", lw=1, zorder=2,
                label=f"trend {trend_line['km2_per_decade']:+.1f} km²/decade")
    gaps = table[table["water_km2"].isna()]
    if len(gaps):
        ymin = np.nanmin(table[["water_km2"]].to_numpy(float))
        ax.scatter(gaps["year"], np.full(len(gaps), ymin * 0.97), marker="x", color="k",
                   zorder=3, label="missing")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel("water area (km²)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="best")
    fig.tight_layout()
    try:
        return atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def csv_table(series: xr.Dataset) -> pd.DataFrame:
    """The rows of ``lake_area.csv``: :data:`TABLE_COLUMNS`, the truth if present, ``partial``.

    Example
    -------
    >>> list(csv_table(series).columns)[:3]  # doctest: +SKIP
    ['year', 'item_id', 'platform']
    """
    table = to_table(series)
    cols = list(TABLE_COLUMNS)
    if "truth_water_km2" in table:
        cols.append("truth_water_km2")
    out = table[[*cols, "partial"]].copy()
    for k in ("water_km2", "all_water_km2", "truth_water_km2", "valid_fraction",
              "water_iou_vs_dswe", "water_iou_vs_wofs", "water_iou_vs_mndwi"):
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
    """Check every input of :func:`run` before any work; ``ValueError`` says what is wrong.

    Returns the bbox, the list of years and the month range.

    Example
    -------
    >>> check_inputs((-118.89, 38.54, -118.57, 38.84), "1984-1985")[1:]
    ([1984, 1985], (6, 9))
    """
    bbox = validate_bbox(bbox)
    year_list = parse_years(years)
    month_range = parse_months(months)
    validate_max_cloud(max_cloud)
    if isinstance(clusters, bool) or int(clusters) != clusters or int(clusters) < 2:
        raise ValueError(f"clusters must be at least 2 (water and the rest), got {clusters}")
    if not (float(resolution) > 0):
        raise ValueError(f"resolution is a pixel size in metres > 0, got {resolution}")
    if not (0 < float(min_observed) <= 1):
        raise ValueError(f"min_observed is a fraction in (0, 1], got {min_observed}")
    return bbox, year_list, month_range


def run(
    bbox: Sequence[float],
    years: str | Sequence[int],
    months: str | Sequence[int] = (6, 9),
    max_cloud: float = 20,
    stac_url: str | None = None,
    sample: bool = False,
    out: str | os.PathLike[str] = "lakeml-timeseries",
    resolution: float = 30,
    clusters: int = START_CLUSTERS,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    min_observed: float = MIN_OBSERVED,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``lakeml timeseries`` command: the series written to ``out``, the summary returned.

    Writes ``lake_area.csv`` (one row per requested year, missing years with empty values),
    ``lake_area.png`` and ``summary.json``; every file to a temporary name, then renamed.

    Example
    -------
    >>> run(WALKER_LAKE_BBOX, "1984-2024", sample=True, out="walker-series")  # doctest: +SKIP
    """
    from lakeml.pipeline import catalog_url

    start = time.perf_counter()
    bbox, year_list, months = check_inputs(
        bbox, years, months, max_cloud, resolution, clusters, min_observed
    )
    out = output_dir(out)

    def report(r: dict[str, Any]) -> None:
        if progress is None:
            return
        if r.get("water") is not None:
            progress(f"{r['year']} {r['item_id']} {r['water_km2']:.2f} km2 ({r['seconds']:.1f} s)")
        else:
            progress(f"{r['year']} {r['status']}: {r.get('note', '')}")

    with catalog_url(stac_url, sample) as url:
        series = timeseries(
            bbox, year_list, months, max_cloud, resolution=resolution, lake_point=lake_point,
            n_clusters=clusters, min_observed=min_observed, truth=sample,
            catalog=open_catalog(url), client=client, on_year=report,
        )
    table = to_table(series)
    rows = csv_table(series)
    _write_csv(rows, out / "lake_area.csv")
    t = {k.removeprefix("trend_"): v for k, v in series.attrs.items() if k.startswith("trend_")}
    first, last = year_list[0], year_list[-1]
    save_area_png(
        table, out / "lake_area.png", trend_line=t,
        title=f"Water area {first}-{last}, months {months[0]}-{months[1]}",
    )
    by_status = {s: [int(y) for y in table.loc[table["status"] == s, "year"]] for s in STATUSES}
    summary: dict[str, Any] = {
        "years_requested": len(year_list),
        "years_reported": int(table["water_km2"].notna().sum()),
        "trend_km2_per_decade": _num(series.attrs["trend_km2_per_decade"]),
        "seconds": 0.0,
        "trend_stderr_km2_per_decade": _num(series.attrs["trend_stderr_km2_per_decade"]),
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
    "lake_extent",
    "observed_fraction",
    "parse_months",
    "parse_years",
    "pick_year",
    "process_year",
    "run",
    "save_area_png",
    "search_years",
    "season",
    "timeseries",
    "to_table",
    "trend",
]
