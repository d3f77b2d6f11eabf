"""The benchmark's floor (benchmarks/bench_cluster.py): lakeml.cluster's maths in plain numpy.

``make bench`` reports ``lakeml_s / floor_s``; the ratio means something only if the floor
computes what lakeml computes: the same landmarks, kernel and embedding, the same labels.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from benchmarks.bench_cluster import nystrom_floor
from lakeml.cluster import spectral_clustering


def separated_blobs(n: int = 2000, p: int = 6, masked: int = 37):
    """Standardised float32 well-separated blobs (4 clusters), every ``masked``-th row NaN."""
    X, y = make_blobs(n, n_features=p, centers=4, cluster_std=1.0, random_state=3)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    X[::masked] = np.nan
    return X, y


def test_floor_labels_every_row_and_masks_nan_rows():
    X, _ = separated_blobs()
    ok = np.isfinite(X).all(1)
    labels = nystrom_floor(X, n_clusters=4, random_state=0)
    assert labels.shape == (len(X),) and labels.dtype == np.int32
    assert (labels[~ok] == -1).all()
    assert set(np.unique(labels[ok])) == {0, 1, 2, 3}


def test_floor_agrees_with_lakeml_up_to_permutation():
    X, y = separated_blobs()
    ok = np.isfinite(X).all(1)
    floor = nystrom_floor(X, n_clusters=4, random_state=0)
    samples = xr.DataArray(X, dims=("sample", "band"))
    lakeml = spectral_clustering(samples, n_clusters=4, random_state=0).values
    assert np.array_equal(floor == -1, lakeml == -1)
    assert adjusted_rand_score(lakeml[ok], floor[ok]) > 0.9
    assert adjusted_rand_score(y[ok], floor[ok]) > 0.9


def test_floor_subsamples_kmeans_like_lakeml():
    # more valid rows than kmeans_samples: k-means on a seeded subsample, every row assigned
    X, _ = separated_blobs()
    ok = np.isfinite(X).all(1)
    floor = nystrom_floor(X, kmeans_samples=500)
    lakeml = spectral_clustering(xr.DataArray(X, dims=("sample", "band")), kmeans_samples=500)
    assert (floor[ok] >= 0).all()
    assert adjusted_rand_score(lakeml.values[ok], floor[ok]) > 0.9


def test_floor_streams_the_kernel_in_lakemls_slices():
    from benchmarks.bench_cluster import FLOOR_ROWS
    from lakeml import cluster

    assert FLOOR_ROWS == cluster._STEP
    X, _ = separated_blobs(n=3 * FLOOR_ROWS + 5)  # several slices and a short last one
    one = nystrom_floor(X, threads=1)
    two = nystrom_floor(X, threads=2)
    assert np.array_equal(one, two)  # the slices' order does not change the answer
