"""The STAC metadata: items and the collection, shaped exactly like Planetary Computer's.

What the code sees is shaped exactly like the real ``landsat-c2-l2``: item properties, asset
keys, titles, media types, roles, ``eo:bands``, ``raster:bands``, ``qa_pixel`` bitfields,
links; only the ``created`` time of a generated item (a sample release,
:data:`SAMPLE_RELEASES`) tells it from a real one (:func:`is_synthetic`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from lakeml.offline.sample.grid import EPSG, SCENE_SHAPE, SCENE_TRANSFORM, _affine
from lakeml.offline.sample.missions import _MISSIONS, _file_suffix, _qa_bitfields, asset_definitions
from lakeml.offline.sample.render import _footprint_cut
from lakeml.offline.sample.scenes import SEED, SceneSpec, _overpass

COLLECTION_ID = "landsat-c2-l2"
"""The collection id, the same as Planetary Computer's."""


SAMPLE_VERSION = "1.3.0"
"""Version of the generated sample; a cached sample of another version is rebuilt."""

SAMPLE_RELEASES = {
    "1.0.0": "2026-11-24T09:18:00Z",
    "1.1.0": "2026-11-25T09:18:00Z",
    "1.2.0": "2026-12-01T09:18:00Z",
    "1.3.0": "2026-12-07T06:45:00Z",
}
"""When each sample version was released: its items' ``created`` time. A new version needs a
new entry, so loaded scenes cached from an older sample (keyed on ``created``, see
:func:`lakeml.load.scene_key`) are not reused."""


def _footprint_lonlat(spec: SceneSpec) -> list[list[float]]:
    """Return the scene's valid-data footprint (corner cut) as a counter-clockwise ring."""
    from pyproj import Transformer

    h, w = SCENE_SHAPE
    (r1, c1), (r2, c2) = _footprint_cut(spec)
    ring_rc = [(0.0, 0.0), (h, 0.0), (h, w), (r2, c2), (r1, c1), (0.0, 0.0)]
    t = _affine()
    to_ll = Transformer.from_crs(EPSG, 4326, always_xy=True)
    ring = []
    for r, c in ring_rc:
        x, y = t @ (c, r)
        lon, lat = to_ll.transform(x, y)
        ring.append([lon, lat])
    return ring


def _item(spec: SceneSpec, stats: dict[str, Any]) -> dict[str, Any]:
    """Return the STAC item of a rendered synthetic scene (``stats`` from its rendering)."""
    when = _overpass(spec)
    az, el = stats["sun"]
    hrefs = {
        key: f"cogs/{spec.item_id}/{spec.product_id}_{_file_suffix(spec.platform, key)}.TIF"
        for key in asset_definitions(spec.platform)
    }
    doy = when.timetuple().tm_yday
    sid_prefix, sid_suffix = _MISSIONS[spec.platform]["scene_id"]
    return item_dict(
        spec.item_id,
        spec.platform,
        when,
        _footprint_lonlat(spec),
        hrefs,
        epsg=EPSG,
        shape=SCENE_SHAPE,
        transform=SCENE_TRANSFORM,
        cloud_cover=stats["cloud_cover"],
        cloud_cover_land=stats["cloud_cover_land"],
        sun=(az, el),
        wrs=("042", "033"),
        scene_id=f"{sid_prefix}042033{when.year}{doy:03d}{sid_suffix}",
    )


def item_dict(
    item_id: str,
    platform: str,
    when: dt.datetime,
    ring: list[list[float]],
    hrefs: dict[str, str],
    *,
    epsg: int,
    shape: tuple[int, int],
    transform: tuple[float, ...],
    cloud_cover: float | None,
    cloud_cover_land: float | None,
    sun: tuple[float, float] | None,
    wrs: tuple[str, str],
    scene_id: str | None,
    category: str = "T1",
    description: str = "Landsat Collection 2 Level-2",
    created: str | None = None,
) -> dict[str, Any]:
    """Return a STAC item shaped exactly like Planetary Computer's ``landsat-c2-l2`` items.

    Used for the synthetic scenes and for the real ones (:mod:`lakeml.offline.sample.real_scenes`).

    Parameters
    ----------
    item_id : str
        Planetary Computer's id (no processing date), e.g. ``LC08_L2SP_042033_20170718_02_T1``.
    platform : str
        ``landsat-5`` ... ``landsat-9``.
    when : datetime.datetime
        Acquisition time (UTC).
    ring : list of list of float
        Footprint, a closed lon/lat ring.
    hrefs : dict of str to str
        Asset key -> href (relative to the sample root); the assets are
        :func:`~lakeml.offline.sample.missions.asset_definitions` of ``platform`` restricted to
        these keys, in their order.
    epsg : int
        The grid's CRS (``proj:epsg``).
    shape : tuple of int
        The grid's (rows, cols) (``proj:shape``).
    transform : tuple of float
        The grid's affine (a, b, c, d, e, f) (``proj:transform``).
    cloud_cover : float or None
        ``eo:cloud_cover`` (%); ``None`` leaves the property out (unknown).
    cloud_cover_land : float or None
        ``landsat:cloud_cover_land`` (%); ``None`` leaves it out.
    sun : tuple of float or None
        (``view:sun_azimuth``, ``view:sun_elevation``) in degrees; ``None`` leaves them out.
    wrs : tuple of str
        (path, row), zero-padded (``landsat:wrs_path``, ``landsat:wrs_row``).
    scene_id : str or None
        ``landsat:scene_id``; ``None`` leaves it out.
    category : str
        ``landsat:collection_category`` (``T1``, ``T2``, ``RT``).
    description : str
        The ``description`` property.
    created : str or None
        The ``created`` time (ISO 8601, UTC); None means this sample version's release
        (:data:`SAMPLE_RELEASES`), which marks a generated scene (:func:`is_synthetic`).

    Returns
    -------
    dict of str to object
        The item as a dict; hrefs relative to the sample root.

    Examples
    --------
    >>> it = item_dict("LC08_L2SP_042033_20170718_02_T1", "landsat-8",
    ...                dt.datetime(2017, 7, 17, 18, 25, tzinfo=dt.UTC),
    ...                [[0, 0], [0, 1], [1, 1], [0, 0]], {"red": "cogs/x/x_SR_B4.TIF"},
    ...                epsg=32611, shape=(10, 10), transform=(30, 0, 0, 0, -30, 0),
    ...                cloud_cover=0.0, cloud_cover_land=0.0, sun=(120.0, 60.0),
    ...                wrs=("042", "033"), scene_id=None)
    >>> it["bbox"], list(it["assets"]), "landsat:scene_id" in it["properties"]
    ([0, 0, 1, 1], ['red'], False)
    """
    m = _MISSIONS[platform]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assets = {
        key: {"href": hrefs[key], **asset}
        for key, asset in asset_definitions(platform).items()
        if key in hrefs
    }
    created_at = dt.datetime.fromisoformat(created or SAMPLE_RELEASES[SAMPLE_VERSION])
    az, el = sun if sun is not None else (None, None)
    properties = {
        "gsd": 30,
        "created": created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sci:doi": m["doi"],
        "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "platform": platform,
        "proj:epsg": epsg,
        "proj:shape": list(shape),
        "description": description,
        "instruments": list(m["instruments"]),
        "eo:cloud_cover": cloud_cover,
        "proj:transform": list(transform),
        "view:off_nadir": 0,
        "landsat:wrs_row": wrs[1],
        "landsat:scene_id": scene_id,
        "landsat:wrs_path": wrs[0],
        "landsat:wrs_type": "2",
        "view:sun_azimuth": None if az is None else round(az, 8),
        "landsat:correction": "L2SP",
        "view:sun_elevation": None if el is None else round(el, 8),
        "landsat:cloud_cover_land": cloud_cover_land,
        "landsat:collection_number": "02",
        "landsat:collection_category": category,
    }
    return {
        "id": item_id,
        "bbox": [min(lons), min(lats), max(lons), max(lats)],
        "type": "Feature",
        "links": [
            {"rel": "collection", "type": "application/json", "href": "catalog/collection.json"},
            {"rel": "parent", "type": "application/json", "href": "catalog/collection.json"},
            {"rel": "root", "type": "application/json", "href": "catalog/collection.json"},
            {"rel": "cite-as", "href": f"https://doi.org/{m['doi']}", "title": m["cite_title"]},
        ],
        "assets": assets,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "collection": COLLECTION_ID,
        "properties": {k: v for k, v in properties.items() if v is not None},
        "stac_extensions": [
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
            "https://stac-extensions.github.io/classification/v1.0.0/schema.json",
            "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
        ],
        "stac_version": "1.0.0",
    }


def _collection(item_dicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the collection document, shaped like Planetary Computer's ``landsat-c2-l2``."""
    bboxes = np.array([it["bbox"] for it in item_dicts])
    times = sorted(it["properties"]["datetime"] for it in item_dicts)
    eo_bands = []
    item_assets: dict[str, dict[str, Any]] = {}
    names = {"landsat-5": "Thematic Mapper", "landsat-7": "Enhanced Thematic Mapper Plus"}
    for platform in ("landsat-5", "landsat-7", "landsat-8"):
        for key, asset in asset_definitions(platform).items():
            for band in asset.get("eo:bands", []):
                sensor = names.get(platform) or (
                    "Thermal Infrared Sensor"
                    if band["name"].startswith("TIRS")
                    else "Operational Land Imager"
                )
                eo_bands.append(
                    {
                        "name": band["name"],
                        "common_name": band["common_name"],
                        "description": f"{band['description']} ({sensor})",
                        "center_wavelength": band["center_wavelength"],
                        "full_width_half_max": band["full_width_half_max"],
                    }
                )
            generic = {k: v for k, v in asset.items() if k not in ("eo:bands", "gsd")}
            generic["description"] = (
                generic["description"]
                .replace(" (QA_PIXEL)", "")
                .replace(f" ({_file_suffix(platform, key)})", "")
            )
            if key == "qa_pixel":
                generic["classification:bitfields"] = _qa_bitfields(True)
            item_assets.setdefault(key, generic)
    return {
        "type": "Collection",
        "id": COLLECTION_ID,
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json",
            "https://stac-extensions.github.io/view/v1.0.0/schema.json",
            "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/classification/v1.0.0/schema.json",
        ],
        "title": "Landsat Collection 2 Level-2",
        "description": (
            "SYNTHETIC OFFLINE SAMPLE generated by lakeml.offline.sample (version "
            f"{SAMPLE_VERSION}, seed {SEED}): simulated scenes over Walker Lake, Nevada, shaped "
            "like Planetary Computer's landsat-c2-l2 collection (Landsat Collection 2 Level-2 "
            "surface reflectance and surface temperature from the Thematic Mapper (TM) onboard "
            "Landsat 5, the Enhanced Thematic Mapper Plus (ETM+) onboard Landsat 7, and the "
            "Operational Land Imager (OLI) and Thermal Infrared Sensor (TIRS) onboard Landsat 8 "
            "and 9). No pixel here was measured by a satellite."
        ),
        "license": "proprietary",
        "keywords": [
            "Landsat",
            "USGS",
            "NASA",
            "Satellite",
            "Global",
            "Imagery",
            "Reflectance",
            "Temperature",
        ],
        "providers": [
            {
                "name": "NASA",
                "roles": ["producer", "licensor"],
                "url": "https://landsat.gsfc.nasa.gov/",
            },
            {
                "name": "USGS",
                "roles": ["producer", "processor", "licensor"],
                "url": "https://www.usgs.gov/landsat-missions/"
                "landsat-collection-2-level-2-science-products",
            },
            {"name": "lakeml", "roles": ["processor", "host"], "description": "synthetic sample"},
        ],
        "extent": {
            "spatial": {
                "bbox": [
                    [
                        float(bboxes[:, 0].min()),
                        float(bboxes[:, 1].min()),
                        float(bboxes[:, 2].max()),
                        float(bboxes[:, 3].max()),
                    ]
                ]
            },
            "temporal": {"interval": [[times[0], times[-1]]]},
        },
        "summaries": {
            "gsd": [30, 60, 100, 120],
            "sci:doi": sorted({m["doi"] for m in _MISSIONS.values()}),
            "eo:bands": eo_bands,
            "platform": ["landsat-5", "landsat-7", "landsat-8", "landsat-9"],
            "instruments": ["tm", "etm+", "oli", "tirs"],
            "view:off_nadir": {"minimum": 0, "maximum": 15},
        },
        "item_assets": item_assets,
        "links": [
            {"rel": "root", "type": "application/json", "href": "catalog/collection.json"},
            {
                "rel": "license",
                "href": "https://www.usgs.gov/core-science-systems/hdds/data-policy",
                "title": "Public Domain",
            },
        ]
        + [
            {"rel": "cite-as", "href": f"https://doi.org/{m['doi']}", "title": m["cite_title"]}
            for m in (_MISSIONS["landsat-5"], _MISSIONS["landsat-7"], _MISSIONS["landsat-8"])
        ],
    }


def is_synthetic(item: Any) -> bool:
    """Tell whether a STAC item is one of this sample's GENERATED scenes.

    The sample's synthetic items carry Planetary Computer's real ids (e.g.
    ``LC08_L2SP_042033_20170718_02_T1``) and its exact properties, so the id alone cannot tell:
    a generated item is one whose ``created`` time is a sample release (:data:`SAMPLE_RELEASES`);
    the real scenes of :mod:`lakeml.offline.sample.real_scenes` carry their own
    (:data:`~lakeml.offline.sample.real_scenes.CREATED`). Planetary Computer's own items and the
    real scenes give False. Use it to say "offline sample" in titles.

    Parameters
    ----------
    item : pystac.Item or dict
        A STAC item (a dict as in ``items.ndjson``, or a ``pystac.Item``).

    Returns
    -------
    bool
        True for a generated scene of any sample release.

    Examples
    --------
    >>> is_synthetic({"id": "LC08_L2SP_042033_20170718_02_T1",
    ...               "properties": {"created": SAMPLE_RELEASES[SAMPLE_VERSION]}})
    True
    >>> is_synthetic({"id": "LC08_L2SP_091084_20190205_02_T1",  # a real scene of the sample
    ...               "properties": {"created": "2026-12-01T21:31:47.000000Z"}})
    False
    >>> is_synthetic({"id": "LC08_L2SP_042033_20170718_02_T1",
    ...               "properties": {"created": "2020-09-03T09:12:44.123Z"}})
    False
    """
    props = item["properties"] if isinstance(item, dict) else item.properties
    created = str(props.get("created", ""))
    releases = {r.replace("Z", "") for r in SAMPLE_RELEASES.values()}
    return created.replace("Z", "").split(".")[0] in releases


def data_source(item: Any) -> str:
    """Name where a STAC item's pixels come from, for figure titles.

    Parameters
    ----------
    item : pystac.Item or dict
        A STAC item.

    Returns
    -------
    str
        ``"offline sample"`` for a generated scene (:func:`is_synthetic`), else ``"real"``.

    Examples
    --------
    >>> data_source({"id": "LC08_L2SP_091084_20190205_02_T1", "properties": {}})
    'real'
    >>> data_source({"id": "LC08_L2SP_042033_20170718_02_T1",
    ...              "properties": {"created": SAMPLE_RELEASES[SAMPLE_VERSION]}})
    'offline sample'
    """
    return "offline sample" if is_synthetic(item) else "real"
