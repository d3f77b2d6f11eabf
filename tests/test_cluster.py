"""lakeml.cluster: dask-ml's Nystrom spectral clustering maths, streamed in blocks."""

from __future__ import annotations

import gc
import logging

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy.linalg import pinv, svd
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from lakeml.cluster import (
    _embed_rows,
    _kernel_rhs,
    fit_nystrom,
    nystrom_embedding,
    spectral_clustering,
)

DASK_ML_PARAMS = {"n_clusters": 4, "random_state": 0, "gamma": None}


def blobs(n: int = 3000, p: int = 8, std: float = 2.0, seed: int = 1, masked: int = 29):
    """Standardised float32 blobs (4 clusters); every ``masked``-th row NaN; true labels."""
    X, y = make_blobs(n, n_features=p, centers=4, cluster_std=std, random_state=seed)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    if masked:
        X[::masked] = np.nan
        X[5, 2] = np.nan  # one NaN band is enough to mask a row
    return X, y


def as_samples(X: np.ndarray, chunks: dict | None = None) -> xr.DataArray:
    out = xr.DataArray(X, dims=("sample", "band"), coords={"sample": np.arange(len(X)) * 10})
    return out.chunk(chunks) if chunks else out


def dask_ml_labels(X: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray]:
    """The original recipe on the valid rows (threaded scheduler: it is flaky under a Client)."""
    import dask_ml.cluster

    ok = np.isfinite(X).all(1)
    clf = dask_ml.cluster.SpectralClustering(
        **DASK_ML_PARAMS, kmeans_params={"init_max_iter": 5}, persist_embedding=True, **kw
    )
    with dask.config.set(scheduler="threads"):
        clf.fit(da.from_array(X[ok], chunks=1000))
        return clf.assign_labels_.labels_.compute(), clf.eigenvalues_.compute()


def reference_embedding(Xv: np.ndarray, m: int = 100, k: int = 4, seed: int = 0) -> np.ndarray:
    """dask-ml's SpectralClustering.fit maths in plain float64 numpy (d2, pinv, sqrt(m/n))."""
    rng = np.random.RandomState(seed)
    rng.randint(np.iinfo("i4").max)  # dask-ml draws its k-means seed first
    n = len(Xv)
    inds = np.arange(n)
    keep = np.sort(rng.choice(inds, m, replace=False))
    rest = ~np.isin(inds, keep)
    X64, g = Xv.astype(np.float64), 1.0 / Xv.shape[1]

    def kern(a, b):
        return np.exp(-g * ((a[:, None, :] - b[None]) ** 2).sum(-1))

    A, B = kern(X64[keep], X64[keep]), kern(X64[keep], X64[rest])
    a, b1, b2 = A.sum(0), B.sum(1), B.sum(0)
    d1 = 1 / np.sqrt(a + b1)
    d2 = 1 / np.sqrt(b2 + B.T @ (pinv(A) @ b1))
    A2, B2 = d1[:, None] * A * d1[None], d1[:, None] * B * d2[None]
    U, S, _ = svd(A2)
    V2 = np.sqrt(m / n) * np.vstack([A2, B2.T]) @ U[:, :k] @ np.diag(1 / np.sqrt(S[:k]))
    U2 = V2 / np.sqrt((V2**2).sum(1))[:, None]
    out = np.empty_like(U2)
    out[np.concatenate([keep, inds[rest]])] = U2
    return out


@pytest.mark.slow  # dask-ml and a distributed fit: ~25 s of make test-fast's budget
@pytest.mark.parametrize("p", [7, 8])
def test_same_landmarks_eigenvalues_and_labels_as_dask_ml(p):
    X, y = blobs(p=p, std=2.5)
    ok = np.isfinite(X).all(1)
    ref_labels, ref_eig = dask_ml_labels(X)
    model = fit_nystrom(X, chunk_rows=700)
    np.testing.assert_allclose(model.eigenvalues, ref_eig, rtol=1e-4)
    assert model.gamma == pytest.approx(1 / p)
    assert ok[model.landmark_index].all()
    labels = spectral_clustering(as_samples(X), chunk_rows=700)
    assert adjusted_rand_score(ref_labels, labels.values[ok]) >= 0.95
    assert adjusted_rand_score(y[ok], labels.values[ok]) >= 0.95


def test_embedding_is_dask_ml_embedding_up_to_column_signs():
    X, _ = blobs(n=2000, std=3.0)
    ok = np.isfinite(X).all(1)
    ref = reference_embedding(X[ok])
    emb = nystrom_embedding(X, chunk_rows=512)
    assert isinstance(emb, da.Array) and emb.shape == (len(X), 4)
    emb = emb.compute()
    assert np.isnan(emb[~ok]).all() and np.isfinite(emb[ok]).all()
    signs = np.sign((emb[ok] * ref).sum(0))
    np.testing.assert_allclose(emb[ok] * signs, ref, atol=2e-5)


def test_agrees_with_exact_sklearn_spectral_clustering():
    from sklearn.cluster import SpectralClustering

    X, _ = blobs(n=2000, masked=0)
    sub = np.random.default_rng(0).choice(len(X), 400, replace=False)
    exact = SpectralClustering(4, affinity="rbf", gamma=1 / X.shape[1], random_state=0)
    exact_labels = exact.fit_predict(X[sub].astype(np.float64))
    labels = spectral_clustering(as_samples(X)).values
    assert adjusted_rand_score(exact_labels, labels[sub]) >= 0.95


def test_masked_rows_coords_and_unstack():
    X, _ = blobs(n=1200)
    X = X[:1200]
    ds = xr.DataArray(
        X.reshape(30, 40, 8),
        dims=("y", "x", "band"),
        coords={"y": np.arange(30), "x": np.arange(40)},
    )
    samples = ds.stack(sample=("y", "x")).transpose("sample", "band")
    labels = spectral_clustering(samples, n_components=50)
    ok = np.isfinite(X).all(1)
    assert labels.dims == ("sample",) and labels.dtype == np.int32 and labels.name == "cluster"
    assert (labels.values[~ok] == -1).all() and set(np.unique(labels.values[ok])) == {0, 1, 2, 3}
    image = labels.unstack("sample")
    assert image.shape == (30, 40) and int(image.sel(y=0, x=0)) == -1  # row 0 is masked


def test_deterministic_and_independent_of_chunks_and_layout():
    X, _ = blobs()
    first = spectral_clustering(as_samples(X))
    assert np.array_equal(first.values, spectral_clustering(as_samples(X)).values)
    # dask backed, several chunks along band (rechunked), band first, other block size
    other = as_samples(X, {"sample": 333, "band": 3}).transpose("band", "sample")
    again = spectral_clustering(other, chunk_rows=1000)
    assert np.array_equal(first.values, again.values)
    assert list(first.sample.values) == list(again.sample.values)
    changed = spectral_clustering(as_samples(X), random_state=1)
    assert adjusted_rand_score(first.values, changed.values) >= 0.95  # same clusters, new seed


def test_far_outlier_gets_a_label():
    X, _ = blobs(n=1000, masked=0)
    X[7] = 60.0  # kernel underflows to 0 for every landmark in float32
    labels = spectral_clustering(as_samples(X), n_components=50).values
    assert labels[7] in range(4)
    emb = nystrom_embedding(X, n_components=50).compute()
    assert np.isfinite(emb).all()


def test_an_extreme_gamma_is_a_clear_error_not_infinities():
    """Two moons at gamma 200: the landmarks' graph falls apart into many pieces and the two
    eigenvectors miss most samples. Their embedding is rounding noise, from 1e-20 to 1e-13 of
    the landmark weights depending on the CPU's BLAS (exactly 0 on some, tiny but not 0 on
    others): a clear error on any machine, never labels drawn from noise."""
    from sklearn.datasets import make_moons

    X, y = make_moons(600, noise=0.05, random_state=0)
    X[y == 1, 1] -= 0.3
    samples = as_samples(X.astype(np.float32))
    with pytest.raises(ValueError, match="samples have a spectral embedding too small to have"):
        spectral_clustering(samples, n_clusters=2, gamma=200.0, random_state=0).compute()
    ok = spectral_clustering(samples, n_clusters=2, gamma=20.0, random_state=0).values
    assert adjusted_rand_score(y, ok) == 1.0  # the moons, separated (03's picture)


def test_embedding_resolution_is_relative_not_exact_zero():
    """The test for an unresolved row does not depend on an exact 0: rounding noise (1e-20 of
    the largest weight, as another BLAS leaves it) is unresolved (NaN) like 0 is, while a
    small but resolved row (1e-9 of the weights, the kernel underflowing in float32) gets
    its true direction, unit length."""
    landmarks = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]], np.float32)
    rhs = _kernel_rhs(landmarks, gamma=1.0)
    near_third = np.array([[10.0, 0.1], [0.1, 0.0]], np.float32)  # kernel ~1 to 3, to 1
    for noise in (0.0, 1e-20, -3e-21):
        weights = np.array([[1.0, 0.5], [0.5, 1.0], [noise, noise]], np.float32)
        emb = _embed_rows(near_third, rhs, weights)
        assert np.isnan(emb[0]).all() and np.isfinite(emb[1]).all()
    weights = np.array([[1.0, 0.5], [0.5, 1.0], [3e-9, -4e-9]], np.float32)
    emb = _embed_rows(near_third[:1], rhs, weights)
    np.testing.assert_allclose(emb, [[0.6, -0.8]], rtol=1e-5)
    # a far outlier (every kernel underflows in float32) keeps its direction too
    far = np.array([[-60.0, 0.0]], np.float32)
    np.testing.assert_allclose(
        _embed_rows(far, rhs, weights), [[1, 0.5] / np.sqrt(1.25)], rtol=1e-5
    )


def test_an_extreme_gamma_is_raised_by_the_caller_not_logged_by_a_worker(caplog):
    """Under a Client, the refusal is raised where spectral_clustering was called; no worker
    task fails, so no 'Compute Failed' traceback reaches a notebook's stderr."""
    from distributed import Client
    from sklearn.datasets import make_moons

    X, y = make_moons(600, noise=0.05, random_state=0)
    X[y == 1, 1] -= 0.3
    samples = as_samples(X.astype(np.float32))
    with Client(processes=False, dashboard_address=":0"), caplog.at_level(logging.WARNING):
        with pytest.raises(ValueError, match="too small to have a direction"):
            spectral_clustering(samples, n_clusters=2, gamma=200.0, random_state=0)
    assert not [r for r in caplog.records if "Compute Failed" in r.getMessage()]


def test_bad_input_raises_clear_value_errors():
    X, _ = blobs(n=300)
    with pytest.raises(ValueError, match="every sample is masked"):
        spectral_clustering(as_samples(np.full((300, 8), np.nan, np.float32)))
    with pytest.raises(ValueError, match="n_clusters must be at least 2"):
        spectral_clustering(as_samples(X), n_clusters=1)
    with pytest.raises(ValueError, match="valid .* samples for n_components=500"):
        spectral_clustering(as_samples(X), n_components=500)
    with pytest.raises(ValueError, match="2-D"):
        spectral_clustering(xr.DataArray(np.zeros((2, 3, 4)), dims=("a", "b", "band")))
    with pytest.raises(ValueError, match="DataArray"):
        spectral_clustering(X)
    with pytest.raises(ValueError, match="n_components .* must be >= n_clusters"):
        fit_nystrom(X, n_clusters=4, n_components=3)
    with pytest.raises(ValueError, match="gamma"):
        nystrom_embedding(X, gamma=-1.0)


def test_same_labels_under_an_in_process_client():
    from distributed import Client

    X, _ = blobs()
    with dask.config.set(scheduler="threads"):
        expected = spectral_clustering(as_samples(X))
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with Client(processes=False, dashboard_address=":0"):
        for _ in range(3):  # the original recipe failed intermittently here
            got = spectral_clustering(as_samples(X, {"sample": 700}))
            assert np.array_equal(expected.values, got.values)


@pytest.fixture(scope="module")
def process_cluster():
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with (
        LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_same_results_under_a_process_cluster(process_cluster):
    X, _ = blobs()
    with dask.config.set(scheduler="threads"):
        expected = spectral_clustering(as_samples(X))
        expected_emb = nystrom_embedding(X).compute()
    got = spectral_clustering(as_samples(X, {"sample": 500}))  # on the current Client
    emb = nystrom_embedding(X)  # lazy: its graph must keep the persisted blocks alive
    gc.collect()
    assert np.array_equal(expected.values, got.values)
    np.testing.assert_allclose(emb.compute(), expected_emb, atol=1e-6)


def test_clustering_in_threads_leaves_the_process_blas_threads_alone():
    """Years run in threads (timeseries, a Client(processes=False)): before, each call set a
    process-wide BLAS limit of 1 and restored it on exit, and overlapping calls left the
    process with 1 BLAS thread for good. Now nothing process-wide is changed."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    X, _ = blobs(n=20_000)
    with dask.config.set(scheduler="threads"), ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(spectral_clustering, as_samples(X[: 8000 + 997 * s]), random_state=s)
            for s in range(16)
        ]
        labels = [r.result().values for r in runs]
    assert all((lab >= 0).sum() == np.isfinite(X[: len(lab)]).all(1).sum() for lab in labels)
    assert blas_threads() == before
