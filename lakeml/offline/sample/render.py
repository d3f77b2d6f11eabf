"""Rendering one scene: light, clouds and their shadows, fill, the sensor and ``qa_pixel``.

What a scene shows of the landscape (:mod:`lakeml.offline.sample.landscape`) on its date and at its
sun (:mod:`lakeml.offline.sample.scenes`), made as hard as the real thing by physics, not by tuning
to any water rule:

- Shallow margins: the lakebed shows through shallow water (attenuated twice over the depth),
  and shoreline pixels mix water and land linearly by their sub-pixel water fraction f (from
  the basin's slope across the pixel); a pixel is water in the truth when f >= 0.5. A turbid
  plume off the river mouth, large in wet years, fades into the lake.
- Terrain illumination from the elevation field and each scene's own sun: observed =
  reflectance x (direct x cos(i) / cos(sun zenith), zero in cast shadow, + diffuse
  fraction(band) x sky view + light from the neighbouring slopes).
- Cloud shadows projected from the clouds along the sun's rays (lit by skylight and the
  clouds' sides only); CFMask's flag (bit 4) misses about 3 in 10 of them and those over
  water, and is dilated by 3 pixels; the truth class map has the real shadow.
- Fill: the scene footprint cuts the north-east corner; Landsat 7 after 2003-05-31 has SLC-off
  wedge gaps.
- Sensor noise: OLI 12-bit with a signal-dependent noise; TM / ETM+ 8-bit counts (quantised in
  top-of-atmosphere reflectance), detector striping along the scan lines and more noise; a
  smooth residual of the atmospheric correction (largest in the blue).
- ``qa_pixel`` bit 7 (water) is made as CFMask makes it: the Fmask water test
  (:data:`FMASK_WATER`) on the rendered noisy pixels, not set on cloud, dilated cloud or fill.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lakeml.offline.sample.grid import LAKE_CENTRE, LOAD_WINDOW, RESOLUTION, SCENE_SHAPE
from lakeml.offline.sample.landscape import (
    _ATTENUATION,
    _SEDIMENT_A,
    _SEDIMENT_K,
    _TEMPERATURE,
    _TEXTURE_AMP,
    _WET_DARKENING,
    CLASSES,
    LEVEL_HIGH_STAND,
    _fbm,
    _spectra,
)
from lakeml.offline.sample.missions import (
    _BANDS,
    _MISSIONS,
    _OFFSET,
    _SCALE,
    _SLC_FAILURE,
    _ST_OFFSET,
    _ST_SCALE,
)
from lakeml.offline.sample.scenes import SceneSpec, _inflow_at, _level_at, _overpass, _sun

# fraction of the irradiance that is diffuse skylight, per band (clear desert summer sky;
# Rayleigh scattering makes it large in the blue, small in the SWIR)
_DIFFUSE = np.array([0.32, 0.27, 0.20, 0.15, 0.09, 0.05, 0.035], np.float32)
# reflectance of the surrounding slopes, for the light they reflect into a shaded pixel
_ADJACENT = np.array([0.08, 0.09, 0.12, 0.15, 0.20, 0.25, 0.21], np.float32)
# approximate top-of-atmosphere reflectance = path + transmittance x surface (for CFMask's test)
_PATH = np.array([0.085, 0.060, 0.035, 0.020, 0.008, 0.002, 0.001], np.float32)
_TRANSMIT = np.array([0.80, 0.84, 0.89, 0.92, 0.95, 0.97, 0.97], np.float32)

# sensor noise: TM and ETM+ are 8-bit (quantisation step in TOA reflectance per DN, noise in
# DN, detector striping in DN); OLI is 12-bit (noise floor and signal-dependent part)
_TM_STEP = np.array([0, 0.0014, 0.0029, 0.0025, 0.0031, 0.0020, 0.0029], np.float32)
_SENSOR: dict[str, dict[str, Any]] = {
    "landsat-5": {"noise_dn": 0.8, "stripe_dn": 0.3, "step": _TM_STEP},
    "landsat-7": {"noise_dn": 0.55, "stripe_dn": 0.15, "step": _TM_STEP * np.float32(0.8)},
}
_OLI_FLOOR = np.array([0.0005, 0.0004, 0.0003, 0.0003, 0.0003, 0.0003, 0.0003], np.float32)
_OLI_GAIN = 0.003
_HAZE_SD = 0.0012  # aerosol left after atmospheric correction, in blue; ~ lambda^-1.5

FMASK_WATER = "((ndvi < 0.01) & (nir < 0.11)) | ((ndvi < 0.1) & (nir < 0.05))"
"""The Fmask water test (Zhu and Woodcock 2012, Remote Sensing of Environment 118: 83-94),
as CFMask applies it to top-of-atmosphere reflectance: how ``qa_pixel`` bit 7 is made here."""


def _shift(mask: np.ndarray, drow: int, dcol: int, fill: Any = 0) -> np.ndarray:
    """Move ``mask`` by (drow, dcol) pixels, ``fill``-filled (no wrap-around)."""
    out = np.full_like(mask, fill)
    h, w = mask.shape
    src_r, dst_r = slice(max(-drow, 0), h - max(drow, 0)), slice(max(drow, 0), h - max(-drow, 0))
    src_c, dst_c = slice(max(-dcol, 0), w - max(dcol, 0)), slice(max(dcol, 0), w - max(-dcol, 0))
    out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def _footprint_cut(spec: SceneSpec) -> tuple[tuple[float, float], tuple[float, float]]:
    """Return two (row, col) points of the scene edge cutting the north-east corner."""
    rng = np.random.default_rng(spec.seed + 1)
    h, w = SCENE_SHAPE
    j1, j2 = rng.integers(-12, 13, 2)
    return (0.0, 0.70 * w + j1), (0.30 * h + j2, float(w))


def _fill_mask(spec: SceneSpec, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return True outside the scene footprint (north-east corner) and in SLC-off gaps."""
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
    """Return True where the terrain toward the sun rises above the sun (cast shadow)."""
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
    """Return the cloud shadow CFMask would flag.

    Dark enough, not over water (already dark in the NIR, its flood-fill test finds nothing
    there), some whole shadows missed (a failed cloud-shadow match), the rest dilated by 3
    pixels as CFMask does.
    """
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

    :func:`lakeml.offline.sample.build` calls it as ``render_scene(spec, land, levels)`` with
    ``land = _landscape()`` and ``levels = _levels(land)`` (computed once per worker). A scene
    takes about a second to draw; everything random in it derives from ``spec.seed``.

    Parameters
    ----------
    spec : SceneSpec
        The scene: platform, date, target cloud cover and where the clouds gather.
    land : dict of str to numpy.ndarray
        The static landscape on the scene grid (:data:`~lakeml.offline.sample.grid.SCENE_SHAPE`):
        elevations, slopes, land cover, river (``lakeml.offline.sample.landscape._landscape()``).
    levels : dict of int to float
        Mid-July lake level (m, in the landscape's elevations) per year
        (``lakeml.offline.sample.landscape._levels(land)``); the scene's level is interpolated to
        its date.

    Returns
    -------
    dict of str to object
        uint16 arrays per asset key (:func:`~lakeml.offline.sample.missions.asset_definitions` of
        the platform, 0 or 1 = fill), ``classes`` (uint8, :data:`CLASSES`), ``water`` (bool, the
        real lake: water fraction >= 0.5), ``water_kind`` (uint8: 0 land, 1 water, 2 turbid, 3 mixed
        pixel), ``water_fraction``, ``turbid``, ``level`` (m), ``cloud``/``dilated``/``shadow``
        (flagged in qa_pixel)/``shadow_true``/``fill`` masks, ``terrain_shadow``, ``sun`` (azimuth,
        elevation in degrees).

    Examples
    --------
    Drawing a scene takes too long for an example; what it draws for a Landsat 8 scene:

    >>> import datetime as dt
    >>> from lakeml.offline.sample import SceneSpec, asset_definitions
    >>> spec = SceneSpec("landsat-8", dt.date(2017, 7, 18))
    >>> list(asset_definitions(spec.platform))  # doctest: +NORMALIZE_WHITESPACE
    ['coastal', 'blue', 'green', 'red', 'nir08', 'swir16', 'swir22', 'lwir11', 'qa_pixel']
    >>> SCENE_SHAPE  # every array it returns has this shape
    (1160, 982)
    >>> # its fill (DN 0, qa_pixel 1): the scene footprint cuts the north-east corner
    >>> _fill_mask(spec, np.array([[0], [1]]), np.array([[0, 981]])).tolist()
    [[False, True], [False, True]]
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
