"""The whole workflow in a few calls: one scene to a validated water mask, two dates to change.

The notebooks walk through each step; this module strings the same functions together for
the ``lakeml change`` command and for readers who want the numbers for their own lake.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import xarray as xr

from lakeml.files import atomic_write, output_dir, write_json
from lakeml.load import SHARED_BANDS, load_scene, pick_clearest
from lakeml.references import DSWE_BANDS, agreement, references
from lakeml.reshape import from_samples, standardize, to_samples
from lakeml.search import (
    WALKER_LAKE_CENTRE,
    bbox_contains,
    open_catalog,
    search,
    validate_bbox,
    validate_datetime,
    validate_max_cloud,
    validate_platforms,
    validate_point,
)
from lakeml.water import (
    START_CLUSTERS,
    TOLERANCE,
    area_km2,
    change_areas,
    change_map,
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

    ``resolution`` is the pixel size in metres (30 is Landsat's own; a coarser one reads the
    COG overviews: faster, for previews and quick runs); it is ignored when ``geobox`` is given.

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

    Examples
    --------
    >>> scene = classify_scene(item, WALKER_LAKE_BBOX)  # doctest: +SKIP
    >>> round(scene.attrs["water_km2"], 1)  # doctest: +SKIP
    151.9
    """
    from lakeml.cluster import spectral_clustering

    if n_clusters < 2:
        raise ValueError(f"clusters must be at least 2 (water and the rest), got {n_clusters}")
    if not (float(resolution) > 0):
        raise ValueError(f"resolution is a pixel size in metres > 0, got {resolution}")
    if lake_point is not None:
        lake_point = validate_point(lake_point, bbox)
    # the references (DSWE, WOfS) read six bands whatever is clustered
    load_bands = [*bands, *(b for b in DSWE_BANDS if b not in bands)]
    ds = load_scene(
        item, bbox, bands=load_bands, geobox=geobox, resolution=resolution, cache=cache
    ).compute()
    if not bool(ds.valid.any()):
        raise ValueError(
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


def truth_metrics(scene: xr.Dataset, sample_root: Path | None = None) -> dict[str, float]:
    """Compare a classified sample scene with the sample's ground truth.

    Example
    -------
    >>> truth_metrics(scene)["water_iou_vs_truth"]  # doctest: +SKIP
    0.993
    """
    from lakeml import sample

    truth = sample.truth(scene.attrs["item_id"], root=sample_root)
    water = on_grid(truth.water.astype("float32"), scene.water)
    return {
        "truth_water_km2": area_km2(water),
        "water_iou_vs_truth": iou(scene.water, water),
    }


@contextlib.contextmanager
def catalog_url(stac_url: str | None, use_sample: bool) -> Iterator[str | None]:
    """Yield the STAC API to use: the local sample server (started and stopped here) when
    ``use_sample``, else ``stac_url`` (None: ``$LAKEML_STAC_URL`` or Planetary Computer).

    Example
    -------
    >>> with catalog_url(None, use_sample=True) as url:  # doctest: +SKIP
    ...     catalog = open_catalog(url)
    """
    if not use_sample:
        yield stac_url
        return
    from lakeml.server import serve_sample

    with serve_sample() as served:
        yield served.stac_url


def _write_cog(da: xr.DataArray, path: Path) -> None:
    atomic_write(path, lambda tmp: da.odc.write_cog(tmp, overwrite=True, nodata=0))


def _scene_summary(scene: xr.Dataset) -> dict[str, Any]:
    keys = ("item_id", "platform", "datetime", "n_clusters", "water_found")
    out = {k: scene.attrs[k] for k in keys}
    for k in ("water_km2", *(f"water_iou_vs_{key}" for key in AGREEMENT_KEYS)):
        value = float(scene.attrs[k])
        out[k] = round(value, 4) if np.isfinite(value) else None
    return out


def change(
    bbox: Sequence[float],
    before: str,
    after: str,
    platform_before: str = "landsat-5",
    platform_after: str = "landsat-8",
    max_cloud: float = 1.0,
    clusters: int = START_CLUSTERS,
    stac_url: str | None = None,
    sample: bool = False,
    out: str | os.PathLike[str] = "lakeml-out",
    progress: bool = True,
    lake_point: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Water change between two dates: search, pick, classify, compare, write the results.

    ``lake_point`` (lon, lat) is a point on the lake, used to check that the water cluster
    found by its spectrum is the lake's; by default Walker Lake's centre if the bbox holds it,
    otherwise no check.

    Writes ``change.tif`` (COG, codes in :data:`lakeml.water.CHANGE_CODES`), ``change.png``
    and ``summary.json`` into ``out`` and returns the summary.

    Example
    -------
    >>> change([-118.89, 38.54, -118.57, 38.84], "1988-06-01/1988-09-30",
    ...        "2017-06-01/2017-09-30", sample=True, out="out")  # doctest: +SKIP
    """
    from lakeml.plots import save_change_png

    start = time.perf_counter()
    bbox = validate_bbox(bbox)
    validate_datetime(before, "before")
    validate_datetime(after, "after")
    validate_platforms([platform_before, platform_after])
    validate_max_cloud(max_cloud)
    if int(clusters) < 2:
        raise ValueError(f"clusters must be at least 2 (water and the rest), got {clusters}")
    if lake_point is not None:
        lake_point = validate_point(lake_point, bbox)
    elif bbox_contains(bbox, WALKER_LAKE_CENTRE):
        lake_point = WALKER_LAKE_CENTRE
    out = output_dir(out)
    bar = _progress(progress)
    with catalog_url(stac_url, sample) as url, bar:
        catalog = open_catalog(url)
        found_b = search(bbox, before, platform_before, max_cloud, catalog=catalog)
        found_a = search(bbox, after, platform_after, max_cloud, catalog=catalog)
        item_b, item_a = pick_clearest(found_b, bbox), pick_clearest(found_a, bbox)
        scene_b = classify_scene(item_b, bbox, n_clusters=clusters, lake_point=lake_point)
        scene_a = classify_scene(
            item_a, bbox, n_clusters=clusters, lake_point=lake_point,
            geobox=scene_b.odc.geobox,
        )
    codes = change_map(scene_b.water, scene_a.water)
    areas = change_areas(codes)
    summary: dict[str, Any] = {"before": _scene_summary(scene_b), "after": _scene_summary(scene_a)}
    if sample:
        for key, scene in (("before", scene_b), ("after", scene_a)):
            summary[key].update({k: round(v, 4) for k, v in truth_metrics(scene).items()})
    summary.update(
        lost_km2=round(areas["lost_km2"], 4),
        gained_km2=round(areas["gained_km2"], 4),
        change_km2=round(scene_a.attrs["water_km2"] - scene_b.attrs["water_km2"], 4),
    )
    _write_cog(codes, out / "change.tif")
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


__all__ = ["AGREEMENT_KEYS", "classify_scene", "change", "truth_metrics"]
