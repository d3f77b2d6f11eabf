"""The Landsat missions: asset metadata exactly as Planetary Computer states it.

Per platform (``landsat-5``, ``landsat-7``, ``landsat-8``, ``landsat-9``): the surface
reflectance and surface temperature assets (titles, descriptions, media type, roles,
``eo:bands``, ``raster:bands`` with the Collection 2 scale 2.75e-05 / offset -0.2, nodata 0;
0.00341802 / 149.0 for surface temperature), ``qa_pixel`` with the real Collection 2 bit
meanings (``classification:bitfields``), and the USGS file-name suffixes (``SR_B4``,
``ST_B10``, ``QA_PIXEL``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lakeml.checks import check_choice

_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
_SCALE, _OFFSET = 2.75e-05, -0.2
_ST_SCALE, _ST_OFFSET = 0.00341802, 149.0
_MIME_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_SLC_FAILURE = dt.date(2003, 5, 31)

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
    """Return the ``classification:bitfields`` of ``qa_pixel`` (TM/ETM+: no cirrus fields)."""
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
    """Return the assets the sample writes for ``platform``, without ``href``.

    Shaped as on Planetary Computer: title, description, media type, roles, ``eo:bands``,
    ``raster:bands``; ``qa_pixel`` also has ``classification:bitfields`` (no cirrus fields for
    TM and ETM+).

    Parameters
    ----------
    platform : str
        ``landsat-5``, ``landsat-7``, ``landsat-8`` or ``landsat-9``.

    Returns
    -------
    dict of str to dict
        Asset key (``red``, ``lwir11``, ``qa_pixel``, ...) -> the asset's fields, in the order
        Planetary Computer lists them: the reflectance bands, the thermal band, ``qa_pixel``.

    Raises
    ------
    lakeml.checks.BadInput
        ``platform`` is not one of the sample's missions.

    Examples
    --------
    >>> asset_definitions("landsat-8")["red"]["raster:bands"][0]["scale"]
    2.75e-05
    >>> sorted(asset_definitions("landsat-5"))
    ['blue', 'green', 'lwir', 'nir08', 'qa_pixel', 'red', 'swir16', 'swir22']
    >>> [f["name"] for f in asset_definitions("landsat-7")["qa_pixel"]["classification:bitfields"]]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['fill', 'dilated_cloud', 'cloud', 'cloud_shadow', 'snow', 'clear', 'water',
     'cloud_confidence', 'cloud_shadow_confidence', 'snow_confidence']
    >>> asset_definitions("landsat-4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: unknown platform 'landsat-4': choose from landsat-5, landsat-7, ...
    """
    check_choice(platform, _MISSIONS, "platform")
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
    """Return the USGS file-name suffix of asset ``key`` (``SR_B4``, ``ST_B10``, ``QA_PIXEL``)."""
    m = _MISSIONS[platform]
    if key == "qa_pixel":
        return "QA_PIXEL"
    if key == m["thermal"][0]:
        return m["thermal"][1]
    return f"SR_B{m['sr'][key][0]}"
