"""Real scenes: five real Landsat crops as Planetary-Computer-shaped ``landsat-c2-l2`` items.

The offline sample (:mod:`lakeml.offline.sample`) is synthetic. Next to it, :func:`write_scenes`
puts five REAL 30 m Landsat crops with water into the same catalog, so the same code path (STAC
search -> ``odc.stac`` load -> scaling and masking) runs on pixels a satellite measured.
:data:`SCENES` lists them (id, place, a lon/lat bbox inside each crop, platform, date, what water is
there, whether a ``qa_pixel`` exists). The raw files (7.7 MB) travel with the package, in
``lakeml/offline/sample/data/real_scenes/`` (see ``lakeml/offline/sample/data/ATTRIBUTION.md``;
found by :func:`raw_dir`), so an installed lakeml builds the same sample as a source checkout.

Each scene becomes, under the catalog root:

.. code-block:: text

    cogs/<item_id>/<stem>_SR_B<n>.TIF   uint16 COGs, Collection 2 encoding (DN * 2.75e-5 - 0.2,
                                        nodata 0), the scene's own UTM grid, 30 m
    cogs/<item_id>/<stem>_ST_B10.TIF    Liverpool only (kelvin = DN * 0.00341802 + 149.0)
    cogs/<item_id>/<stem>_QA_PIXEL.TIF  Canberra only (Collection 2 bits, from Collection 1)

and one item shaped exactly like Planetary Computer's (:func:`lakeml.offline.sample.item_dict`,
assets from :func:`lakeml.offline.sample.asset_definitions` restricted to the bands that exist),
under the scene's real Planetary Computer id (no processing date), with its real footprint (the
crop's extent in lon/lat), datetime, WRS path/row, cloud cover and sun angles from the MTL where
there is one. ``<stem>`` is the USGS product id for the three Collection 2 crops and the item id for
the two converted scenes (their Collection 2 processing date is not known).

The three sources
-----------------
Collection 2 crops (Liverpool, Brumadinho, Manaus; compgeolab/xlandsat): ``*_SR_B<n>.TIF`` (and
``*_ST_B10.TIF``) in a ``.tar.gz`` with the ``*_MTL.txt``. Their TIFFs carry no georeferencing;
the grid comes from the MTL: EPSG ``326<UTM_ZONE>`` (USGS puts southern scenes in the NORTHERN
zone with negative northings, and so does Planetary Computer: kept as is), 30 m, and
``CORNER_UL_PROJECTION_X/Y_PRODUCT``, which is the CENTRE of the upper-left pixel (the UL and LR
corners are ``(samples - 1) * 30`` m apart), so the upper-left edge is 15 m further west and
north. The DN are already Collection 2 and are copied exactly. The MTL is read by
:func:`parse_mtl` here, not by the ``xlandsat`` package (its reader served as the reference
for the grid). Measured with xlandsat 0.5.0 on these files: ``xlandsat.load_scene`` reads the
three Collection 2 crops, and its pixel centres are this module's to the metre, but it returns
only scaled floats (no DN to copy exactly) scaled with the wrong factors: its MTL parser keeps
the LAST ``REFLECTANCE_MULT_BAND_n`` / ``ADD`` of the file, the Level-1 top-of-atmosphere ones
(2e-05, -0.1), not the surface reflectance ones (2.75e-05, -0.2), so its reflectance is off
by up to 0.284 (Liverpool), 0.154 (Brumadinho) and 0.391 (Manaus). It cannot read the other
two at all: Porto Velho has no MTL (``Couldn't find an '*_MTL.txt' file``), and Canberra's
ESPA ``*_sr_band<n>.tif`` files are not Collection 2 band files ("No Landsat Collection 2
Level 2 band files found"). Its parser (``xlandsat._io.parse_metadata``) is private.

Collection 1 surface reflectance (Porto Velho, a 6-band GeoTIFF from yotarazona/scikit-eo;
Canberra, an ESPA folder from opendatacube/datacube-zarr): int16, reflectance = DN1 * 1e-4,
nodata -9999, georeferenced (their grid is used as it is). They are converted to Collection 2
DN (:func:`c2_dn_from_c1`)::

    DN2 = round((DN1 * 1e-4 + 0.2) / 2.75e-5) = round((DN1 + 2000) * 40 / 11), clipped to
    1..65535; nodata -9999 -> 0

computed in integers, so exactly. Loaded back (DN2 * 2.75e-5 - 0.2) the reflectance differs from
the Collection 1 value by at most 5/11 * 2.75e-5 = 1.25e-5 (the fraction of 40/11 steps is a
multiple of 1/11, never 1/2); only DN1 = -2000 (reflectance -0.2, the Collection 1 floor) maps
to 0 = nodata and is clipped to DN2 = 1, an error of 2.75e-5. Measured on both scenes: maximum
1.25e-5 on unclipped pixels, 2.75e-5 on the 3 clipped ones (1 in Porto Velho's blue band, 2 in
Canberra's coastal band).
Nothing above DN1 = 16022 would fit; the scenes' maximum is 7652.

Canberra's ``pixel_qa`` (Collection 1 Level-2 bits, checked against USGS EROS's ESPA
``pixel_qa.h``: 0 fill, 1 clear, 2 water, 3 cloud shadow, 4 snow, 5 cloud (cfmask, dilated at
Level-2), 6-7 cloud confidence, 8-9 cirrus confidence, 10 terrain occlusion) becomes a
Collection 2 ``qa_pixel`` by :func:`c2_qa_from_c1`:

================================  ==============================================================
Collection 2 bit(s)               from Collection 1
================================  ==============================================================
0 fill                            bit 0 (a fill pixel is exactly 1, as in Collection 2)
1 dilated cloud                   none: 0. Collection 1's cloud bit already includes the
                                  dilation and cannot be split, so it all goes to bit 3
2 cirrus (high confidence)        cirrus confidence (bits 8-9) == 3
3 cloud                           bit 5
4 cloud shadow                    bit 3
5 snow                            bit 4
6 clear                           not fill and not cloud: Collection 2's definition (cloud and
                                  dilated cloud not set). NOT Collection 1's clear bit, which
                                  means clear land (off on water and shadow)
7 water                           bit 2, unchanged (the USGS water flag, pixel for pixel)
8-9 cloud confidence              bits 6-7 (same codes: none, low, medium, high)
10-11 cloud shadow confidence     none in Collection 1: 3 (high) where bit 4 is set (the bit
                                  means high confidence), else 0 (not set). Real Collection 2
                                  sets "low" (1) on most pixels: not invented here
12-13 snow/ice confidence         likewise from bit 5
14-15 cirrus confidence           bits 8-9
================================  ==============================================================

Terrain occlusion (bit 10) has no Collection 2 ``qa_pixel`` bit (it moved to ``qa_radsat``): it
is dropped (no Canberra pixel has it). The three crops and Porto Velho have no QA band at all:
their items have NO ``qa_pixel`` asset, and :func:`lakeml.load.load_scene` then masks by nodata
only.

What is not known, and said so
------------------------------
Porto Velho has no MTL: its WRS path/row come from the file name; its collection category (tier)
is not known (``T1`` is assumed in the id and ``landsat:collection_category``); its time of day
is estimated (about 14:20 UTC: the Manaus scene, path 231 row 062, was taken at 14:12:31; one
path west is ~6 min later in a sun-synchronous orbit, four rows south ~1.6 min); its cloud cover,
sun angles and scene id are unknown and left out of the item. Its ``description`` property says
all this. Canberra's cloud cover and sun angles are those of its Collection 1 MTL, and its
``description`` names the Collection 1 product it was converted from.

Examples
--------
>>> [s.name for s in SCENES.values()]
['Liverpool', 'Brumadinho', 'Manaus', 'Porto Velho', 'Canberra']
>>> canberra = SCENES["LC08_L2SP_091084_20190205_02_T1"]
>>> canberra.kind, canberra.qa, canberra.datetime
('c1-espa', True, '2019-02-05/2019-02-05')
>>> rs = read_scene(canberra.item_id)  # converted to Collection 2 DN
>>> rs.epsg, rs.shape, str(rs.bands["qa_pixel"].dtype)
(32655, (336, 400), 'uint16')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.resources
import io
import re
import tarfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lakeml.checks import check_choice
from lakeml.files import write_cog
from lakeml.offline.sample.missions import _file_suffix, asset_definitions
from lakeml.offline.sample.stac import item_dict

CREATED = "2026-12-01T21:31:47Z"
"""The ``created`` time of the real scenes' items: when lakeml first converted them. Not a
sample release (:data:`lakeml.offline.sample.SAMPLE_RELEASES`), which is how
:func:`lakeml.offline.sample.is_synthetic` tells them from the generated scenes."""

C2_SCALE, C2_OFFSET = 2.75e-05, -0.2
"""Collection 2 surface reflectance: reflectance = DN * C2_SCALE + C2_OFFSET (nodata 0)."""

C1_SCALE, C1_NODATA = 1e-4, -9999
"""Collection 1 surface reflectance: reflectance = DN * C1_SCALE (int16, nodata -9999)."""

C1_C2_MAX_ERROR = 5 / 11 * 2.75e-05
"""Largest reflectance error of :func:`c2_dn_from_c1` away from the clipped floor (1.25e-5)."""


@dataclasses.dataclass(frozen=True)
class RealScene:
    """One real scene of :data:`SCENES`.

    Attributes
    ----------
    item_id : str
        The scene's Planetary Computer item id (no processing date).
    name, country : str
        Where it is, e.g. ``"Canberra"``, ``"Australia"``.
    platform : str
        STAC ``platform``, e.g. ``"landsat-8"``.
    date : str
        Acquisition date, ``YYYY-MM-DD`` (UTC).
    bbox : tuple of float
        ``(W, S, E, N)`` in degrees, fully inside the crop.
    water : str
        What water the scene holds.
    qa : bool
        Whether the item has a ``qa_pixel`` asset.
    source : str
        The file or folder in :func:`raw_dir`.
    kind : str
        ``"c2-crop"``, ``"c1-geotiff"`` or ``"c1-espa"`` (which reader converts it).
    note : str
        Where the data come from and what was converted.

    Examples
    --------
    >>> manaus = SCENES["LC09_L2SP_231062_20230723_02_T1"]
    >>> manaus.name, manaus.platform, manaus.qa, manaus.datetime
    ('Manaus', 'landsat-9', False, '2023-07-23/2023-07-23')
    """

    item_id: str
    name: str
    country: str
    platform: str
    date: str
    bbox: tuple[float, float, float, float]
    water: str
    qa: bool
    source: str
    kind: str
    note: str = ""

    @property
    def datetime(self) -> str:
        """A one-day STAC datetime interval around the acquisition (UTC), for a search."""
        return f"{self.date}/{self.date}"


SCENES: dict[str, RealScene] = {
    s.item_id: s
    for s in (
        RealScene(
            "LC08_L2SP_204023_20200927_02_T1", "Liverpool", "UK", "landsat-8", "2020-09-27",
            (-3.19, 53.45, -3.01, 53.515),
            "the Mersey estuary, the Irish Sea and docks; a city", False,
            "LC08_L2SP_204023_20200927_20201006_02_T1-cropped.tar.gz", "c2-crop",
            "Collection 2 crop; also coastal and surface temperature (lwir11)",
        ),
        RealScene(
            "LC08_L2SP_218074_20190114_02_T1", "Brumadinho", "Brazil", "landsat-8", "2019-01-14",
            (-44.195, -20.175, -44.09, -20.1),
            "almost none: a few small reservoirs in dark forest and hills", False,
            "LC08_L2SP_218074_20190114_20200829_02_T1-cropped.tar.gz", "c2-crop",
            "Collection 2 crop; UTM zone 23 north with negative northings, as USGS gives it",
        ),
        RealScene(
            "LC09_L2SP_231062_20230723_02_T1", "Manaus", "Brazil", "landsat-9", "2023-07-23",
            (-60.0, -3.2, -59.785, -3.085),
            "the black-water Rio Negro meeting the sediment-laden Solimoes; lakes, forest, a city",
            False, "LC09_L2SP_231062_20230723_20230802_02_T1-cropped.tar.gz", "c2-crop",
            "Collection 2 crop; UTM zone 20 north with negative northings, as USGS gives it",
        ),
        RealScene(
            "LC08_L2SP_232066_20190727_02_T1", "Porto Velho", "Brazil", "landsat-8", "2019-07-27",
            (-63.965, -8.77, -63.885, -8.715),
            "the turbid Madeira river and an oxbow lake", False,
            "LC08_232066_20190727.tif", "c1-geotiff",
            "converted from Collection 1 surface reflectance; tier not known (T1 assumed); "
            "time of day estimated; cloud cover and sun angles unknown",
        ),
        RealScene(
            "LC08_L2SP_091084_20190205_02_T1", "Canberra", "Australia", "landsat-8", "2019-02-05",
            (149.08, -35.345, 149.205, -35.265),
            "Lake Burley Griffin and reservoirs, under scattered cumulus and their shadows", True,
            "LC08_L1TP_091084_20190205_20190221_01_T1_espa_sr", "c1-espa",
            "converted from Collection 1 ESPA surface reflectance; qa_pixel from pixel_qa",
        ),
    )
}  # fmt: skip
"""The five real scenes by Planetary Computer item id (see :class:`RealScene`)."""

_PORTO_VELHO_TIME = dt.time(14, 20)  # estimated, see the module docstring
_C1_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")  # sr_band1..7


def raw_dir() -> Path:
    """Find the raw files: the package data folder ``lakeml/offline/sample/data/real_scenes``.

    Returns
    -------
    Path
        The folder, inside the installed package (a wheel's too) or the source checkout.

    Examples
    --------
    >>> raw_dir().parts[-3:]
    ('sample', 'data', 'real_scenes')
    """
    return Path(str(importlib.resources.files("lakeml.offline.sample") / "data" / "real_scenes"))


def missing_sources(raw: Path | None = None) -> list[str]:
    """List the :data:`SCENES` sources absent from ``raw`` (default :func:`raw_dir`).

    Parameters
    ----------
    raw : Path or None
        The folder to look in; None means :func:`raw_dir`.

    Returns
    -------
    list of str
        The missing file or folder names, in the order of :data:`SCENES`; ``[]`` if none.

    Examples
    --------
    >>> missing_sources()  # the package has them all
    []
    >>> missing = missing_sources(Path("/nonexistent"))
    >>> len(missing), missing[0]
    (5, 'LC08_L2SP_204023_20200927_20201006_02_T1-cropped.tar.gz')
    """
    raw = raw if raw is not None else raw_dir()
    return [s.source for s in SCENES.values() if not (raw / s.source).exists()]


# --------------------------------------------------------------------------------------------
# Metadata (MTL) and grids
# --------------------------------------------------------------------------------------------


def parse_mtl(text: str) -> dict[str, str]:
    r"""Parse a USGS ``*_MTL.txt`` (ODL) into ``{KEY: value}``, quotes removed.

    The first occurrence of a key wins: in a Collection 2 MTL the Level-2 groups come before the
    Level-1 ones (``LANDSAT_PRODUCT_ID`` is then the L2SP product).

    Parameters
    ----------
    text : str
        The MTL file's text.

    Returns
    -------
    dict of str to str
        Every ``KEY = value`` line, groups flattened (``GROUP``/``END_GROUP`` lines dropped).

    Examples
    --------
    >>> parse_mtl('GROUP = A\n  UTM_ZONE = 23\n  ID = "x"\n  UTM_ZONE = 1\nEND_GROUP = A\nEND')
    {'UTM_ZONE': '23', 'ID': 'x'}
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if not sep or key in ("GROUP", "END_GROUP") or key in out:
            continue
        out[key] = value.strip().strip('"')
    return out


def mtl_grid(mtl: dict[str, str]) -> tuple[int, tuple[float, ...], tuple[int, int]]:
    """Read a scene's grid from its MTL: (EPSG, affine (a, b, c, d, e, f), (rows, cols)).

    ``CORNER_UL_PROJECTION_X/Y_PRODUCT`` is the centre of the upper-left pixel: the grid's edge
    is half a pixel west and north of it. EPSG is ``32600 + UTM_ZONE`` (USGS uses northern zones
    everywhere, with negative northings south of the equator).

    Parameters
    ----------
    mtl : dict of str to str
        The MTL, as from :func:`parse_mtl`.

    Returns
    -------
    epsg : int
        The UTM zone's EPSG code.
    transform : tuple of float
        The affine transform ``(a, b, c, d, e, f)`` of the pixel edges (rasterio's order).
    shape : tuple of int
        ``(rows, cols)`` of the reflective bands.

    Raises
    ------
    ValueError
        If the MTL is not WGS 84 / UTM, or its corners are not the pixel centres of its grid.

    Examples
    --------
    >>> mtl_grid({"UTM_ZONE": "23", "GRID_CELL_SIZE_REFLECTIVE": "30.00",
    ...           "REFLECTIVE_LINES": "300", "REFLECTIVE_SAMPLES": "400",
    ...           "CORNER_UL_PROJECTION_X_PRODUCT": "583500.000",
    ...           "CORNER_UL_PROJECTION_Y_PRODUCT": "-2222700.000",
    ...           "CORNER_LR_PROJECTION_X_PRODUCT": "595470.000",
    ...           "CORNER_LR_PROJECTION_Y_PRODUCT": "-2231670.000"})
    (32623, (30.0, 0.0, 583485.0, 0.0, -30.0, -2222685.0), (300, 400))
    """
    if mtl.get("MAP_PROJECTION", "UTM") != "UTM" or mtl.get("DATUM", "WGS84") != "WGS84":
        raise ValueError("only WGS84 / UTM scenes are supported")
    size = float(mtl["GRID_CELL_SIZE_REFLECTIVE"])
    rows, cols = int(mtl["REFLECTIVE_LINES"]), int(mtl["REFLECTIVE_SAMPLES"])
    ulx, uly = (float(mtl[f"CORNER_UL_PROJECTION_{a}_PRODUCT"]) for a in "XY")
    lrx, lry = (float(mtl[f"CORNER_LR_PROJECTION_{a}_PRODUCT"]) for a in "XY")
    if (lrx - ulx, uly - lry) != ((cols - 1) * size, (rows - 1) * size):
        raise ValueError(
            f"MTL corners {ulx, uly} / {lrx, lry} are not the pixel centres of a "
            f"{rows} x {cols} grid of {size} m"
        )
    transform = (size, 0.0, ulx - size / 2, 0.0, -size, uly + size / 2)
    return 32600 + int(mtl["UTM_ZONE"]), transform, (rows, cols)


def _mtl_time(mtl: dict[str, str]) -> dt.datetime:
    """DATE_ACQUIRED + SCENE_CENTER_TIME (7 decimals in the MTL) as a UTC datetime (6)."""
    hms = re.match(r"(\d+):(\d+):(\d+)(?:\.(\d+))?", mtl["SCENE_CENTER_TIME"])
    if hms is None:
        raise ValueError(f"bad SCENE_CENTER_TIME {mtl['SCENE_CENTER_TIME']!r}")
    h, m, s, frac = hms.groups()
    micro = int(((frac or "") + "000000")[:6])
    day = dt.date.fromisoformat(mtl["DATE_ACQUIRED"])
    return dt.datetime.combine(day, dt.time(int(h), int(m), int(s), micro), dt.UTC)


def footprint(epsg: int, transform: tuple[float, ...], shape: tuple[int, int]) -> list[list[float]]:
    """Trace the grid's outer edge as a closed lon/lat ring (UL, LL, LR, UR, UL).

    Parameters
    ----------
    epsg : int
        EPSG code of the grid's CRS.
    transform : tuple of float
        Affine transform ``(a, b, c, d, e, f)`` of the pixel edges (no rotation).
    shape : tuple of int
        ``(rows, cols)``.

    Returns
    -------
    list of list of float
        Five ``[lon, lat]`` corners, counter-clockwise, the first repeated last (a GeoJSON
        polygon's exterior ring).

    Examples
    --------
    >>> ring = footprint(32630, (30.0, 0.0, 487005.0, 0.0, -30.0, 5929995.0), (267, 433))
    >>> [round(v, 3) for v in ring[0]], len(ring)
    ([-3.196, 53.519], 5)
    """
    from pyproj import Transformer

    a, _, c, _, e, f = transform[:6]
    rows, cols = shape
    to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
    corners = [(0, 0), (rows, 0), (rows, cols), (0, cols), (0, 0)]
    return [list(to_ll.transform(c + col * a, f + row * e)) for row, col in corners]


# --------------------------------------------------------------------------------------------
# Collection 1 -> Collection 2
# --------------------------------------------------------------------------------------------


def c2_dn_from_c1(dn1: np.ndarray) -> np.ndarray:
    """Convert Collection 1 surface reflectance DN (int16, x 1e-4) to Collection 2 DN (uint16).

    ``round((DN1 + 2000) * 40 / 11)`` in integers (no ties exist), clipped to 1..65535 so that
    no valid pixel becomes nodata; -9999 (nodata) -> 0. See the module docstring for the error.

    Parameters
    ----------
    dn1 : np.ndarray
        Collection 1 DN, any shape (integers; -9999 no data).

    Returns
    -------
    np.ndarray
        uint16 Collection 2 DN, the same shape.

    Examples
    --------
    >>> c2_dn_from_c1(np.array([-9999, -2000, -1999, 0, 1000, 16000], "int16")).tolist()
    [0, 1, 4, 7273, 10909, 65455]
    """
    dn1 = np.asarray(dn1)
    wide = dn1.astype(np.int64)
    out = np.clip((40 * (wide + 2000) + 5) // 11, 1, 65535).astype(np.uint16)
    out[dn1 == C1_NODATA] = 0
    return out


def c2_qa_from_c1(pixel_qa: np.ndarray) -> np.ndarray:
    """Convert Collection 1 Level-2 ``pixel_qa`` bits to Collection 2 ``qa_pixel`` bits.

    See the table in the module docstring: what has no Collection 1 counterpart (dilated cloud;
    shadow and snow confidence except "high" where the flag is set) is left 0 (not set).

    Parameters
    ----------
    pixel_qa : np.ndarray
        Collection 1 ``pixel_qa`` values, any shape.

    Returns
    -------
    np.ndarray
        uint16 Collection 2 ``qa_pixel`` values, the same shape (fill is exactly 1).

    Examples
    --------
    Fill; clear land; water; cloud shadow; cloud (low confidence); cloud (high confidence);
    clear land with high cirrus confidence; snow; terrain occlusion on clear land:

    >>> c1 = np.array([1, 322, 324, 328, 352, 480, 834, 336, 1346], "uint16")
    >>> c2_qa_from_c1(c1).tolist()
    [1, 16704, 16832, 19792, 16648, 17160, 49476, 29024, 16704]
    >>> from lakeml.load import qa_flag
    >>> import xarray as xr
    >>> qa_flag(xr.DataArray(c2_qa_from_c1(c1)), "water").values.astype(int).tolist()
    [0, 0, 1, 0, 0, 0, 0, 0, 0]
    """
    q = np.asarray(pixel_qa).astype(np.uint16)

    def bit(n: int) -> np.ndarray:
        return (q >> np.uint16(n)) & np.uint16(1)

    fill, water, shadow, snow, cloud = bit(0), bit(2), bit(3), bit(4), bit(5)
    cloud_conf = (q >> np.uint16(6)) & np.uint16(3)
    cirrus_conf = (q >> np.uint16(8)) & np.uint16(3)
    cirrus = (cirrus_conf == 3).astype(np.uint16)
    clear = (np.uint16(1) - fill) & (np.uint16(1) - cloud)
    out = (
        (cirrus << np.uint16(2))
        | (cloud << np.uint16(3))
        | (shadow << np.uint16(4))
        | (snow << np.uint16(5))
        | (clear << np.uint16(6))
        | (water << np.uint16(7))
        | (cloud_conf << np.uint16(8))
        | ((shadow * np.uint16(3)) << np.uint16(10))
        | ((snow * np.uint16(3)) << np.uint16(12))
        | (cirrus_conf << np.uint16(14))
    )
    return np.where(fill == 1, np.uint16(1), out).astype(np.uint16)


# --------------------------------------------------------------------------------------------
# Reading the raw files
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class RawScene:
    """A real scene read and converted: Collection 2 DN per asset key, grid and metadata.

    Attributes
    ----------
    scene : RealScene
        Which scene of :data:`SCENES` this is.
    bands : dict of str to np.ndarray
        uint16 ``(rows, cols)`` Collection 2 DN per asset key (``"red"``, ``"qa_pixel"``...).
    epsg : int
        EPSG code of the grid's UTM zone.
    transform : tuple of float
        Affine transform ``(a, b, c, d, e, f)`` of the pixel edges.
    when : datetime.datetime
        Acquisition time (UTC).
    stem : str
        The file-name stem of its COGs.
    meta : dict
        The :func:`lakeml.offline.sample.item_dict` keywords (cloud cover, sun, scene id, ...
        ``None`` where unknown).

    Examples
    --------
    >>> rs = read_scene("LC08_L2SP_218074_20190114_02_T1")  # Brumadinho
    >>> rs.shape, rs.epsg, rs.when.isoformat()[:19], rs.meta["wrs"]
    ((300, 400), 32623, '2019-01-14T12:57:13', ('218', '074'))
    """

    scene: RealScene
    bands: dict[str, np.ndarray]
    epsg: int
    transform: tuple[float, ...]
    when: dt.datetime
    stem: str
    meta: dict[str, Any]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        first = next(iter(self.bands.values()))
        return int(first.shape[0]), int(first.shape[1])


def _suffix_keys(platform: str) -> dict[str, str]:
    """File suffix (``SR_B4``, ``ST_B10``, ``QA_PIXEL``) -> asset key, for ``platform``."""
    return {_file_suffix(platform, k): k for k in asset_definitions(platform)}


def _read_tif(data: bytes | Path) -> tuple[np.ndarray, Any, Any]:
    """(array of all bands, CRS or None, transform) of a GeoTIFF given as bytes or a path."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        if isinstance(data, Path):
            with rasterio.open(data) as ds:
                return ds.read(), ds.crs, ds.transform
        with rasterio.MemoryFile(data) as mem, mem.open() as ds:
            return ds.read(), ds.crs, ds.transform


def _meta(mtl: dict[str, str], wrs: tuple[str, str], category: str) -> dict[str, Any]:
    return {
        "cloud_cover": float(mtl["CLOUD_COVER"]),
        "cloud_cover_land": float(mtl["CLOUD_COVER_LAND"]),
        "sun": (float(mtl["SUN_AZIMUTH"]), float(mtl["SUN_ELEVATION"])),
        "wrs": wrs,
        "scene_id": mtl.get("LANDSAT_SCENE_ID"),
        "category": category,
    }


def _member_bytes(tar: tarfile.TarFile, name: str) -> bytes:
    """Return the content of the file ``name`` in ``tar``."""
    member = tar.extractfile(name)
    if member is None:  # a directory or a link, not a file
        raise ValueError(f"{name} in {tar.name!r} is not a regular file")
    return member.read()


def _read_c2_crop(scene: RealScene, path: Path) -> RawScene:
    keys = _suffix_keys(scene.platform)
    bands: dict[str, np.ndarray] = {}
    with tarfile.open(path) as tar:
        names = tar.getnames()
        (mtl_name,) = [n for n in names if n.endswith("_MTL.txt")]
        mtl = parse_mtl(io.TextIOWrapper(io.BytesIO(_member_bytes(tar, mtl_name))).read())
        for name in names:
            match = re.search(r"_((?:SR|ST)_B\d+)\.TIF$", name)
            if match is None:
                continue
            data, _, _ = _read_tif(_member_bytes(tar, name))
            if data.dtype != np.uint16 or data.shape[0] != 1:
                raise ValueError(
                    f"{name}: expected one uint16 band, got {data.dtype} x {len(data)}"
                )
            bands[keys[match.group(1)]] = data[0]
    epsg, transform, shape = mtl_grid(mtl)
    for key, arr in bands.items():
        if arr.shape != shape:
            raise ValueError(f"{path.name} {key}: shape {arr.shape} is not the MTL's {shape}")
    order = list(asset_definitions(scene.platform))
    bands = {k: bands[k] for k in order if k in bands}
    wrs = (f"{int(mtl['WRS_PATH']):03d}", f"{int(mtl['WRS_ROW']):03d}")
    return RawScene(
        scene, bands, epsg, transform, _mtl_time(mtl), mtl["LANDSAT_PRODUCT_ID"],
        _meta(mtl, wrs, mtl["COLLECTION_CATEGORY"]),
    )  # fmt: skip


def _c1_grid(crs: Any, transform: Any) -> tuple[int, tuple[float, ...]]:
    epsg = crs.to_epsg() if crs is not None else None
    if epsg is None or not 32601 <= epsg <= 32760:
        raise ValueError(f"expected a WGS 84 / UTM GeoTIFF, got {crs}")
    return int(epsg), tuple(float(v) for v in tuple(transform)[:6])


def _read_c1_geotiff(scene: RealScene, path: Path) -> RawScene:
    data, crs, transform = _read_tif(path)
    if data.dtype != np.int16 or data.shape[0] != 6:
        raise ValueError(f"{path.name}: expected 6 int16 bands (B2..B7), got {data.shape}")
    epsg, affine = _c1_grid(crs, transform)
    bands = {key: c2_dn_from_c1(data[i]) for i, key in enumerate(_C1_BANDS[1:])}
    path_row = re.match(r"LC08_(\d{3})(\d{3})_", path.name)
    assert path_row is not None
    when = dt.datetime.combine(dt.date.fromisoformat(scene.date), _PORTO_VELHO_TIME, dt.UTC)
    meta = {
        "cloud_cover": None,
        "cloud_cover_land": None,
        "sun": None,
        "wrs": path_row.groups(),
        "scene_id": None,
        "category": "T1",
        "description": (
            "Landsat Collection 2 Level-2 (lakeml real scene: converted from Landsat 8 "
            f"Collection 1 surface reflectance, {path.name}, a scikit-eo test crop; collection "
            "category (tier) not known, T1 assumed; acquisition time estimated (about 14:20 "
            "UTC); cloud cover, sun angles and scene id unknown)"
        ),
    }
    return RawScene(scene, bands, epsg, affine, when, scene.item_id, meta)


def _read_c1_espa(scene: RealScene, path: Path) -> RawScene:
    (mtl_path,) = path.glob("*_MTL.txt")
    mtl = parse_mtl(mtl_path.read_text())
    product = mtl["LANDSAT_PRODUCT_ID"]
    bands: dict[str, np.ndarray] = {}
    grid = None
    for n, key in enumerate(_C1_BANDS, 1):
        data, crs, transform = _read_tif(path / f"{product}_sr_band{n}.tif")
        this = _c1_grid(crs, transform)
        if grid is not None and this != grid:
            raise ValueError(f"{path.name}: sr_band{n} is on another grid")
        grid = this
        bands[key] = c2_dn_from_c1(data[0])
    qa, crs, transform = _read_tif(path / f"{product}_pixel_qa.tif")
    if _c1_grid(crs, transform) != grid:
        raise ValueError(f"{path.name}: pixel_qa is on another grid")
    bands["qa_pixel"] = c2_qa_from_c1(qa[0])
    assert grid is not None
    wrs = (f"{int(mtl['WRS_PATH']):03d}", f"{int(mtl['WRS_ROW']):03d}")
    meta = _meta(mtl, wrs, mtl["COLLECTION_CATEGORY"])
    meta["description"] = (
        "Landsat Collection 2 Level-2 (lakeml real scene: converted from the Landsat 8 "
        f"Collection 1 ESPA surface reflectance product {product}, a datacube-zarr test crop; "
        "qa_pixel from its Collection 1 pixel_qa; cloud cover and sun angles from its "
        "Collection 1 MTL)"
    )
    return RawScene(scene, bands, grid[0], grid[1], _mtl_time(mtl), scene.item_id, meta)


def read_scene(item_id: str, raw: Path | None = None) -> RawScene:
    """Read one real scene of :data:`SCENES`, converted to Collection 2 DN, with its grid.

    Parameters
    ----------
    item_id : str
        A key of :data:`SCENES`.
    raw : Path or None
        The folder holding the sources; None means :func:`raw_dir`.

    Returns
    -------
    RawScene
        Its bands (Collection 2 DN, uint16), grid and metadata.

    Raises
    ------
    ValueError
        If ``item_id`` is not a real scene, or a file does not hold what is expected (also
        when the Canberra folder is missing: it has no MTL).
    OSError
        If the scene's source file is missing from ``raw`` (see :func:`missing_sources`).

    Examples
    --------
    Liverpool, a Collection 2 crop read from the source checkout's ``tests/data``:

    >>> rs = read_scene("LC08_L2SP_204023_20200927_02_T1")
    >>> rs.epsg, rs.shape, list(rs.bands)[:2], rs.stem[:25]
    (32630, (267, 433), ['coastal', 'blue'], 'LC08_L2SP_204023_20200927')
    >>> dn = rs.bands["red"]
    >>> str(dn.dtype), round(float(dn.max()) * C2_SCALE + C2_OFFSET, 3)  # brightest red
    ('uint16', 0.646)
    """
    check_choice(item_id, SCENES, "real scene")
    scene = SCENES[item_id]
    path = (raw if raw is not None else raw_dir()) / scene.source
    reader = {"c2-crop": _read_c2_crop, "c1-geotiff": _read_c1_geotiff, "c1-espa": _read_c1_espa}
    return reader[scene.kind](scene, path)


# --------------------------------------------------------------------------------------------
# Writing COGs and items
# --------------------------------------------------------------------------------------------


def write_scenes(root: Path | str, raw: Path | None = None) -> list[dict[str, Any]]:
    """Write every scene of :data:`SCENES` as COGs under ``root/cogs/<id>/``; return the items.

    The items' hrefs are relative to ``root`` (like :func:`lakeml.offline.sample.items`); the caller
    writes them to the catalog (:func:`lakeml.offline.sample.build` does).

    Parameters
    ----------
    root : Path or str
        The catalog root (the sample directory).
    raw : Path or None
        The folder holding the sources; None means :func:`raw_dir`.

    Returns
    -------
    list of dict
        One Planetary-Computer-shaped STAC item (a dict) per scene, in :data:`SCENES` order.

    Raises
    ------
    ValueError, OSError
        As for :func:`read_scene`, if a source is missing or malformed.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> items = write_scenes(tmp.name)  # 34 COGs, about a second
    >>> len(items), len(list(Path(tmp.name, "cogs").rglob("*.TIF")))
    (5, 34)
    >>> liverpool = items[0]
    >>> liverpool["id"], liverpool["properties"]["datetime"]
    ('LC08_L2SP_204023_20200927_02_T1', '2020-09-27T11:10:50.314003Z')
    >>> liverpool["assets"]["red"]["href"].split("/")[-1], "qa_pixel" in liverpool["assets"]
    ('LC08_L2SP_204023_20200927_20201006_02_T1_SR_B4.TIF', False)
    >>> tmp.cleanup()
    """
    root = Path(root)
    out = []
    for item_id in SCENES:
        rs = read_scene(item_id, raw)
        folder = root / "cogs" / item_id
        folder.mkdir(parents=True, exist_ok=True)
        hrefs = {}
        for key, arr in rs.bands.items():
            name = f"{rs.stem}_{_file_suffix(rs.scene.platform, key)}.TIF"
            nodata = 1 if key == "qa_pixel" else 0
            write_cog(folder / name, arr, f"EPSG:{rs.epsg}", rs.transform, nodata)
            hrefs[key] = f"cogs/{item_id}/{name}"
        out.append(
            item_dict(
                item_id,
                rs.scene.platform,
                rs.when,
                footprint(rs.epsg, rs.transform, rs.shape),
                hrefs,
                epsg=rs.epsg,
                shape=rs.shape,
                transform=rs.transform,
                created=CREATED,
                **rs.meta,
            )
        )
    return out


__all__ = [
    "CREATED",
    "C1_C2_MAX_ERROR",
    "C1_NODATA",
    "C1_SCALE",
    "C2_OFFSET",
    "C2_SCALE",
    "SCENES",
    "RawScene",
    "RealScene",
    "c2_dn_from_c1",
    "c2_qa_from_c1",
    "footprint",
    "missing_sources",
    "mtl_grid",
    "parse_mtl",
    "raw_dir",
    "read_scene",
    "write_scenes",
]
