"""The lake over the years: its maximum extent, how much of it a year observed, the trend.

What notebook 05 teaches, on any (year, y, x) stack of water masks (1 water, 0 dry, NaN not
observed) and any table of areas per year; :func:`lakeml.workflows.timeseries.timeseries` builds
them from a catalog and calls these.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import xarray as xr


def lake_extent(water: xr.DataArray, min_years: int = 2) -> xr.DataArray:
    """Find the lake's maximum extent: pixels seen as water in at least ``min_years`` years.

    ``water`` is a (year, y, x) stack of 1 / 0 / NaN masks. Two years rather than one keep a
    one-off misclassified speck out; with fewer years than ``min_years``, one year suffices.

    Parameters
    ----------
    water : xr.DataArray
        The (year, y, x) water masks: 1 water, 0 dry, NaN not observed.
    min_years : int
        Years a pixel must be water in.

    Returns
    -------
    xr.DataArray
        Boolean (y, x), named ``lake_extent``.

    Examples
    --------
    Two years of a 1 x 3 scene: the first pixel is water in both, the third in one only:

    >>> stack = xr.DataArray(np.array([[[1, 0, 1]], [[1, np.nan, 0]]]), dims=("year", "y", "x"))
    >>> lake_extent(stack).values.tolist()
    [[True, False, False]]
    >>> lake_extent(stack.isel(year=[0])).values.tolist()  # one year observed: one suffices
    [[True, False, True]]
    """
    seen = int((water.notnull().any(("y", "x"))).sum())
    need = max(1, min(min_years, seen))
    return ((water > 0.5).sum("year") >= need).rename("lake_extent")


def observed_fraction(water: xr.DataArray, extent: xr.DataArray) -> xr.DataArray:
    """Measure, per year, the fraction of the lake's ``extent`` that is observed (not NaN).

    Parameters
    ----------
    water : xr.DataArray
        The (year, y, x) water masks: 1 water, 0 dry, NaN not observed.
    extent : xr.DataArray
        The lake's maximum extent (y, x), as :func:`lake_extent` returns it.

    Returns
    -------
    xr.DataArray
        The fraction, 0-1, per year.

    Raises
    ------
    ValueError
        The extent is empty (no year saw any water).

    Examples
    --------
    The second year's scene misses half of the lake (a cloud, or a Landsat 7 scan-line gap):

    >>> stack = xr.DataArray(np.array([[[1, 0]], [[np.nan, 1]]]), dims=("year", "y", "x"))
    >>> observed_fraction(stack, xr.DataArray([[True, True]], dims=("y", "x"))).values.tolist()
    [1.0, 0.5]
    """
    n = int(extent.sum())
    if n == 0:
        raise ValueError("the lake's extent is empty: no year saw any water")
    return (water.notnull() & extent).sum(("y", "x")) / n


def trend(table: pd.DataFrame) -> dict[str, float]:
    """Theil-Sen trend of ``water_km2`` over the complete years, with honest uncertainty.

    Uses rows whose ``status`` is ``ok`` (not partial, missing or failed), in year order; a
    gap (a year missing or left out) simply joins its neighbours.

    - **Slope**: Theil-Sen (Theil 1950; Sen 1968), the median of the slopes between every
      pair of years (:func:`scipy.stats.theilslopes`); a wet year moves it much less than it
      moves least squares. The intercept is ``median(area) - slope * median(year)``.
    - **Mann-Kendall test** of a monotonic trend: ``S`` = sum over pairs of years of the sign
      of the change; ``tau`` = Kendall's tau of year and area (:func:`scipy.stats.kendalltau`,
      ``S / (n (n - 1) / 2)`` without ties). For independent years ``Var(S) = [n (n - 1)
      (2n + 5) - sum_t t (t - 1) (2t + 5)] / 18`` (``t``: sizes of groups of equal areas).
    - **Serial correlation** (Yue & Wang 2004): the lake's level carries over from one year
      to the next, so the years are not independent. Detrend with the Sen slope
      (``area - slope * year``), take the lag-1 autocorrelation ``r1`` of the detrended
      values *of the fitted years in order* (``sum (d_t - d̄)(d_t+1 - d̄) / sum (d_t - d̄)²``,
      as ``statsmodels.tsa.stattools.acf``; with gaps, neighbours are the adjacent fitted
      years), and inflate the variance for an AR(1) process: ``Var*(S) = Var(S) n / n*``,
      ``n / n* = 1 + 2 sum_{k=1}^{n-1} (1 - k/n) r1^k = 1 + 2 [r1^(n+1) - n r1² + (n - 1)
      r1] / [n (1 - r1)²]`` (for large ``n``, ``n* = n (1 - r1) / (1 + r1)``). Only a
      positive ``r1`` is used: the correction widens the uncertainty, never narrows it.
      (pymannkendall 1.4.3's ``yue_wang_modification_test`` differs, checked on the example
      below: its ``lag=1`` stops the sum at ``k = 1``, ``1 + 2 (1 - 1/n) r1``, a smaller
      correction, and it detrends by position, not by year, so a gap changes ``r1`` (0.144
      here, not 0.227): ``n* = 6.39``, p = 0.0357; by default it sums every lag of the sample
      autocorrelation, negative ones too, which here narrows the variance (``n / n* = 0.21``,
      p = 2.3e-07).)
      The corrected p-value is two-sided, from ``Z = (S - sign S) / sqrt(Var*(S))``.
    - **95 % confidence interval of the slope** (Sen 1968, as in
      :func:`scipy.stats.theilslopes`, but with ``Var*(S)``): with the ``N'`` pairwise
      slopes in increasing order, ``C = z_0.975 sqrt(Var*(S))``, ``M1 = (N' - C) / 2``,
      ``M2 = (N' + C) / 2``, the interval is (slope ``M1``, slope ``M2 + 1``), ranks rounded
      to the nearest as scipy does; with ``r1 <= 0`` it is scipy's interval.

    References: Theil, H. (1950), A rank-invariant method of linear and polynomial regression
    analysis, *Proc. K. Ned. Akad. Wet.* 53, 386-392. Sen, P. K. (1968), Estimates of the
    regression coefficient based on Kendall's tau, *J. Am. Stat. Assoc.* 63, 1379-1389. Yue,
    S. and Wang, C. Y. (2004), The Mann-Kendall test modified by effective sample size to
    detect trend in serially correlated hydrological series, *Water Resour. Manag.* 18,
    201-218. Implementations read: scipy's ``theilslopes``; pymannkendall's ``sens_slope``
    and ``yue_wang_modification_test``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row a year, with columns ``year``, ``water_km2`` and ``status``.

    Returns
    -------
    dict
        ``km2_per_decade`` (the Theil-Sen slope), ``ci_low_km2_per_decade`` and
        ``ci_high_km2_per_decade`` (its 95 % interval, allowing for serial correlation),
        ``intercept_km2`` (km2 at year 0), ``mk_tau``, ``mk_p`` (the corrected p-value),
        ``lag1_autocorrelation`` (``r1``), ``effective_years`` (``n*``) and ``years`` (the
        number of years fitted, ``n``). All NaN but ``years`` with fewer than 2 years;
        ``mk_p``, ``r1``, ``n*`` and the interval NaN with fewer than 4; the interval also NaN
        when it would reach beyond the smallest or largest pairwise slope (``M1 < 1/2``).

    Examples
    --------
    The partly observed 1990 and the missing 1992 are left out; two wet years in a row (1995,
    1996) make neighbouring years alike (``r1`` > 0), so 8 years count as about 5:

    >>> table = pd.DataFrame({
    ...     "year": [1990, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999],
    ...     "water_km2": [153.6, 148.9, np.nan, 140.4, 137.4, 146.0, 144.1, 133.2, 130.8, 128.1],
    ...     "status": ["partial", "ok", "missing", "ok", "ok", "ok", "ok", "ok", "ok", "ok"],
    ... })
    >>> t = trend(table)
    >>> t["km2_per_decade"], t["ci_low_km2_per_decade"], t["ci_high_km2_per_decade"]
    (-24.75, -53.3333, 12.3333)
    >>> t["mk_tau"], t["mk_p"], t["lag1_autocorrelation"], t["effective_years"], t["years"]
    (-0.7143, 0.05435, 0.2271, 5.36, 8)

    Taken as independent, the same years would give the interval -44.75 to -9.6 km2 per
    decade (scipy's) and p = 0.014 (:func:`scipy.stats.kendalltau`): a "significant" decline
    that the lake's memory does not support. With one complete year there is no line:

    >>> trend(table.head(3))["km2_per_decade"]
    nan
    """
    from scipy import stats

    rows = table[(table["status"] == "ok") & table["water_km2"].notna()].sort_values("year")
    n = len(rows)
    out = dict.fromkeys(
        (
            "km2_per_decade",
            "ci_low_km2_per_decade",
            "ci_high_km2_per_decade",
            "intercept_km2",
            "mk_tau",
            "mk_p",
            "lag1_autocorrelation",
            "effective_years",
        ),
        math.nan,
    )
    out["years"] = n
    if n < 2:
        return out
    x = rows["year"].to_numpy(float)
    y = rows["water_km2"].to_numpy(float)
    sen = stats.theilslopes(y, x)
    out["km2_per_decade"] = round(float(sen.slope) * 10, 4)
    out["intercept_km2"] = round(float(sen.intercept), 4)
    out["mk_tau"] = round(float(stats.kendalltau(x, y).statistic), 4)
    if n < 4:
        return out
    i, j = np.triu_indices(n, 1)  # i < j, years increasing and distinct
    dy = y[j] - y[i]
    s = float(np.sign(dy).sum())
    _, ties = np.unique(y, return_counts=True)
    var_s = (n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18
    d = y - sen.slope * x
    d = d - d.mean()
    r1 = float((d[:-1] * d[1:]).sum() / (d * d).sum()) if (d * d).sum() > 0 else math.nan
    r = r1 if r1 > 0 else 0.0  # widen only (NaN, a perfect line: no correction)
    inflation = 1 + 2 * (r ** (n + 1) - n * r**2 + (n - 1) * r) / (n * (1 - r) ** 2)
    var_star = var_s * inflation
    z = (s - np.sign(s)) / math.sqrt(var_star)
    out["mk_p"] = float(f"{2 * stats.norm.sf(abs(z)):.4g}")
    out["lag1_autocorrelation"] = round(r1, 4)
    out["effective_years"] = round(n / inflation, 2)
    slopes = np.sort(dy / (x[j] - x[i]))
    c = stats.norm.ppf(0.975) * math.sqrt(var_star)
    low, high = round((len(slopes) - c) / 2) - 1, round((len(slopes) + c) / 2)  # 0-based
    if low >= 0 and high < len(slopes):
        out["ci_low_km2_per_decade"] = round(float(slopes[low]) * 10, 4)
        out["ci_high_km2_per_decade"] = round(float(slopes[high]) * 10, 4)
    return out


def read_extent(path: str | os.PathLike[str]) -> xr.DataArray:
    """Read a lake's maximum extent from a GeoTIFF: 1 lake, any other value not.

    The reference a series judges its years against when it is given one (see
    :func:`lakeml.workflows.timeseries.timeseries`'s ``extent``): the ``lake_extent.tif`` an
    earlier ``lakeml timeseries`` run wrote, or any other raster of the lake's maximum extent
    with a CRS (a lake polygon rasterised, a global surface-water layer's maximum extent...).

    Parameters
    ----------
    path : str or os.PathLike
        The GeoTIFF (one band, with a CRS).

    Returns
    -------
    xr.DataArray
        Boolean (y, x) named ``lake_extent``, with the file's CRS and grid.

    Raises
    ------
    BadInput
        The file is missing, not a raster, has more than one band or no CRS
        (:func:`lakeml.checks.check_extent_file`).

    Examples
    --------
    >>> import tempfile
    >>> from lakeml.files import write_cog
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_cog(f"{tmp}/lake_extent.tif", np.array([[1, 0], [1, 1]], "uint8"),
    ...                      "EPSG:32611", (30, 0, 353000, 0, -30, 4284000))
    ...     extent = read_extent(path)
    >>> extent.values.tolist(), extent.odc.crs.epsg
    ([[True, False], [True, True]], 32611)
    """
    import odc.geo.xr  # noqa: F401  (the .odc accessor)
    import rasterio
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import wrap_xr

    from lakeml.checks import check_extent_file

    with rasterio.open(check_extent_file(path)) as src:
        data = src.read(1)
        grid = GeoBox(src.shape, src.transform, src.crs)
    return wrap_xr(data == 1, grid).rename("lake_extent")


__all__ = ["lake_extent", "observed_fraction", "read_extent", "trend"]
