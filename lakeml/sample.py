"""A deterministic, synthetic, offline stand-in for Planetary Computer's ``landsat-c2-l2``.

:func:`build` writes, under one directory (see :func:`sample_dir`), a small STAC catalog of
Landsat Collection 2 Level-2 scenes over Walker Lake, Nevada (WRS-2 path 042, row 033), whose
pixels are generated here from a fixed seed, with a known ground truth:

.. code-block:: text

    root/catalog/collection.json    the landsat-c2-l2 collection (shaped like Planetary Computer's)
    root/catalog/items.ndjson       one STAC item per line; asset and link hrefs relative to root
    root/cogs/<item_id>/*.TIF       Cloud Optimized GeoTIFFs, uint16, EPSG:32611, 30 m
                                    (plus five REAL scenes, lakeml.real_scenes: own grids)
    root/truth/<item_id>.json       water_km2, lake_level_m, valid_fraction, ... (see below)
    root/truth/<item_id>_class.tif  uint8 class map (:data:`CLASSES`), same grid as the COGs
    root/truth/<item_id>_water.tif  uint8 1 = the real lake (under clouds too), same grid
    root/manifest.json              version, seed, item ids (synthetic, real), sha256 of every
                                    file; written last

What the code sees is shaped exactly like the real thing: item properties, asset keys, titles,
media types, roles, ``eo:bands``, ``raster:bands`` (scale 2.75e-05, offset -0.2, nodata 0 for
surface reflectance; 0.00341802 / 149.0 for surface temperature), ``qa_pixel`` with the real
Collection 2 bit meanings, file names like ``LC08_L2SP_042033_20170718_20200903_02_T1_SR_B4.TIF``,
and a pixel grid aligned like real Landsat (UTM coordinates of pixel edges at 15 mod 30 m) such
that ``odc.stac.load(items, bbox=SAMPLE_BBOX)`` gives 1128 x 950 pixels, as it does on
Planetary Computer.

The landscape: a long north-south lake in a desert basin between two ranges (west higher, the
Wassuk Range), on a bathymetry-like elevation field, so that the lake is ``elevation < level``
and a lower level is a smaller lake of the same place. Around the lake: exposed lakebed (bright
playa, damp ``wet_playa`` just above the waterline and at seeps), a thin bright paleo-shoreline
ring, desert scrub, granitic rock on the ranges and dark volcanic rock on the eastern one, and
green riparian vegetation along the Walker River entering at the north end (spreading onto the
exposed delta as the lake recedes). It is meant to be as hard as the real thing, by physics,
not by tuning to any water rule:

- Lake levels follow the published Walker Lake record where there is one (:data:`LAKE_LEVEL_FT`,
  USGS SIR 2007-5012 and the others cited there; the rest interpolated or invented, said so).
- A turbid plume off the river mouth (suspended sediment: red 0.05-0.14, NIR 0.02-0.09, SWIR
  < 0.01), large in wet years (:data:`_INFLOW`), fading into the lake. It is water.
- Shallow margins: the lakebed shows through shallow water (attenuated twice over the depth),
  and shoreline pixels mix water and land linearly by their sub-pixel water fraction f (from
  the basin's slope across the pixel); a pixel is water in the truth when f >= 0.5.
- Terrain illumination from the elevation field and each scene's own sun (the items'
  ``view:sun_azimuth`` / ``view:sun_elevation``): observed = reflectance x (direct x cos(i) /
  cos(sun zenith), zero in cast shadow, + diffuse fraction(band) x sky view + light from the
  neighbouring slopes); the diffuse fraction is 0.32 in the coastal band down to 0.035 in
  swir22, so shade is dark and bluish. At Walker Lake's summer-morning overpass (sun from the
  ESE at 55-65 degrees) deep terrain shadow is rare; September scenes have more.
- Cloud shadows projected from the clouds along the sun's rays (lit by skylight and the
  clouds' sides only); CFMask's flag (bit 4) misses about 3 in 10 of them and those over
  water, and is dilated by 3 pixels; the truth class map has the real shadow.
- Sensor noise: OLI 12-bit with a signal-dependent noise; TM / ETM+ 8-bit counts (quantised in
  top-of-atmosphere reflectance), detector striping along the scan lines and more noise; a
  smooth residual of the atmospheric correction (largest in the blue).
- ``qa_pixel`` bit 7 (water) is made as CFMask makes it: the Fmask water test
  (:data:`FMASK_WATER`, Zhu and Woodcock 2012) on the rendered noisy pixels (approximate
  top-of-atmosphere reflectance), not set on cloud, dilated cloud or fill. So it has the real
  errors: water flagged on shaded slopes, dark volcanic rock and cloud shadow; missed where a
  shoreline pixel is mostly vegetation or bright land.

Per-class spectra follow the measured Walker Lake water/land reflectances (Landsat 5 TM 1988,
Landsat 8 OLI 2017), with smooth spatial texture. One scene per summer 1984-2024 from the
mission flying that year (Landsat 7 after 2003-05-31 with SLC-off wedge gaps), on the missions'
real 16-day cycles over path 042 (so the 1988 and 2017 ids are real Planetary Computer ids),
some partly cloudy scenes, two years whose only summer scene is too cloudy, and decoys around
the original notebook's two searches (see :data:`EXPECTED_SEARCH`).

Ground truth (``truth/<item_id>.json``), all measured on the 1128 x 950 load window of
:data:`SAMPLE_BBOX` (:func:`load_geobox`):

- ``water_km2``: pixels of the real lake (water fraction >= 0.5, i.e. basin elevation <=
  ``lake_level_m``) x 900 m2 / 1e6. The lake is defined regardless of clouds, SLC gaps and
  fill: it is what is on the ground. ``water_fraction_sum_km2`` sums the fractions instead;
  ``water_turbid_fraction`` and ``water_mixed_fraction`` are the shares of the lake's pixels
  that are turbid (sediment adds > 0.04 to red) or mixed (f < 1).
- ``valid_fraction``: fraction of the window that survives masking ``qa_pixel`` bits 0-4 (not fill,
  not dilated cloud, not cirrus, not cloud, not flagged cloud shadow).
- ``cloud_fraction``: fraction of the window's non-fill pixels flagged cloud or dilated cloud;
  ``shadow_fraction`` likewise for flagged cloud shadow, ``shadow_true_fraction`` for the real
  one; ``terrain_shadow_km2``: seen land with less than a quarter of the flat-ground direct sun.
- ``water_observed_fraction``: fraction of the real lake's pixels that are valid (seen).
- ``class_km2``: area per observed class (:data:`CLASSES`) in the window.

The class map is what the sensor sees (``cloud`` over the lake is ``cloud``; SLC gaps are
``nodata``); ``_water.tif`` is the lake itself (0 land, 1 water, 2 turbid, 3 mixed pixel).

Example
-------
>>> from lakeml import sample
>>> root = sample.build()  # doctest: +SKIP
>>> [it["id"] for it in sample.items(root)][:2]  # doctest: +SKIP
['LT05_L2SP_042033_19840808_02_T1', 'LT05_L2SP_042033_19850912_02_T1']
>>> sample.truth("LT05_L2SP_042033_19880702_02_T1").attrs["water_km2"]  # doctest: +SKIP
163.8
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

SAMPLE_VERSION = "1.2.0"
"""Version of the generated sample; a cached sample of another version is rebuilt."""

SAMPLE_RELEASES = {
    "1.0.0": "2026-11-24T09:18:00Z",
    "1.1.0": "2026-11-25T09:18:00Z",
    "1.2.0": "2026-12-01T09:18:00Z",
}
"""When each sample version was released: its items' ``created`` time. A new version needs a
new entry, so loaded scenes cached from an older sample (keyed on ``created``, see
:func:`lakeml.load.scene_key`) are not reused."""

SEED = 20250704
"""The fixed seed every random field of the sample derives from."""

COLLECTION_ID = "landsat-c2-l2"
"""The collection id, the same as Planetary Computer's."""

SAMPLE_BBOX = (-118.89, 38.54, -118.57, 38.84)
"""The original cookbook's bounding box (W, S, E, N, degrees) that every scene covers."""

LAKE_CENTRE = (-118.71, 38.70)
"""A point (lon, lat) that is water in every scene's ground truth."""

EPSG = 32611
"""The scenes' CRS: WGS 84 / UTM zone 11N."""

RESOLUTION = 30
"""Pixel size in metres."""

SCENE_SHAPE = (1160, 982)
"""(rows, cols) of every scene: the load window plus a 16-pixel (480 m) margin on each side."""

SCENE_TRANSFORM = (30.0, 0.0, 334785.0, 0.0, -30.0, 4301205.0)
"""Affine (a, b, c, d, e, f) of every scene: pixel edges at 15 mod 30 m, as on real Landsat."""

LOAD_WINDOW = (16, 16, 1128, 950)
"""(row_off, col_off, rows, cols) of the ``odc.stac.load(bbox=SAMPLE_BBOX)`` grid in a scene."""

CLASSES: dict[str, int] = {
    "nodata": 0,
    "water": 1,
    "shore": 2,
    "scrub": 3,
    "rock": 4,
    "vegetation": 5,
    "cloud": 6,
    "cloud_shadow": 7,
    "dark_rock": 8,
    "wet_playa": 9,
}
"""Codes of the truth class map (``truth/<id>_class.tif``). ``shore`` is dry exposed lakebed /
playa below :data:`LEVEL_HIGH_STAND` plus a thin paleo-shoreline ring; ``wet_playa`` the damp
lakebed (just above the waterline, seeps); ``rock`` granitic (the Wassuk Range), ``dark_rock``
volcanic (the eastern range); ``water`` the real lake (clear, turbid or a mixed shoreline pixel
with water fraction >= 0.5); ``cloud_shadow`` where a cloud's shadow really falls (flagged in
``qa_pixel`` or not); ``nodata`` is fill (outside the scene footprint, Landsat 7 SLC-off gaps).
Terrain shadow is an illumination, not a class (see ``terrain_shadow_km2`` in the truth)."""

CLASS_NAMES: dict[int, str] = {v: k for k, v in CLASSES.items()}
"""Class code -> name (the inverse of :data:`CLASSES`)."""

EXPECTED_SEARCH: dict[tuple[str, str], list[str]] = {
    ("landsat-5", "1988-06-01/1988-09-30"): [
        "LT05_L2SP_042033_19880819_02_T1",
        "LT05_L2SP_042033_19880702_02_T1",
    ],
    ("landsat-8", "2017-06-01/2017-09-30"): [
        "LC08_L2SP_042033_20170718_02_T1",
        "LC08_L2SP_042033_20170702_02_T1",
        "LC08_L2SP_042033_20170616_02_T1",
    ],
}
"""Item ids the original notebook's searches return on this sample (collection landsat-c2-l2,
bbox :data:`SAMPLE_BBOX`, ``eo:cloud_cover < 1``, that platform and datetime range), newest first
as a STAC API sorts them. The ids and dates are real Planetary Computer ones (path 042 row 033
on the missions' 16-day cycles); the pixels are not. The least cloudy of each
(:data:`EXPECTED_CLEAREST`: 1988-07-02, 2017-07-18) has 0.0 % cloud, the others a small cloud
(0.5-0.8 %). Decoys that the search must exclude: a cloudy Landsat 5 summer-1988 scene, a
Landsat 7 summer-2017 scene, a Landsat 8 scene of 2017-05-31 (outside the window) and a cloudy
Landsat 8 summer-2017 scene."""

EXPECTED_CLEAREST: dict[tuple[str, str], str] = {
    ("landsat-5", "1988-06-01/1988-09-30"): "LT05_L2SP_042033_19880702_02_T1",
    ("landsat-8", "2017-06-01/2017-09-30"): "LC08_L2SP_042033_20170718_02_T1",
}
"""The least cloudy item of each :data:`EXPECTED_SEARCH` result."""

LEVEL_HIGH_STAND = 1221.0
"""Elevation (m) below which the lakebed is bare playa (``shore``): the lake of the 1960s-70s,
about 15 m above the 1980s high stand; above it the old lakebed carries scrub again."""

_ENV_DIR = "LAKEML_SAMPLE_DIR"
_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
_SCALE, _OFFSET = 2.75e-05, -0.2
_ST_SCALE, _ST_OFFSET = 0.00341802, 149.0
_MIME_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_SLC_FAILURE = dt.date(2003, 5, 31)

# --------------------------------------------------------------------------------------------
# Missions: asset metadata exactly as Planetary Computer states it
# --------------------------------------------------------------------------------------------

_MISSIONS: dict[str, dict[str, Any]] = {
    "landsat-5": {
        "prefix": "LT05",
        "sensor": "tm",
        "instruments": ["tm"],
        "doi": "10.5066/P9IAXOVV",
        "cite_title": "Landsat 4-5 TM Collection 2 Level-2",
        "eo_prefix": "TM",
        "thermal": ("lwir", "ST_B6", 11.45, 2.1, 120),
        "scene_id": ("LT5", "XXX02"),
        # asset key -> (band number, centre wavelength, full width half max)
        "sr": {
            "blue": (1, 0.49, 0.07),
            "green": (2, 0.56, 0.08),
            "red": (3, 0.66, 0.06),
            "nir08": (4, 0.83, 0.14),
            "swir16": (5, 1.65, 0.2),
            "swir22": (7, 2.22, 0.27),
        },
    },
    "landsat-7": {
        "prefix": "LE07",
        "sensor": "etm",
        "instruments": ["etm+"],
        "doi": "10.5066/P9C7I13B",
        "cite_title": "Landsat 7 ETM+ Collection 2 Level-2",
        "eo_prefix": "ETM",
        "thermal": ("lwir", "ST_B6", 11.34, 2.05, 60),
        "scene_id": ("LE7", "EDC00"),
        "sr": {
            "blue": (1, 0.48, 0.07),
            "green": (2, 0.56, 0.08),
            "red": (3, 0.66, 0.06),
            "nir08": (4, 0.84, 0.13),
            "swir16": (5, 1.65, 0.2),
            "swir22": (7, 2.2, 0.28),
        },
    },
    "landsat-8": {
        "prefix": "LC08",
        "sensor": "oli-tirs",
        "instruments": ["oli", "tirs"],
        "doi": "10.5066/P9OGBGM6",
        "cite_title": "Landsat 8-9 OLI/TIRS Collection 2 Level-2",
        "eo_prefix": "OLI",
        "thermal": ("lwir11", "ST_B10", 10.9, 0.59, 100),
        "scene_id": ("LC8", "LGN00"),
        "sr": {
            "coastal": (1, 0.44, 0.02),
            "blue": (2, 0.48, 0.06),
            "green": (3, 0.56, 0.06),
            "red": (4, 0.65, 0.04),
            "nir08": (5, 0.87, 0.03),
            "swir16": (6, 1.61, 0.09),
            "swir22": (7, 2.2, 0.19),
        },
    },
}
_MISSIONS["landsat-9"] = {
    **_MISSIONS["landsat-8"],
    "prefix": "LC09",
    "scene_id": ("LC9", "LGN00"),
}

_SR_TEXT = {
    # key -> (title, eo:bands description)
    "coastal": ("Coastal/Aerosol Band", "Coastal/Aerosol"),
    "blue": ("Blue Band", "Visible blue"),
    "green": ("Green Band", "Visible green"),
    "red": ("Red Band", "Visible red"),
    "nir08": ("Near Infrared Band 0.8", "Near infrared"),
    "swir16": ("Short-wave Infrared Band 1.6", "Short-wave infrared"),
    "swir22": ("Short-wave Infrared Band 2.2", "Short-wave infrared"),
}

_QA_BITFIELDS: list[tuple[str, int, int, str, list[tuple[str, str]]]] = [
    # (name, offset, length, description, [(class name, class description), ...])
    ("fill", 0, 1, "Image or fill data", [("not_fill", "Image data"), ("fill", "Fill data")]),
    (
        "dilated_cloud",
        1,
        1,
        "Dilated cloud",
        [("not_dilated", "Cloud is not dilated or no cloud"), ("dilated", "Cloud dilation")],
    ),
    (
        "cirrus",
        2,
        1,
        "Cirrus mask",
        [("not_cirrus", "Cirrus confidence is not high"), ("cirrus", "High confidence cirrus")],
    ),
    (
        "cloud",
        3,
        1,
        "Cloud mask",
        [("not_cloud", "Cloud confidence is not high"), ("cloud", "High confidence cloud")],
    ),
    (
        "cloud_shadow",
        4,
        1,
        "Cloud shadow mask",
        [
            ("not_shadow", "Cloud shadow confidence is not high"),
            ("shadow", "High confidence cloud shadow"),
        ],
    ),
    (
        "snow",
        5,
        1,
        "Snow/Ice mask",
        [("not_snow", "Snow/Ice confidence is not high"), ("snow", "High confidence snow cover")],
    ),
    (
        "clear",
        6,
        1,
        "Clear mask",
        [
            ("not_clear", "Cloud or dilated cloud bits are set"),
            ("clear", "Cloud and dilated cloud bits are not set"),
        ],
    ),
    ("water", 7, 1, "Water mask", [("not_water", "Land or cloud"), ("water", "Water")]),
    (
        "cloud_confidence",
        8,
        2,
        "Cloud confidence levels",
        [
            ("not_set", "No confidence level set"),
            ("low", "Low confidence cloud"),
            ("medium", "Medium confidence cloud"),
            ("high", "High confidence cloud"),
        ],
    ),
    (
        "cloud_shadow_confidence",
        10,
        2,
        "Cloud shadow confidence levels",
        [
            ("not_set", "No confidence level set"),
            ("low", "Low confidence cloud shadow"),
            ("reserved", "Reserved - value not used"),
            ("high", "High confidence cloud shadow"),
        ],
    ),
    (
        "snow_confidence",
        12,
        2,
        "Snow/Ice confidence levels",
        [
            ("not_set", "No confidence level set"),
            ("low", "Low confidence snow/ice"),
            ("reserved", "Reserved - value not used"),
            ("high", "High confidence snow/ice"),
        ],
    ),
    (
        "cirrus_confidence",
        14,
        2,
        "Cirrus confidence levels",
        [
            ("not_set", "No confidence level set"),
            ("low", "Low confidence cirrus"),
            ("reserved", "Reserved - value not used"),
            ("high", "High confidence cirrus"),
        ],
    ),
]


def _qa_bitfields(oli: bool) -> list[dict[str, Any]]:
    """``classification:bitfields`` of ``qa_pixel`` (TM/ETM+ have no cirrus fields)."""
    out = []
    for name, offset, length, description, classes in _QA_BITFIELDS:
        if not oli and name.startswith("cirrus"):
            continue
        out.append(
            {
                "name": name,
                "length": length,
                "offset": offset,
                "classes": [
                    {"name": n, "value": i, "description": d} for i, (n, d) in enumerate(classes)
                ],
                "description": description,
            }
        )
    return out


def asset_definitions(platform: str) -> dict[str, dict[str, Any]]:
    """The assets the sample writes for ``platform``, without ``href``, shaped as on Planetary
    Computer (title, description, media type, roles, ``eo:bands``, ``raster:bands``).

    Example
    -------
    >>> asset_definitions("landsat-8")["red"]["raster:bands"][0]["scale"]
    2.75e-05
    >>> sorted(asset_definitions("landsat-5"))
    ['blue', 'green', 'lwir', 'nir08', 'qa_pixel', 'red', 'swir16', 'swir22']
    """
    if platform not in _MISSIONS:
        raise ValueError(f"unknown platform {platform!r}: choose from {', '.join(_MISSIONS)}")
    m = _MISSIONS[platform]
    oli = m["eo_prefix"] == "OLI"
    assets: dict[str, dict[str, Any]] = {}
    for key, (num, centre, fwhm) in m["sr"].items():
        title, eo_desc = _SR_TEXT[key]
        assets[key] = {
            "eo:bands": [
                {
                    "name": f"{m['eo_prefix']}_B{num}",
                    "center_wavelength": centre,
                    "full_width_half_max": fwhm,
                    "common_name": key,
                    "description": eo_desc,
                }
            ],
            "description": f"Collection 2 Level-2 {title} (SR_B{num}) Surface Reflectance",
            "type": _MIME_COG,
            "roles": ["data", "reflectance"],
            "title": title,
            "raster:bands": [
                {
                    "scale": _SCALE,
                    "nodata": 0,
                    "offset": _OFFSET,
                    "data_type": "uint16",
                    "spatial_resolution": 30,
                }
            ],
        }
    tkey, tname, centre, fwhm, gsd = m["thermal"]
    assets[tkey] = {
        "gsd": gsd,
        "type": _MIME_COG,
        "roles": ["data", "temperature"],
        "title": "Surface Temperature Band",
        "eo:bands": [
            {
                "name": f"{'TIRS' if oli else m['eo_prefix']}_B{tname.split('_B')[1]}",
                "common_name": tkey,
                "description": "Long-wave infrared",
                "center_wavelength": centre,
                "full_width_half_max": fwhm,
            }
        ],
        "description": f"Collection 2 Level-2 Thermal Infrared Band ({tname}) Surface Temperature",
        "raster:bands": [
            {
                "unit": "kelvin",
                "scale": _ST_SCALE,
                "nodata": 0,
                "offset": _ST_OFFSET,
                "data_type": "uint16",
                "spatial_resolution": 30,
            }
        ],
    }
    assets["qa_pixel"] = {
        "classification:bitfields": _qa_bitfields(oli),
        "type": _MIME_COG,
        "roles": ["cloud", "cloud-shadow", "snow-ice", "water-mask"],
        "title": "Pixel Quality Assessment Band",
        "description": "Collection 2 Level-1 Pixel Quality Assessment Band (QA_PIXEL)",
        "raster:bands": [
            {"unit": "bit index", "nodata": 1, "data_type": "uint16", "spatial_resolution": 30}
        ],
    }
    return assets


def _file_suffix(platform: str, key: str) -> str:
    m = _MISSIONS[platform]
    if key == "qa_pixel":
        return "QA_PIXEL"
    if key == m["thermal"][0]:
        return m["thermal"][1]
    return f"SR_B{m['sr'][key][0]}"


# --------------------------------------------------------------------------------------------
# The scenes
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """One scene of the sample: what is fixed before any pixel is drawn.

    ``cloud`` is the target cloud percentage of the scene (the item states the measured one);
    ``cloud_at`` the (row, col) fraction of the load window the clouds gather around (None:
    anywhere). The lake level follows from the date (:data:`LAKE_LEVEL_FT`).
    """

    platform: str
    date: dt.date
    cloud: float = 0.0
    cloud_at: tuple[float, float] | None = None
    role: str = "yearly"

    @property
    def item_id(self) -> str:
        """Item id as Planetary Computer spells it, e.g. ``LC08_L2SP_042033_20170718_02_T1``."""
        prefix = _MISSIONS[self.platform]["prefix"]
        return f"{prefix}_L2SP_042033_{self.date:%Y%m%d}_02_T1"

    @property
    def product_id(self) -> str:
        """USGS product id (with processing date), the stem of the file names."""
        prefix = _MISSIONS[self.platform]["prefix"]
        return f"{prefix}_L2SP_042033_{self.date:%Y%m%d}_{self.processed:%Y%m%d}_02_T1"

    @property
    def processed(self) -> dt.date:
        """Processing date: the Collection 2 reprocessing (2020) for old scenes, else ~10 days."""
        h = zlib.crc32(self.item_id.encode())
        if self.date < dt.date(2020, 6, 1):
            return dt.date(2020, 8, 20) + dt.timedelta(days=h % 60)
        return self.date + dt.timedelta(days=8 + h % 6)

    @property
    def seed(self) -> int:
        """Seed of this scene's random fields (independent of the other scenes)."""
        return (SEED * 1_000_003 + zlib.crc32(self.item_id.encode())) % 2**63


LAKE_LEVEL_FT: dict[int, float] = {
    1984: 3968.0, 1985: 3969.0, 1986: 3973.0, 1987: 3971.0, 1988: 3967.0, 1989: 3963.0,
    1990: 3959.0, 1991: 3955.0, 1992: 3951.0, 1993: 3947.0, 1994: 3943.5, 1995: 3943.0,
    1996: 3947.0, 1997: 3953.0, 1998: 3956.0, 1999: 3953.0, 2000: 3950.0, 2001: 3946.5,
    2002: 3943.0, 2003: 3940.0, 2004: 3937.5, 2005: 3935.6, 2006: 3938.0, 2007: 3936.0,
    2008: 3932.5, 2009: 3929.5, 2010: 3927.0, 2011: 3929.0, 2012: 3925.0, 2013: 3921.5,
    2014: 3918.0, 2015: 3914.5, 2016: 3912.0, 2017: 3917.0, 2018: 3915.0, 2019: 3914.5,
    2020: 3911.5, 2021: 3909.0, 2022: 3907.5, 2023: 3918.0, 2024: 3921.0,
}  # fmt: skip
"""Walker Lake's surface altitude (feet above NGVD 29) in mid-July of each year, as the sample
draws it. Published values (the only ones here that are measured):

- 2005: 3,935.6 ft on 2005-06-28, surface area 32,190 acres (130.3 km2): USGS SIR 2007-5012
  (Lopes and Smith, "Bathymetry of Walker Lake, West-Central Nevada", 2007). The sample's basin
  is calibrated on this one altitude-area pair (:func:`_levels`).
- 1995: the historic low of May 1995 was 13 ft below the 3,954 ft of February 1999 (USGS
  hydrologist J. Thomas, quoted by the Las Vegas Sun, 1999-02-11): 3,941 ft in May 1995,
  3,954 ft in early 1999 after the wet years 1995-1998 (the 1997 flood).
- 2003: "its lowest level in recorded history" in March 2003 (Las Vegas Sun, 2003-03-14):
  below 3,941 ft.
- 2012 and 2022-2024: 3,923 ft in March 2024, "its highest level since 2012", after a 16-ft
  rise in 2023 (Walker Basin Conservancy, The Record-Courier, 2024-03-09) and 15 ft since the
  December 2022 low (KOLO, 2023-09-15): about 3,907 ft in December 2022, 3,922 ft in September
  2023, 2012 above 3,923 ft and 2013-2022 below it.

Every other value is interpolated or invented, consistent with those facts and with the
lake's water budget (evaporation about 4.1 ft a year, a deficit of about 1 ft a year on
average, inflow only in wet years: USGS Fact Sheet FS-115-95): the mid-1980s high stand after
the wet years 1982-1986 (3,968-3,973 ft is NOT from a source), the drought decline of
1987-1994, the rebounds of 1995-1998, 2006, 2011, 2017, 2019 and 2023, and the mid-July values
of the published years (a published date is not mid-July)."""

_INFLOW: dict[int, float] = {
    1984: 0.6, 1985: 0.4, 1986: 0.9, 1987: 0.35, 1995: 0.6, 1996: 0.7, 1997: 0.9, 1998: 0.8,
    2005: 0.5, 2006: 0.8, 2011: 0.8, 2017: 1.0, 2019: 0.6, 2023: 1.0, 2024: 0.4,
}  # fmt: skip
"""Relative Walker River inflow in summer (1 = a record year); 0.12 for the years not listed
(the river barely reaches the lake in dry years). Sets the size and strength of the turbid
plume off the river mouth. Invented, following the wet years named in :data:`LAKE_LEVEL_FT`."""

# Partly cloudy yearly scenes: year -> (cloud %, where in the window (row, col) fractions).
# Summer clouds mostly build over the ranges; 2004 and 2021 also hide part of the lake.
# 1992 and 2010 have only a scene that is too cloudy (> 50 %): "missing" years.
_CLOUDY = {
    1985: (11.0, (0.35, 0.12)),
    1990: (6.0, (0.6, 0.93)),
    1992: (68.0, None),
    1997: (14.0, (0.15, 0.12)),
    2000: (4.0, (0.5, 0.9)),
    2004: (13.0, (0.55, 0.5)),
    2008: (8.0, (0.9, 0.15)),
    2010: (72.0, None),
    2014: (14.0, (0.35, 0.95)),
    2019: (3.0, (0.15, 0.8)),
    2021: (7.0, (0.7, 0.35)),
}

# 16-day repeat cycles of WRS-2 path 042: one real acquisition date per mission (Planetary
# Computer ids LT05_L2SP_042033_19880702_02_T1 and LC08_L2SP_042033_20170718_02_T1). Landsat 7
# and Landsat 9 fly 8 days apart from Landsat 5 and 8.
_CYCLE_ANCHOR = {
    "landsat-5": dt.date(1988, 7, 2),
    "landsat-7": dt.date(2017, 7, 26),
    "landsat-8": dt.date(2017, 7, 18),
    "landsat-9": dt.date(2017, 7, 26),
}


def _platform_for(year: int) -> str:
    if year <= 1998 or 2003 <= year <= 2011:
        return "landsat-5"
    if year <= 2012:
        return "landsat-7"
    if year <= 2021:
        return "landsat-8"
    return "landsat-9"


def _summer_date(platform: str, year: int) -> dt.date:
    """A date on the mission's 16-day cycle between June 12 and September 12 (deterministic)."""
    anchor = _CYCLE_ANCHOR[platform]
    start = dt.date(year, 6, 12)
    first = start + dt.timedelta(days=(anchor - start).days % 16)
    n = (dt.date(year, 9, 12) - first).days // 16 + 1
    k = zlib.crc32(f"{SEED}-{platform}-{year}".encode()) % n
    return first + dt.timedelta(days=16 * k)


def scene_specs() -> list[SceneSpec]:
    """All scenes of the sample, sorted by date: one summer scene per year 1984-2024 plus the
    extra scenes and decoys around the original notebook's 1988 and 2017 searches.

    Every date lies on its mission's real 16-day cycle over path 042 (:data:`_CYCLE_ANCHOR`).

    Example
    -------
    >>> specs = scene_specs()
    >>> len(specs), specs[0].item_id
    (48, 'LT05_L2SP_042033_19840808_02_T1')
    """
    specs = []
    for year in LAKE_LEVEL_FT:
        platform = _platform_for(year)
        if year == 1988:
            date = dt.date(1988, 7, 2)
        elif year == 2017:
            date = dt.date(2017, 7, 18)
        else:
            date = _summer_date(platform, year)
        cloud, at = _CLOUDY.get(year, (0.0, None))
        specs.append(SceneSpec(platform, date, cloud, at))
    specs += [
        SceneSpec("landsat-5", dt.date(1988, 8, 19), 0.6, (0.3, 0.88), "clear"),
        SceneSpec("landsat-5", dt.date(1988, 8, 3), 35.0, (0.45, 0.5), "decoy"),
        SceneSpec("landsat-8", dt.date(2017, 7, 2), 0.5, (0.7, 0.9), "clear"),
        SceneSpec("landsat-8", dt.date(2017, 6, 16), 0.8, (0.2, 0.1), "clear"),
        SceneSpec("landsat-8", dt.date(2017, 8, 3), 45.0, (0.5, 0.4), "decoy"),
        SceneSpec("landsat-8", dt.date(2017, 5, 31), 0.0, None, "decoy"),
        SceneSpec("landsat-7", dt.date(2017, 7, 26), 0.0, None, "decoy"),
    ]
    return sorted(specs, key=lambda s: (s.date, s.platform))


def _overpass(spec: SceneSpec) -> dt.datetime:
    """Acquisition time (UTC): Landsat crosses here around 10:00-10:30 local solar time."""
    h = zlib.crc32(spec.item_id.encode())
    minutes = {"landsat-5": 17 * 60 + 52, "landsat-7": 18 * 60 + 19}.get(
        spec.platform, 18 * 60 + 25
    )
    seconds = minutes * 60 + h % 240
    micro = (h >> 8) % 1_000_000
    return dt.datetime.combine(spec.date, dt.time(), dt.UTC) + dt.timedelta(
        seconds=seconds, microseconds=micro
    )


def _sun(when: dt.datetime, lon: float, lat: float) -> tuple[float, float]:
    """(azimuth, elevation) of the sun in degrees (simple declination / hour-angle formula)."""
    n = when.timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + n) / 365)
    solar_hours = when.hour + when.minute / 60 + when.second / 3600 + lon / 15
    ha = math.radians(15 * (solar_hours - 12))
    phi = math.radians(lat)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    el = math.asin(sin_el)
    az = math.atan2(math.sin(ha), math.cos(ha) * math.sin(phi) - math.tan(decl) * math.cos(phi))
    return (math.degrees(az) + 180) % 360, math.degrees(el)


def _level_at(levels: dict[int, float], date: dt.date) -> float:
    """Lake level on ``date``: yearly mid-July levels linearly interpolated in time."""
    years = sorted(levels)
    t = date.year + (date.timetuple().tm_yday - 196) / 365.25
    xs = np.array(years, dtype=float)
    ys = np.array([levels[y] for y in years])
    return float(np.interp(t, xs, ys))


def _inflow_at(date: dt.date) -> float:
    return _INFLOW.get(date.year, 0.12)


# --------------------------------------------------------------------------------------------
# The landscape (static, shared by every scene)
# --------------------------------------------------------------------------------------------


def _affine():
    from affine import Affine

    return Affine(*SCENE_TRANSFORM)


def scene_geobox():
    """The ``odc.geo.GeoBox`` of every scene (1160 x 982 pixels, EPSG:32611, 30 m).

    Example
    -------
    >>> scene_geobox().shape
    Shape2d(x=982, y=1160)
    """
    from odc.geo.geobox import GeoBox

    return GeoBox(SCENE_SHAPE, _affine(), f"EPSG:{EPSG}")


def load_geobox():
    """The grid ``odc.stac.load(items, bbox=SAMPLE_BBOX)`` returns: 1128 x 950 pixels.

    Example
    -------
    >>> load_geobox().shape
    Shape2d(x=950, y=1128)
    """
    r, c, h, w = LOAD_WINDOW
    return scene_geobox()[r : r + h, c : c + w]


def _smooth(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Smooth noise with unit standard deviation and features about ``scale`` pixels wide."""
    from scipy import ndimage

    h, w = shape
    ch, cw = int(h / scale) + 4, int(w / scale) + 4
    coarse = rng.standard_normal((ch, cw)).astype(np.float32)
    fine = ndimage.zoom(coarse, scale, order=3, prefilter=False)[:h, :w]
    fine -= fine.mean()
    fine /= fine.std() + 1e-12
    return fine.astype(np.float32)


def _fbm(rng: np.random.Generator, shape: tuple[int, int], scales: tuple[float, ...]) -> np.ndarray:
    out = np.zeros(shape, np.float32)
    for i, s in enumerate(scales):
        out += _smooth(rng, shape, s) * (0.6**i)
    out /= out.std()
    return out


def _hypsometry(area_km2: np.ndarray | float) -> np.ndarray | float:
    """Basin elevation (m) whose contour encloses ``area_km2``: 130 km2 at 1199.6 m (2005)."""
    return 1172.0 + 27.6 * (np.asarray(area_km2) / 130.0) ** 1.3


# relief of the ranges at 3-5 km (fraction of their height, feature sizes in pixels) and their
# ridges and gullies at 0.2-0.5 km: mean slope ~17 degrees, ~13 % steeper than 30, ~3 % than 40
_RELIEF = (0.3, (100.0, 45.0))
_GULLY = (0.04, (16.0, 6.0))


def _landscape() -> dict[str, np.ndarray]:
    """Static fields on the scene grid: basin and terrain elevation, slopes, land cover, river."""
    rng = np.random.default_rng(SEED)
    h, w = SCENE_SHAPE
    a, _, x0, _, e, y1 = SCENE_TRANSFORM
    from pyproj import Transformer

    cx, cy = Transformer.from_crs(4326, EPSG, always_xy=True).transform(*LAKE_CENTRE)
    xs = (x0 + (np.arange(w, dtype=np.float32) + 0.5) * a - cx) / 1000.0
    ys = (y1 + (np.arange(h, dtype=np.float32) + 0.5) * e - cy) / 1000.0
    dx, dy = np.meshgrid(xs, ys)
    theta = math.radians(12.0)  # the lake's axis points NNW
    u = -dx * math.sin(theta) + dy * math.cos(theta)  # km along the axis (north positive)
    v = dx * math.cos(theta) + dy * math.sin(theta)  # km across (east positive)
    u = u + 0.9 * _fbm(rng, (h, w), (110.0, 45.0))
    v = v + 0.55 * _fbm(rng, (h, w), (90.0, 35.0, 15.0))
    uu = u + 1.5  # deepest part south of the centre
    a_n, a_s, b_w, b_e = 13.0, 11.5, 3.4, 4.2
    along = np.where(uu > 0, (np.abs(uu) / a_n) ** 1.6, (np.abs(uu) / a_s) ** 2)
    across = np.where(v < 0, (np.abs(v) / b_w) ** 2.4, (np.abs(v) / b_e) ** 2.2)
    s = (along + across).astype(np.float32)
    # enclosed area of each contour of s (km2 over the whole grid) -> elevation via hypsometry
    order = np.argsort(s, axis=None, kind="stable")
    area = np.empty(h * w, np.float32)
    area[order] = (np.arange(h * w, dtype=np.float32) + 0.5) * (a * a / 1e6)
    area = area.reshape(h, w)
    rough = _fbm(rng, (h, w), (6.0, 3.0))
    z_basin = (_hypsometry(area) + 0.08 * rough).astype(np.float32)

    # mountains: a high range close to the west shore (the Wassuk Range), a lower one east
    ridge_w = 1700.0 * np.exp(-(((v + 10.0) / 3.5) ** 2))
    ridge_e = 800.0 * np.exp(-(((v - 12.0) / 4.0) ** 2))
    relief = 1.0 + _RELIEF[0] * _fbm(rng, (h, w), _RELIEF[1])
    t = np.clip((z_basin - (LEVEL_HIGH_STAND + 4.0)) / 60.0, 0, 1)
    mountains = t * t * (3 - 2 * t) * (ridge_w + ridge_e) * relief
    rocky = _fbm(rng, (h, w), (30.0, 10.0, 4.0))
    rock = (mountains > 330.0 + 110.0 * rocky) | ((rocky > 2.4) & (z_basin > LEVEL_HIGH_STAND + 10))

    # the Walker River: from the north edge down the valley to the lake's north end
    wiggle = 0.55 * np.sin(u / 1.4) + 0.25 * np.sin(u / 0.45 + 1.0)
    width = 0.22 + 0.08 * _fbm(rng, (h, w), (25.0, 8.0))
    river_d = np.abs(v - 0.9 - wiggle)
    riparian = (river_d < width) & (u > 8.0) & ~rock

    tex = np.clip(_fbm(rng, (h, w), (90.0, 30.0, 10.0)), -2.5, 2.5)
    tilt = _fbm(rng, (h, w), (80.0, 20.0, 6.0))
    hot = _smooth(rng, (h, w), 80.0)

    # ridges and gullies on the ranges (a 30 m DEM is rougher than a smooth ridge)
    gullies = np.abs(_fbm(rng, (h, w), _GULLY[1]))
    z = z_basin + mountains * (1.0 - _GULLY[0] * gullies)
    # volcanic rock (dark, flat spectrum) on the eastern range and a few flows on its foothills
    volcanic = _fbm(rng, (h, w), (50.0, 18.0, 6.0))
    dark_rock = (
        (v > 4.5) & (z_basin > LEVEL_HIGH_STAND + 8.0) & (volcanic > 0.9 - 0.06 * (v - 4.5))
    ) & ~riparian
    # damp patches on the exposed lakebed (seeps, low spots) and the plume's swirls
    damp = _fbm(rng, (h, w), (35.0, 12.0, 5.0))
    swirl = _fbm(rng, (h, w), (45.0, 18.0, 7.0))
    # per-detector stripes and the aerosol left after atmospheric correction (per scene phase)
    haze = _fbm(rng, (h, w), (120.0, 50.0))

    # slopes: -dz/dx (east) and -dz/dy (north; rows run south), per metre; sky view factor
    drow, dcol = np.gradient(z, float(a))
    nx, ny = -dcol, drow
    cos_slope = 1.0 / np.sqrt(nx * nx + ny * ny + 1.0)
    # basin elevation change across one pixel at the shore: sets the mixed-pixel band width
    gr, gc = np.gradient(z_basin)
    zstep = np.maximum(np.hypot(gr, gc), 0.05).astype(np.float32)
    return {
        "z_basin": z_basin,
        "z": z.astype(np.float32),
        "u": u.astype(np.float32),
        "v": v.astype(np.float32),
        "river_d": river_d.astype(np.float32),
        "rock": rock,
        "dark_rock": dark_rock,
        "nx": nx.astype(np.float32),
        "ny": ny.astype(np.float32),
        "cos_slope": cos_slope.astype(np.float32),
        "zstep": zstep,
        "riparian": riparian,
        "tex": tex,
        "tilt": tilt,
        "hot": hot,
        "damp": damp,
        "swirl": swirl,
        "haze": haze,
    }


def _levels(land: dict[str, np.ndarray]) -> dict[int, float]:
    """Mid-July level (m, in the sample's elevation frame) per year, from :data:`LAKE_LEVEL_FT`.

    The sample's basin is calibrated on the one published altitude-area pair: 3,935.6 ft on
    2005-06-28 encloses 32,190 acres (130.27 km2) of the load window; other years follow the
    sample's own hypsometry (no published altitude-area table was at hand to check it).
    """
    r, c, hh, ww = LOAD_WINDOW
    zs = np.sort(land["z_basin"][r : r + hh, c : c + ww], axis=None)
    n = int(round(32190 * 4046.8564224 / RESOLUTION**2))
    z2005 = float((zs[n - 1] + zs[n]) / 2)
    offset = z2005 - 3935.6 * 0.3048
    return {year: ft * 0.3048 + offset for year, ft in LAKE_LEVEL_FT.items()}


# --------------------------------------------------------------------------------------------
# Rendering one scene
# --------------------------------------------------------------------------------------------

# surface reflectance per class (rows: CLASSES codes 0-9) and band (_BANDS); rows 6 (cloud top)
# as seen, 0 and 7 unused (cloud shadow is an illumination, not a surface)
_SPECTRA_OLI = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0.019, 0.021, 0.021, 0.009, 0.002, 0.001, 0.001],  # water (measured, 2017)
        [0.175, 0.200, 0.245, 0.285, 0.315, 0.355, 0.300],  # shore / playa
        [0.082, 0.100, 0.138, 0.168, 0.218, 0.256, 0.216],  # scrub (~ measured land, 2017)
        [0.072, 0.086, 0.110, 0.135, 0.180, 0.228, 0.196],  # rock (granitic, Wassuk Range)
        [0.030, 0.035, 0.068, 0.045, 0.330, 0.200, 0.100],  # vegetation
        [0.480, 0.490, 0.505, 0.515, 0.540, 0.420, 0.320],  # cloud
        [0, 0, 0, 0, 0, 0, 0],
        [0.048, 0.052, 0.058, 0.066, 0.084, 0.096, 0.086],  # dark (volcanic) rock
        [0.114, 0.130, 0.159, 0.180, 0.189, 0.178, 0.129],  # wet playa: shore, fully damp
    ],
    np.float32,
)
_SPECTRA_TM = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0.033, 0.037, 0.024, 0.019, 0.009, 0.009],  # water (measured, 1988)
        [0, 0.200, 0.238, 0.272, 0.302, 0.330, 0.290],
        [0, 0.097, 0.132, 0.156, 0.196, 0.236, 0.198],  # scrub (~ measured land, 1988)
        [0, 0.085, 0.112, 0.132, 0.175, 0.222, 0.195],
        [0, 0.045, 0.076, 0.055, 0.320, 0.185, 0.095],
        [0, 0.500, 0.510, 0.530, 0.550, 0.420, 0.320],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0.060, 0.066, 0.072, 0.088, 0.098, 0.090],
        [0, 0.130, 0.155, 0.171, 0.181, 0.165, 0.125],
    ],
    np.float32,
)
_SPECTRA_ETM = _SPECTRA_TM * np.float32(0.97)  # ETM+: close to TM, marginally darker
_SPECTRA_ETM[1] = [0, 0.030, 0.034, 0.021, 0.016, 0.008, 0.008]
_TEXTURE_AMP = np.array([0, 0.04, 0.07, 0.10, 0.10, 0.12, 0.05, 0, 0.08, 0.08], np.float32)
_TEMPERATURE = np.array([0, 294.0, 321.0, 316.0, 312.0, 301.0, 262.0, 0, 322, 309], np.float32)
# how much moisture darkens the lakebed per band (water absorbs most in the SWIR)
_WET_DARKENING = np.array([0.35, 0.35, 0.35, 0.37, 0.40, 0.50, 0.57], np.float32)
# fraction of the irradiance that is diffuse skylight, per band (clear desert summer sky;
# Rayleigh scattering makes it large in the blue, small in the SWIR)
_DIFFUSE = np.array([0.32, 0.27, 0.20, 0.15, 0.09, 0.05, 0.035], np.float32)
# reflectance of the surrounding slopes, for the light they reflect into a shaded pixel
_ADJACENT = np.array([0.08, 0.09, 0.12, 0.15, 0.20, 0.25, 0.21], np.float32)
# approximate top-of-atmosphere reflectance = path + transmittance x surface (for CFMask's test)
_PATH = np.array([0.085, 0.060, 0.035, 0.020, 0.008, 0.002, 0.001], np.float32)
_TRANSMIT = np.array([0.80, 0.84, 0.89, 0.92, 0.95, 0.97, 0.97], np.float32)
# diffuse attenuation of the lake's water (1/m; saline, with algae): how deep the bottom shows
_ATTENUATION = np.array([0.9, 0.7, 0.5, 0.8, 4.5, 80.0, 200.0], np.float32)
# suspended sediment: added reflectance A c / (c + K) at relative concentration c
_SEDIMENT_A = np.array([0.055, 0.075, 0.12, 0.16, 0.13, 0.012, 0.006], np.float32)
_SEDIMENT_K = np.array([1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0], np.float32)
# sensor noise: TM and ETM+ are 8-bit (quantisation step in TOA reflectance per DN, noise in
# DN, detector striping in DN); OLI is 12-bit (noise floor and signal-dependent part)
_TM_STEP = np.array([0, 0.0014, 0.0029, 0.0025, 0.0031, 0.0020, 0.0029], np.float32)
_SENSOR = {
    "landsat-5": {"noise_dn": 0.8, "stripe_dn": 0.3, "step": _TM_STEP},
    "landsat-7": {"noise_dn": 0.55, "stripe_dn": 0.15, "step": _TM_STEP * np.float32(0.8)},
}
_OLI_FLOOR = np.array([0.0005, 0.0004, 0.0003, 0.0003, 0.0003, 0.0003, 0.0003], np.float32)
_OLI_GAIN = 0.003
_HAZE_SD = 0.0012  # aerosol left after atmospheric correction, in blue; ~ lambda^-1.5

FMASK_WATER = "((ndvi < 0.01) & (nir < 0.11)) | ((ndvi < 0.1) & (nir < 0.05))"
"""The Fmask water test (Zhu and Woodcock 2012, Remote Sensing of Environment 118: 83-94),
as CFMask applies it to top-of-atmosphere reflectance: how ``qa_pixel`` bit 7 is made here."""


def _spectra(platform: str) -> np.ndarray:
    if platform == "landsat-5":
        return _SPECTRA_TM
    if platform == "landsat-7":
        return _SPECTRA_ETM
    return _SPECTRA_OLI


def _shift(mask: np.ndarray, drow: int, dcol: int, fill: Any = 0) -> np.ndarray:
    """``mask`` moved by (drow, dcol) pixels, ``fill``-filled (no wrap-around)."""
    out = np.full_like(mask, fill)
    h, w = mask.shape
    src_r, dst_r = slice(max(-drow, 0), h - max(drow, 0)), slice(max(drow, 0), h - max(-drow, 0))
    src_c, dst_c = slice(max(-dcol, 0), w - max(dcol, 0)), slice(max(dcol, 0), w - max(-dcol, 0))
    out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def _footprint_cut(spec: SceneSpec) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two (row, col) points of the scene edge that cuts the north-east corner (jittered)."""
    rng = np.random.default_rng(spec.seed + 1)
    h, w = SCENE_SHAPE
    j1, j2 = rng.integers(-12, 13, 2)
    return (0.0, 0.70 * w + j1), (0.30 * h + j2, float(w))


def _fill_mask(spec: SceneSpec, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """True outside the scene footprint (north-east corner) and in SLC-off gaps."""
    (r1, c1), (r2, c2) = _footprint_cut(spec)
    side = (cols + 0.5 - c1) * (r2 - r1) - (rows + 0.5 - r1) * (c2 - c1)
    fill = side > 0  # the corner side (top right) of the line
    if spec.platform == "landsat-7" and spec.date > _SLC_FAILURE:
        # SLC-off: wedge-shaped gaps, widest at the scene edge (this window lies ~45-76 km east
        # of the scene centre line), ~14 px at the edge, tilted along the scan direction
        rng = np.random.default_rng(spec.seed + 2)
        w = SCENE_SHAPE[1]
        dist_km = 45.0 + 31.0 * (cols + 0.5) / w
        gap = 14.0 * np.clip((dist_km - 11.0) / (92.0 - 11.0), 0, 1)
        period = 33.5
        phase = (rows + 0.14 * cols + rng.uniform(0, period)) % period
        fill |= phase < gap
    return fill


def _cast_shadow(z: np.ndarray, az: float, el: float) -> np.ndarray:
    """True where the terrain toward the sun rises above the sun's elevation (cast shadow)."""
    step = RESOLUTION * math.tan(math.radians(el))  # rise of the sun ray per pixel
    dr, dc = -math.cos(math.radians(az)), math.sin(math.radians(az))
    k_max = min(150, int((float(z.max()) - float(z.min())) / step) + 1)
    horizon = np.full(z.shape, -np.inf, np.float32)
    for k in range(1, k_max + 1):
        ahead = _shift(z, -int(round(k * dr)), -int(round(k * dc)), fill=-np.inf)
        np.maximum(horizon, ahead - np.float32(k * step), out=horizon)
    return horizon > z


def _cloud_shadow_flags(
    rng: np.random.Generator,
    strength: np.ndarray,
    water: np.ndarray,
    exclude: np.ndarray,
) -> np.ndarray:
    """The cloud shadow CFMask would flag: dark enough, not over water (already dark in the
    NIR, its flood-fill test finds nothing there), some whole shadows missed (a failed
    cloud-shadow match), the rest dilated by 3 pixels as CFMask does."""
    from scipy import ndimage

    seen = (strength > 0.5) & ~water & ~exclude
    labels, n = ndimage.label(seen)
    if n == 0:
        return np.zeros_like(seen)
    keep = np.concatenate([[False], rng.random(n) < 0.7])
    found = keep[labels]
    return ndimage.binary_dilation(found, iterations=3) & ~exclude


def render_scene(
    spec: SceneSpec, land: dict[str, np.ndarray], levels: dict[int, float]
) -> dict[str, Any]:
    """Draw every band of one scene (DN as written), ``qa_pixel``, the class map and the lake.

    Returns a dict with uint16 arrays per asset key, ``classes`` (uint8), ``water`` (bool, the
    real lake: water fraction >= 0.5), ``water_fraction``, ``turbid``, ``level`` (m),
    ``cloud``/``dilated``/``shadow`` (flagged in qa_pixel)/``shadow_true``/``fill`` masks,
    ``terrain_shadow``, sun angles.
    """
    from scipy import ndimage

    rng = np.random.default_rng(spec.seed)
    h, w = SCENE_SHAPE
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    level = _level_at(levels, spec.date)
    zb = land["z_basin"]
    depth = level - zb
    # sub-pixel water fraction across the waterline: a pixel spans zstep metres of the basin
    # (at least 0.25 m: ripples, wind set-up and damp sand blur the line on flat shores)
    frac = np.clip(0.5 + depth / np.maximum(land["zstep"], 0.25), 0, 1).astype(np.float32)
    water = frac >= 0.5

    # ground classes (what lies there if dry)
    cls = np.full((h, w), CLASSES["scrub"], np.uint8)
    cls[land["rock"]] = CLASSES["rock"]
    cls[land["dark_rock"]] = CLASSES["dark_rock"]
    exposed = zb < LEVEL_HIGH_STAND
    ring = (np.abs(zb - 1249.0) < 0.9) & ~land["rock"] & (land["z"] - zb < 5)
    cls[exposed | ring] = CLASSES["shore"]
    # damp lakebed: right above the waterline, and seeps in low spots (more after wet years)
    above = -depth  # height above the water (m)
    inflow = _inflow_at(spec.date)
    wet = np.clip(1.0 - (above - 0.15) / 0.6, 0, 1)
    seep = np.clip((land["damp"] - (1.7 - 0.5 * inflow)) / 0.5, 0, 0.85) * (above < 8.0)
    wetness = (np.maximum(wet, seep) * exposed).astype(np.float32)
    cls[exposed & (wetness >= 0.5)] = CLASSES["wet_playa"]
    # riparian vegetation along the river, following it across the exposed lakebed, and a
    # delta marsh widening where it meets the water
    river = (land["river_d"] < 0.25) & (land["u"] > 6.0) & (above > 0.4)
    marsh = (
        (land["river_d"] < 0.25 + 0.9 * np.exp(-above / 2.5))
        & (land["u"] > 6.0)
        & (above > 0.4)
        & (above < 6.0)
    )
    cls[(land["riparian"] | river | marsh) & ~land["rock"]] = CLASSES["vegetation"]
    ground = cls.copy()  # the land end-member of mixed shoreline pixels
    ground[(ground == CLASSES["shore"]) & (frac > 0)] = CLASSES["wet_playa"]
    cls[water] = CLASSES["water"]

    # sun, terrain illumination, clouds
    az, el = _sun(_overpass(spec), *LAKE_CENTRE)
    saz, sel = math.radians(az), math.radians(el)
    nx, ny = land["nx"], land["ny"]
    cos_i = (
        nx * math.sin(saz) * math.cos(sel) + ny * math.cos(saz) * math.cos(sel) + math.sin(sel)
    ) * land["cos_slope"]
    cast = _cast_shadow(land["z"], az, el)
    direct = np.where(cast, np.float32(0), np.maximum(cos_i, 0) / np.float32(math.sin(sel)))
    skyview = (1.0 + land["cos_slope"]) / 2.0
    fill = _fill_mask(spec, rows, cols)
    core = np.zeros((h, w), bool)
    dilated = np.zeros((h, w), bool)
    opacity = np.zeros((h, w), np.float32)
    strength = np.zeros((h, w), np.float32)
    if spec.cloud > 0:
        field = _fbm(rng, (h, w), (70.0, 28.0, 10.0))
        if spec.cloud_at is not None:
            r0, c0, wh, ww = LOAD_WINDOW
            cr, cc = r0 + spec.cloud_at[0] * wh, c0 + spec.cloud_at[1] * ww
            radius = max(60.0, 700.0 * math.sqrt(spec.cloud / 100.0))
            d2 = ((rows - cr) ** 2 + (cols - cc) ** 2) / radius**2
            field = field + 3.0 * np.exp(-d2)
        target = spec.cloud / 100.0 * 0.8  # the dilated ring adds the rest
        thr = float(np.quantile(field[~fill], 1.0 - target))
        core = (field > thr) & ~fill
        dilated = ndimage.binary_dilation(core, iterations=3) & ~core & ~fill
        opacity = np.clip((field - thr + 0.5) / 0.8, 0, 1).astype(np.float32) * (core | dilated)
        # the shadow: the cloud projected along the sun's rays from its height
        height_m = 1500.0 + 1000.0 * rng.random()
        reach = height_m / math.tan(sel) / RESOLUTION
        drow = int(round(reach * math.cos(saz)))
        dcol = int(round(-reach * math.sin(saz)))
        strength = _shift(opacity, drow, dcol) * ~core
    shadow_true = (strength > 0.3) & ~core & ~dilated & ~fill
    flagged = _cloud_shadow_flags(rng, strength, water, core | dilated | fill)
    direct = direct * (1.0 - strength)
    terrain_shadow = (direct < 0.25) & ~water & ~core & (strength < 0.3)

    # reflectance: ground (texture, moisture, illumination) mixed with water (colour, shallow
    # bottom, sediment) by the water fraction
    spectra = _spectra(spec.platform)
    bands = [b for b in _BANDS if b in _MISSIONS[spec.platform]["sr"]]
    bidx = [_BANDS.index(b) for b in bands]
    bright = 1.0 + _TEXTURE_AMP[ground] * land["tex"]
    # the damp lakebed is the playa darkened by its wetness (the wet_playa row: fully damp)
    surface = np.where(ground == CLASSES["wet_playa"], np.uint8(CLASSES["shore"]), ground)
    damp = wetness * (ground != CLASSES["vegetation"])
    gains = 1.0 + 0.015 * rng.standard_normal(len(_BANDS)).astype(np.float32)
    # depth of the water in a pixel (mixed pixels: the few cm at the edge)
    water_depth = np.maximum(depth, 0) + 0.05
    # the turbid plume off the river mouth: strongest at the mouth, fading into the lake
    river_line = water & (land["river_d"] < 1.2)
    tip = float(land["u"][river_line].max()) if river_line.any() else 0.0
    into = np.clip(tip - land["u"], 0, None)  # km into the lake from the mouth
    near = river_line & (land["u"] > tip - 0.6)
    v_mouth = float(land["v"][near].mean()) if near.any() else 0.9
    # (saline water flocculates the silt: the plume settles out within a few km)
    reach_km = 0.6 + 1.6 * inflow
    spread = (0.5 + 0.9 * inflow) * (1.0 + 0.8 * into / reach_km)
    across = (land["v"] - v_mouth) / spread
    conc = 2.0 * inflow * np.exp(-into / reach_km - across * across)
    conc = conc + 5.0 * inflow * np.exp(-into / 0.5 - 4.0 * across * across)  # the river's jet
    conc = np.clip(conc * (1.0 + 0.4 * land["swirl"]), 0, None) + 0.25 * np.exp(-into / 1.2)
    conc = (conc * water).astype(np.float32)
    turbid = water & (_SEDIMENT_A[3] * conc / (conc + _SEDIMENT_K[3]) > 0.04)
    kind = np.where(water, np.where(frac < 1, 3, np.where(turbid, 2, 1)), 0).astype(np.uint8)
    refl: dict[str, np.ndarray] = {}
    for k, (b, i) in enumerate(zip(bands, bidx, strict=True)):
        tiltk = 0.05 * (k - len(bands) / 2) / len(bands)
        dry = spectra[surface, i] * bright * (1.0 + tiltk * land["tilt"])
        dry = dry * (1.0 - _WET_DARKENING[i] * damp)
        light = (
            (1 - _DIFFUSE[i]) * direct
            + _DIFFUSE[i] * skyview
            + (1 - skyview) * _ADJACENT[i]
            + 0.12 * strength  # light scattered by the cloud's sides into its shadow
        )
        # shallow water: the lakebed shows through, attenuated twice over the depth
        bottom = np.exp(-2.0 * _ATTENUATION[i] * water_depth)
        wet_r = spectra[CLASSES["water"], i] + _SEDIMENT_A[i] * conc / (conc + _SEDIMENT_K[i])
        wet_r = wet_r * (1.0 - bottom) + 0.4 * spectra[CLASSES["wet_playa"], i] * bottom
        wet_light = np.float32(1.0) - strength * np.float32(1.0 - _DIFFUSE[i] - 0.12)
        refl[b] = (frac * wet_r * wet_light + (1 - frac) * dry * light) * gains[i]

    # sensor: clouds on top, aerosol residual, noise, quantisation, striping
    sensor = _SENSOR.get(spec.platform)
    phase = rng.uniform(0, 16)
    tilt_scan = math.radians(13.0)  # scan lines across the descending ground track
    line = np.floor(rows * math.cos(tilt_scan) - cols * math.sin(tilt_scan) + phase) % 16
    line = line.astype(np.int64)
    haze = np.roll(land["haze"], (int(rng.integers(0, h)), int(rng.integers(0, w))), (0, 1))
    aerosol = 0.8 + 0.4 * rng.random()
    out: dict[str, Any] = {}
    toa: dict[str, np.ndarray] = {}
    for b, i in zip(bands, bidx, strict=True):
        r = refl[b] * (1 - opacity) + spectra[CLASSES["cloud"], i] * opacity
        lam = _MISSIONS[spec.platform]["sr"][b][1]
        r = r + _HAZE_SD * (0.48 / lam) ** 1.5 * haze
        if sensor is None:  # OLI: 12-bit, signal-dependent noise
            sd = np.sqrt(_OLI_FLOOR[i] ** 2 + (_OLI_GAIN * np.maximum(r, 0)) ** 2)
            r = r + sd * rng.standard_normal((h, w), dtype=np.float32)
        else:  # TM / ETM+: 8-bit TOA counts, detector stripes, noise, then back to SR
            step = sensor["step"][i]
            stripes = sensor["stripe_dn"] * rng.standard_normal(16).astype(np.float32)
            t = _PATH[i] * aerosol + _TRANSMIT[i] * r
            counts = t / step + stripes[line]
            counts = counts + sensor["noise_dn"] * rng.standard_normal((h, w), dtype=np.float32)
            t = np.rint(counts) * step
            r = (t - _PATH[i] * aerosol) / _TRANSMIT[i]
        toa[b] = _PATH[i] * aerosol + _TRANSMIT[i] * r
        dn = np.clip(np.rint((r - _OFFSET) / _SCALE), 1, 65535).astype(np.uint16)
        dn[fill] = 0
        out[b] = dn

    # surface temperature (smooth: the thermal bands are 60-120 m, resampled to 30 m)
    temp = _TEMPERATURE[cls] + 1.2 * land["hot"]
    temp = np.where(water, temp, temp - 7.0 * (1.0 - np.clip(direct, 0, 1)))
    temp = temp + rng.normal(0, 1.5) + 6.0 * (spec.date.month in (7, 8))
    temp = temp * (1 - opacity) + _TEMPERATURE[CLASSES["cloud"]] * opacity
    temp = temp + 0.12 * rng.standard_normal((h, w), dtype=np.float32)
    temp = ndimage.uniform_filter(temp, 4)
    tdn = np.clip(np.rint((temp - _ST_OFFSET) / _ST_SCALE), 1, 65535).astype(np.uint16)
    tdn[fill] = 0
    out[_MISSIONS[spec.platform]["thermal"][0]] = tdn

    # qa_pixel: real bit layout, the usual confidence bits, CFMask's water test on the pixels
    oli = _MISSIONS[spec.platform]["eo_prefix"] == "OLI"
    base = (1 << 8) | (1 << 10) | (1 << 12) | ((1 << 14) if oli else 0)  # low confidences
    qa = np.full((h, w), base | (1 << 6), np.uint16)
    red, nir = toa["red"], toa["nir08"]
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    fmask_water = ((ndvi < 0.01) & (nir < 0.11)) | ((ndvi < 0.1) & (nir < 0.05))
    # CFMask gives each pixel one class (cloud > cloud shadow > water): a flagged shadow is not
    # water, an unflagged one may be (a commission)
    qa[fmask_water & ~flagged] |= np.uint16(1 << 7)
    qa[flagged] |= np.uint16((1 << 4) | (3 << 10))
    qa[dilated] = np.uint16((base | (1 << 1)) & ~(1 << 6))
    qa[core] = np.uint16(base | (1 << 3) | (3 << 8))
    qa[fill] = 1
    out["qa_pixel"] = qa

    classes = cls.copy()
    classes[shadow_true] = CLASSES["cloud_shadow"]
    classes[core] = CLASSES["cloud"]
    classes[fill] = CLASSES["nodata"]
    out.update(
        classes=classes,
        water=water,
        water_kind=kind,
        water_fraction=frac,
        turbid=turbid,
        level=level,
        fill=fill,
        cloud=core,
        dilated=dilated,
        shadow=flagged,
        shadow_true=shadow_true,
        terrain_shadow=terrain_shadow,
        sun=(az, el),
    )
    return out


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------


def _footprint_lonlat(spec: SceneSpec) -> list[list[float]]:
    """The scene's valid-data footprint (corner cut) as a lon/lat ring, counter-clockwise."""
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
) -> dict[str, Any]:
    """A STAC item shaped exactly like Planetary Computer's ``landsat-c2-l2`` items.

    Used for the synthetic scenes and for the real ones (:mod:`lakeml.real_scenes`).

    Parameters
    ----------
    item_id : Planetary Computer's id (no processing date),
        e.g. ``LC08_L2SP_042033_20170718_02_T1``.
    platform : ``landsat-5`` ... ``landsat-9``.
    when : acquisition time (UTC).
    ring : footprint, a closed lon/lat ring.
    hrefs : asset key -> href (relative to the sample root); assets are
        :func:`asset_definitions` of ``platform`` restricted to these keys, in their order.
    epsg, shape, transform : the grid (``proj:epsg``, ``proj:shape`` (rows, cols),
        ``proj:transform``).
    cloud_cover, cloud_cover_land, sun, scene_id : ``eo:cloud_cover``,
        ``landsat:cloud_cover_land``, (``view:sun_azimuth``, ``view:sun_elevation``),
        ``landsat:scene_id``; ``None`` leaves the property out (unknown).
    wrs : (path, row), zero-padded.
    category : ``landsat:collection_category`` (``T1``, ``T2``, ``RT``).
    description : the ``description`` property.

    Returns
    -------
    The item as a dict; hrefs relative to the sample root.

    Example
    -------
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
    created = dt.datetime.fromisoformat(SAMPLE_RELEASES[SAMPLE_VERSION])
    az, el = sun if sun is not None else (None, None)
    properties = {
        "gsd": 30,
        "created": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
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
    """The collection document, shaped like Planetary Computer's ``landsat-c2-l2``."""
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
            "SYNTHETIC OFFLINE SAMPLE generated by lakeml.sample (version "
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


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _write_cog(
    path: Path,
    array: np.ndarray,
    nodata: int | None,
    epsg: int = EPSG,
    transform: tuple[float, ...] = SCENE_TRANSFORM,
) -> None:
    """Write one band as a COG: deflate + horizontal predictor, 512 tiles, nearest overviews.

    On the sample's grid unless ``epsg`` and ``transform`` (affine a, b, c, d, e, f) say otherwise.
    """
    import rasterio
    from affine import Affine

    profile = {
        "driver": "COG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": f"EPSG:{epsg}",
        "transform": Affine(*transform[:6]),
        "compress": "deflate",
        "predictor": 2,
        "blocksize": 512,
        "overview_resampling": "nearest",  # qa_pixel bits and class codes must not be averaged
        "bigtiff": "no",
    }
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(path, "w", **profile) as ds:
        ds.write(array, 1)


def _stats(spec: SceneSpec, scene: dict[str, Any]) -> dict[str, Any]:
    r, c, hh, ww = LOAD_WINDOW
    win = (slice(r, r + hh), slice(c, c + ww))
    fill, cloud, dil, shadow = (scene[k] for k in ("fill", "cloud", "dilated", "shadow"))
    water = scene["water"]
    cloudy = cloud | dil
    valid_scene = ~fill
    land = valid_scene & ~water
    cloud_cover = 100.0 * cloudy.sum() / max(valid_scene.sum(), 1)
    cloud_land = 100.0 * (cloudy & land).sum() / max(land.sum(), 1)
    wf, wc, wsh, ww_ = fill[win], cloudy[win], shadow[win], water[win]
    valid = ~wf & ~wc & ~wsh
    n = wf.size
    classes = scene["classes"][win]
    counts = np.bincount(classes.ravel(), minlength=len(CLASSES))
    kind = scene["water_kind"][win]
    nwat = max(int(ww_.sum()), 1)
    seen = ~wf & ~wc
    return {
        "item_id": spec.item_id,
        "platform": spec.platform,
        "datetime": _overpass(spec).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "role": spec.role,
        "water_km2": round(float(ww_.sum()) * RESOLUTION**2 / 1e6, 4),
        "water_pixels": int(ww_.sum()),
        "lake_level_m": round(scene["level"], 3),
        "valid_fraction": round(float(valid.sum()) / n, 6),
        "cloud_fraction": round(float(wc.sum()) / max(int((~wf).sum()), 1), 6),
        "shadow_fraction": round(float(wsh.sum()) / max(int((~wf).sum()), 1), 6),
        "fill_fraction": round(float(wf.sum()) / n, 6),
        "water_observed_fraction": round(float((ww_ & valid).sum()) / max(int(ww_.sum()), 1), 6),
        "water_turbid_fraction": round(float((kind == 2).sum()) / nwat, 6),
        "water_mixed_fraction": round(float((kind == 3).sum()) / nwat, 6),
        "water_fraction_sum_km2": round(
            float(scene["water_fraction"][win].sum()) * RESOLUTION**2 / 1e6, 4
        ),
        "shadow_true_fraction": round(
            float(scene["shadow_true"][win].sum()) / max(int((~wf).sum()), 1), 6
        ),
        "terrain_shadow_km2": round(
            float((scene["terrain_shadow"][win] & seen).sum()) * RESOLUTION**2 / 1e6, 4
        ),
        "inflow": _inflow_at(spec.date),
        "class_km2": {
            name: round(float(counts[code]) * RESOLUTION**2 / 1e6, 4)
            for name, code in CLASSES.items()
        },
        "window": {
            "row_off": r,
            "col_off": c,
            "shape": [hh, ww],
            "transform": list(load_geobox().transform)[:6],
            "bbox": list(SAMPLE_BBOX),
        },
        "cloud_cover": round(float(cloud_cover), 2),
        "cloud_cover_land": round(float(cloud_land), 2),
        "sun": scene["sun"],
    }


def _render_and_write(specs: list[SceneSpec], root: str) -> list[dict[str, Any]]:
    """Worker: build the landscape once, then render and write each scene of ``specs``."""
    land = _landscape()
    levels = _levels(land)
    out = []
    for spec in specs:
        scene = render_scene(spec, land, levels)
        stats = _stats(spec, scene)
        cog_dir = Path(root) / "cogs" / spec.item_id
        cog_dir.mkdir(parents=True, exist_ok=True)
        for key in asset_definitions(spec.platform):
            name = f"{spec.product_id}_{_file_suffix(spec.platform, key)}.TIF"
            nodata = 1 if key == "qa_pixel" else 0
            _write_cog(cog_dir / name, scene[key], nodata)
        truth_dir = Path(root) / "truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        _write_cog(truth_dir / f"{spec.item_id}_class.tif", scene["classes"], None)
        _write_cog(truth_dir / f"{spec.item_id}_water.tif", scene["water_kind"], None)
        item = _item(spec, stats)
        truth_doc = {
            k: v for k, v in stats.items() if k not in ("cloud_cover", "cloud_cover_land", "sun")
        }
        truth_doc["eo:cloud_cover"] = stats["cloud_cover"]
        truth_doc["definitions"] = (
            "All numbers on the odc.stac.load(bbox=SAMPLE_BBOX) window (1128 x 950 px). "
            "water = the real lake: pixels whose sub-pixel water fraction is >= 0.5 (basin "
            "elevation <= lake_level_m), regardless of clouds, gaps and fill; _water.tif: 0 "
            "land, 1 water, 2 turbid water (sediment adds > 0.04 to red), 3 mixed shoreline "
            "pixel (0.5 <= water fraction < 1); water_fraction_sum_km2 = sum of the fractions; "
            "valid = not fill, not cloud, not dilated cloud, not cloud shadow as flagged in "
            "qa_pixel (shadow_fraction); shadow_true_fraction = where cloud shadow really falls; "
            "terrain_shadow_km2 = seen land with less than 25 % of the flat-ground direct sun."
        )
        (truth_dir / f"{spec.item_id}.json").write_text(json.dumps(truth_doc, indent=1) + "\n")
        out.append(item)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sample_dir() -> Path:
    """Where the sample lives: ``$LAKEML_SAMPLE_DIR``, else ``~/.cache/lakeml/sample-v1``.

    Example
    -------
    >>> sample_dir().name  # doctest: +SKIP
    'sample-v1'
    """
    env = os.environ.get(_ENV_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "lakeml" / "sample-v1"


def _manifest(root: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != SAMPLE_VERSION:
        return None
    return doc


def _replaceable(root: Path) -> bool:
    """True if ``root`` is empty or an (old or partial) lakeml sample, so it may be replaced."""
    names = {p.name for p in root.iterdir()}
    return not names or bool(names & {"manifest.json", "catalog", "cogs"})


def is_complete(root: Path | str | None = None) -> bool:
    """True if ``root`` holds a finished sample of this :data:`SAMPLE_VERSION`.

    Example
    -------
    >>> is_complete("/nonexistent")
    False
    """
    return _manifest(Path(root) if root is not None else sample_dir()) is not None


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    """An exclusive file lock next to ``root`` (no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock_path = root.parent / f".{root.name}.lock"
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_tree(tmp: Path, workers: int) -> None:
    specs = scene_specs()
    chunks = [specs[i::workers] for i in range(workers)]
    if workers == 1:
        results = [_render_and_write(specs, str(tmp))]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = list(pool.map(_render_and_write, chunks, [str(tmp)] * workers))
    by_id = {it["id"]: it for chunk in results for it in chunk}
    real, real_note = _real_items(tmp)
    item_dicts = [by_id[s.item_id] for s in specs] + real
    catalog = tmp / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    collection = _collection(item_dicts)
    if real:
        collection["description"] += (
            f" Except {len(real)} REAL Landsat scenes (lakeml.real_scenes: {real_note}), "
            "converted to Collection 2 where they were Collection 1."
        )
    (catalog / "collection.json").write_text(json.dumps(collection, indent=1) + "\n")
    with (catalog / "items.ndjson").open("w") as f:
        for it in item_dicts:
            f.write(json.dumps(it, separators=(",", ":")) + "\n")
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = {
        "version": SAMPLE_VERSION,
        "seed": SEED,
        "generator": "lakeml.sample",
        "synthetic": True,
        "collection": COLLECTION_ID,
        "bbox": list(SAMPLE_BBOX),
        "items": [s.item_id for s in specs],
        "real_items": [it["id"] for it in real],
        "real_scenes": real_note,
        "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def _real_items(tmp: Path) -> tuple[list[dict[str, Any]], str]:
    """The real scenes (:mod:`lakeml.real_scenes`) written under ``tmp``, and a note for the
    manifest; none, with the reason, if their raw files are not next to the package."""
    from lakeml import real_scenes

    missing = real_scenes.missing_sources()
    if missing:
        where = real_scenes.raw_dir()
        return [], f"SKIPPED: raw files not found in {where} (missing {', '.join(missing)})"
    names = ", ".join(s.name for s in real_scenes.SCENES.values())
    return real_scenes.write_scenes(tmp), f"included: {names}"


def build(
    root: Path | str | None = None, force: bool = False, *, workers: int | None = None
) -> Path:
    """Build the sample under ``root`` (default :func:`sample_dir`) unless it is already there.

    Idempotent and cached: a complete sample of this :data:`SAMPLE_VERSION` is reused (its
    ``manifest.json`` is written last); ``force=True`` rebuilds. Atomic: the sample is written to
    a sibling temporary directory and renamed into place; concurrent builds are serialised by a
    lock file, and if another process finished first its sample is used. An existing directory
    that is not a lakeml sample is never replaced (``ValueError``). Takes about 70 s on two cores
    and ~620 MB of disk (48 synthetic scenes x 8-9 COGs of 1160 x 982 pixels, ~1.5-2 MB each).

    Parameters
    ----------
    root : target directory.
    force : rebuild even if a complete sample exists.
    workers : processes to render with (default: up to 2, one per CPU).

    Returns
    -------
    Path of the sample root.

    Example
    -------
    >>> root = build()  # doctest: +SKIP
    >>> (root / "manifest.json").exists()  # doctest: +SKIP
    True
    """
    root = Path(root).expanduser() if root is not None else sample_dir()
    if root.exists() and not root.is_dir():
        raise ValueError(f"sample root {root} exists and is not a directory")
    if root.is_dir() and not _replaceable(root):
        raise ValueError(
            f"{root} exists and is not a lakeml sample (no manifest.json, catalog/ or cogs/): "
            "refusing to replace it; pass an empty or new directory"
        )
    if workers is None:
        workers = max(1, min(2, os.cpu_count() or 1))
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not force and _manifest(root) is not None:
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with _lock(root):
        if not force and _manifest(root) is not None:  # another process built it meanwhile
            return root
        tmp = root.parent / f"{root.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _write_tree(tmp, workers)
            old = None
            if root.exists():
                old = root.parent / f".{root.name}.old-{os.getpid()}"
                os.replace(root, old)
            try:
                os.replace(tmp, root)
            except OSError:
                if _manifest(root) is None:
                    raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _ready(root: Path | str | None) -> Path:
    root = Path(root).expanduser() if root is not None else sample_dir()
    if _manifest(root) is None:
        build(root)
    return root


def is_synthetic(item: Any) -> bool:
    """True if a STAC item (``pystac.Item`` or dict) is one of this sample's GENERATED scenes.

    The sample's synthetic items carry Planetary Computer's real ids (e.g.
    ``LC08_L2SP_042033_20170718_02_T1``) and its exact properties, so the id alone cannot tell:
    a generated item is one whose ``created`` time is a sample release (:data:`SAMPLE_RELEASES`)
    and which is not one of the real scenes of :mod:`lakeml.real_scenes`. Planetary Computer's
    own items and the real scenes give False. Use it to say "offline sample" in titles.

    Examples
    --------
    >>> is_synthetic({"id": "LC08_L2SP_042033_20170718_02_T1",
    ...               "properties": {"created": SAMPLE_RELEASES[SAMPLE_VERSION]}})
    True
    >>> is_synthetic({"id": "LC08_L2SP_091084_20190205_02_T1",
    ...               "properties": {"created": SAMPLE_RELEASES[SAMPLE_VERSION]}})
    False
    >>> is_synthetic({"id": "LC08_L2SP_042033_20170718_02_T1",
    ...               "properties": {"created": "2020-09-03T09:12:44.123Z"}})
    False
    """
    from lakeml.real_scenes import SCENES

    ident = item["id"] if isinstance(item, dict) else item.id
    props = item["properties"] if isinstance(item, dict) else item.properties
    created = str(props.get("created", ""))
    releases = {r.replace("Z", "") for r in SAMPLE_RELEASES.values()}
    return ident not in SCENES and created.replace("Z", "").split(".")[0] in releases


def data_source(item: Any) -> str:
    """``"offline sample"`` for a generated scene, else ``"real"``: for figure titles.

    Examples
    --------
    >>> data_source({"id": "LC08_L2SP_091084_20190205_02_T1", "properties": {}})
    'real'
    """
    return "offline sample" if is_synthetic(item) else "real"


def items(root: Path | str | None = None, synthetic: bool | None = None) -> list[dict[str, Any]]:
    """The sample's STAC items as dicts (asset hrefs relative to ``root``), in catalog order.

    The synthetic Walker Lake scenes (oldest first), then the real scenes of
    :data:`lakeml.real_scenes.SCENES`. ``synthetic=True`` gives only the synthetic ones (those
    with a :func:`truth`), ``False`` only the real ones, ``None`` all (what the server serves).
    Builds the sample first if ``root`` holds none.

    Example
    -------
    >>> its = items()  # doctest: +SKIP
    >>> its[0]["assets"]["red"]["href"]  # doctest: +SKIP
    'cogs/LT05_L2SP_042033_19840808_02_T1/LT05_L2SP_042033_19840808_20200902_02_T1_SR_B3.TIF'
    """
    from lakeml.real_scenes import SCENES

    root = _ready(root)
    with (root / "catalog" / "items.ndjson").open() as f:
        out = [json.loads(line) for line in f if line.strip()]
    if synthetic is None:
        return out
    return [it for it in out if (it["id"] not in SCENES) == synthetic]


def truth(item_id: str, root: Path | str | None = None, full: bool = False) -> xr.Dataset:
    """Ground truth of one scene: bool ``water`` (the real lake), uint8 ``water_kind`` (0 land,
    1 water, 2 turbid water, 3 mixed shoreline pixel) and uint8 ``classes``.

    On the ``odc.stac.load(bbox=SAMPLE_BBOX)`` grid (1128 x 950, :func:`load_geobox`) unless
    ``full`` (the whole scene grid). Attributes: everything in ``truth/<item_id>.json``
    (``water_km2``, ``lake_level_m``, ``valid_fraction``, ``cloud_fraction``, ...). CRS and
    coordinates as odc-geo sets them (``ds.odc.crs``, ``ds.odc.geobox``).

    Example
    -------
    >>> t = truth("LC08_L2SP_042033_20170718_02_T1")  # doctest: +SKIP
    >>> t.water.shape, t.attrs["water_km2"]  # doctest: +SKIP
    ((1128, 950), 109.16)
    """
    import rasterio
    from odc.geo.xr import xr_coords

    root = _ready(root)
    doc_path = root / "truth" / f"{item_id}.json"
    if not doc_path.exists():
        known = json.loads((root / "manifest.json").read_text())["items"]
        raise ValueError(
            f"no truth for item {item_id!r} in {root}; sample items are e.g. {known[:3]}"
        )
    attrs = json.loads(doc_path.read_text())
    gbox = scene_geobox() if full else load_geobox()
    r, c, hh, ww = LOAD_WINDOW
    window = None if full else ((r, r + hh), (c, c + ww))
    with rasterio.open(root / "truth" / f"{item_id}_class.tif") as ds:
        classes = ds.read(1, window=window)
    with rasterio.open(root / "truth" / f"{item_id}_water.tif") as ds:
        kind = ds.read(1, window=window)
    water = kind > 0
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    flat = {
        k: v for k, v in attrs.items() if isinstance(v, str | int | float) and k != "definitions"
    }
    ds = xr.Dataset(
        {
            "water": (("y", "x"), water, {"long_name": "real lake (regardless of clouds)"}),
            "water_kind": (
                ("y", "x"),
                kind,
                {
                    "long_name": "kind of lake pixel",
                    "flag_values": [0, 1, 2, 3],
                    "flag_meanings": "land water turbid_water mixed_pixel",
                },
            ),
            "classes": (
                ("y", "x"),
                classes,
                {
                    "long_name": "observed class",
                    "flag_values": list(CLASSES.values()),
                    "flag_meanings": " ".join(CLASSES),
                },
            ),
        },
        coords=coords,
        attrs=flat,
    )
    return ds


__all__ = [
    "data_source",
    "is_synthetic",
    "CLASSES",
    "CLASS_NAMES",
    "COLLECTION_ID",
    "EXPECTED_CLEAREST",
    "EXPECTED_SEARCH",
    "LAKE_CENTRE",
    "LOAD_WINDOW",
    "SAMPLE_BBOX",
    "SAMPLE_VERSION",
    "SEED",
    "SceneSpec",
    "asset_definitions",
    "build",
    "is_complete",
    "items",
    "load_geobox",
    "render_scene",
    "sample_dir",
    "scene_geobox",
    "scene_specs",
    "truth",
]
