"""The whole workflow in a few calls: one scene to a validated water mask, two dates to change.

The notebooks walk through each step; this module strings the same functions together for
the ``lakeml change`` command and for readers who want the numbers for their own lake.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pystac
import xarray as xr

from lakeml.checks import (
    UnusableData,
    bbox_contains,
    check_n_clusters,
    check_resolution,
    validate_bbox,
    validate_datetime,
    validate_max_cloud,
    validate_platforms,
    validate_point,
)
from lakeml.files import output_dir, write_cog, write_json
from lakeml.load import SHARED_BANDS, load_scene, pick_clearest
from lakeml.references import DSWE_BANDS, agreement, references
from lakeml.reshape import from_samples, standardize, to_samples
from lakeml.search import WALKER_LAKE_CENTRE, open_catalog, search
from lakeml.water import (
    MIN_OBSERVED,
    START_CLUSTERS,
    TOLERANCE,
    area_km2,
    change_areas,
    change_map,
    change_observed,
    check_lake_point,
    cluster_table,
    iou,
    on_grid,
    split_mixed,
    water_mask,
)

AGREEMENT_KEYS = {
    "dswe": "dswe_water",
    "wofs": "wofs",
    "mndwi": "mndwi_otsu",
    "qa": "qa_water",
    "consensus": "consensus",
}
"""``water_iou_vs_<key>`` attrs of :func:`classify_scene`: the reference each is measured on."""


def classify_scene(
    item: pystac.Item,
    bbox: Sequence[float],
    bands: Sequence[str] = SHARED_BANDS,
    n_clusters: int = START_CLUSTERS,
    lake_point: tuple[float, float] | None = WALKER_LAKE_CENTRE,
    geobox: Any = None,
    random_state: int = 0,
    resolution: float = 30,
    cache: bool | str | os.PathLike[str] = True,
    tolerance: float | None = TOLERANCE,
) -> xr.Dataset:
    """Load, standardise, cluster one scene, name its clusters and measure its water.

    1. Load (:func:`lakeml.load.load_scene`; cached on disk with ``cache``), standardise each
       band, spectral clustering into ``n_clusters`` clusters.
    2. Name the clusters (``n_clusters`` is where it starts, :data:`lakeml.water.START_CLUSTERS`
       by default): each cluster is water when most of its pixels pass USGS DSWE's
       water tests (classes 1-2, :func:`lakeml.references.dswe_water`); a cluster whose pixels
       disagree (naming it would misname more than ``tolerance`` of the scene's water) is split
       again until they agree (:func:`lakeml.water.split_mixed`; ``tolerance=None`` does not
       split), so the number of clusters grows where the scene needs it. No cluster may be
       water: then ``water_found`` is 0 and the mask is all 0.
    3. With ``lake_point`` (lon, lat), the pixel there must be water, or ``ValueError``.
    4. Score the water mask against each reference (:func:`lakeml.references.references`):
       DSWE, Geoscience Australia's WOfS, MNDWI-Otsu, the USGS ``qa_pixel`` water bit (when the
       item has ``qa_pixel``) and the consensus of the first three.

    Parameters
    ----------
    item : pystac.Item
        The scene.
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    bands : sequence of str
        The bands clustered (default :data:`lakeml.load.SHARED_BANDS`); DSWE's six bands are
        loaded as well for the references.
    n_clusters : int
        Clusters to start with, at least 2.
    lake_point : tuple of float or None
        ``(lon, lat)`` that must be water (default Walker Lake's centre); None: no check.
    geobox : odc.geo.geobox.GeoBox or None
        A grid to load onto instead of ``bbox`` and ``resolution`` (to put two dates on one
        grid).
    random_state : int
        Seed of the clustering.
    resolution : float
        Pixel size in metres (30 is Landsat's own; a coarser one reads the COG overviews:
        faster, for previews and quick runs); ignored when ``geobox`` is given.
    cache : bool, str or os.PathLike
        Keep the downloaded pixels on disk (see :func:`lakeml.load.load_scene`).
    tolerance : float or None
        The share of the scene's water a cluster may misname before it is split; None does not
        split.

    Returns
    -------
    xr.Dataset
        The loaded dataset (computed) with ``labels`` (int, -1 no data), ``water`` (1/0/NaN),
        the reference masks of :func:`lakeml.references.references` (``dswe``, ``dswe_water``,
        ``wofs``, ``mndwi_otsu``, ``qa_water`` when there is ``qa_pixel``, ``consensus``;
        their names in attr ``references``) and attrs ``item_id``, ``platform``, ``datetime``,
        ``n_clusters`` (after splitting),
        ``water_clusters`` (their labels, comma-separated), ``water_found`` (0/1),
        ``water_km2`` and ``water_iou_vs_<ref>`` for each key of :data:`AGREEMENT_KEYS`
        (NaN when the reference is missing or shares no pixel).

    Raises
    ------
    BadInput
        Bad input (checked before any read), or every pixel over the bbox is masked.
    ValueError
        The pixel at ``lake_point`` is not water (the message says what it is).

    Examples
    --------
    Input is checked before any pixel is read:

    >>> import datetime as dt
    >>> item = pystac.Item("LC08_DEMO", None, None, dt.datetime(2017, 7, 18), {})
    >>> classify_scene(item, (-118.89, 38.54, -118.57, 38.84), n_clusters=1)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: clusters must be at least 2 (water and the rest), got 1
    >>> classify_scene(item, (-118.89, 38.54, -118.57, 38.84), lake_point=(-117.0, 38.7))
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: lake point (-117.0, 38.7) lies outside the bbox [-118.89, 38.54, ...

    Needs a STAC API and its COGs: here the offline sample's, served locally
    (``sample_stac_url``; ``lakeml sample serve`` starts one); a 2017 summer scene of Walker
    Lake:

    >>> from lakeml.search import WALKER_LAKE_BBOX
    >>> items = search(WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", "landsat-8",
    ...                catalog=open_catalog(sample_stac_url))
    >>> scene = classify_scene(pick_clearest(items, WALKER_LAKE_BBOX), WALKER_LAKE_BBOX)
    >>> scene.attrs["item_id"], scene.attrs["water_km2"]  # doctest: +NUMBER
    ('LC08_L2SP_042033_20170718_02_T1', 109.4)
    >>> scene.attrs["water_iou_vs_consensus"]  # doctest: +NUMBER
    0.997
    >>> from lakeml.offline import sample
    >>> truth_metrics(scene, sample.truth(scene.attrs["item_id"]))  # doctest: +NUMBER
    {'truth_water_km2': 109.16, 'water_iou_vs_truth': 0.994}
    """
    from lakeml.cluster import spectral_clustering

    bbox = validate_bbox(bbox)
    n_clusters = check_n_clusters(n_clusters)
    check_resolution(resolution)
    if lake_point is not None:
        lake_point = validate_point(lake_point, bbox)
    # the references (DSWE, WOfS) read six bands whatever is clustered
    load_bands = [*bands, *(b for b in DSWE_BANDS if b not in bands)]
    ds = load_scene(
        item, bbox, bands=load_bands, geobox=geobox, resolution=resolution, cache=cache
    ).compute()
    if not bool(ds.valid.any()):
        raise UnusableData(
            f"every pixel of {item.id} over the bbox is masked (fill, cloud or shadow); "
            "pick another scene or a lower cloud cover limit"
        )
    samples = standardize(to_samples(ds, bands)).compute()
    n_valid = int(ds.valid.sum())
    labels = spectral_clustering(
        samples,
        n_clusters=n_clusters,
        n_components=max(min(100, n_valid), n_clusters),
        random_state=random_state,
    )
    refs = references(ds)
    evidence = refs.dswe_water.stack(sample=("y", "x"))
    if tolerance is not None:
        labels = split_mixed(
            samples, labels, evidence, tolerance=tolerance, random_state=random_state
        )
    table = cluster_table(labels, evidence)
    water_labels = table.cluster.values[table.is_water.values]
    ds["labels"] = from_samples(labels, like=ds).astype("int16")
    ds["water"] = water_mask(ds.labels, water_labels)
    for name in refs.data_vars:  # kept, so that callers score against them without redoing them
        ds[name] = refs[name]
    if lake_point is not None:
        check_lake_point(ds.water, lake_point)
    scores = agreement(ds.water, refs)
    ds.attrs.update(
        n_clusters=int(labels.attrs["n_clusters"]),
        water_clusters=",".join(str(int(c)) for c in water_labels),
        water_found=int(water_labels.size > 0),
        references=",".join(map(str, refs.data_vars)),
        water_km2=area_km2(ds.water),
        **{
            f"water_iou_vs_{key}": scores.get(name, {}).get("iou", float("nan"))
            for key, name in AGREEMENT_KEYS.items()
        },
    )
    return ds


def truth_metrics(scene: xr.Dataset, truth: xr.Dataset) -> dict[str, float]:
    """Compare a classified scene with its ground truth (the offline sample knows it).

    Parameters
    ----------
    scene : xr.Dataset
        A classified scene, as :func:`classify_scene` returns it.
    truth : xr.Dataset
        Its truth: ``water`` (1 / 0) on any grid with a CRS, as
        :func:`lakeml.offline.sample.truth` gives it for a scene of the offline sample.

    Returns
    -------
    dict of str to float
        ``truth_water_km2`` (the true water over the scene's observed pixels) and
        ``water_iou_vs_truth``.

    Examples
    --------
    On a scene of the sample, as :func:`classify_scene` makes it (its example runs this).
    """
    water = on_grid(truth.water.astype("float32"), scene.water)
    return {
        "truth_water_km2": area_km2(water),
        "water_iou_vs_truth": iou(scene.water, water),
    }


def _scene_summary(scene: xr.Dataset) -> dict[str, Any]:
    keys = ("item_id", "platform", "datetime", "n_clusters", "water_found")
    out = {k: scene.attrs[k] for k in keys}
    for k in ("water_km2", *(f"water_iou_vs_{key}" for key in AGREEMENT_KEYS)):
        value = float(scene.attrs[k])
        out[k] = round(value, 4) if np.isfinite(value) else None
    return out


def change_summary(
    before: xr.Dataset, after: xr.Dataset, codes: xr.DataArray | None = None
) -> dict[str, Any]:
    """Summarise the change between two classified scenes (:func:`classify_scene`).

    Lost, gained and their difference are measured on the pixels observed on both dates
    only, so cloud over the lake on one date is not counted as water lost (each scene's own
    ``water_km2`` still counts its unobserved pixels as not water: compare those with care).

    Parameters
    ----------
    before, after : xr.Dataset
        Classified scenes: ``water`` and the attrs :func:`classify_scene` sets.
    codes : xr.DataArray or None
        Their :func:`lakeml.water.change_map`, if already made.

    Returns
    -------
    dict
        ``before`` and ``after`` (each scene's ``item_id``, ``platform``, ``datetime``,
        ``n_clusters``, ``water_found``, ``water_km2``, ``water_iou_vs_<ref>``),
        ``lost_km2``, ``gained_km2``, ``change_km2`` (gained minus lost),
        ``observed_fraction`` (:func:`lakeml.water.change_observed`) and ``partial``
        (``observed_fraction`` below :data:`lakeml.water.MIN_OBSERVED`).
    """
    codes = change_map(before.water, after.water) if codes is None else codes
    areas = change_areas(codes)
    observed = change_observed(before.water, after.water)
    return {
        "before": _scene_summary(before),
        "after": _scene_summary(after),
        "lost_km2": round(areas["lost_km2"], 4),
        "gained_km2": round(areas["gained_km2"], 4),
        "change_km2": round(areas["change_km2"], 4),
        "observed_fraction": round(observed, 4) if np.isfinite(observed) else None,
        "partial": not observed >= MIN_OBSERVED,
    }


def check_change_inputs(
    bbox: Sequence[float],
    before: str,
    after: str,
    platform_before: str = "landsat-5",
    platform_after: str = "landsat-8",
    max_cloud: float = 1.0,
    clusters: int = START_CLUSTERS,
    lake_point: tuple[float, float] | None = None,
) -> tuple[tuple[float, float, float, float], int, tuple[float, float] | None]:
    """Check every input of :func:`change` before any work.

    The command checks them before it starts a server or connects to a cluster.

    Parameters
    ----------
    bbox, before, after, platform_before, platform_after, max_cloud, clusters, lake_point
        As for :func:`change`.

    Returns
    -------
    tuple
        The bbox as floats, the number of clusters, and the lake point: as given, or Walker
        Lake's centre when the bbox holds it, else None.

    Raises
    ------
    BadInput
        The first input that is wrong, with how to fix it.

    Examples
    --------
    >>> check_change_inputs([-118.89, 38.54, -118.57, 38.84], "1988-06-01/1988-09-30",
    ...                     "2017-06-01/2017-09-30")
    ((-118.89, 38.54, -118.57, 38.84), 6, (-118.71, 38.7))
    """
    box = validate_bbox(bbox)
    validate_datetime(before, "before")
    validate_datetime(after, "after")
    validate_platforms([platform_before, platform_after])
    validate_max_cloud(max_cloud)
    n = check_n_clusters(clusters)
    if lake_point is not None:
        return box, n, validate_point(lake_point, box)
    return box, n, WALKER_LAKE_CENTRE if bbox_contains(box, WALKER_LAKE_CENTRE) else None


def change(
    bbox: Sequence[float],
    before: str,
    after: str,
    platform_before: str = "landsat-5",
    platform_after: str = "landsat-8",
    max_cloud: float = 1.0,
    clusters: int = START_CLUSTERS,
    stac_url: str | None = None,
    out: str | os.PathLike[str] = "lakeml-out",
    progress: bool = True,
    lake_point: tuple[float, float] | None = None,
    truth: Callable[[str], xr.Dataset] | None = None,
) -> dict[str, Any]:
    """Measure the water change between two dates: search, pick, classify, compare, write.

    ``lake_point`` (lon, lat) is a point on the lake, used to check that the water cluster
    found by its spectrum is the lake's; by default Walker Lake's centre if the bbox holds it,
    otherwise no check.

    Writes ``change.tif`` (COG, codes in :data:`lakeml.water.CHANGE_CODES`), ``change.png``
    and ``summary.json`` into ``out`` and returns the summary.

    Parameters
    ----------
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees.
    before, after : str
        The two date intervals, ``YYYY-MM-DD/YYYY-MM-DD``; the clearest scene of each is used
        (:func:`lakeml.load.pick_clearest`).
    platform_before, platform_after : str
        The mission searched in each interval.
    max_cloud : float
        Scene cloud cover limit, percent.
    clusters : int
        Clusters to start with (see :func:`classify_scene`).
    stac_url : str or None
        The STAC API (default ``$LAKEML_STAC_URL``, else Planetary Computer).
    out : str or os.PathLike
        The folder to write into (created if needed).
    progress : bool
        Show dask's progress bar.
    lake_point : tuple of float or None
        ``(lon, lat)`` on the lake.
    truth : callable or None
        A scene's ground truth by item id, where it is known (the offline sample's:
        :func:`lakeml.offline.sample.truth`, which ``lakeml change --sample`` passes): its
        ``truth_water_km2`` and ``water_iou_vs_truth`` join each scene's summary.

    Returns
    -------
    dict
        ``before`` and ``after`` (each scene's ``item_id``, ``platform``, ``datetime``,
        ``n_clusters``, ``water_found``, ``water_km2``, ``water_iou_vs_<ref>``; with
        ``truth`` also ``truth_water_km2`` and ``water_iou_vs_truth``), ``lost_km2``,
        ``gained_km2``, ``change_km2``, ``observed_fraction``, ``partial`` (see
        :func:`change_summary`) and ``seconds``: what ``summary.json`` holds.

    Raises
    ------
    BadInput
        Bad input (checked before any search), or no scene found for a date.
    RuntimeError
        The STAC API failed after its retries.

    Examples
    --------
    (Areas in the examples are checked to 0.1 km2, ``+NUMBER``: a few pixels on the edge of a
    cluster may go either way on another CPU.) Input is checked before any search:

    >>> change([-118.89, 38.54, -118.57, 38.84], "1988-06-01/1988-09-30",
    ...        "2017-06-01/2017-09-31", out="lakeml-out")
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: after '2017-06-01/2017-09-31' holds a date that is not in the ...

    On the offline sample's STAC API (``sample_stac_url``; about 30 s):

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> summary = change([-118.89, 38.54, -118.57, 38.84], "1988-06-01/1988-09-30",
    ...                  "2017-06-01/2017-09-30", stac_url=sample_stac_url, out=out,
    ...                  progress=False)
    >>> summary["before"]["water_km2"], summary["after"]["water_km2"]  # doctest: +NUMBER
    (163.2, 109.4)
    >>> summary["lost_km2"], summary["gained_km2"], summary["change_km2"]  # doctest: +NUMBER
    (54.2, 0.4, -53.8)
    >>> summary["observed_fraction"], summary["partial"]
    (1.0, False)
    >>> sorted(os.listdir(out))
    ['change.png', 'change.tif', 'summary.json']
    """
    from lakeml.plots import save_change_png

    start = time.perf_counter()
    bbox, clusters, lake_point = check_change_inputs(
        bbox, before, after, platform_before, platform_after, max_cloud, clusters, lake_point
    )
    out = output_dir(out)
    bar = _progress(progress)
    with bar:
        catalog = open_catalog(stac_url)
        found_b = search(bbox, before, platform_before, max_cloud, catalog=catalog)
        found_a = search(bbox, after, platform_after, max_cloud, catalog=catalog)
        item_b, item_a = pick_clearest(found_b, bbox), pick_clearest(found_a, bbox)
        scene_b = classify_scene(item_b, bbox, n_clusters=clusters, lake_point=lake_point)
        scene_a = classify_scene(
            item_a, bbox, n_clusters=clusters, lake_point=lake_point, geobox=scene_b.odc.geobox
        )
    codes = change_map(scene_b.water, scene_a.water)
    summary = change_summary(scene_b, scene_a, codes)
    if truth is not None:
        for key, scene in (("before", scene_b), ("after", scene_a)):
            known = truth_metrics(scene, truth(scene.attrs["item_id"]))
            summary[key].update({k: round(v, 4) for k, v in known.items()})
    grid = codes.odc.geobox
    write_cog(out / "change.tif", np.asarray(codes), str(grid.crs), tuple(grid.transform)[:6], 0)
    title = f"Water {summary['before']['datetime'][:10]} -> {summary['after']['datetime'][:10]}"
    save_change_png(codes, out / "change.png", title=title)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(summary, out / "summary.json")
    return summary


def _progress(enabled: bool) -> contextlib.AbstractContextManager[Any]:
    if not enabled:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar(minimum=1.0)


__all__ = [
    "AGREEMENT_KEYS",
    "change",
    "change_summary",
    "check_change_inputs",
    "classify_scene",
    "truth_metrics",
]
