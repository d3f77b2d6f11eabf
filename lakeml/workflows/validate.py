"""Validate: lakeml's water on real scenes, against the field's own classifiers.

The offline sample is generated here, so agreeing with its truth proves little about the world. This
module runs the same workflow (STAC search, :func:`lakeml.workflows.pipeline.classify_scene`) on the
five REAL Landsat scenes of :data:`lakeml.offline.sample.real_scenes.SCENES`, served by the local
STAC API exactly as Planetary Computer serves its items, and scores the water mask against:

- USGS DSWE (classes 1-2, :func:`lakeml.references.dswe_water`; lakeml names its clusters with
  DSWE's tests, so this one is not independent of it),
- Geoscience Australia's WOfS classifier (:func:`lakeml.references.wofs`),
- MNDWI thresholded by Otsu's method (:func:`lakeml.references.mndwi_otsu`),
- their consensus: the pixels on which all three agree (:func:`lakeml.references.consensus`),
- the USGS ``qa_pixel`` water bit where the scene has one (Canberra).

For each, :func:`lakeml.references.agreement` gives the IoU, producer's accuracy (the share of
the reference's water that lakeml finds), user's accuracy (the share of lakeml's water that the
reference calls water) and both water fractions. lakeml's own early rule (4 clusters, the
darkest in NIR + SWIR is water; the original lesson instead read the label at the lake's centre)
is scored the same way, to show where it fails, and a sweep over
the number of starting clusters shows how the answer depends on it.

``make validate`` (``lakeml validate``) writes ``_build/reports/real_scenes.json``.

Examples
--------
On the built sample's local STAC API (``sample_stac_url``;
:func:`lakeml.offline.server.serve_sample` starts one, with PostgreSQL and pgstac); the Manaus scene
only (all five: ``make validate``):

>>> from lakeml.offline.sample.real_scenes import SCENES
>>> report = run(sample_stac_url, SCENES, ids=["LC09_L2SP_231062_20230723_02_T1"])
>>> manaus = report["scenes"]["LC09_L2SP_231062_20230723_02_T1"]
>>> manaus["name"], manaus["lakeml"]["consensus"]["iou"] >= 0.9
('Manaus', True)
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pystac
import xarray as xr

if TYPE_CHECKING:
    import pystac_client

from lakeml.checks import check_choice
from lakeml.references import agreement
from lakeml.reshape import from_samples, standardize, to_samples
from lakeml.water import START_CLUSTERS, TOLERANCE, area_km2, darkest_cluster, water_mask


class Scene(Protocol):
    """What validation needs to know of a real scene, passed in, not imported.

    :class:`lakeml.offline.sample.real_scenes.RealScene` is one.
    """

    @property
    def item_id(self) -> str:
        """The item's id in the catalog (Planetary Computer's form)."""

    @property
    def name(self) -> str:
        """The place, for people."""

    @property
    def water(self) -> str:
        """What water the scene holds, in words."""

    @property
    def qa(self) -> bool:
        """Whether the scene has a ``qa_pixel`` (with the USGS water bit)."""

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(W, S, E, N)`` in degrees, inside the scene."""

    @property
    def date(self) -> str:
        """The acquisition date, ``YYYY-MM-DD``."""

    @property
    def datetime(self) -> str:
        """The acquisition day as a STAC datetime interval."""

    @property
    def platform(self) -> str:
        """``landsat-5`` ... ``landsat-9``."""


SWEEP = (2, 3, 4, 6, 8, 12)
"""Starting numbers of clusters compared by :func:`sweep`."""


def find_item(scene: Scene, catalog: pystac_client.Client) -> pystac.Item:
    """Search the catalog for a real scene by its bbox, date and platform; return its item.

    Parameters
    ----------
    scene : Scene
        A real scene: one of :data:`lakeml.offline.sample.real_scenes.SCENES`, say.
    catalog : pystac_client.Client
        An open STAC API, e.g. ``lakeml.search.open_catalog(srv.stac_url)``.

    Returns
    -------
    pystac.Item
        The item whose id is ``scene.item_id``.

    Raises
    ------
    RuntimeError
        If the search does not find that item (the sample was built without it).

    Examples
    --------
    On the sample's local STAC API (``sample_stac_url``):

    >>> from lakeml.search import open_catalog
    >>> catalog = open_catalog(sample_stac_url)
    >>> from lakeml.offline.sample.real_scenes import SCENES
    >>> item = find_item(SCENES["LC09_L2SP_231062_20230723_02_T1"], catalog)
    >>> item.id, item.properties["platform"]
    ('LC09_L2SP_231062_20230723_02_T1', 'landsat-9')
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
    """Find water by lakeml's own early rule: 4 clusters, the darkest in NIR + SWIR.

    Not the original lesson's rule: that lesson read the label at the lake's centre (lon
    -118.71, lat 38.7), which needs a known lake point, so it does not transfer to other water.

    Parameters
    ----------
    scene : xr.Dataset
        Scaled reflectance over ``(y, x)`` with ``bands``, ``nir08`` and ``swir16``.
    bands : sequence of str
        The bands clustered (standardised first).
    random_state : int
        Seed of the spectral clustering.

    Returns
    -------
    xr.DataArray
        Water mask on the scene's grid: 1 the darkest cluster, 0 the others, NaN no data.

    Raises
    ------
    ValueError
        If a band is missing, or fewer than 100 pixels are valid (the landmarks).

    Examples
    --------
    A 20 x 20 scene of four surfaces, 100 pixels each:

    >>> spectra = np.array([[0.06, 0.04, 0.02, 0.01],  # water: dark in NIR and SWIR
    ...                     [0.15, 0.20, 0.30, 0.35],  # soil
    ...                     [0.08, 0.05, 0.40, 0.20],  # grass
    ...                     [0.25, 0.30, 0.35, 0.40]])  # rock
    >>> kind = np.repeat(np.arange(4), 100).reshape(20, 20)  # 5 rows of each
    >>> pixels = spectra[kind] + np.random.default_rng(0).normal(0, 0.005, (20, 20, 4))
    >>> bands = ["green", "red", "nir08", "swir16"]
    >>> scene = xr.Dataset({b: (("y", "x"), pixels[..., i]) for i, b in enumerate(bands)},
    ...                    coords={"y": 15.0 + 30 * np.arange(20)[::-1],
    ...                            "x": 15.0 + 30 * np.arange(20)})
    >>> water = old_rule(scene, bands)
    >>> int(water.sum()), bool(np.array_equal(water.values == 1, kind == 0))
    (100, True)
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
    """Measure the water fraction and IoU vs the consensus for each start number of clusters.

    With ``mixed`` the mixed clusters are split (:func:`lakeml.water.split_mixed`, as
    :func:`lakeml.workflows.pipeline.classify_scene` does); without, the clusters are named as they
    come.

    Parameters
    ----------
    item : pystac.Item
        The scene's item (its assets are read over HTTP).
    bbox : sequence of float
        ``(W, S, E, N)`` in degrees: the area classified.
    refs : xr.Dataset
        The references on the scene's grid, with ``consensus`` (see
        :func:`lakeml.references.references`).
    starts : sequence of int
        The starting numbers of clusters to try.
    mixed : bool
        Split mixed clusters (as lakeml does), or name the clusters as they come.

    Returns
    -------
    list of dict
        One row per start: ``start_clusters``, ``n_clusters`` (after splitting),
        ``water_fraction`` and ``iou_vs_consensus`` (None if undefined).

    Examples
    --------
    The starting numbers of clusters swept by default (``make validate``):

    >>> import inspect
    >>> inspect.signature(sweep).parameters["starts"].default
    (2, 3, 4, 6, 8, 12)

    On the sample's Canberra scene, as :func:`validate_scene` runs it:

    >>> from lakeml.workflows.pipeline import classify_scene
    >>> from lakeml.search import open_catalog
    >>> from lakeml.offline.sample.real_scenes import SCENES
    >>> scene = SCENES["LC08_L2SP_091084_20190205_02_T1"]
    >>> item = find_item(scene, open_catalog(sample_stac_url))
    >>> result = classify_scene(item, scene.bbox, lake_point=None)
    >>> refs = result[result.attrs["references"].split(",")]
    >>> rows = sweep(item, scene.bbox, refs, starts=(2, 4))
    >>> [row["start_clusters"] for row in rows], all(r["iou_vs_consensus"] > 0.9 for r in rows)
    ([2, 4], True)
    """
    from lakeml.workflows.pipeline import classify_scene

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
    scene: Scene,
    catalog: pystac_client.Client,
    n_clusters: int = START_CLUSTERS,
    with_sweep: bool = False,
) -> dict[str, Any]:
    """Classify one real scene through the STAC API and score it against every reference.

    Parameters
    ----------
    scene : Scene
        A real scene: one of :data:`lakeml.offline.sample.real_scenes.SCENES`, say.
    catalog : pystac_client.Client
        The open STAC API serving it.
    n_clusters : int
        Clusters to start with (mixed ones are then split).
    with_sweep : bool
        Also run :func:`sweep` with and without splitting (slow: one classification per
        start).

    Returns
    -------
    dict
        ``item_id``, ``name``, ``water``, ``qa_pixel``, ``n_clusters``, ``water_found``,
        ``water_km2``, ``valid_pixels``, ``consensus_coverage`` (share of valid pixels where
        the references agree), ``lakeml`` (scores vs each reference and the consensus),
        ``old_rule`` (the same for the darkest-cluster rule), ``seconds``; with ``with_sweep``
        also ``sweep`` and ``sweep_without_splitting``.

    Raises
    ------
    RuntimeError
        If the catalog does not hold the scene (see :func:`find_item`).

    Examples
    --------
    The scene, as :data:`lakeml.offline.sample.real_scenes.SCENES` describes it:

    >>> from lakeml.offline.sample.real_scenes import SCENES
    >>> SCENES["LC08_L2SP_091084_20190205_02_T1"].name
    'Canberra'

    On the sample's local STAC API (``sample_stac_url``); Canberra has a USGS water bit:

    >>> from lakeml.search import open_catalog
    >>> row = validate_scene(SCENES["LC08_L2SP_091084_20190205_02_T1"],
    ...                      open_catalog(sample_stac_url))
    >>> row["name"], row["qa_pixel"], row["lakeml"]["qa_water"]["iou"] >= 0.9
    ('Canberra', True, True)
    """
    from lakeml.workflows.pipeline import classify_scene

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
    stac_url: str | None,
    scenes: Mapping[str, Scene],
    with_sweep: bool = False,
    ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Validate every scene of ``scenes`` (or those in ``ids``) served at ``stac_url``.

    Parameters
    ----------
    stac_url : str or None
        The STAC API root; None means :func:`lakeml.search.stac_url` (``LAKEML_STAC_URL``).
    scenes : mapping of str to Scene
        The real scenes by item id (``lakeml validate`` passes the offline sample's five,
        :data:`lakeml.offline.sample.real_scenes.SCENES`).
    with_sweep : bool
        Also sweep the starting number of clusters (see :func:`validate_scene`).
    ids : sequence of str or None
        Item ids of ``scenes`` to validate; None means all.

    Returns
    -------
    dict
        ``what``, ``references`` (the names scored against) and ``scenes``: the
        :func:`validate_scene` row per item id.

    Raises
    ------
    ValueError
        (bad input) If an id is not a real scene; checked before the catalog is opened.

    Examples
    --------
    On the sample's local STAC API (``sample_stac_url``), one scene:

    >>> from lakeml.offline.sample.real_scenes import SCENES
    >>> report = run(sample_stac_url, SCENES, ids=["LC08_L2SP_091084_20190205_02_T1"])
    >>> list(report["scenes"])
    ['LC08_L2SP_091084_20190205_02_T1']
    """
    from lakeml.search import open_catalog

    chosen = list(ids) if ids is not None else list(scenes)
    for scene_id in chosen:
        check_choice(scene_id, scenes, "real scene")
    catalog = open_catalog(stac_url)
    rows = {i: validate_scene(scenes[i], catalog, with_sweep=with_sweep) for i in chosen}
    return {
        "what": "lakeml's water vs the field's references on real Landsat scenes",
        "references": ["dswe_water", "wofs", "mndwi_otsu", "consensus", "qa_water"],
        "scenes": rows,
    }


__all__ = ["SWEEP", "Scene", "find_item", "old_rule", "run", "sweep", "validate_scene"]
