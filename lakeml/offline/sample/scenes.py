"""The scenes: which missions fly over Walker Lake when, and the lake level on each date.

One summer scene per year 1984-2024 from the mission flying that year (Landsat 7 after
2003-05-31 with SLC-off gaps), on the missions' real 16-day cycles over WRS-2 path 042 (so the
1988 and 2017 ids are real Planetary Computer ids), some partly cloudy scenes, two years whose
only summer scene is too cloudy, and decoys around the original notebook's two searches
(:data:`EXPECTED_SEARCH`). Each scene's overpass time and sun angles, and the lake level on
its date (:data:`LAKE_LEVEL_FT`) and the river's inflow, follow from its :class:`SceneSpec`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import zlib

import numpy as np

from lakeml.offline.sample.missions import _MISSIONS

SEED = 20250704
"""The fixed seed every random field of the sample derives from."""


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """One scene of the sample: what is fixed before any pixel is drawn.

    The lake level follows from the date (:data:`LAKE_LEVEL_FT`); every random field of the
    scene from its :attr:`seed`.

    Parameters
    ----------
    platform : str
        ``landsat-5``, ``landsat-7``, ``landsat-8`` or ``landsat-9``.
    date : datetime.date
        Acquisition date (UTC).
    cloud : float
        Target cloud percentage of the scene (the item states the measured one).
    cloud_at : tuple of float or None
        The (row, col) fraction of the load window the clouds gather around (None: anywhere).
    role : str
        ``yearly`` (the summer scene of its year), ``clear`` (another near-cloudless scene of
        the original notebook's searches) or ``decoy`` (one those searches must exclude).

    Examples
    --------
    >>> spec = SceneSpec("landsat-8", dt.date(2017, 7, 18))
    >>> spec.item_id
    'LC08_L2SP_042033_20170718_02_T1'
    >>> spec.product_id
    'LC08_L2SP_042033_20170718_20200927_02_T1'
    >>> SceneSpec("landsat-9", dt.date(2023, 7, 11)).processed
    datetime.date(2023, 7, 21)
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
    """Return the mission whose scene the sample has for ``year`` (Landsat 7 in 1999-2002)."""
    if year <= 1998 or 2003 <= year <= 2011:
        return "landsat-5"
    if year <= 2012:
        return "landsat-7"
    if year <= 2021:
        return "landsat-8"
    return "landsat-9"


def _summer_date(platform: str, year: int) -> dt.date:
    """Pick a date on the mission's 16-day cycle between June 12 and September 12."""
    anchor = _CYCLE_ANCHOR[platform]
    start = dt.date(year, 6, 12)
    first = start + dt.timedelta(days=(anchor - start).days % 16)
    n = (dt.date(year, 9, 12) - first).days // 16 + 1
    k = zlib.crc32(f"{SEED}-{platform}-{year}".encode()) % n
    return first + dt.timedelta(days=16 * k)


def scene_specs() -> list[SceneSpec]:
    """Return all scenes of the sample, sorted by date.

    One summer scene per year 1984-2024 plus the extra scenes and decoys around the original
    notebook's 1988 and 2017 searches. Every date lies on its mission's real 16-day cycle over
    path 042 (:data:`_CYCLE_ANCHOR`).

    Returns
    -------
    list of SceneSpec
        48 scenes, oldest first.

    Examples
    --------
    >>> specs = scene_specs()
    >>> len(specs), specs[0].item_id
    (48, 'LT05_L2SP_042033_19840808_02_T1')
    >>> [s.item_id for s in specs if s.role == "decoy"]  # doctest: +NORMALIZE_WHITESPACE
    ['LT05_L2SP_042033_19880803_02_T1', 'LC08_L2SP_042033_20170531_02_T1',
     'LE07_L2SP_042033_20170726_02_T1', 'LC08_L2SP_042033_20170803_02_T1']
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
    """Return the acquisition time (UTC): around 10:00-10:30 local solar time here."""
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
    """Return the sun's (azimuth, elevation) in degrees (declination / hour-angle formula)."""
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
    """Return the lake level on ``date``: the mid-July ``levels`` interpolated in time."""
    years = sorted(levels)
    t = date.year + (date.timetuple().tm_yday - 196) / 365.25
    xs = np.array(years, dtype=float)
    ys = np.array([levels[y] for y in years])
    return float(np.interp(t, xs, ys))


def _inflow_at(date: dt.date) -> float:
    """Return the relative Walker River inflow of ``date``'s summer (:data:`_INFLOW`)."""
    return _INFLOW.get(date.year, 0.12)


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
