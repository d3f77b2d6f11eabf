"""Reshape: turn an image (bands over y, x) into a table of samples (pixel, band) and back.

Machine-learning estimators want a 2-D ``(n_samples, n_features)`` array; a scene is a stack
of 2-D band images. ``to_samples`` stacks ``y`` and ``x`` into one ``sample`` dimension and
``from_samples`` undoes it exactly, masked pixels included.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr


def to_samples(ds: xr.Dataset, bands: Sequence[str]) -> xr.DataArray:
    """Stack ``bands`` of ``ds`` into a ``(sample, band)`` DataArray; masked pixels stay NaN.

    The ``sample`` dimension is a MultiIndex of (y, x), so nothing about a pixel's place is lost.

    Parameters
    ----------
    ds : xr.Dataset
        Bands over ``(y, x)``, e.g. scaled reflectance from :func:`lakeml.load.load_scene`.
    bands : sequence of str
        Variables of ``ds`` to use as features, in this order (the ``band`` coordinate).

    Returns
    -------
    xr.DataArray
        float32 ``(sample, band)`` array named ``samples``, with the attrs of ``ds``; one row
        per pixel, row-major (``y`` first).

    Raises
    ------
    ValueError
        If a band is not in ``ds``, or ``ds`` has no ``y`` and ``x`` dimensions.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"red": (("y", "x"), [[0.1, 0.2, 0.3], [0.4, np.nan, 0.6]]),
    ...                  "nir08": (("y", "x"), [[0.5, 0.4, 0.3], [0.2, 0.1, 0.0]])},
    ...                 coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> X = to_samples(ds, ["red", "nir08"])
    >>> X.dims, X.shape, str(X.dtype)
    (('sample', 'band'), (6, 2), 'float32')
    >>> X.sel(y=15.0, x=45.0).values.astype(float).round(2).tolist()  # its red is masked
    [nan, 0.1]
    """
    bands = list(bands)
    missing = [b for b in bands if b not in ds.data_vars]
    if missing:
        raise ValueError(
            f"band {missing[0]!r} is not in the dataset; it has {', '.join(map(str, ds.data_vars))}"
        )
    if not {"y", "x"} <= set(ds.dims):
        raise ValueError(f"expected dims (y, x), got {tuple(ds.dims)}")
    arr = ds[bands].to_array("band").astype("float32")
    stacked = arr.stack(sample=("y", "x")).transpose("sample", "band")
    stacked.attrs = dict(ds.attrs)
    return stacked.rename("samples")


def from_samples(
    values: xr.DataArray, like: xr.Dataset | xr.DataArray | None = None
) -> xr.DataArray:
    """Unstack a ``sample`` dimension back to ``(y, x)`` (inverse of :func:`to_samples`).

    ``like`` (optional) gives the grid to reindex onto, so that the result has exactly its
    ``y``/``x`` coordinates, order and CRS coordinate.

    Parameters
    ----------
    values : xr.DataArray
        An array with a ``sample`` (y, x) MultiIndex dimension, e.g. cluster labels of the
        output of :func:`to_samples`; other dimensions (``band``) come first in the result.
    like : xr.Dataset or xr.DataArray, optional
        The grid to reindex onto (pixels missing from ``values`` become NaN).

    Returns
    -------
    xr.DataArray
        ``values`` with ``sample`` unstacked to ``(y, x)``, the last two dimensions.

    Raises
    ------
    ValueError
        If ``values`` has no ``sample`` dimension.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"red": (("y", "x"), [[0.1, 0.2, 0.3], [0.4, np.nan, 0.6]])},
    ...                 coords={"y": [45.0, 15.0], "x": [15.0, 45.0, 75.0]})
    >>> X = to_samples(ds, ["red"])
    >>> labels = xr.DataArray([0, 0, 1, 1, -1, 1], dims="sample", coords={"sample": X.sample})
    >>> image = from_samples(labels, like=ds)
    >>> image.dims, image.values.tolist()
    (('y', 'x'), [[0, 0, 1], [1, -1, 1]])
    """
    if "sample" not in values.dims:
        raise ValueError(f"expected a 'sample' dimension, got {values.dims}")
    out = values.unstack("sample")
    order = [d for d in values.dims if d != "sample"] + ["y", "x"]
    out = out.transpose(*order)
    if like is not None:
        out = out.reindex(y=like.y, x=like.x)
        if "spatial_ref" in like.coords:
            out = out.assign_coords(spatial_ref=like.spatial_ref)
    return out


def standardize(samples: xr.DataArray) -> xr.DataArray:
    """Scale each band to zero mean and unit variance over the valid (non-NaN) samples.

    One mean and standard deviation per band, so that a bright band (SWIR over desert) does not
    outweigh a dark one (blue) in the distances clustering relies on.

    Parameters
    ----------
    samples : xr.DataArray
        ``(sample, band)`` array, as from :func:`to_samples`; NaN rows are left out of the
        statistics and stay NaN.

    Returns
    -------
    xr.DataArray
        float32, same dims and coords, named ``standardized``. A constant band is only
        centred (divided by 1, not by its zero standard deviation).

    Raises
    ------
    ValueError
        If ``samples`` lacks the ``sample`` or ``band`` dimension.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> X = xr.DataArray([[0.0, 0.5], [0.1, 0.4], [0.3, 0.3], [np.nan, 0.2]],
    ...                  dims=("sample", "band"), coords={"band": ["red", "nir08"]})
    >>> Z = standardize(X)
    >>> Z.sel(band="red").values.astype(float).round(3).tolist()
    [-1.069, -0.267, 1.336, nan]
    >>> Z.std("sample").values.astype(float).round(6).tolist()
    [1.0, 1.0]
    """
    if "band" not in samples.dims or "sample" not in samples.dims:
        raise ValueError(f"expected dims (sample, band), got {samples.dims}")
    mean = samples.mean("sample", skipna=True)
    std = samples.std("sample", skipna=True)
    out = (samples - mean) / std.where(std > 0, 1)
    out.attrs = dict(samples.attrs)
    return out.astype("float32").rename("standardized")
