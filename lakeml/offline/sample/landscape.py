"""The landscape: terrain, land cover, lake levels and surface spectra, shared by every scene.

A long north-south lake in a desert basin between two ranges (west higher, the Wassuk Range),
on a bathymetry-like elevation field, so that the lake is ``elevation < level`` and a lower
level is a smaller lake of the same place. Around the lake: exposed lakebed (bright playa,
damp ``wet_playa`` just above the waterline and at seeps), a thin bright paleo-shoreline ring,
desert scrub, granitic rock on the ranges and dark volcanic rock on the eastern one, and green
riparian vegetation along the Walker River entering at the north end. The basin is calibrated
on the one published altitude-area pair of Walker Lake (USGS SIR 2007-5012, 2005).

The classes of the truth map (:data:`CLASSES`) and what each surface reflects per band (the
measured Walker Lake water/land reflectances of Landsat 5 TM 1988 and Landsat 8 OLI 2017, and
how water, moisture and sediment change them) are defined here too.
"""

from __future__ import annotations

import math

import numpy as np

from lakeml.offline.sample.grid import (
    EPSG,
    LAKE_CENTRE,
    LOAD_WINDOW,
    RESOLUTION,
    SCENE_SHAPE,
    SCENE_TRANSFORM,
)
from lakeml.offline.sample.scenes import LAKE_LEVEL_FT, SEED

LEVEL_HIGH_STAND = 1221.0
"""Elevation (m) below which the lakebed is bare playa (``shore``): the lake of the 1960s-70s,
about 15 m above the 1980s high stand; above it the old lakebed carries scrub again."""


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


def _smooth(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Draw smooth noise with unit standard deviation and features ``scale`` pixels wide."""
    from scipy import ndimage

    h, w = shape
    ch, cw = int(h / scale) + 4, int(w / scale) + 4
    coarse = rng.standard_normal((ch, cw)).astype(np.float32)
    fine = ndimage.zoom(coarse, scale, order=3, prefilter=False)[:h, :w]
    fine -= fine.mean()
    fine /= fine.std() + 1e-12
    return fine.astype(np.float32)


def _fbm(rng: np.random.Generator, shape: tuple[int, int], scales: tuple[float, ...]) -> np.ndarray:
    """Return fractal noise: :func:`_smooth` octaves at ``scales``, weights 0.6**i, unit SD."""
    out = np.zeros(shape, np.float32)
    for i, s in enumerate(scales):
        out += _smooth(rng, shape, s) * (0.6**i)
    out /= out.std()
    return out


def _hypsometry(area_km2: np.ndarray | float) -> np.ndarray | float:
    """Return the basin elevation (m) enclosing ``area_km2``: 130 km2 at 1199.6 m (2005)."""
    return 1172.0 + 27.6 * (np.asarray(area_km2) / 130.0) ** 1.3


# relief of the ranges at 3-5 km (fraction of their height, feature sizes in pixels) and their
# ridges and gullies at 0.2-0.5 km: mean slope ~17 degrees, ~13 % steeper than 30, ~3 % than 40
_RELIEF = (0.3, (100.0, 45.0))
_GULLY = (0.04, (16.0, 6.0))


def _landscape() -> dict[str, np.ndarray]:
    """Draw the static fields on the scene grid: elevations, slopes, land cover, river."""
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
    area: np.ndarray = np.empty(h * w, np.float32)  # flat, then (h, w)
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
    """Return the mid-July lake level (m, sample's elevations) per year of :data:`LAKE_LEVEL_FT`.

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

# diffuse attenuation of the lake's water (1/m; saline, with algae): how deep the bottom shows
_ATTENUATION = np.array([0.9, 0.7, 0.5, 0.8, 4.5, 80.0, 200.0], np.float32)
# suspended sediment: added reflectance A c / (c + K) at relative concentration c
_SEDIMENT_A = np.array([0.055, 0.075, 0.12, 0.16, 0.13, 0.012, 0.006], np.float32)
_SEDIMENT_K = np.array([1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0], np.float32)


def _spectra(platform: str) -> np.ndarray:
    """Return the per-class surface reflectance of ``platform``'s sensor (TM, ETM+ or OLI)."""
    if platform == "landsat-5":
        return _SPECTRA_TM
    if platform == "landsat-7":
        return _SPECTRA_ETM
    return _SPECTRA_OLI
