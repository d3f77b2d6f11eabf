"""Validate: lakeml's water on real scenes, against the field's own classifiers.

The offline sample is generated here, so agreeing with its truth proves little about the world.
This module runs the same workflow (STAC search, :func:`lakeml.pipeline.classify_scene`) on the
five REAL Landsat scenes of :data:`lakeml.real_scenes.SCENES`, served by the local STAC API
exactly as Planetary Computer serves its items, and scores the water mask against:

- USGS DSWE (classes 1-2, :func:`lakeml.references.dswe_water`; lakeml names its clusters with
  DSWE's tests, so this one is not independent of it),
- Geoscience Australia's WOfS classifier (:func:`lakeml.references.wofs`),
- MNDWI thresholded by Otsu's method (:func:`lakeml.references.mndwi_otsu`),
- their consensus: the pixels on which all three agree (:func:`lakeml.references.consensus`),
- the USGS ``qa_pixel`` water bit where the scene has one (Canberra).

For each, :func:`lakeml.references.agreement` gives the IoU, producer's accuracy (the share of
the reference's water that lakeml finds), user's accuracy (the share of lakeml's water that the
reference calls water) and both water fractions. The original lesson's rule (4 clusters, the
darkest in NIR + SWIR is water) is scored the same way, to show where it fails, and a sweep over
the number of starting clusters shows how the answer depends on it.

``make validate`` (``lakeml validate``) writes ``_build/reports/real_scenes.json``.

Examples
--------
>>> from lakeml.server import serve_sample
>>> with serve_sample() as srv:  # doctest: +SKIP
...     report = run(srv.stac_url)
>>> manaus = report["scenes"]["LC09_L2SP_231062_20230723_02_T1"]  # doctest: +SKIP
>>> manaus["lakeml"]["consensus"]["iou"] >= 0.9  # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pystac
import xarray as xr

from lakeml.real_scenes import SCENES, RealScene
from lakeml.references import agreement
from lakeml.reshape import from_samples, standardize, to_samples
from lakeml.water import START_CLUSTERS, TOLERANCE, area_km2, darkest_cluster, water_mask

SWEEP = (2, 3, 4, 6, 8, 12)
"""Starting numbers of clusters compared by :func:`sweep`."""


def find_item(scene: RealScene, catalog: Any) -> pystac.Item:
    """Search the catalog for a real scene by its bbox, date and platform; return its item.

    Examples
    --------
    >>> item = find_item(SCENES["LC09_L2SP_231062_20230723_02_T1"], catalog)  # doctest: +SKIP
    """
    from lakeml.search import search

    found = search(scene.bbox, scene.datetime, scene.platform, None, catalog=catalog)
    for item in found:
        if item.id == scene.item_id:
            return item
    raise RuntimeError(
        f"the catalog has no item {scene.item_id} ({scene.name}) over {scene.bbox} on "
        f"{scene.date}: it found {[i.id for i in found]}; rebuild the sample "
        "(lakeml sample build --force)"
    )


def _rounded(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    return {
        ref: {
            k: (round(float(v), 4) if np.isfinite(v) else None) if isinstance(v, float) else v
            for k, v in s.items()
        }
        for ref, s in scores.items()
    }


def old_rule(scene: xr.Dataset, bands: Sequence[str], random_state: int = 0) -> xr.DataArray:
    """The original lesson's water: 4 spectral clusters, the darkest in NIR + SWIR is water.

    Examples
    --------
    >>> water = old_rule(scene, SHARED_BANDS)  # doctest: +SKIP
    """
    from lakeml.cluster import spectral_clustering

    samples = standardize(to_samples(scene, bands))
    labels = from_samples(
        spectral_clustering(samples, n_clusters=4, random_state=random_state), like=scene
    )
    return water_mask(labels, darkest_cluster(labels, scene))


def sweep(
    item: pystac.Item,
    bbox: Sequence[float],
    refs: xr.Dataset,
    starts: Sequence[int] = SWEEP,
    mixed: bool = True,
) -> list[dict[str, Any]]:
    """Water fraction and IoU vs the consensus for each starting number of clusters.

    With ``mixed`` the mixed clusters are split (:func:`lakeml.water.split_mixed`, as
    :func:`lakeml.pipeline.classify_scene` does); without, the clusters are named as they come.

    Examples
    --------
    >>> rows = sweep(item, bbox, refs, starts=(2, 4))  # doctest: +SKIP
    """
    from lakeml.pipeline import classify_scene

    rows = []
    for k in starts:
        scene = classify_scene(
            item, bbox, n_clusters=k, lake_point=None, cache=True,
            tolerance=TOLERANCE if mixed else None,
        )  # fmt: skip
        score = agreement(scene.water, refs[["consensus"]])["consensus"]
        rows.append(
            {
                "start_clusters": int(k),
                "n_clusters": int(scene.attrs["n_clusters"]),
                "water_fraction": round(float(np.nanmean(scene.water)), 5),
                "iou_vs_consensus": round(score["iou"], 4) if np.isfinite(score["iou"]) else None,
            }
        )
    return rows


def validate_scene(
    scene: RealScene,
    catalog: Any,
    n_clusters: int = START_CLUSTERS,
    with_sweep: bool = False,
) -> dict[str, Any]:
    """Classify one real scene through the STAC API and score it against every reference.

    Returns a dict: ``item_id``, ``name``, ``n_clusters``, ``water_found``, ``water_km2``,
    ``valid_pixels``, ``lakeml`` (scores vs each reference and the consensus),
    ``old_rule`` (the same for the darkest-cluster rule), ``consensus_coverage`` (share of
    valid pixels where the references agree), ``seconds``; with ``with_sweep`` also ``sweep``.

    Examples
    --------
    >>> row = validate_scene(SCENES["LC08_L2SP_091084_20190205_02_T1"], catalog)  # doctest: +SKIP
    >>> row["lakeml"]["qa_water"]["iou"] >= 0.9  # doctest: +SKIP
    True
    """
    from lakeml.pipeline import classify_scene

    start = time.perf_counter()
    item = find_item(scene, catalog)
    result = classify_scene(item, scene.bbox, n_clusters=n_clusters, lake_point=None, cache=True)
    refs = result[result.attrs["references"].split(",")]
    valid = int(result.valid.sum())
    out: dict[str, Any] = {
        "item_id": scene.item_id,
        "name": scene.name,
        "water": scene.water,
        "qa_pixel": bool(scene.qa),
        "n_clusters": int(result.attrs["n_clusters"]),
        "water_found": int(result.attrs["water_found"]),
        "water_km2": round(area_km2(result.water), 4),
        "valid_pixels": valid,
        "consensus_coverage": round(float(refs.consensus.notnull().sum()) / max(valid, 1), 4),
        "lakeml": _rounded(agreement(result.water, refs)),
        "old_rule": _rounded(agreement(old_rule(result, _bands(result)), refs)),
    }
    if with_sweep:
        out["sweep"] = sweep(item, scene.bbox, refs)
        out["sweep_without_splitting"] = sweep(item, scene.bbox, refs, mixed=False)
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out


def _bands(ds: xr.Dataset) -> list[str]:
    from lakeml.load import SHARED_BANDS

    return [b for b in SHARED_BANDS if b in ds]


def run(
    stac_url: str | None = None, with_sweep: bool = False, ids: Sequence[str] | None = None
) -> dict[str, Any]:
    """Validate every real scene (or those in ``ids``) served by the STAC API at ``stac_url``.

    Examples
    --------
    >>> report = run(srv.stac_url, ids=["LC08_L2SP_091084_20190205_02_T1"])  # doctest: +SKIP
    """
    from lakeml.search import open_catalog

    catalog = open_catalog(stac_url)
    chosen = list(ids) if ids is not None else list(SCENES)
    unknown = [i for i in chosen if i not in SCENES]
    if unknown:
        raise ValueError(f"unknown real scene {unknown[0]!r}: choose from {', '.join(SCENES)}")
    scenes = {i: validate_scene(SCENES[i], catalog, with_sweep=with_sweep) for i in chosen}
    return {
        "what": "lakeml's water vs the field's references on real Landsat scenes",
        "references": ["dswe_water", "wofs", "mndwi_otsu", "consensus", "qa_water"],
        "scenes": scenes,
    }


__all__ = ["SWEEP", "find_item", "old_rule", "run", "sweep", "validate_scene"]
