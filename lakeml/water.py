"""Water and change: find the water cluster, measure it, validate it, compare two dates.

Cluster labels are arbitrary numbers: which one is water changes from run to run and from
date to date. Here the water cluster is found by its spectrum (water is the cluster darkest in
near and short-wave infrared) and cross-checked at a point known to be lake.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import odc.geo.xr  # noqa: F401  (the .odc accessor)
import xarray as xr
from odc.geo.geom import point

CHANGE_CODES = {0: "no data", 1: "dry both", 2: "water lost", 3: "water gained", 4: "water both"}
"""Codes of :func:`change_map` (and of ``change.tif``)."""


def mndwi(ds: xr.Dataset) -> xr.DataArray:
    """Modified normalised difference water index ``(green - swir16) / (green + swir16)``.

    Example
    -------
    >>> ds = xr.Dataset({"green": ("x", [0.04, 0.10]), "swir16": ("x", [0.01, 0.25])})
    >>> mndwi(ds).round(2).values.tolist()
    [0.6, -0.43]
    """
    for band in ("green", "swir16"):
        if band not in ds:
            raise ValueError(f"MNDWI needs the {band!r} band; the dataset has {list(ds.data_vars)}")
    out = (ds.green - ds.swir16) / (ds.green + ds.swir16)
    return out.rename("mndwi")


def cluster_means(labels: xr.DataArray, index: xr.DataArray) -> dict[int, float]:
    """Mean of ``index`` per cluster label (labels < 0 are no data and ignored).

    Example
    -------
    >>> lab = xr.DataArray([0, 0, 1, -1])
    >>> cluster_means(lab, xr.DataArray([1.0, 3.0, 5.0, 9.0]))
    {0: 2.0, 1: 5.0}
    """
    lab = np.asarray(labels).ravel()
    val = np.asarray(index, dtype="float64").ravel()
    ok = (lab >= 0) & np.isfinite(val)
    if not ok.any():
        raise ValueError("every pixel is masked: there is no labelled pixel to look at")
    ids = np.unique(lab[ok])
    sums = np.bincount(lab[ok], weights=val[ok], minlength=ids.max() + 1)
    counts = np.bincount(lab[ok], minlength=ids.max() + 1)
    return {int(i): float(sums[i] / counts[i]) for i in ids}


def value_at(da: xr.DataArray, lon: float, lat: float) -> Any:
    """The value of ``da`` (y, x, with a CRS) at a lon/lat point; ``ValueError`` if outside.

    Example
    -------
    >>> value_at(water, -118.71, 38.70)  # doctest: +SKIP
    True
    """
    crs = da.odc.crs
    if crs is None:
        raise ValueError("the array has no CRS: load it with lakeml.load.load_scene")
    x, y = point(lon, lat, "EPSG:4326").to_crs(crs).coords[0]
    xs, ys = da.x.values, da.y.values
    half_x = abs(float(xs[1] - xs[0])) / 2 if xs.size > 1 else 15.0
    half_y = abs(float(ys[1] - ys[0])) / 2 if ys.size > 1 else 15.0
    if not (
        min(xs) - half_x <= x <= max(xs) + half_x and min(ys) - half_y <= y <= max(ys) + half_y
    ):
        raise ValueError(
            f"point lon={lon}, lat={lat} lies outside the scene; pick a point inside the bbox"
        )
    return da.sel(x=x, y=y, method="nearest").values.item()


def water_cluster(
    labels: xr.DataArray,
    ds: xr.Dataset,
    lake_point: tuple[float, float] | None = None,
) -> int:
    """The label of the water cluster: the one darkest in near and short-wave infrared.

    Water absorbs NIR and SWIR almost completely, so the cluster with the lowest mean
    ``nir08 + swir16`` reflectance is water. (The highest mean MNDWI is the textbook alternative,
    but snow and some clouds have a high MNDWI too.) With ``lake_point`` (lon, lat) the choice is
    cross-checked: the pixel there must carry the same label, or a ``ValueError`` explains.

    Example
    -------
    >>> water_cluster(labels, ds, lake_point=(-118.71, 38.70))  # doctest: +SKIP
    2
    """
    for band in ("nir08", "swir16"):
        if band not in ds:
            raise ValueError(
                f"finding water needs the {band!r} band; the dataset has {list(ds.data_vars)}"
            )
    means = cluster_means(labels, ds.nir08 + ds.swir16)
    best = min(means, key=means.get)
    if lake_point is not None:
        at_point = value_at(labels, *lake_point)
        if at_point != best:
            raise ValueError(
                f"the darkest cluster in NIR + SWIR is {best} (mean {means[best]:.3f}) but the "
                f"lake point {lake_point} is labelled {at_point}: the point is not on water in "
                "this scene, or the clustering did not separate water; check the point and the "
                "cloud mask, or try more clusters"
            )
    return best


def water_mask(labels: xr.DataArray, water_label: int) -> xr.DataArray:
    """Float mask: 1 water, 0 not water, NaN no data (label < 0). Keeps coords and CRS.

    Example
    -------
    >>> water_mask(xr.DataArray([0, 2, -1]), 2).values.tolist()
    [0.0, 1.0, nan]
    """
    out = (labels == water_label).astype("float32").where(labels >= 0)
    return out.rename("water")


def otsu_water(ds: xr.Dataset) -> xr.DataArray:
    """Water by an MNDWI threshold chosen with Otsu's method (scikit-image), as a float mask.

    Example
    -------
    >>> reference = otsu_water(ds)  # doctest: +SKIP
    """
    from skimage.filters import threshold_otsu

    index = mndwi(ds)
    values = np.asarray(index).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("every pixel is masked: no MNDWI value to threshold")
    threshold = float(threshold_otsu(values))
    out = (index > threshold).astype("float32").where(index.notnull())
    return out.rename("water").assign_attrs(threshold=threshold)


def _same_grid(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    """``b`` on ``a``'s grid: reprojected if both have a CRS, else checked to match.

    A mask is reprojected as float32, so the area outside its footprint becomes NaN (no data),
    not False (no water)."""
    if a.odc.crs is not None and b.odc.crs is not None:
        if a.odc.geobox == b.odc.geobox:
            return b
        return on_grid(b.astype("float32"), a)
    if a.shape != b.shape:
        raise ValueError(
            f"masks differ in shape {a.shape} vs {b.shape} and have no CRS to align them by: "
            "load both with lakeml.load.load_scene, or put them on one grid"
        )
    return b


def _pair(a: xr.DataArray, b: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    b = _same_grid(a, b)
    x, y = np.asarray(a, dtype="float32").ravel(), np.asarray(b, dtype="float32").ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise ValueError("the two masks share no valid pixel")
    return x[ok] > 0.5, y[ok] > 0.5


def iou(a: xr.DataArray, b: xr.DataArray) -> float:
    """Intersection over union of two water masks, over pixels valid in both.

    ``b`` is put on ``a``'s grid first if the grids differ.

    Example
    -------
    >>> iou(xr.DataArray([1.0, 1.0, 0.0]), xr.DataArray([1.0, 0.0, 0.0]))
    0.5
    """
    x, y = _pair(a, b)
    union = np.count_nonzero(x | y)
    return float(np.count_nonzero(x & y) / union) if union else 1.0


def kappa(a: xr.DataArray, b: xr.DataArray) -> float:
    """Cohen's kappa between two water masks, over pixels valid in both.

    Example
    -------
    >>> kappa(xr.DataArray([1.0, 0.0, 1.0, 0.0]), xr.DataArray([1.0, 0.0, 1.0, 0.0]))
    1.0
    """
    from sklearn.metrics import cohen_kappa_score

    x, y = _pair(a, b)
    if (x == x[0]).all() and (y == y[0]).all() and x[0] == y[0]:
        return 1.0
    return float(cohen_kappa_score(x, y))


def pixel_area_km2(da: xr.DataArray) -> float:
    """Area of one pixel in km2 from the array's grid (projected CRS in metres).

    Example
    -------
    >>> pixel_area_km2(water)  # doctest: +SKIP
    0.0009
    """
    gbox = da.odc.geobox
    if gbox is None or gbox.crs is None or not gbox.crs.projected:
        raise ValueError("the array needs a projected CRS (metres) to measure area")
    res = gbox.resolution
    return abs(res.x * res.y) / 1e6


def area_km2(mask: xr.DataArray) -> float:
    """Water area in km2: the count of water pixels (value 1) times the pixel area.

    Example
    -------
    >>> round(area_km2(water), 1)  # doctest: +SKIP
    152.3
    """
    return float(np.nansum(np.asarray(mask, dtype="float64") > 0.5)) * pixel_area_km2(mask)


def on_grid(da: xr.DataArray, like: xr.DataArray, resampling: str = "nearest") -> xr.DataArray:
    """Put ``da`` on the grid of ``like`` (odc-geo reprojection) when their grids differ.

    Example
    -------
    >>> after = on_grid(after, before)  # doctest: +SKIP
    """
    if da.odc.geobox == like.odc.geobox:
        return da
    return da.odc.reproject(like.odc.geobox, resampling=resampling)


def change_map(before: xr.DataArray, after: xr.DataArray) -> xr.DataArray:
    """Combine two water masks into change codes (see :data:`CHANGE_CODES`), uint8.

    ``after`` is put on ``before``'s grid first if the grids differ.

    Example
    -------
    >>> change_map(xr.DataArray([1.0, 1.0, 0.0, np.nan]), xr.DataArray([1.0, 0.0, 1.0, 0.0])).values
    array([4, 2, 3, 0], dtype=uint8)
    """
    after = _same_grid(before, after)
    b, a = np.asarray(before, dtype="float32"), np.asarray(after, dtype="float32")
    code = np.zeros(b.shape, dtype="uint8")
    ok = np.isfinite(a) & np.isfinite(b)
    wb, wa = b > 0.5, a > 0.5
    code[ok & ~wb & ~wa] = 1
    code[ok & wb & ~wa] = 2
    code[ok & ~wb & wa] = 3
    code[ok & wb & wa] = 4
    return before.copy(data=code).rename("change").assign_attrs(codes=str(CHANGE_CODES))


def change_areas(change: xr.DataArray) -> dict[str, float]:
    """Areas in km2 of water before, after, lost and gained from a :func:`change_map`.

    Example
    -------
    >>> change_areas(change)["lost_km2"]  # doctest: +SKIP
    38.1
    """
    px = pixel_area_km2(change)
    c = np.asarray(change)
    count = {k: int(np.count_nonzero(c == k)) for k in CHANGE_CODES}
    return {
        "before_km2": (count[2] + count[4]) * px,
        "after_km2": (count[3] + count[4]) * px,
        "lost_km2": count[2] * px,
        "gained_km2": count[3] * px,
        "change_km2": (count[3] - count[2]) * px,
    }


def lake_only(mask: xr.DataArray, lake_point: tuple[float, float]) -> xr.DataArray:
    """Keep only the connected water body that contains ``lake_point`` (lon, lat).

    Ponds, rivers and misclassified specks elsewhere become 0; no-data stays NaN.

    Example
    -------
    >>> lake = lake_only(water, (-118.71, 38.70))  # doctest: +SKIP
    """
    from scipy import ndimage

    values = np.asarray(mask, dtype="float32")
    parts, _ = ndimage.label(values > 0.5)
    labelled = mask.copy(data=parts)
    part = value_at(labelled, *lake_point)
    if part == 0:
        raise ValueError(f"the lake point {lake_point} is not on water in this mask")
    keep = (parts == part).astype("float32")
    keep[~np.isfinite(values)] = np.nan
    return mask.copy(data=keep)
