"""Benchmark: lakeml's spectral clustering against the original dask-ml recipe, one scene.

Both methods get the same input: the scene's reflectance bands (thermal left out), standardised
per band (``lakeml.reshape.standardize``), as a ``(sample, band)`` float32 array. Masked (NaN)
rows are dropped for dask-ml, which cannot take NaN, and kept for lakeml, which labels them -1.

- seed: the original notebook's ``dask_ml.cluster.SpectralClustering(n_clusters=4,
  random_state=0, gamma=None, kmeans_params={"init_max_iter": 5}, persist_embedding=True)``
  (100 Nystrom components) on a dask array of ONE block, as the notebook's ``odc.stac.load(...,
  chunks={})`` + ``stack`` gives, then ``clf.assign_labels_.labels_.compute()``.
- lakeml: ``lakeml.cluster.spectral_clustering(samples, n_clusters=4, random_state=0)`` on a
  DataArray chunked like ``lakeml.reshape.to_samples`` makes it (one chunk per band).
- floor: the same maths as lakeml, in plain in-memory numpy float32, no dask
  (:func:`nystrom_floor`): the same landmarks, rbf kernel and gamma, the SVD of the landmarks'
  kernel, the embedding of every row, streamed in the same 8192-row slices and spread over a
  plain thread pool (every CPU), row-normalised, scikit-learn k-means on the same subsample,
  every row assigned to its nearest centre. What the maths costs without a scheduler:
  ``lakeml_s / floor_s`` is lakeml's overhead over it (near 1: none measurable).

Each timed run (fit + labels, wall clock, input already in memory, after a small untimed
warm-up fit) happens in its own subprocess under a ``distributed.Client(processes=False)`` (the
floor: no Client), so all the work is in that process and its peak RSS (``ru_maxrss``) is the
run's peak memory. The
recipe fails often under a Client (``lost dependencies``): it is retried up to
``--seed-attempts`` times for ``--repeats`` successes; failures are counted. Water: the cluster
with the lowest mean nir08 + swir16 reflectance; IoU with the truth over the labelled pixels.

The scene is the offline sample's 2017 Landsat 8 scene (``lakeml.offline.sample``, the notebook's
``items[1]``), loaded with ``lakeml.load.load_scene`` (scale/offset, ``qa_pixel`` mask); without
``lakeml.offline.sample``, a synthetic 1128 x 950 scene of 7 reflectance bands + lwir11 with a known
lake.

Usage::

    python benchmarks/bench_cluster.py                   # -> _build/bench/cluster.json
    python benchmarks/bench_cluster.py --repeats 5 --seed-attempts 10
    python benchmarks/bench_cluster.py --reliability 20  # -> _build/bench/cluster-reliability.json
    python benchmarks/bench_cluster.py --reliability 20 --processes  # 2-process LocalCluster
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "_build" / "bench"
SEED_PARAMS = {
    "n_clusters": 4,
    "random_state": 0,
    "gamma": None,
    "kmeans_params": {"init_max_iter": 5},
    "persist_embedding": True,
}
"""The original notebook's dask-ml ``SpectralClustering`` (default ``n_components=100``)."""

FLOOR_ROWS = 8192
"""Rows per kernel slice in the floor (lakeml.cluster's own slice, ``_STEP``)."""
SYNTH_SHAPE = (1128, 950)
SYNTH_BANDS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22", "lwir11")
# Mean surface reflectance (and lwir11 kelvin) per class, Landsat 8 order; water and "land"
# from real Walker Lake pixels (FIELD-NOTES), the other land covers plausible variations.
SYNTH_CLASSES = {
    "water": (0.019, 0.021, 0.021, 0.009, 0.002, 0.001, 0.001, 293.0),
    "desert": (0.087, 0.106, 0.143, 0.171, 0.225, 0.253, 0.215, 318.0),
    "playa": (0.20, 0.23, 0.27, 0.30, 0.33, 0.36, 0.30, 322.0),
    "mountain": (0.060, 0.070, 0.095, 0.115, 0.160, 0.200, 0.170, 305.0),
    "vegetation": (0.030, 0.035, 0.065, 0.045, 0.300, 0.180, 0.090, 300.0),
}


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Spatially correlated noise in [-1, 1]: coarse random grid, bilinear up-sampling."""
    gy, gx = shape[0] // scale + 2, shape[1] // scale + 2
    coarse = rng.uniform(-1, 1, (gy, gx))
    yy = np.arange(shape[0]) / scale
    xx = np.arange(shape[1]) / scale
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[:, None], (xx - x0)[None, :]
    c = coarse
    return (
        c[y0][:, x0] * (1 - fy) * (1 - fx)
        + c[y0 + 1][:, x0] * fy * (1 - fx)
        + c[y0][:, x0 + 1] * (1 - fy) * fx
        + c[y0 + 1][:, x0 + 1] * fy * fx
    )


def synthetic_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A realistic 1128 x 950 x 8 Landsat 8-like scene around a lake.

    Returns the (n, 8) float32 bands (reflectance; lwir11 in kelvin) with NaN on cloudy rows,
    the true water mask (n,) and the band names.
    """
    rng = np.random.default_rng(seed)
    ny, nx = SYNTH_SHAPE
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    # an elongated lake with a wobbly shore (~145 km2 at 30 m): water fraction per pixel
    r = np.sqrt(((xx - 470) / 150) ** 2 + ((yy - 560) / 360) ** 2)
    r = r + 0.06 * _smooth_noise(rng, (ny, nx), 40)
    water_frac = np.clip((1.0 - r) * 40 + 0.5, 0, 1)  # ~1.5 pixel wide mixed shore
    truth = water_frac >= 0.5
    # land covers: smooth fields chopped into classes
    f1, f2 = _smooth_noise(rng, (ny, nx), 120), _smooth_noise(rng, (ny, nx), 60)
    land = np.where(f1 > 0.35, 3, np.where(f1 < -0.45, 2, 1))  # mountain, playa, desert
    land = np.where((f2 > 0.55) & (land == 1), 4, land)  # vegetation patches
    names = list(SYNTH_CLASSES)
    means = np.array([SYNTH_CLASSES[k] for k in names], dtype=np.float32)  # (5, 8)
    bands = np.empty((ny, nx, len(SYNTH_BANDS)), dtype=np.float32)
    bright = 1 + 0.25 * _smooth_noise(rng, (ny, nx), 25)  # illumination / material texture
    for b in range(len(SYNTH_BANDS)):
        land_val = means[land, b] * (bright if b < 7 else 1)
        val = water_frac * means[0, b] + (1 - water_frac) * land_val
        noise = 0.004 if b < 7 else 1.0
        bands[..., b] = val + rng.normal(0, noise, (ny, nx))
    bands[..., :7] = np.maximum(bands[..., :7], -0.01)
    # clouds: a few NaN blobs (~2 % of the scene), off the lake centre
    clouds = _smooth_noise(rng, (ny, nx), 50) > 0.8
    bands[clouds] = np.nan
    return bands.reshape(-1, len(SYNTH_BANDS)), truth.reshape(-1), SYNTH_BANDS


def sample_scene() -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str] | None:
    """The offline sample's 2017 Landsat 8 scene (the notebook's pick), if the sample exists.

    Loaded like the cookbook does (``lakeml.load.load_scene``: scale/offset, ``qa_pixel`` mask),
    stacked with ``lakeml.reshape.to_samples``. Returns (bands (n, p) float32 with NaN rows,
    truth water (n,), band names, item id).
    """
    try:
        import pystac

        from lakeml.load import load_scene
        from lakeml.offline import sample
        from lakeml.reshape import to_samples
    except ImportError:
        return None
    root = Path(sample.build())
    item_id = sample.EXPECTED_CLEAREST[("landsat-8", "2017-06-01/2017-09-30")]
    item_d = next(i for i in sample.items(root) if i["id"] == item_id)
    for asset in item_d["assets"].values():
        if "://" not in asset["href"] and not os.path.isabs(asset["href"]):
            asset["href"] = str(root / asset["href"])
    item = pystac.Item.from_dict(item_d)
    ds = load_scene(item, sample.SAMPLE_BBOX).compute()
    names = tuple(b for b in SYNTH_BANDS if b in ds.data_vars and not b.startswith("lwir"))
    X = to_samples(ds, names).values
    water = sample.truth(item_id, root=root).water
    water = water.reindex(y=ds.y, x=ds.x, method="nearest", tolerance=1.0, fill_value=False)
    truth = water.stack(sample=("y", "x")).values.astype(bool)
    return X.astype(np.float32), truth, names, item_id


def _standardise(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Per-band standardised reflectance bands (thermal dropped), NaN rows kept."""
    import xarray as xr

    from lakeml.reshape import standardize

    refl = [i for i, n in enumerate(names) if not n.startswith("lwir")]
    da = xr.DataArray(X[:, refl], dims=("sample", "band"))
    return standardize(da).values.astype(np.float32)


def prepare(path: Path) -> dict[str, Any]:
    """Write the benchmark input (standardised samples, nir08+swir16, truth) to ``path``."""
    got = sample_scene()
    if got is not None:
        X, truth, names, source = got
    else:
        X, truth, names = synthetic_scene()
        source = "synthetic"
    Z = _standardise(X, names)
    nir_swir = X[:, names.index("nir08")] + X[:, names.index("swir16")]
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, Z=Z, nir_swir=nir_swir.astype(np.float32), truth=truth)
    os.replace(tmp, path)
    return {"source": source, "n_pixels": int(len(Z)), "n_bands": int(Z.shape[1])}


def _water_iou(labels: np.ndarray, nir_swir: np.ndarray, truth: np.ndarray) -> float:
    """IoU of the water cluster (lowest mean nir08+swir16) vs truth, over labelled pixels."""
    ok = labels >= 0
    ids = np.unique(labels[ok])
    means = [float(np.nanmean(nir_swir[ok & (labels == i)])) for i in ids]
    water = labels == ids[int(np.argmin(means))]
    t = truth & ok
    union = np.sum(water | t)
    return float(np.sum(water & t) / union) if union else 0.0


def _fit_seed(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """The original recipe: dask-ml SpectralClustering on the valid rows, labels computed."""
    import dask.array as da
    import dask_ml.cluster
    from distributed import wait

    ok = np.isfinite(Z).all(axis=1)
    X = da.from_array(Z[ok], chunks=(-1, -1)).persist()  # the notebook's X: one block
    wait(X)  # in memory before the clock starts
    t0 = time.perf_counter()
    clf = dask_ml.cluster.SpectralClustering(**SEED_PARAMS)
    clf.fit(X)
    lab = clf.assign_labels_.labels_.compute()
    elapsed = time.perf_counter() - t0
    labels = np.full(len(Z), -1, dtype=np.int64)
    labels[ok] = lab
    return labels, elapsed


def _fit_lakeml(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """lakeml: the (sample, band) DataArray as the pipeline builds it (one chunk per band)."""
    import dask.array as da
    import xarray as xr
    from distributed import wait

    from lakeml.cluster import spectral_clustering

    data = da.from_array(Z, chunks=(-1, 1)).persist()
    wait(data)  # in memory before the clock starts
    samples = xr.DataArray(data, dims=("sample", "band"))
    t0 = time.perf_counter()
    labels = spectral_clustering(samples, n_clusters=4, random_state=0)
    elapsed = time.perf_counter() - t0
    return labels.values, elapsed


def nystrom_floor(
    Z: np.ndarray,
    n_clusters: int = 4,
    n_components: int = 100,
    gamma: float | None = None,
    random_state: int = 0,
    *,
    n_init: int = 10,
    kmeans_samples: int = 50_000,
    threads: int | None = None,
) -> np.ndarray:
    """``lakeml.cluster.spectral_clustering``'s maths in plain in-memory numpy: the floor.

    Step by step as ``lakeml.cluster`` (its module docstring): the same draws from
    ``random_state`` (the k-means seed, then the landmarks among the valid rows, then the
    k-means subsample), the rbf kernel ``exp(-gamma * |x - l|^2)`` in float32 with gamma
    ``1 / p`` by default, the degrees summed in float64, ``A2 = d1 A d1`` and its SVD in
    float64, ``W = d1 U[:, :k] / sqrt(S[:k])``, the embedding ``K(x, L) @ W`` row-normalised
    (rows whose kernel underflows recomputed with it rescaled), k-means (scikit-learn,
    ``n_init`` restarts, the same seed) on the subsample and every row assigned to its nearest
    centre. The kernel is streamed in ``FLOOR_ROWS``-row slices, twice (the degrees, then the
    embedding), as lakeml streams it, so both do the same arithmetic in the same cache-sized
    pieces. The difference: no dask. The slices go to a plain thread pool of ``threads``
    (default: every CPU), straight from the in-memory array: no task graph, no scheduler, no
    blocks. It is the same arithmetic without dask, not a proven lower bound: a ratio near 1
    says dask's scheduling costs lakeml nothing measurable. (A first floor held the whole
    ``n x 100`` kernel in memory instead: 400 MB for a million rows, memory-bound, 4.3 s
    against lakeml's 1.9 s in one run, so it was no floor.)

    Returns int32 labels, -1 on rows with a non-finite value.
    """
    from scipy.linalg import svd
    from sklearn.cluster import KMeans
    from sklearn.utils import check_random_state

    X = np.asarray(Z, dtype=np.float32)
    valid = np.isfinite(X).all(axis=1)
    valid_index = np.flatnonzero(valid)
    n_valid = len(valid_index)
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo("i4").max))  # dask-ml's order: the k-means seed first
    keep = np.sort(rng.choice(np.arange(n_valid), n_components, replace=False))
    if kmeans_samples >= n_valid:
        sub = np.arange(n_valid)
    else:
        sub = np.sort(np.random.default_rng(seed).choice(n_valid, kmeans_samples, replace=False))
    Xv = X if n_valid == len(X) else X[valid_index]
    L = Xv[keep]
    g = float(1.0 / X.shape[1] if gamma is None else gamma)

    # the kernel in slices of FLOOR_ROWS x m float32 (-g |x - l|^2 = 2g x.l - g |x|^2 - g |l|^2,
    # exp in place), streamed twice as lakeml does (degrees, then the embedding), by a pool of
    # ``threads`` Python threads (numpy releases the interpreter lock): no graph, no scheduler
    # one product gives the exponent: [x, |x|^2, 1] @ [2g L^T; -g; -g |l|^2]
    l64 = L.astype(np.float64)
    rhs = np.vstack([2 * g * l64.T, np.full((1, len(L)), -g), -g * (l64 * l64).sum(1)[None, :]])
    rhs = rhs.astype(np.float32)
    starts = range(0, n_valid, FLOOR_ROWS)

    def kernel(start: int) -> np.ndarray:
        xb = Xv[start : start + FLOOR_ROWS]
        aug = np.empty((len(xb), xb.shape[1] + 2), dtype=np.float32)
        aug[:, :-2] = xb
        np.einsum("ij,ij->i", xb, xb, out=aug[:, -2])
        aug[:, -1] = 1.0
        k = aug @ rhs
        np.exp(k, out=k)
        return k

    def degree_part(start: int) -> np.ndarray:
        k = kernel(start)
        return (np.ones(len(k), dtype=np.float32) @ k).astype(np.float64)

    V = np.empty((n_valid, n_clusters), dtype=np.float32)
    with ThreadPoolExecutor(threads or os.cpu_count() or 1) as pool:
        degree = np.sum(list(pool.map(degree_part, starts)), axis=0)

        A = np.exp(-g * ((l64[:, None, :] - l64[None, :, :]) ** 2).sum(-1))
        d1 = 1.0 / np.sqrt(degree)
        U, S, _ = svd(d1[:, None] * A * d1[None, :])
        W = (d1[:, None] * U[:, :n_clusters] / np.sqrt(S[:n_clusters])[None, :]).astype(np.float32)

        def embed(start: int) -> None:
            V[start : start + FLOOR_ROWS] = kernel(start) @ W

        list(pool.map(embed, starts))
    norm2 = (V * V).sum(axis=1)
    far = ~(norm2 > 1e-30)  # the kernel ~0 to every landmark: rescale it per row
    if far.any():
        kf = -g * ((Xv[far][:, None, :] - L[None, :, :]) ** 2).sum(-1)
        kf = np.exp(kf - kf.max(axis=1, keepdims=True)).astype(np.float32)
        V[far] = kf @ W
        norm2[far] = (V[far] * V[far]).sum(axis=1)
    V /= np.sqrt(norm2)[:, None]

    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(V[sub])
    labels = np.full(len(X), -1, dtype=np.int32)
    labels[valid_index] = km.predict(V)
    return labels


def _fit_floor(Z: np.ndarray) -> tuple[np.ndarray, float]:
    """The floor: :func:`nystrom_floor` on the in-memory samples, labels of every row."""
    t0 = time.perf_counter()
    labels = nystrom_floor(Z, n_clusters=4, random_state=0)
    return labels, time.perf_counter() - t0


def _peak_mb(processes: bool = False) -> float:
    """Peak RSS (MB) of this process; with worker processes, plus the largest child's peak.

    Under ``Client(processes=False)`` all the work happens in this process. Children's peaks
    are left out then: helpers forked at start-up report the parent's RSS at fork time.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if processes:
        peak += resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 1024.0  # Linux: kilobytes


def _client(processes: bool) -> Any:
    from distributed import Client, LocalCluster

    if processes:
        cluster = LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0"
        )
        return Client(cluster)
    return Client(processes=False, dashboard_address=":0")


def worker(kind: str, inp: Path, runs: int, processes: bool = False) -> dict[str, Any]:
    """One subprocess: ``runs`` fits of ``kind`` under a Client (in-process by default).

    A small warm-up fit (2 % of the rows, not timed, errors ignored) comes first, so that the
    timed runs measure the clustering, not first-call imports and thread pool start-up.
    """
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    data = np.load(inp)
    Z, nir_swir, truth = data["Z"], data["nir_swir"], data["truth"]
    fit = {"seed": _fit_seed, "lakeml": _fit_lakeml, "floor": _fit_floor}[kind]
    times, ious, errors, failed_after = [], [], [], []
    # the floor is plain numpy: no Client
    with _client(processes) if kind != "floor" else contextlib.nullcontext():
        try:
            fit(Z[: max(len(Z) // 50, 1000)])
        except Exception:
            pass
        baseline_mb = _peak_mb(processes)
        for _ in range(runs):
            t0 = time.perf_counter()
            try:
                labels, elapsed = fit(Z)
            except Exception as exc:  # the failure is the measurement
                failed_after.append(round(time.perf_counter() - t0, 1))
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
                traceback.print_exc(file=sys.stderr)
                continue
            times.append(elapsed)
            ious.append(_water_iou(labels, nir_swir, truth))
    return {
        "times": times,
        "ious": ious,
        "errors": errors,
        "failed_after_s": failed_after,
        "peak_mb": _peak_mb(processes),
        "baseline_mb": baseline_mb,
    }


def _run_worker(
    kind: str, inp: Path, runs: int = 1, timeout: float = 600, processes: bool = False
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", kind, "--input", str(inp), "--runs", str(runs)]
    cmd += ["--processes"] if processes else []
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        error = f"exit {proc.returncode}: {tail}"
        return {"times": [], "ious": [], "errors": [error] * runs, "peak_mb": float("nan")}
    return json.loads(lines[-1])


def _write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("dask", "distributed", "dask-ml", "scikit-learn")}


def _median(xs: list[float], digits: int = 3) -> float | None:
    return round(statistics.median(xs), digits) if xs else None


def bench(repeats: int, inp: Path, seed_attempts: int) -> tuple[dict[str, Any], str]:
    """Interleaved runs, one subprocess each: ``repeats`` lakeml and floor runs; seed runs until
    ``repeats`` succeed or ``seed_attempts`` were made (the recipe fails often under a Client).

    Times are medians over successful runs. When no seed run succeeds, ``seed_s`` is the
    median wall time until the recipe raised (after its whole fit, at ``labels_.compute()``):
    a lower bound of what a successful run would take. Peaks are medians over all runs.
    ``lakeml_over_floor`` is ``lakeml_s / floor_s``.
    """
    res: dict[str, list[dict[str, Any]]] = {"seed": [], "lakeml": [], "floor": []}
    for i in range(max(repeats, seed_attempts)):
        todo = []
        if sum(len(r["times"]) for r in res["seed"]) < repeats and i < seed_attempts:
            todo.append("seed")
        if i < repeats:
            todo += ["lakeml", "floor"]
        for kind in todo:
            r = _run_worker(kind, inp)
            res[kind].append(r)
            print(
                f"[{kind} {len(res[kind])}] {r['times']} s, peak {r['peak_mb']:.0f} MB "
                f"(before the timed fit {r.get('baseline_mb', float('nan')):.0f} MB), "
                f"water IoU {r['ious']}, errors {r['errors']} after {r.get('failed_after_s')} s",
                flush=True,
            )

    def agg(kind: str, key: str) -> list[float]:
        return [v for r in res[kind] for v in r.get(key, [])]

    note = ""
    seed_s, lakeml_s = _median(agg("seed", "times")), _median(agg("lakeml", "times"))
    floor_s = _median(agg("floor", "times"))
    if seed_s is None and agg("seed", "failed_after_s"):
        seed_s = _median(agg("seed", "failed_after_s"))
        note = " (seed_s: no seed run succeeded; time until it raised, a lower bound)"
    peaks = {k: [r["peak_mb"] for r in res[k] if np.isfinite(r["peak_mb"])] for k in res}
    summary = {
        "seed_s": seed_s,
        "lakeml_s": lakeml_s,
        "speedup": round(seed_s / lakeml_s, 1) if seed_s and lakeml_s else None,
        "floor_s": floor_s,
        "lakeml_over_floor": round(lakeml_s / floor_s, 2) if lakeml_s and floor_s else None,
        "seed_peak_mb": round(statistics.median(peaks["seed"]), 1) if peaks["seed"] else None,
        "lakeml_peak_mb": (
            round(statistics.median(peaks["lakeml"]), 1) if peaks["lakeml"] else None
        ),
        "floor_peak_mb": round(statistics.median(peaks["floor"]), 1) if peaks["floor"] else None,
        "seed_water_iou": _median(agg("seed", "ious"), 4),
        "lakeml_water_iou": _median(agg("lakeml", "ious"), 4),
        "floor_water_iou": _median(agg("floor", "ious"), 4),
        "seed_failures": len(agg("seed", "errors")),
        "lakeml_failures": len(agg("lakeml", "errors")),
        "floor_failures": len(agg("floor", "errors")),
    }
    return summary, note


def reliability(inp: Path, info: dict[str, Any], fits: int, processes: bool, out: Path) -> int:
    """``fits`` consecutive lakeml fits in one subprocess under one Client; 1 if any failed."""
    r = _run_worker("lakeml", inp, fits, 60 * fits + 120, processes)
    doc = {
        "n_pixels": info["n_pixels"],
        "client": "LocalCluster(processes=True, n_workers=2)" if processes else "in-process",
        "fits": fits,
        "failures": len(r["errors"]),
        "errors": r["errors"][:5],
        "median_s": _median(r["times"]),
        "max_s": round(max(r["times"]), 3) if r["times"] else None,
        "versions": _versions(),
    }
    name = "cluster-reliability-processes.json" if processes else "cluster-reliability.json"
    _write_json(doc, out.with_name(name))
    print(
        f"reliability: {doc['failures']} failures in {fits} lakeml fits under a "
        f"{doc['client']} Client, median {doc['median_s']} s, max {doc['max_s']} s"
    )
    return 0 if doc["failures"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per method (default 3)")
    ap.add_argument(
        "--seed-attempts",
        type=int,
        default=5,
        help="most seed (dask-ml) runs to get --repeats successful ones (default 5)",
    )
    ap.add_argument("--reliability", type=int, metavar="N", help="N lakeml fits under a Client")
    ap.add_argument(
        "--processes",
        action="store_true",
        help="reliability under LocalCluster(processes=True, n_workers=2) instead",
    )
    ap.add_argument("--out", type=Path, default=OUT_DIR / "cluster.json")
    ap.add_argument("--worker", choices=("seed", "lakeml", "floor"), help=argparse.SUPPRESS)
    ap.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.input, args.runs, args.processes)), flush=True)
        return 0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    inp = args.out.parent / f"cluster-input-{os.getpid()}.npz"
    try:
        info = prepare(inp)
        print(f"input: {info}", flush=True)
        if args.reliability:
            return reliability(inp, info, args.reliability, args.processes, args.out)
        figures, note = bench(args.repeats, inp, max(args.seed_attempts, args.repeats))
    finally:
        inp.unlink(missing_ok=True)
    summary = {"n_pixels": info["n_pixels"], **figures, "versions": _versions()}
    _write_json(summary, args.out)
    print(
        f"cluster bench ({info['source']}, {info['n_pixels']} px x {info['n_bands']} bands): "
        f"seed {summary['seed_s']} s / {summary['seed_peak_mb']} MB, lakeml {summary['lakeml_s']} s"
        f" / {summary['lakeml_peak_mb']} MB, speedup {summary['speedup']}x; numpy floor "
        f"{summary['floor_s']} s / {summary['floor_peak_mb']} MB, lakeml_s / floor_s "
        f"{summary['lakeml_over_floor']}; water IoU seed {summary['seed_water_iou']} lakeml "
        f"{summary['lakeml_water_iou']} floor {summary['floor_water_iou']}; failures seed "
        f"{summary['seed_failures']} lakeml {summary['lakeml_failures']} floor "
        f"{summary['floor_failures']}{note}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
