"""Cluster: spectral clustering of a million pixels in about a second, with dask.

This is the Nystrom spectral clustering of ``dask_ml.cluster.SpectralClustering`` (Fowlkes et
al. 2004; the maths follows dask-ml step by step), rewritten to stream over the samples in a few
large blocks instead of building the ``n_components x n`` kernel matrix:

1. Pick ``m = n_components`` landmark rows among the valid (finite) samples, drawn from
   ``random_state`` exactly as dask-ml draws them (a seed for its k-means first, then
   ``rng.choice`` over the rows it is given), so both pick the same landmarks for the same input.
2. Pass 1, one task per block: the rbf kernel ``exp(-gamma * |x - l|^2)`` (float32) between the
   block and the landmarks, summed over the valid rows: dask-ml's degrees ``a + b1`` (float32
   over slices of 8192 rows, float64 across slices and blocks).
3. The ``m x m`` part in float64: ``A2 = d1 A d1`` with ``d1 = 1 / sqrt(a + b1)``, its SVD
   ``U S V'``, and the projection ``W = d1 U[:, :k] / sqrt(S[:k])`` (``m x k``).
4. The embedding of a sample ``x`` is the row-normalised ``K(x, L) @ W``: dask-ml's ``V2`` row,
   then its Eq. 4 normalisation. dask-ml also multiplies each row by ``d2`` and by
   ``sqrt(m / n)``; both are positive factors per row, which the row normalisation cancels
   exactly, so they are not computed (dask-ml's ``d2``, built through ``pinv(A)``, can even turn
   negative and give NaN rows). For the same reason a row whose kernel underflows to ~0 for
   every landmark (a far outlier) is recomputed with the kernel rescaled by
   ``exp(gamma * min |x - l|^2)``: a finite embedding instead of 0 / 0. A row whose embedding
   is still below :data:`RESOLVED` of its kernel's weight (it sits near landmarks the first
   ``n_clusters`` eigenvectors do not reach: too large a gamma) has a direction set by
   rounding alone, different on every CPU: that is a clear ``ValueError``.
5. k-means (scikit-learn, k-means++, ``n_init`` restarts) on the embedding of a seeded random
   subsample of the valid rows; pass 2, one task per block, embeds every row and assigns it to
   the nearest centre.

Rows with a NaN (or any non-finite value) are masked: never landmarks, not in the sums, label
-1. The samples are cast to float32, rechunked into a few blocks of whole rows and persisted once
(``n x p x 4`` bytes), so an expensive upstream graph (reading COGs) runs once; the valid-row mask
comes back to pick the landmarks, then steps 2-5 run as one dask graph (one more round trip).
Work runs on dask's current scheduler: the current ``distributed.Client`` if there is one (none
is ever created), else threads. Peak memory is about the persisted samples plus one
``8192 x n_components`` float32 slice per thread: never the ``n_components x n`` kernel.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask
import dask.array as da
import numpy as np
import xarray as xr
from dask.delayed import Delayed, delayed
from scipy.linalg import svd
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from lakeml.checks import UnusableData, check_n_clusters

CHUNK_ROWS = 262_144
"""Target rows per dask block: few large blocks keep the scheduler's overhead negligible."""

KMEANS_SAMPLES = 50_000
"""Rows of the embedding k-means is fitted on (a seeded random subsample of the valid rows)."""

_STEP = 8192
"""Rows per slice inside a block: keeps each ``rows x n_components`` kernel slice in cache."""

RESOLVED = 1e-12
"""Smallest embedding norm, relative to ``max_j |W_j| * sum_j k_j`` (the size of the row's
kernel-weighted landmark weights), whose direction is taken as the data's: the float64 SVD
leaves eigenvector entries of about 1e-16 of the largest where the eigenvectors do not reach
(seen 4e-16 on two moons at gamma 100), so below 1e-12 a row's direction is within a few
thousand roundings of noise, and which label it gets would depend on the CPU's BLAS kernels."""

_UNREACHED = (
    "{n} samples have a spectral embedding too small to have a direction (below "
    "lakeml.cluster.RESOLVED of their kernel's weight): gamma is so large that the landmarks' "
    "kernel falls apart into more than n_clusters unconnected groups, and the first "
    "n_clusters eigenvectors do not reach the landmarks near these samples: use a smaller "
    "gamma (default 1 / n_features), more n_components or more clusters"
)


@dataclass(frozen=True)
class NystromModel:
    """A fitted Nystrom spectral embedding (what :func:`fit_nystrom` returns).

    Attributes
    ----------
    landmark_index : np.ndarray
        Positions of the ``n_components`` landmark rows in the input (sorted).
    landmarks : np.ndarray
        The landmark rows, float32, shape ``(n_components, n_features)``.
    gamma : float
        The rbf kernel coefficient used.
    weights : np.ndarray
        float32 ``(n_components, n_clusters)`` projection ``d1 U[:, :k] / sqrt(S[:k])``.
    eigenvalues : np.ndarray
        The ``n_clusters`` leading singular values of ``A2`` (dask-ml's ``eigenvalues_``).
    n_valid : int
        Number of valid (finite) rows the degrees were summed over.
    seed : int
        The integer seed drawn first from ``random_state`` (dask-ml's k-means seed).

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> X[3] = np.nan  # a masked row: never a landmark, not in the sums
    >>> model = fit_nystrom(X, n_clusters=2, n_components=20)
    >>> model.landmarks.shape, model.weights.shape, model.n_valid, round(model.gamma, 4)
    ((20, 3), (20, 2), 199, 0.3333)
    >>> bool(np.allclose(X[model.landmark_index], model.landmarks)), 3 in model.landmark_index
    (True, False)
    """

    landmark_index: np.ndarray
    landmarks: np.ndarray
    gamma: float
    weights: np.ndarray
    eigenvalues: np.ndarray
    n_valid: int
    seed: int


def _kernel_rhs(landmarks: np.ndarray, gamma: float) -> np.ndarray:
    """``R`` such that ``[x, |x|^2, 1] @ R = -gamma * |x - l_j|^2``, float32 ``(p + 2, m)``."""
    lm = landmarks.astype(np.float64)
    rhs = np.vstack(
        [2 * gamma * lm.T, np.full((1, len(lm)), -gamma), -gamma * (lm * lm).sum(1)[None, :]]
    )
    return rhs.astype(np.float32)


def _neg_scaled_sqdist(x: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``-gamma * |x_i - l_j|^2`` for float32 rows ``x``, as one small matrix product."""
    n, p = x.shape
    aug = np.empty((n, p + 2), dtype=np.float32)
    aug[:, :p] = x
    np.einsum("ij,ij->i", x, x, out=aug[:, p])
    aug[:, p + 1] = 1.0
    return aug @ rhs  # float32 rounding may leave a tiny positive value: harmless in exp


def _valid_rows(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x).all(axis=1)


def _degree_block(x: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Sum over the valid rows of ``x`` of the rbf kernel to each landmark, shape ``(1, m)``."""
    ok = _valid_rows(x)
    if not ok.all():
        x = x[ok]
    total = np.zeros(rhs.shape[1], dtype=np.float64)
    for start in range(0, len(x), _STEP):
        k = _neg_scaled_sqdist(x[start : start + _STEP], rhs)
        np.exp(k, out=k)
        total += np.ones(len(k), dtype=np.float32) @ k
    return total[None, :]


def _embed_rows(x: np.ndarray, rhs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-normalised spectral embedding of finite rows ``x`` (float32, ``rows x k``).

    Rows whose float32 embedding is small (``|v| <= RESOLVED * max|W_j| * m``, the most a
    kernel of ``m`` landmarks can weigh) are redone in float64 with the kernel rescaled to
    a maximum of 1 (a positive factor per row, which the normalisation cancels), then tested
    against :data:`RESOLVED` with their own kernel's sum: a row below it is NaN.
    """
    out = np.empty((len(x), weights.shape[1]), dtype=np.float32)
    w_max = float(np.sqrt((weights.astype(np.float64) ** 2).sum(axis=1)).max())
    small2 = (RESOLVED * w_max * len(rhs.T)) ** 2
    for start in range(0, len(x), _STEP):
        xs = x[start : start + _STEP]
        k = _neg_scaled_sqdist(xs, rhs)
        np.exp(k, out=k)
        v = k @ weights
        norm2 = (v * v).sum(axis=1)
        small = ~(norm2 > small2)  # float32 may underflow here: redo these in float64
        if small.any():
            k64 = _neg_scaled_sqdist(xs[small], rhs).astype(np.float64)
            k64 -= k64.max(axis=1, keepdims=True)
            np.exp(k64, out=k64)
            v64 = k64 @ weights.astype(np.float64)
            norm64 = np.sqrt((v64 * v64).sum(axis=1))
            resolved = norm64 > RESOLVED * w_max * k64.sum(axis=1)
            emb64 = np.full_like(v64, np.nan)
            emb64[resolved] = v64[resolved] / norm64[resolved, None]
            v[small] = emb64
            norm2[small] = 1.0
        v /= np.sqrt(norm2)[:, None]
        out[start : start + len(v)] = v
    return out


def _embed_block(x: np.ndarray, rhs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    ok = _valid_rows(x)
    out = np.full((len(x), weights.shape[1]), np.nan, dtype=np.float32)
    out[ok] = _embed_rows(x[ok], rhs, weights)
    unresolved = int(np.isnan(out[ok, 0]).sum())
    if unresolved:  # the lazy embedding can only say so when it is computed
        raise UnusableData(_UNREACHED.format(n=unresolved))
    return out


_UNRESOLVED = -2
"""Label of a valid row with no resolved embedding: :func:`spectral_clustering` counts these
after the graph has run and raises, so no worker logs a traceback for it."""


def _label_block(
    x: np.ndarray, rhs: np.ndarray, weights: np.ndarray, centres: np.ndarray | None
) -> np.ndarray:
    ok = _valid_rows(x)
    if ok.all():
        return _nearest_or_unresolved(_embed_rows(x, rhs, weights), centres)
    labels = np.full(len(x), -1, dtype=np.int32)
    if ok.any():
        labels[ok] = _nearest_or_unresolved(_embed_rows(x[ok], rhs, weights), centres)
    return labels


def _nearest_or_unresolved(emb: np.ndarray, centres: np.ndarray | None) -> np.ndarray:
    lost = np.isnan(emb[:, 0])
    if centres is not None and not lost.any():
        return _nearest(emb, centres)
    labels = np.full(len(emb), _UNRESOLVED, dtype=np.int32)
    if centres is not None:
        labels[~lost] = _nearest(emb[~lost], centres)
    return labels


def _nearest(emb: np.ndarray, centres: np.ndarray) -> np.ndarray:
    c = centres.astype(np.float32)
    dist = (c * c).sum(1)[None, :] - 2 * emb @ c.T
    return dist.argmin(axis=1).astype(np.int32)


def _check_params(n_clusters: int, n_components: int, gamma: float | None) -> None:
    check_n_clusters(n_clusters, "n_clusters")
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise ValueError(f"n_components must be an integer, got {n_components!r}")
    if n_components < n_clusters:
        raise ValueError(
            f"n_components ({n_components}) must be >= n_clusters ({n_clusters}): the embedding "
            "uses the n_clusters leading eigenvectors of the landmarks' kernel"
        )
    if gamma is not None and not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a positive number or None, got {gamma!r}")


def _as_blocks(X: Any, chunk_rows: int) -> da.Array:
    """float32 dask array with few even blocks of whole rows (one chunk along features)."""
    if not isinstance(X, da.Array):
        X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D (sample, feature) array, got {X.ndim} dimension(s)")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"expected real numbers, got dtype {X.dtype}")
    n, p = X.shape
    if n == 0 or p == 0:
        raise ValueError(f"expected a non-empty (sample, feature) array, got shape {X.shape}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    n_blocks = max(1, math.ceil(n / chunk_rows))
    rows = math.ceil(n / n_blocks)
    if isinstance(X, da.Array):
        if any(math.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()  # e.g. after boolean indexing
        return X.astype(np.float32).rechunk({0: rows, 1: -1})
    return da.from_array(X.astype(np.float32, copy=False), chunks=(rows, p))


def _draw(
    valid: np.ndarray, n_components: int, random_state: Any, kmeans_samples: int
) -> tuple[int, np.ndarray, np.ndarray]:
    """Draw the seed, the landmark rows (as dask-ml draws them) and the k-means subsample.

    All from ``random_state`` and the valid-row mask only: the result does not depend on
    chunks or scheduler. Positions are sorted indices into the input rows.
    """
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise UnusableData("every sample is masked (NaN): there is nothing to cluster")
    if n_valid < n_components:
        raise UnusableData(
            f"only {n_valid} valid (non-NaN) samples for n_components={n_components} landmarks: "
            "pass a smaller n_components"
        )
    rng = check_random_state(random_state)
    # The same draws, in the same order, as dask_ml.cluster.SpectralClustering.fit:
    # first the k-means seed (draw_seed), then the landmarks among the rows it is given.
    seed = int(rng.randint(np.iinfo("i4").max))
    keep = np.sort(rng.choice(np.arange(n_valid), n_components, replace=False))
    valid_index = np.flatnonzero(valid)
    sub = valid_index[:0]
    if kmeans_samples >= n_valid:
        sub = valid_index
    elif kmeans_samples > 0:
        pick = np.random.default_rng(seed).choice(n_valid, kmeans_samples, replace=False)
        sub = valid_index[np.sort(pick)]
    return seed, valid_index[keep], sub


def _take_rows(
    block: np.ndarray, landmark_rows: np.ndarray, sub_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return block[landmark_rows], block[sub_rows]


def _rhs_task(picks: list[tuple[np.ndarray, np.ndarray]], gamma: float) -> np.ndarray:
    return _kernel_rhs(np.concatenate([p[0] for p in picks]), gamma)


def _solve(
    landmarks: np.ndarray, degree: np.ndarray, gamma: float, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Do the ``m x m`` algebra in float64: ``W = d1 U[:, :k] / sqrt(S[:k])`` and ``S[:k]``."""
    l64 = landmarks.astype(np.float64)
    A = np.exp(-gamma * ((l64[:, None, :] - l64[None, :, :]) ** 2).sum(-1))
    d1_si = 1.0 / np.sqrt(degree)
    A2 = d1_si[:, None] * A * d1_si[None, :]
    U, S, _ = svd(A2)
    top = S[:n_clusters]
    if not np.all(top > np.finfo(np.float64).eps * S[0] * len(S)):
        raise UnusableData(
            f"the landmarks' kernel has fewer than n_clusters={n_clusters} non-zero eigenvalues "
            "(many identical landmark rows, or an extreme gamma): use more n_components, "
            "another gamma or fewer clusters"
        )
    weights = d1_si[:, None] * U[:, :n_clusters] / np.sqrt(top)[None, :]
    return weights.astype(np.float32), top


def _model_task(
    picks: list[tuple[np.ndarray, np.ndarray]],
    degrees: list[np.ndarray],
    gamma: float,
    n_clusters: int,
    info: dict[str, Any],
    n_init: int,
) -> tuple[NystromModel, np.ndarray | None]:
    """Graph task: the fitted model and, when ``n_init``, k-means centres on the subsample."""
    landmarks = np.concatenate([p[0] for p in picks]).astype(np.float32)
    degree = np.sum(degrees, axis=0)[0]
    weights, top = _solve(landmarks, degree, gamma, n_clusters)
    model = NystromModel(landmarks=landmarks, gamma=gamma, weights=weights, eigenvalues=top, **info)
    if not n_init:
        return model, None
    rows = np.concatenate([p[1] for p in picks]).astype(np.float32)
    emb = _embed_rows(rows, _kernel_rhs(landmarks, gamma), weights)
    emb = emb[~np.isnan(emb[:, 0])]  # unresolved rows: labelled _UNRESOLVED, then raised
    if len(emb) < n_clusters:
        return model, None
    # One OpenMP thread (OpenMP's thread count is per calling thread, so nothing outside this
    # task changes): k-means on a few thousand 4-D rows gains nothing from threads that spin
    # on a busy machine. Elkan's k-means, not Lloyd's: scikit-learn wraps Lloyd's in a
    # process-wide BLAS limit whose restore races when years run in threads (it left the
    # process with 1 BLAS thread); the two give the same centres.
    with threadpool_limits(limits=1, user_api="openmp"):
        km = KMeans(
            n_clusters=n_clusters, n_init=n_init, random_state=info["seed"], algorithm="elkan"
        ).fit(emb)
    return model, km.cluster_centers_.astype(np.float32)


def _labels_task(x: np.ndarray, fitted: tuple[NystromModel, np.ndarray | None]) -> np.ndarray:
    model, centres = fitted
    return _label_block(x, _kernel_rhs(model.landmarks, model.gamma), model.weights, centres)


def _embedding_task(x: np.ndarray, fitted: tuple[NystromModel, Any]) -> np.ndarray:
    model = fitted[0]
    return _embed_block(x, _kernel_rhs(model.landmarks, model.gamma), model.weights)


def _prepare(X: Any, chunk_rows: int) -> tuple[da.Array, np.ndarray]:
    """Blocks of float32 rows, persisted (computed / sent to the cluster once), and the mask."""
    in_memory = not isinstance(X, da.Array)
    X = _as_blocks(X, chunk_rows)
    valid = da.isfinite(X).all(axis=1)
    # numpy input goes into the graph once, on purpose: no "large graph" warning for it. Only
    # when distributed is loaded: setting one of its keys before its defaults are in dask's
    # config would drop those defaults when the setting is undone.
    quiet = {"distributed.admin.large-graph-warning-threshold": f"{X.nbytes * 2 + 10e6:.0f}B"}
    with dask.config.set(quiet if in_memory and "distributed" in sys.modules else {}):
        X, valid = dask.persist(X, valid)
    return X, valid.compute()


def _fit_graph(
    X: da.Array,
    valid: np.ndarray,
    n_clusters: int,
    n_components: int,
    gamma: float | None,
    random_state: Any,
    n_init: int = 0,
    kmeans_samples: int = 0,
) -> tuple[Delayed, list[Delayed]]:
    """Build the fit as one dask graph on the persisted blocks of ``X``: (fitted, blocks).

    Per block, take its landmark and subsample rows; then per block the degrees (pass 1);
    then one small task for the ``m x m`` algebra and k-means. No round trip to the client
    between the steps, and every task depends on the persisted blocks only.
    """
    seed, landmark_index, sub_index = _draw(
        valid, n_components, random_state, kmeans_samples if n_init else 0
    )
    gamma = float(1.0 / X.shape[1] if gamma is None else gamma)  # dask-ml's default: 1 / p
    info = {"landmark_index": landmark_index, "n_valid": int(valid.sum()), "seed": seed}
    # optimize_graph=False keeps the persisted blocks (Futures) in the graph: with the default,
    # dask drops them and the result fails with "lost dependencies" once X is released.
    blocks = list(X.to_delayed(optimize_graph=False).ravel())
    bounds = np.cumsum((0, *X.chunks[0]))
    picks = []
    for block, lo, hi in zip(blocks, bounds[:-1], bounds[1:], strict=True):
        lm = landmark_index[(landmark_index >= lo) & (landmark_index < hi)] - lo
        sb = sub_index[(sub_index >= lo) & (sub_index < hi)] - lo
        if len(lm) or len(sb):
            picks.append(delayed(_take_rows, pure=True)(block, lm, sb))
    rhs = delayed(_rhs_task, pure=True)(picks, gamma)
    degrees = [delayed(_degree_block, pure=True)(b, rhs) for b in blocks]
    fitted = delayed(_model_task, pure=True)(picks, degrees, gamma, n_clusters, info, n_init)
    return fitted, blocks


def _per_block(
    func: Callable[..., np.ndarray],
    fitted: Delayed,
    blocks: list[Delayed],
    X: da.Array,
    width: int | None,
    dtype: Any,
) -> da.Array:
    """Concatenate ``func(block, fitted)`` over the blocks of ``X`` as one dask array."""
    parts = []
    for block, rows in zip(blocks, X.chunks[0], strict=True):
        shape = (rows,) if width is None else (rows, width)
        task = delayed(func, pure=True)(block, fitted)
        parts.append(da.from_delayed(task, shape=shape, dtype=dtype))
    return da.concatenate(parts)


def fit_nystrom(
    X: Any,
    n_clusters: int = 4,
    n_components: int = 100,
    gamma: float | None = None,
    random_state: int | np.random.RandomState | None = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> NystromModel:
    """Fit the Nystrom spectral embedding of the rows of ``X`` (2-D, dask or numpy).

    Rows with a NaN (or any non-finite value) are masked: never landmarks, not in the sums.
    The maths and the landmarks are dask-ml's (see the module docstring).

    Parameters
    ----------
    X : array_like or dask.array.Array
        2-D ``(n_samples, n_features)`` real numbers, any chunks if dask.
    n_clusters : int
        Number of leading eigenvectors kept (the clusters k-means would look for), >= 2.
    n_components : int
        Number of landmark rows of the Nystrom approximation (dask-ml's name), >=
        ``n_clusters``.
    gamma : float or None
        rbf kernel coefficient, ``exp(-gamma * |x - y|^2)``; None means ``1 / n_features``.
    random_state : int, numpy.random.RandomState or None
        Picks the landmarks, as dask-ml does.
    chunk_rows : int
        Target rows per dask block.

    Returns
    -------
    NystromModel
        The landmarks, the projection weights and what they were computed from.

    Raises
    ------
    ValueError
        If ``X`` is not a non-empty 2-D array of real numbers or a parameter is out of range.
    lakeml.checks.UnusableData
        (a ``ValueError``) Every row is masked, fewer than ``n_components`` rows are valid,
        or the landmarks' kernel has fewer than ``n_clusters`` non-zero eigenvalues.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(1000, 3))
    >>> model = fit_nystrom(X, n_clusters=2, n_components=50)
    >>> model.weights.shape, model.landmark_index.shape, model.n_valid
    ((50, 2), (50,), 1000)
    """
    _check_params(n_clusters, n_components, gamma)
    Xp, valid = _prepare(X, chunk_rows)
    fitted, _ = _fit_graph(Xp, valid, n_clusters, n_components, gamma, random_state)
    return fitted.compute()[0]


def nystrom_embedding(
    X: Any,
    n_clusters: int = 4,
    n_components: int = 100,
    gamma: float | None = None,
    random_state: int | np.random.RandomState | None = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> da.Array:
    """Embed the rows of ``X`` in ``n_clusters`` spectral dimensions (row-normalised), lazily.

    The valid-row mask is computed (and ``X`` persisted) now; the fit and the embedding are one
    lazy dask graph. It equals the array dask-ml's k-means sees (``U2``) up to the sign of
    each column.

    Parameters
    ----------
    X : array_like or dask.array.Array
        2-D ``(n_samples, n_features)`` real numbers, any chunks if dask.
    n_clusters : int
        Dimensions of the embedding (leading eigenvectors), >= 2.
    n_components : int
        Number of landmark rows of the Nystrom approximation, >= ``n_clusters``.
    gamma : float or None
        rbf kernel coefficient; None means ``1 / n_features``.
    random_state : int, numpy.random.RandomState or None
        Picks the landmarks, as dask-ml does.
    chunk_rows : int
        Target rows per dask block.

    Returns
    -------
    dask.array.Array
        float32 ``(n_samples, n_clusters)``, each row of unit length; NaN on masked rows.

    Raises
    ------
    ValueError
        As for :func:`fit_nystrom`.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(1000, 3))
    >>> X[0] = np.nan
    >>> emb = nystrom_embedding(X, n_clusters=2, n_components=50).compute()
    >>> norms = (emb[1:] ** 2).sum(axis=1)
    >>> emb.shape, bool(np.isnan(emb[0]).all()), bool(np.allclose(norms, 1, atol=1e-5))
    ((1000, 2), True, True)
    """
    _check_params(n_clusters, n_components, gamma)
    Xp, valid = _prepare(X, chunk_rows)
    fitted, blocks = _fit_graph(Xp, valid, n_clusters, n_components, gamma, random_state)
    return _per_block(_embedding_task, fitted, blocks, Xp, n_clusters, np.float32)


def spectral_clustering(
    samples: xr.DataArray,
    n_clusters: int = 4,
    n_components: int = 100,
    gamma: float | None = None,
    random_state: int | np.random.RandomState | None = 0,
    *,
    n_init: int = 10,
    kmeans_samples: int = KMEANS_SAMPLES,
    chunk_rows: int = CHUNK_ROWS,
) -> xr.DataArray:
    """Nystrom spectral clustering of a ``(sample, band)`` DataArray: one label per sample.

    The maths and the landmarks of ``dask_ml.cluster.SpectralClustering(n_clusters,
    n_components=n_components, gamma=gamma, random_state=random_state)``, streamed over a few
    large blocks (see the module docstring), on dask's current scheduler (the current
    ``distributed.Client`` if any; none is created). Deterministic for an integer
    ``random_state``: the landmarks and the k-means subsample depend on it and on the mask only,
    not on chunks or scheduler (sums over other chunks may differ in the last bits).

    Parameters
    ----------
    samples : xr.DataArray
        2-D, a ``band`` dimension and one sample dimension (numpy or dask backed, any
        chunks). Rows with a NaN are masked. Standardise the bands first.
    n_clusters : int
        Number of clusters (>= 2).
    n_components : int
        Number of landmark samples of the Nystrom approximation (dask-ml's name).
    gamma : float or None
        rbf kernel coefficient, ``exp(-gamma * |x - y|^2)``; None means ``1 / n_bands``
        (dask-ml's and scikit-learn's default).
    random_state : int, numpy.random.RandomState or None
        Picks the landmarks (as dask-ml does), the k-means subsample and the k-means
        initialisation.
    n_init : int
        k-means++ restarts (scikit-learn ``KMeans``) on the subsample.
    kmeans_samples : int
        Rows of the embedding k-means is fitted on (a seeded random subsample); every row is
        then assigned to its nearest centre.
    chunk_rows : int
        Target rows per dask block.

    Returns
    -------
    xr.DataArray
        int32 labels in ``0 .. n_clusters - 1``, -1 on masked rows, computed (numpy backed),
        named ``cluster``, with the sample dimension and its coordinates (e.g. the ``(y, x)``
        MultiIndex, so that ``lakeml.reshape.from_samples`` unstacks it).

    Raises
    ------
    ValueError
        Not 2-D, n_clusters < 2, n_components < n_clusters, or another parameter out of range.
    lakeml.checks.UnusableData
        (a ``ValueError``) Every row masked, fewer valid rows than ``n_components``, or no
        spectral structure for ``n_clusters`` clusters (identical rows, or so large a gamma
        that samples have no resolved embedding).

    Examples
    --------
    Two tight groups of 500 samples, one sample masked:

    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.1, (500, 3)), rng.normal(3, 0.1, (500, 3))])
    >>> X[10] = np.nan
    >>> samples = xr.DataArray(X.astype("float32"), dims=("sample", "band"))
    >>> labels = spectral_clustering(samples, n_clusters=2, n_components=50)
    >>> int(labels[10]), sorted(np.bincount(labels.values[labels.values >= 0]).tolist())
    (-1, [499, 500])
    >>> bool(labels[0] != labels[-1]), labels.name, labels.attrs["n_clusters"]
    (True, 'cluster', 2)
    """
    if not isinstance(samples, xr.DataArray):
        raise ValueError(f"expected an xarray.DataArray (sample, band), got {type(samples)}")
    if samples.ndim != 2:
        raise ValueError(f"expected a 2-D (sample, band) DataArray, got dims {samples.dims}")
    sample_dim, feature_dim = samples.dims
    if "band" in samples.dims:
        feature_dim = "band"
        sample_dim = next(d for d in samples.dims if d != "band")
    _check_params(n_clusters, n_components, gamma)
    if kmeans_samples < n_clusters:
        raise ValueError(f"kmeans_samples must be >= n_clusters, got {kmeans_samples}")
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1, got {n_init}")

    data = samples.transpose(sample_dim, feature_dim).data
    X, valid = _prepare(data, chunk_rows)
    fitted, blocks = _fit_graph(
        X, valid, n_clusters, n_components, gamma, random_state, n_init, kmeans_samples
    )
    labels = _per_block(_labels_task, fitted, blocks, X, None, np.int32)
    labels, (model, _) = dask.compute(labels, fitted)
    unresolved = int(np.count_nonzero(labels == _UNRESOLVED))
    if unresolved:
        raise UnusableData(_UNREACHED.format(n=unresolved))

    out = samples.isel({feature_dim: 0}, drop=True).copy(data=labels)
    out.attrs = {
        "long_name": "spectral cluster (-1: masked)",
        "n_clusters": int(n_clusters),
        "n_components": int(n_components),
        "gamma": model.gamma,
    }
    return out.rename("cluster")
