"""References: the field's own water classifiers, to judge a water mask against.

A clustering finds *a* water cluster; whether it is right needs an answer nobody on this project
made. This module holds four independent, published ones, all run on the same scaled surface
reflectance that :func:`lakeml.load.load_scene` returns (dims ``y, x``; float32 ``blue, green,
red, nir08, swir16, swir22``, NaN where masked; a boolean ``valid``; usually ``qa_pixel``):

- :func:`dswe`: the USGS Dynamic Surface Water Extent tests (Jones 2019), the ESPA code's
  thresholds; :func:`dswe_water` turns its classes into a mask;
- :func:`wofs`: Geoscience Australia's Water Observations from Space decision tree (Mueller et
  al. 2016), run by GA's own ``wofs`` package;
- :func:`mndwi_otsu`: MNDWI thresholded by Otsu's method (Xu 2006; Otsu 1979);
- :func:`qa_water`: the USGS's water bit in Collection 2 ``qa_pixel``.

:func:`consensus` keeps the pixels where the references agree, :func:`references` computes them
all on the input's grid, and :func:`agreement` scores a candidate mask against each.

Every mask is float32: 1 water, 0 not water, NaN no data (``valid`` False or a band NaN).
Coordinates (and so the CRS, the ``spatial_ref`` coordinate) are those of the input.
"""

from __future__ import annotations

import functools
import gc
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
import xarray as xr

from lakeml.checks import UnusableData, require_bands
from lakeml.load import qa_flag
from lakeml.water import _pair, iou, mndwi

DSWE_BANDS = ("blue", "green", "red", "nir08", "swir16", "swir22")
"""The six reflectance bands DSWE and WOfS read (TM bands 1-5 and 7, OLI bands 2-7)."""

DSWE_TESTS = ("mndwi", "mbsr", "awesh", "pswt1", "pswt2")
"""DSWE's five tests, in the order of the code's digits from the ones digit up: test ``k``
(1-based) sets the digit worth ``10 ** (k - 1)`` (see :func:`dswe_tests`)."""

DSWE_CLASSES = {
    0: "not water",
    1: "water, high confidence",
    2: "water, moderate confidence",
    3: "potential wetland",
    4: "low confidence water or wetland (partial surface water, aggressive)",
    9: "snow (from the qa_pixel snow bit)",
    255: "no data",
}
"""Values of :func:`dswe` (the ESPA ``dswe_intrpd`` band). ESPA's 9 marks cloud, cloud shadow
and snow from the QA band: in a scene from :func:`lakeml.load.load_scene` cloud and shadow are
already no data (255), so 9 is snow, where the scene has a ``qa_pixel`` band."""

DSWE_MASKED = 9
""":func:`dswe`'s class for pixels the QA band flags as snow (ESPA's cloud/shadow/snow class)."""

DSWE_NODATA = 255
""":func:`dswe`'s no-data value (ESPA ``DSWE_NO_DATA_VALUE``)."""

DSWE_TESTS_NODATA = -9999
""":func:`dswe_tests`'s no-data value (ESPA ``TESTS_NO_DATA_VALUE``)."""

DSWE_RECODE = {
    **dict.fromkeys((0, 1, 10, 100, 1000), 0),
    **dict.fromkeys((1111, 10111, 11011, 11101, 11110, 11111), 1),
    **dict.fromkeys((111, 1011, 1101, 1110, 10011, 10101, 10110, 11001, 11010, 11100), 2),
    11000: 3,
    **dict.fromkeys((11, 101, 110, 1001, 1010, 1100, 10000, 10001, 10010, 10100), 4),
}
"""The 5-digit test code to class, as in ESPA ``dswe/src/dswe.c`` (all 32 codes)."""

REFERENCE_MASKS = ("dswe_water", "wofs", "mndwi_otsu")
"""The independent references :func:`references` takes the :func:`consensus` of."""

# The recode table indexed by the tests as bits (test k -> bit k-1): a 32-entry lookup.
_RECODE_BY_BITS = np.array(
    [DSWE_RECODE[int(f"{b:05b}")] for b in range(32)],  # "10011" read in base 10 = the code
    dtype="uint8",
)


def _usable(ds: xr.Dataset, bands: tuple[str, ...]) -> xr.DataArray:
    """Return True where ``valid`` (if present) holds and every band in ``bands`` is a number."""
    ok = ds[bands[0]].notnull()
    for band in bands[1:]:
        ok = ok & ds[band].notnull()
    if "valid" in ds:
        ok = ok & ds["valid"].astype(bool)
    return ok


def _normalised_difference(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    """Compute ``(a - b) / (a + b)``; NaN where ``a + b`` is 0 (so the C code's tests fail)."""

    def nd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x - y) / (x + y)

    return xr.apply_ufunc(nd, a, b, dask="parallelized", output_dtypes=[a.dtype])


def _dswe_test_flags(
    ds: xr.Dataset,
    wigt: float,
    awgt: float,
    pswt1_mndwi: float,
    pswt1_nir: float,
    pswt1_swir1: float,
    pswt1_ndvi: float,
    pswt2_mndwi: float,
    pswt2_blue: float,
    pswt2_nir: float,
    pswt2_swir1: float,
    pswt2_swir2: float,
) -> tuple[list[xr.DataArray], xr.DataArray]:
    """Run the five DSWE tests: boolean arrays, and where the pixel has data."""
    require_bands(ds, DSWE_BANDS, "DSWE")
    blue, green, red = ds.blue, ds.green, ds.red
    nir, swir1, swir2 = ds.nir08, ds.swir16, ds.swir22
    index = _normalised_difference(green, swir1)  # MNDWI
    mbsrv = green + red
    mbsrn = nir + swir1
    awesh = blue + 2.5 * green - 1.5 * mbsrn - 0.25 * swir2
    ndvi = _normalised_difference(nir, red)
    tests = [
        index > wigt,
        mbsrv > mbsrn,
        awesh > awgt,
        (index > pswt1_mndwi) & (swir1 < pswt1_swir1) & (nir < pswt1_nir) & (ndvi < pswt1_ndvi),
        (index > pswt2_mndwi)
        & (blue < pswt2_blue)
        & (swir1 < pswt2_swir1)
        & (swir2 < pswt2_swir2)
        & (nir < pswt2_nir),
    ]
    return tests, _usable(ds, DSWE_BANDS)


def dswe_tests(
    ds: xr.Dataset,
    wigt: float = 0.124,
    awgt: float = 0.0,
    pswt1_mndwi: float = -0.44,
    pswt1_nir: float = 0.15,
    pswt1_swir1: float = 0.09,
    pswt1_ndvi: float = 0.7,
    pswt2_mndwi: float = -0.5,
    pswt2_blue: float = 0.10,
    pswt2_nir: float = 0.25,
    pswt2_swir1: float = 0.30,
    pswt2_swir2: float = 0.10,
) -> xr.DataArray:
    """Run the five DSWE tests on each pixel: ESPA's 5-digit code (its diagnostic band).

    Each test that passes sets one decimal digit (:data:`DSWE_TESTS`, ones digit first):

    1. ``1``: MNDWI ``(green - swir16) / (green + swir16) > wigt``;
    2. ``10``: MBSRV ``green + red`` > MBSRN ``nir08 + swir16``;
    3. ``100``: AWEsh ``blue + 2.5 green - 1.5 MBSRN - 0.25 swir22 > awgt``;
    4. ``1000``, partial surface water 1: ``MNDWI > pswt1_mndwi``, ``swir16 < pswt1_swir1``,
       ``nir08 < pswt1_nir`` and NDVI ``(nir08 - red) / (nir08 + red) < pswt1_ndvi``;
    5. ``10000``, partial surface water 2: ``MNDWI > pswt2_mndwi``, ``blue < pswt2_blue``,
       ``swir16 < pswt2_swir1``, ``swir22 < pswt2_swir2`` and ``nir08 < pswt2_nir``.

    Test ``k`` passed where ``(code // 10 ** (k - 1)) % 10 == 1``.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled surface reflectance with ``blue, green, red, nir08, swir16, swir22`` (and
        ``valid``), as from :func:`lakeml.load.load_scene`.
    wigt, awgt, pswt1_mndwi, pswt1_nir, pswt1_swir1, pswt1_ndvi : float
        The thresholds of tests 1-4, named as in ESPA (``swir1`` is ``swir16``, ``swir2`` is
        ``swir22``). Defaults are ESPA's for Landsat 4-9 surface reflectance
        (``dswe/src/get_args.c``), its integer band thresholds (reflectance x 10000: 1500,
        900, 1000, 2500, 3000, 1000) divided by 10000. ``wigt`` is 0.124 as in the code (the
        ESPA algorithm description's text says 0.0124: a typo there).
    pswt2_mndwi, pswt2_blue, pswt2_nir, pswt2_swir1, pswt2_swir2 : float
        The thresholds of test 5, likewise.

    Returns
    -------
    xr.DataArray
        int16 codes 0 to 11111, :data:`DSWE_TESTS_NODATA` (-9999) where the pixel has no data;
        the input's coordinates.

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the six bands.

    References
    ----------
    Jones, J.W. (2019). Improved Automated Detection of Subpixel-Scale Inundation - Revised
    Dynamic Surface Water Extent (DSWE) Partial Surface Water Tests. Remote Sensing 11(4), 374.
    https://doi.org/10.3390/rs11040374. USGS ESPA ``espa-surface-water-extent``,
    ``dswe/src/dswe.c`` (tests and recode) and ``dswe/src/get_args.c`` (defaults).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> px = {"blue": [0.04, 0.15, 0.03], "green": [0.05, 0.20, 0.03],
    ...       "red": [0.03, 0.25, 0.025], "nir08": [0.02, 0.30, 0.05],
    ...       "swir16": [0.01, 0.35, np.nan], "swir22": [0.005, 0.30, 0.03]}
    >>> ds = xr.Dataset({b: (("y", "x"), np.array([v], "float32")) for b, v in px.items()},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0]})
    >>> dswe_tests(ds).values.tolist()  # clear water, bright soil, no data
    [[11111, 0, -9999]]
    """
    tests, ok = _dswe_test_flags(
        ds, wigt, awgt, pswt1_mndwi, pswt1_nir, pswt1_swir1, pswt1_ndvi,
        pswt2_mndwi, pswt2_blue, pswt2_nir, pswt2_swir1, pswt2_swir2,
    )  # fmt: skip
    # five tests, so never sum()'s start value 0
    code = cast(xr.DataArray, sum(t.astype("int16") * np.int16(10**k) for k, t in enumerate(tests)))
    out = code.where(ok, DSWE_TESTS_NODATA).astype("int16")
    return out.rename("dswe_tests").assign_attrs(
        long_name="DSWE test code (ESPA diagnostic band)",
        tests=", ".join(f"{10**k}: {name}" for k, name in enumerate(DSWE_TESTS)),
        nodata=DSWE_TESTS_NODATA,
    )


def dswe(ds: xr.Dataset, **thresholds: float) -> xr.DataArray:
    """Interpreted DSWE classes (ESPA's ``dswe_intrpd`` band) from the five tests.

    The 5-digit code of :func:`dswe_tests` is recoded by ESPA's table (:data:`DSWE_RECODE`):
    0 not water, 1 water (high confidence), 2 water (moderate confidence), 3 potential
    wetland, 4 low confidence water or wetland (the aggressive partial-surface-water class),
    :data:`DSWE_NODATA` (255) no data. See :data:`DSWE_CLASSES`.

    Pixels that the ``qa_pixel`` band (when ``ds`` has one) flags as snow get class
    :data:`DSWE_MASKED` (9), as in ESPA, where class 9 is cloud, cloud shadow or snow from the
    QA band: DSWE's tests call bright snow water (moderate confidence). Without a QA band snow
    is classified like any pixel. Cloud and cloud shadow are already no data in a scene from
    :func:`lakeml.load.load_scene`.

    Not done here (ESPA's second, filtered band ``dswe_pshsccss``): the percent-slope and
    hillshade filters, which need a DEM and set steep or terrain-shaded water to 0.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled surface reflectance (see :func:`dswe_tests`), with ``qa_pixel`` if any.
    **thresholds : float
        Any of :func:`dswe_tests`' thresholds, e.g. ``wigt=0.124``.

    Returns
    -------
    xr.DataArray
        uint8 classes on the input's grid.

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the six bands.
    TypeError
        If a threshold's name is not one of :func:`dswe_tests`' parameters.

    References
    ----------
    Jones, J.W. (2019), Remote Sensing 11(4), 374 (see :func:`dswe_tests`); USGS ESPA
    ``espa-surface-water-extent``, ``dswe/src/dswe.c``, the recode ``switch``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> px = {"blue": [0.04, 0.15, 0.03], "green": [0.05, 0.20, 0.03],
    ...       "red": [0.03, 0.25, 0.025], "nir08": [0.02, 0.30, 0.05],
    ...       "swir16": [0.01, 0.35, 0.04], "swir22": [0.005, 0.30, 0.03]}
    >>> ds = xr.Dataset({b: (("y", "x"), np.array([v], "float32")) for b, v in px.items()},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0]})
    >>> dswe(ds).values.tolist()  # clear water, bright soil, a dark shadow (tests 4 and 5)
    [[1, 0, 3]]
    """
    tests, ok = _dswe_test_flags(ds, **{**_DSWE_DEFAULTS, **_check_thresholds(thresholds)})
    bits = sum(t.astype("uint8") * np.uint8(1 << k) for k, t in enumerate(tests))
    classes = xr.apply_ufunc(
        _RECODE_BY_BITS.take, bits, dask="parallelized", output_dtypes=[np.uint8]
    )
    out = classes.where(ok, DSWE_NODATA).astype("uint8")
    if "qa_pixel" in ds:
        out = out.where(~(qa_flag(ds["qa_pixel"], "snow") & ok), np.uint8(DSWE_MASKED))
    return out.rename("dswe").assign_attrs(
        long_name="DSWE interpreted classes",
        flag_values=list(DSWE_CLASSES),
        flag_meanings="; ".join(DSWE_CLASSES.values()),
        nodata=DSWE_NODATA,
    )


_DSWE_DEFAULTS: dict[str, Any] = {
    name: parameter.default
    for name, parameter in inspect.signature(dswe_tests).parameters.items()
    if name != "ds"
}


def _check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(thresholds) - set(_DSWE_DEFAULTS))
    if unknown:
        raise TypeError(
            f"unknown DSWE threshold {', '.join(unknown)}: choose from {', '.join(_DSWE_DEFAULTS)}"
        )
    return dict(thresholds)


def dswe_water(
    ds: xr.Dataset | xr.DataArray, classes: tuple[int, ...] = (1, 2), **thresholds: float
) -> xr.DataArray:
    """Make a DSWE water mask: 1 where the DSWE class is in ``classes``, 0 elsewhere, NaN no data.

    The default, high and moderate confidence water (1, 2), is the usual "open water" reading;
    add 3 and 4 to count wetlands and partial (subpixel) water.

    Parameters
    ----------
    ds : xr.Dataset or xr.DataArray
        Scaled surface reflectance (DSWE is run with ``thresholds``), or classes already
        computed by :func:`dswe`.
    classes : tuple of int
        The DSWE classes that count as water (0-4).
    **thresholds : float
        Passed to :func:`dswe` when ``ds`` is a Dataset.

    Returns
    -------
    xr.DataArray
        float32 mask named ``dswe_water`` on the input's grid; NaN where DSWE has no data or
        the class is 9 (snow).

    Raises
    ------
    ValueError
        If a class is not 0-4, or DSWE cannot run on ``ds`` (see :func:`dswe`).
    TypeError
        If thresholds are given with classes already computed, or are unknown.

    References
    ----------
    Jones, J.W. (2019), Remote Sensing 11(4), 374 (see :func:`dswe_tests`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> px = {"blue": [0.04, 0.15, 0.03], "green": [0.05, 0.20, 0.03],
    ...       "red": [0.03, 0.25, 0.025], "nir08": [0.02, 0.30, 0.05],
    ...       "swir16": [0.01, 0.35, np.nan], "swir22": [0.005, 0.30, 0.03]}
    >>> ds = xr.Dataset({b: (("y", "x"), np.array([v], "float32")) for b, v in px.items()},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0]})
    >>> dswe_water(ds).values.tolist()
    [[1.0, 0.0, nan]]
    """
    bad = [c for c in classes if c not in DSWE_CLASSES or c in (DSWE_NODATA, DSWE_MASKED)]
    if bad:
        raise ValueError(f"DSWE classes are 0-4; got {bad}")
    if isinstance(ds, xr.Dataset):
        labels = dswe(ds, **thresholds)
    elif thresholds:
        raise TypeError("thresholds apply when DSWE is run: pass the Dataset, not its classes")
    else:
        labels = ds
    tested = (labels != DSWE_NODATA) & (labels != DSWE_MASKED)
    out = labels.isin(list(classes)).astype("float32").where(tested)
    return out.rename("dswe_water").assign_attrs(
        long_name="DSWE water", dswe_classes=",".join(map(str, classes))
    )


def _collect_young(generation: int = 0) -> int:
    """``gc.collect`` of the youngest generation only (what wofs's tree calls, see below)."""
    return gc.collect(0)


@functools.cache
def wofs_classifier() -> Callable[[xr.DataArray], xr.DataArray]:
    """``wofs.classifier.classify``, minus the full garbage collection in the middle of its tree.

    GA's ``_classify`` (``wofs/classifier.py``, wofs 1.6.8) deletes its temporary masks half
    way down the tree and then calls ``gc.collect()``. The ``del`` has already freed them
    (reference counting frees arrays; the collector is only for reference cycles), while a
    full collection walks every object in the process with the interpreter lock held: 0.3 s a
    scene in a script, more in a notebook's kernel with HoloViews, Bokeh and dask loaded, where
    it was a quarter of notebook 05's 21-scene series (52 s with it, 38 s without, measured).

    This runs GA's own function code (the same decision tree, the same thresholds) with its
    ``gc`` name bound to a namespace whose ``collect`` collects the youngest generation only.
    The ``wofs`` module itself is left as it is. If a later wofs release moves ``_classify``
    or stops calling ``gc``, GA's ``classify`` is returned unchanged. Built once per process.

    Returns
    -------
    callable
        ``classify(stack)``: a ``(band, y, x)`` DataArray (numpy or dask) to a ``(y, x)``
        uint8 DataArray, 128 water, 0 dry; the same output as ``wofs.classifier.classify``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from wofs.classifier import classify as ga_classify
    >>> rng = np.random.default_rng(0)
    >>> stack = xr.DataArray(rng.uniform(0, 3000, (6, 4, 5)).astype("float32"),
    ...                      dims=("band", "y", "x"), coords={"y": range(4), "x": range(5)})
    >>> bool((wofs_classifier()(stack) == ga_classify(stack)).all())
    True
    """
    import dask.array as da
    from wofs import boilerplate, classifier

    tree = getattr(classifier, "_classify", None)
    if not isinstance(tree, types.FunctionType) or "gc" not in tree.__code__.co_names:
        return cast(Callable[[xr.DataArray], xr.DataArray], classifier.classify)
    young = types.SimpleNamespace(collect=_collect_young)
    quiet = types.FunctionType(
        tree.__code__, {**vars(classifier), "gc": young}, tree.__name__, tree.__defaults__
    )

    def classify(images: Any, float64: bool = False) -> Any:
        # wofs.classifier.classify, with the quiet tree
        if isinstance(images, da.Array):
            return da.map_blocks(quiet, images.rechunk({0: -1}), drop_axis=0, dtype="uint8")
        return quiet(images, float64)

    return cast(Callable[[xr.DataArray], xr.DataArray], boilerplate.simple_numpify(classify))


def wofs(ds: xr.Dataset) -> xr.DataArray:
    """Water by Geoscience Australia's WOfS decision tree, run by GA's ``wofs`` package.

    ``wofs.classifier.classify`` takes a (band, y, x) array of the six TM-equivalent bands
    (blue, green, red, nir, swir1, swir2; TM bands 1-5 and 7) as surface reflectance scaled by
    10000, float32, and returns 128 for water, 0 for dry. It was trained on Australian
    NBAR (BRDF-corrected) reflectance; here it is fed the scene's surface reflectance x 10000.
    The tree calls a no-data pixel dry, so no data is set to NaN afterwards. WOfS's other
    masks (terrain shadow, high slope, low sun, clouds) are not applied.

    Importing ``wofs.classifier`` imports ``dask.array`` (about 1 s in a fresh process, nothing
    when lakeml already loaded dask); it is imported when this function is first called.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled surface reflectance with ``blue, green, red, nir08, swir16, swir22`` (numpy or
        dask backed), and ``valid`` if any.

    Returns
    -------
    xr.DataArray
        float32 mask named ``wofs`` on the input's grid (lazy if the input is dask-backed).

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the six bands.

    References
    ----------
    Mueller, N., Lewis, A., Roberts, D., et al. (2016). Water observations from space: Mapping
    surface water from 25 years of Landsat imagery across Australia. Remote Sensing of
    Environment 174, 341-352. https://doi.org/10.1016/j.rse.2015.11.003. Code:
    GeoscienceAustralia/wofs, ``wofs/classifier.py``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> px = {"blue": [0.04, 0.15, 0.03], "green": [0.05, 0.20, 0.03],
    ...       "red": [0.03, 0.25, 0.025], "nir08": [0.02, 0.30, 0.05],
    ...       "swir16": [0.01, 0.35, np.nan], "swir22": [0.005, 0.30, 0.03]}
    >>> ds = xr.Dataset({b: (("y", "x"), np.array([v], "float32")) for b, v in px.items()},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0]})
    >>> wofs(ds).values.tolist()  # clear water, bright soil, no data
    [[1.0, 0.0, nan]]
    """
    require_bands(ds, DSWE_BANDS, "WOfS")
    classify = wofs_classifier()
    template = ds[DSWE_BANDS[0]]
    stack = ds[list(DSWE_BANDS)].to_array("band").transpose("band", "y", "x")
    stack = stack.astype("float32") * np.float32(10000)
    labels = classify(stack)  # (y, x) on stack's y/x, numpy or dask; NaN pixels come out dry
    water = (labels.data == 128).astype("float32")
    out = template.transpose("y", "x").copy(data=water).where(_usable(ds, DSWE_BANDS))
    return out.rename("wofs").assign_attrs(long_name="WOfS water (Mueller et al. 2016)")


def qa_water(ds: xr.Dataset) -> xr.DataArray:
    """Read the USGS water flag (bit 7 of Collection 2 ``qa_pixel``) as a float mask.

    NaN where the pixel is not ``valid`` or is fill (bit 0).

    Parameters
    ----------
    ds : xr.Dataset
        A scene with ``qa_pixel`` (and ``valid`` if any).

    Returns
    -------
    xr.DataArray
        float32 mask named ``qa_water`` on the input's grid.

    Raises
    ------
    ValueError
        If ``ds`` has no ``qa_pixel`` (some real crops ship without one): there is no USGS
        water flag to read. :func:`references` then leaves ``qa_water`` out.

    References
    ----------
    USGS, Landsat 8-9 Collection 2 Level 2 Science Product Guide, ``QA_PIXEL`` bit 7 (water).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> qa = np.array([[128 | 64, 64, 128 | 64]], "uint16")
    >>> ds = xr.Dataset({"qa_pixel": (("y", "x"), qa),
    ...                  "valid": (("y", "x"), np.array([[True, True, False]]))},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0]})
    >>> qa_water(ds).values.tolist()
    [[1.0, 0.0, nan]]
    """
    if "qa_pixel" not in ds:
        raise ValueError(
            "the dataset has no qa_pixel band, so no USGS water flag: load the scene with its "
            "qa_pixel asset, or use the other references (dswe_water, wofs, mndwi_otsu)"
        )
    qa = ds["qa_pixel"]
    ok = ~qa_flag(qa, "fill")
    if "valid" in ds:
        ok = ok & ds["valid"].astype(bool)
    out = qa_flag(qa, "water").astype("float32").where(ok)
    return out.rename("qa_water").assign_attrs(long_name="USGS qa_pixel water flag (bit 7)")


def mndwi_otsu(ds: xr.Dataset) -> xr.DataArray:
    """Call water where MNDWI exceeds a threshold chosen by Otsu's method over the scene.

    The threshold (``threshold`` attribute) is scikit-image's ``threshold_otsu`` of the
    valid pixels' MNDWI (:func:`lakeml.water.mndwi`) within [-1, 1]. Collection 2 surface
    reflectance can be slightly negative (dark shadows): a negative band puts MNDWI far outside
    [-1, 1] (e.g. -1468 on a real scene), and a few such outliers would drag Otsu's threshold
    with them; they are still classified, by the threshold found without them. The threshold
    adapts to each scene but assumes the histogram has two modes, water and land: a scene with
    almost no water has one, and Otsu then splits the land (see :func:`consensus`).

    Parameters
    ----------
    ds : xr.Dataset
        Scaled reflectance with ``green`` and ``swir16`` (and ``valid`` if any).

    Returns
    -------
    xr.DataArray
        float32 mask named ``mndwi_otsu`` on the input's grid, NaN where MNDWI is; attribute
        ``threshold`` (float).

    Raises
    ------
    ValueError
        If ``ds`` lacks a band, or no pixel has an MNDWI value in [-1, 1].

    References
    ----------
    Xu, H. (2006). Modification of normalised difference water index (NDWI) to enhance open
    water features in remotely sensed imagery. International Journal of Remote Sensing 27(14),
    3025-3033. Otsu, N. (1979). A threshold selection method from gray-level histograms. IEEE
    Transactions on Systems, Man, and Cybernetics 9(1), 62-66.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> green = np.array([[0.05, 0.06, 0.05, 0.20, 0.22, 0.21]], "float32")
    >>> swir16 = np.array([[0.01, 0.01, 0.02, 0.35, 0.40, np.nan]], "float32")
    >>> ds = xr.Dataset({"green": (("y", "x"), green), "swir16": (("y", "x"), swir16)},
    ...                 coords={"y": [15.0], "x": 15.0 + 30.0 * np.arange(6)})
    >>> water = mndwi_otsu(ds)
    >>> water.values.tolist(), round(water.attrs["threshold"], 2)  # water above -0.27
    ([[1.0, 1.0, 1.0, 0.0, 0.0, nan]], -0.27)
    """
    from skimage.filters import threshold_otsu

    index = mndwi(ds)
    if "valid" in ds:
        index = index.where(ds["valid"].astype(bool))
    # dask: the bands are read once, for the threshold and the mask (a no-op on numpy)
    index = index.persist()
    values = np.asarray(index).ravel()
    values = values[np.isfinite(values) & (np.abs(values) <= 1)]
    if values.size == 0:
        raise UnusableData("every pixel is masked: no MNDWI value in [-1, 1] to threshold")
    threshold = float(threshold_otsu(values))
    out = (index > threshold).astype("float32").where(index.notnull())
    return out.rename("mndwi_otsu").assign_attrs(
        long_name="MNDWI > Otsu threshold", threshold=threshold
    )


def consensus(*masks: xr.DataArray) -> xr.DataArray:
    """Keep the pixels where every mask agrees: 1 all water, 0 all dry, NaN otherwise.

    A pixel is NaN where any mask is NaN (no data) or where the masks disagree, so the result
    holds only the pixels that all the independent references classify alike: the pixels a
    candidate mask can be scored on with little doubt about the truth. Its coverage (the
    fraction of non-NaN pixels) says how much of the scene that is.

    Parameters
    ----------
    *masks : xr.DataArray
        Float water masks on one grid: > 0.5 water, <= 0.5 dry, NaN no data.

    Returns
    -------
    xr.DataArray
        float32 mask named ``consensus`` on the masks' grid.

    Raises
    ------
    ValueError
        If no mask is given or the masks are not on one grid (same ``y``/``x``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = xr.DataArray([1.0, 1.0, 0.0, np.nan], dims="x")
    >>> b = xr.DataArray([1.0, 0.0, 0.0, 0.0], dims="x")
    >>> consensus(a, b).values.tolist()
    [1.0, nan, 0.0, nan]
    """
    if not masks:
        raise ValueError("consensus needs at least one mask")
    try:
        aligned = xr.align(*masks, join="exact")
    except ValueError as err:
        raise ValueError(
            f"the masks are not on one grid ({err}): compute them from one dataset, or put "
            "them on one grid with lakeml.water.on_grid"
        ) from None
    wet = dry = None
    for mask in aligned:
        known = mask.notnull()
        is_wet, is_dry = known & (mask > 0.5), known & (mask <= 0.5)
        wet = is_wet if wet is None else wet & is_wet
        dry = is_dry if dry is None else dry & is_dry
    out = xr.where(wet, np.float32(1), xr.where(dry, np.float32(0), np.float32(np.nan)))
    return out.astype("float32").rename("consensus")


def references(ds: xr.Dataset, **thresholds: float) -> xr.Dataset:
    """Compute every reference on the input's grid, in one Dataset.

    Variables: ``dswe`` (uint8 classes, :func:`dswe`), ``dswe_water``, ``wofs``, ``mndwi_otsu``,
    ``qa_water`` (only when ``ds`` has ``qa_pixel``) and ``consensus`` of the three
    independent spectral references :data:`REFERENCE_MASKS` (``qa_water`` is left out of it,
    as it is missing from some scenes). Coordinates, CRS included, are those of ``ds``.

    Parameters
    ----------
    ds : xr.Dataset
        Scaled surface reflectance, as from :func:`lakeml.load.load_scene`.
    **thresholds : float
        DSWE thresholds (see :func:`dswe_tests`).

    Returns
    -------
    xr.Dataset
        The masks named above; attribute ``references``: their names, comma-separated.

    Raises
    ------
    ValueError
        If ``ds`` lacks one of the six bands, or no pixel has an MNDWI value.
    TypeError
        If a threshold's name is unknown.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> px = {"blue": [0.04, 0.15, 0.03, 0.04], "green": [0.05, 0.20, 0.06, 0.05],
    ...       "red": [0.03, 0.25, 0.04, 0.03], "nir08": [0.02, 0.30, 0.30, 0.02],
    ...       "swir16": [0.01, 0.35, 0.15, 0.01], "swir22": [0.005, 0.30, 0.07, 0.005]}
    >>> ds = xr.Dataset({b: (("y", "x"), np.array([v], "float32")) for b, v in px.items()},
    ...                 coords={"y": [15.0], "x": [15.0, 45.0, 75.0, 105.0]})
    >>> refs = references(ds)
    >>> list(refs.data_vars)
    ['dswe', 'dswe_water', 'wofs', 'mndwi_otsu', 'consensus']
    >>> refs.consensus.values.tolist()  # water, soil, vegetation, water
    [[1.0, 0.0, 0.0, 1.0]]
    """
    classes = dswe(ds, **thresholds)
    out = {
        "dswe": classes,
        "dswe_water": dswe_water(classes),
        "wofs": wofs(ds),
        "mndwi_otsu": mndwi_otsu(ds),
    }
    if "qa_pixel" in ds:
        out["qa_water"] = qa_water(ds)
    out["consensus"] = consensus(*(out[name] for name in REFERENCE_MASKS)).assign_attrs(
        long_name="pixels where all references agree", of=",".join(REFERENCE_MASKS)
    )
    return xr.Dataset(out, attrs={"references": ",".join(out)})


def _scores(mask: xr.DataArray, reference: xr.DataArray) -> dict[str, float]:
    try:
        x, y = _pair(mask, reference)  # reference on mask's grid, pixels valid in both
    except UnusableData:  # no pixel valid in both
        nan = float("nan")
        keys = ("iou", "producers_accuracy", "users_accuracy", "water_fraction")
        return {**dict.fromkeys(keys, nan), "reference_water_fraction": nan, "pixels": 0}
    both = int(np.count_nonzero(x & y))
    return {
        "iou": iou(mask, reference),
        "producers_accuracy": both / int(np.count_nonzero(y)) if y.any() else float("nan"),
        "users_accuracy": both / int(np.count_nonzero(x)) if x.any() else float("nan"),
        "water_fraction": float(x.mean()),
        "reference_water_fraction": float(y.mean()),
        "pixels": int(x.size),
    }


def agreement(
    mask: xr.DataArray, refs: xr.Dataset | Mapping[str, xr.DataArray]
) -> dict[str, dict[str, float]]:
    """Score a candidate water mask against each reference mask and their consensus.

    For each float mask in ``refs`` (e.g. the output of :func:`references`; the ``dswe``
    classes are skipped), over the pixels valid in both:

    - ``iou``: intersection over union (:func:`lakeml.water.iou`);
    - ``producers_accuracy``: the share of the reference's water the candidate finds (recall);
    - ``users_accuracy``: the share of the candidate's water that is reference water
      (precision);
    - ``water_fraction`` and ``reference_water_fraction``: the candidate's and the
      reference's water fractions;
    - ``pixels``: how many pixels were compared.

    An accuracy is NaN when its denominator is empty (no water in the reference, or in the
    candidate); every score is NaN, with ``pixels`` 0, when no pixel is valid in both. The
    reference is put on the candidate's grid first if the grids differ (as ``iou`` does).

    Parameters
    ----------
    mask : xr.DataArray
        The candidate water mask: 1 water, 0 not water, NaN no data.
    refs : xr.Dataset or mapping of str to xr.DataArray
        The reference masks by name; non-float variables (``dswe``) are skipped.

    Returns
    -------
    dict of str to dict
        Per reference name, the scores above (floats; ``pixels`` an int).

    Raises
    ------
    ValueError
        If a reference differs in shape from ``mask`` and they lack a CRS to align them.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> candidate = xr.DataArray([1.0, 1.0, 0.0, 0.0], dims="x")
    >>> refs = {"wofs": xr.DataArray([1.0, 0.0, 0.0, np.nan], dims="x")}
    >>> scores = agreement(candidate, refs)["wofs"]
    >>> scores["iou"], scores["producers_accuracy"], scores["users_accuracy"], scores["pixels"]
    (0.5, 1.0, 0.5, 3)
    """
    out = {}
    for name, reference in refs.items():
        if name == "dswe" or not np.issubdtype(reference.dtype, np.floating):
            continue
        out[str(name)] = _scores(mask, reference)
    return out


__all__ = [
    "DSWE_CLASSES",
    "DSWE_MASKED",
    "DSWE_RECODE",
    "DSWE_TESTS",
    "agreement",
    "consensus",
    "dswe",
    "dswe_tests",
    "dswe_water",
    "mndwi_otsu",
    "qa_water",
    "references",
    "wofs",
]
