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

    Example
    -------
    >>> X = to_samples(ds, ["red", "nir08"])  # doctest: +SKIP
    >>> X.dims  # doctest: +SKIP
    ('sample', 'band')
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

    Example
    -------
    >>> image = from_samples(labels, like=ds)  # doctest: +SKIP
    >>> image.dims  # doctest: +SKIP
    ('y', 'x')
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

    Example
    -------
    >>> Z = standardize(X)  # doctest: +SKIP
    >>> Z.mean("sample").values.round(6)  # doctest: +SKIP
    array([0., 0.], dtype=float32)
    """
    if "band" not in samples.dims or "sample" not in samples.dims:
        raise ValueError(f"expected dims (sample, band), got {samples.dims}")
    mean = samples.mean("sample", skipna=True)
    std = samples.std("sample", skipna=True)
    out = (samples - mean) / std.where(std > 0, 1)
    out.attrs = dict(samples.attrs)
    return out.astype("float32").rename("standardized")
