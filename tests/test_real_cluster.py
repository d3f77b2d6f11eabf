"""The workflows on a real dask cluster: a scheduler and two worker processes on loopback.

Every other dask test runs in one process (threads, or ``Client(processes=False)``). A Pangeo
hub (Dask Gateway), Coiled or an HPC queue (dask-jobqueue) runs the work in other processes:
the tasks, the STAC items and the read settings are pickled, and each worker imports lakeml
on its own. The fixture starts ``dask scheduler`` and two ``dask worker`` processes (each under
its nanny, as those deployments do), and stops them after the module. The workers reach
Planetary Computer's token service as the one of a fault proxy on loopback
(``PC_SDK_SAS_URL``), which can put the sample's COGs behind SAS tokens as Azure's storage does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest

from lakeml import signing
from lakeml.load import load_scene
from lakeml.offline import sample
from lakeml.search import WALKER_LAKE_BBOX, WALKER_LAKE_CENTRE, open_catalog, search
from lakeml.workflows import timeseries as ts
from lakeml.workflows.pipeline import classify_scene
from tests.faultproxy import Fault, Proxy, fault_proxy, sample_signer
from tests.leaks import SIGNED_URL

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
BBOX = [str(v) for v in WALKER_LAKE_BBOX]


def _start(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "dask"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def sas_proxy(stac_server) -> Iterator[Proxy]:
    """A fault proxy in front of the sample's server, with a token service like Planetary
    Computer's; it forwards everything until a test plans a fault."""
    parts = urlsplit(stac_server.stac_url)
    with fault_proxy(f"{parts.scheme}://{parts.netloc}") as proxy:
        yield proxy


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sas_proxy) -> Iterator[SimpleNamespace]:
    """``dask scheduler`` and two single-threaded ``dask worker`` processes on 127.0.0.1.

    The workers' token service is the proxy's (``PC_SDK_SAS_URL``), and the processes can import
    this repository's ``tests`` (the test's signer is pickled by reference; lakeml's own,
    :func:`lakeml.signing.sign`, needs nothing). ``logs``: the processes' output files."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("cluster")
    file = tmp / "scheduler.json"
    procs = [
        _start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(file)],
            tmp / "scheduler.log",
            env={"PYTHONPATH": str(ROOT)},  # it unpickles the graph: the signer's module
        )
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not file.exists():
            assert procs[0].poll() is None, (tmp / "scheduler.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        for name in ("w1", "w2"):
            procs.append(
                _start(
                    ["worker", address, "--name", name, "--nthreads", "1", "--host",
                     "127.0.0.1", "--no-dashboard", "--local-directory", str(tmp / name)],
                    tmp / f"{name}.log",
                    env={"PC_SDK_SAS_URL": sas_proxy.token_service, "PYTHONPATH": str(ROOT)},
                )
            )  # fmt: skip
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
            pids = client.run(os.getpid)
        assert len(set(pids.values()) | {os.getpid()}) == 3  # two processes, neither this one
        yield SimpleNamespace(
            address=address, logs=[tmp / f"{n}.log" for n in ("scheduler", "w1", "w2")]
        )
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def scheduler(cluster) -> str:
    """The scheduler's address."""
    return str(cluster.address)


def _tasks_run(address: str) -> int:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        return int(
            client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)
        )


def test_classify_scene_on_worker_processes_equals_threads(scheduler, stac_url):
    """classify_scene (the read, the clustering, DSWE, WOfS) on the workers: the same water."""
    from distributed import Client

    item = search(
        WALKER_LAKE_BBOX, "2017-06-01/2017-09-30", "landsat-8", catalog=open_catalog(stac_url)
    )[0]
    kw = {"resolution": 120, "lake_point": WALKER_LAKE_CENTRE}
    threads = classify_scene(item, WALKER_LAKE_BBOX, **kw)
    before = _tasks_run(scheduler)
    with Client(scheduler, timeout="30s"):
        remote = classify_scene(item, WALKER_LAKE_BBOX, **kw)
    assert _tasks_run(scheduler) > before + 10  # the work ran on the cluster
    # the same water, not bit for bit: the workers run BLAS on 1 thread (their nanny's
    # setting), this process on 2, and a pixel on a cluster's edge may go either way
    a, b = remote.water.values, threads.water.values
    assert remote.water.shape == threads.water.shape
    assert ((a == b) | (np.isnan(a) & np.isnan(b))).mean() > 0.999
    for key in ("water_km2", "water_iou_vs_dswe", "water_iou_vs_wofs", "n_clusters"):
        assert remote.attrs[key] == pytest.approx(threads.attrs[key], rel=1e-3), key
    assert 100 < remote.attrs["water_km2"] < 130  # the 2017 lake on the sample


def _run_cli(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "lakeml.workflows.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_timeseries_command_on_a_scheduler_equals_threads(scheduler, stac_server, tmp_path):
    """``lakeml timeseries --scheduler``: each year a task on a worker process (pickled items,
    the sample's truth read there): the same table as dask's threads in this process."""
    before = _tasks_run(scheduler)
    _run_cli(
        ["timeseries", "--bbox", *BBOX, "--years", "2011-2014", "--resolution", "120",
         "--sample", "--quiet", "--out", str(tmp_path), "--scheduler", scheduler]
    )  # fmt: skip
    assert _tasks_run(scheduler) >= before + 4 * 3  # four years, each released, waiting, done
    remote = pd.read_csv(tmp_path / "lake_area.csv").set_index("year")
    local = ts.to_table(
        ts.timeseries(
            WALKER_LAKE_BBOX, "2011-2014", resolution=120, truth=sample.truth,
            catalog=open_catalog(stac_server.stac_url),
        )
    ).set_index("year")  # fmt: skip
    assert remote["item_id"].tolist() == local["item_id"].tolist()
    assert remote["partial"].tolist() == local["partial"].tolist() == [False, True, False, True]
    np.testing.assert_allclose(remote["water_km2"], local["water_km2"], rtol=1e-3)
    np.testing.assert_allclose(remote["truth_water_km2"], local["truth_water_km2"], rtol=1e-6)
    # the CSV holds 4 decimals
    np.testing.assert_allclose(remote["valid_fraction"], local["valid_fraction"], atol=1e-4)


def test_change_command_follows_dask_scheduler_address(scheduler, tmp_path):
    """``lakeml change`` with dask's own DASK_SCHEDULER_ADDRESS set (as on a Pangeo hub): the
    work runs on that cluster and the numbers are the sample's."""
    before = _tasks_run(scheduler)
    _run_cli(
        ["change", "--bbox", *BBOX, "--before", "1988-06-01/1988-09-30", "--after",
         "2017-06-01/2017-09-30", "--sample", "--quiet", "--out", str(tmp_path)],
        env={"DASK_SCHEDULER_ADDRESS": scheduler},
    )  # fmt: skip
    assert _tasks_run(scheduler) > before + 10
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("before", "after"):
        assert summary[key]["water_iou_vs_truth"] >= 0.98
    assert summary["lost_km2"] > 50 and summary["change_km2"] < -50


def test_scheduler_and_workers_are_refused_together(scheduler, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lakeml.workflows.cli", "timeseries", "--bbox", *BBOX, "--years",
         "2011", "--sample", "--out", str(tmp_path), "--workers", "2", "--scheduler", scheduler],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--workers 2 starts a local cluster, but a scheduler is given" in proc.stderr


SMALL_BBOX = (-118.73, 38.68, -118.69, 38.72)  # ~3.5 x 4.5 km over the lake's middle


def test_signing_and_log_redaction_hold_in_the_worker_processes(cluster, sas_proxy, stac_url):
    """The COGs behind SAS tokens (the proxy answers 403 without a valid one, as Azure does):
    the worker processes sign each read themselves, renew a token that expired while they kept
    it, and a read that keeps failing is reported, in the client and in the workers' logs,
    without any signature."""
    from distributed import Client

    proxied = stac_url.replace(sas_proxy.upstream, sas_proxy.url)
    item = search(SMALL_BBOX, "2017-06-01/2017-09-30", "landsat-8", catalog=open_catalog(proxied))[
        -1
    ]
    assert item.assets["red"].href.startswith(sas_proxy.url)
    plain = search(SMALL_BBOX, "2017-06-01/2017-09-30", "landsat-8", catalog=open_catalog(stac_url))
    reference = {
        band: load_scene(plain[-1], SMALL_BBOX, bands=[band])[band].values
        for band in ("red", "green")
    }
    sas_proxy.plan(Fault("sas", r"\.TIF", times=None))
    sas_proxy.sas_lifetime = 3.0  # real lifetime; each token claims an hour
    issued = sas_proxy.tokens_issued
    with Client(cluster.address, timeout="30s") as client:
        first = load_scene(item, SMALL_BBOX, bands=["red"], signer=sample_signer).red.values
        np.testing.assert_array_equal(first, reference["red"])
        # the workers signed (tokens in their own caches), not this process
        cached = client.run(lambda: len(__import__("lakeml.signing").signing._TOKENS))
        assert sum(cached.values()) >= 1 and not signing._TOKENS, cached
        assert sas_proxy.tokens_issued > issued
        # every worker keeps a token; they expire while kept (they claim an hour): the next
        # read (of another file: GDAL caches what it read) meets Azure's 403, signs again and
        # succeeds
        client.run(sample_signer, f"{sas_proxy.url}/data/cogs/warm.TIF")
        time.sleep(3.2)
        sas_proxy.plan(Fault("sas", r"\.TIF", times=None))  # and clears the request log
        again = load_scene(item, SMALL_BBOX, bands=["green"], signer=sample_signer).green
        np.testing.assert_array_equal(again.values, reference["green"])
        codes = [code for _, path, code in sas_proxy.log if ".TIF" in path]
        assert 403 in codes and codes[-1] in (200, 206), codes
        # a file the storage always refuses (one not read yet: GDAL caches what it read): one
        # renewal, then a clear error with no signature
        sas_proxy.plan(Fault("status", r"_SR_B5\.TIF", times=None, code=403))
        # (distributed hands back the worker's RasterioIOError as an Exception of its repr)
        with pytest.raises(Exception, match=r"RasterioIOError.*_SR_B5\.TIF") as failed:
            load_scene(item, SMALL_BBOX, bands=["nir08"], signer=sample_signer).compute()
    message = str(failed.value)
    assert "_SR_B5.TIF" in message and "403" in message, message
    assert not SIGNED_URL.search(message), message
    logs = "\n".join(log.read_text(errors="replace") for log in cluster.logs)
    assert "_SR_B5.TIF" in logs, "the failed read is in the workers' logs"
    # odc-loader logs the signed link it failed to read: redacted in the worker
    # (lakeml.errors.install_log_filter runs in the process that reads)
    assert "?<signature removed>" in logs
    leaked = [line for line in logs.splitlines() if SIGNED_URL.search(line)]
    assert not leaked, leaked[:3]
