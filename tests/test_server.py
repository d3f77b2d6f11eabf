"""The local STAC API + COG server, tested for real: PostgreSQL, pgstac, uvicorn, GDAL over HTTP.

Two kinds of tests:
- against the session's ``stac_server`` (the real offline sample): what notebooks rely on;
- against throwaway servers on a tiny catalog (``mini_catalog``): start-up, shutdown and
  clean-up, including after an exception, Ctrl-C-like exits and a killed parent process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pystac_client
import pytest
import rasterio
import requests
from rasterio.windows import Window

from lakeml.offline.server import read_catalog, run_with_sample, serve_sample
from tests.conftest_server import MINI_ITEMS, MINI_SHAPE, mini_pixels

WALKER_BBOX = [-118.89, 38.54, -118.57, 38.84]
CQL2_L5_CLEAR = {
    "op": "and",
    "args": [
        {"op": "<", "args": [{"property": "eo:cloud_cover"}, 1]},
        {"op": "in", "args": [{"property": "platform"}, ["landsat-5"]]},
    ],
}
"""The filter of the brief (and of lakeml.search), spelled out once literally."""
GDAL_HTTP = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_MAX_RETRY": "0"}
REPO = Path(__file__).resolve().parents[1]


def port_is_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def process_tree(pids) -> set[int]:
    """The given processes and all their descendants (postgres backends, uvicorn)."""
    out = set()
    for pid in pids:
        p = psutil.Process(pid)
        out.add(pid)
        out.update(c.pid for c in p.children(recursive=True))
    return out


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def first_cog(root: Path) -> tuple[str, Path]:
    """(href relative to root, path) of the first asset of the first item, a COG."""
    items = [json.loads(x) for x in (root / "catalog" / "items.ndjson").read_text().splitlines()]
    for item in items:
        for asset in item["assets"].values():
            if asset["href"].upper().endswith((".TIF", ".TIFF")):
                return asset["href"], root / asset["href"]
    raise AssertionError("no GeoTIFF asset in the sample")


# ------------------------------------------------------------------------------------------
# The session server on the real offline sample
# ------------------------------------------------------------------------------------------


def test_landing_page_and_conformance(stac_server):
    assert stac_server.stac_url.endswith("/api/stac/v1")
    client = pystac_client.Client.open(stac_server.stac_url)
    for conformance in ("CORE", "ITEM_SEARCH", "FILTER", "QUERY", "COLLECTIONS"):
        assert client.conforms_to(conformance), conformance
    assert client.get_self_href().rstrip("/") == stac_server.stac_url
    assert client.get_collection("landsat-c2-l2").id == "landsat-c2-l2"


def cql2(platform: str, max_cloud: float = 1) -> dict:
    return {
        "op": "and",
        "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, max_cloud]},
            {"op": "in", "args": [{"property": "platform"}, [platform]]},
        ],
    }


def test_cql2_search_finds_the_expected_items(stac_server):
    """The original notebook's two searches, as CQL2-JSON, give sample.EXPECTED_SEARCH."""
    from lakeml.offline import sample

    assert cql2("landsat-5") == CQL2_L5_CLEAR
    client = pystac_client.Client.open(stac_server.stac_url)
    for (platform, interval), expected in sample.EXPECTED_SEARCH.items():
        search = client.search(
            collections=["landsat-c2-l2"],
            bbox=WALKER_BBOX,
            datetime=interval,
            filter=cql2(platform),
            filter_lang="cql2-json",
        )
        ids = [item.id for item in search.items()]
        assert ids == expected, (platform, interval)  # same order: newest first
        matched = search.matched()
        assert isinstance(matched, int) and matched == len(expected)


def test_every_href_is_absolute_and_served(stac_server):
    from lakeml.offline import sample

    r = requests.post(
        stac_server.stac_url + "/search", json={"collections": ["landsat-c2-l2"], "limit": 1000}
    )
    assert r.status_code == 200
    features = r.json()["features"]
    assert len(features) == len(sample.items(stac_server.root))
    for feature in features:
        for asset in feature["assets"].values():
            assert asset["href"].startswith(stac_server.data_url + "/cogs/"), asset["href"]
        for link in feature["links"]:
            assert link["href"].startswith(("http://", "https://")), link
    href = next(iter(features[0]["assets"].values()))["href"]
    r = requests.head(href, timeout=10)
    assert r.status_code == 200
    assert r.headers.get("accept-ranges") == "bytes"


def test_range_request_returns_206_with_the_right_bytes(stac_server):
    rel, path = first_cog(stac_server.root)
    data = path.read_bytes()
    start, end = len(data) // 2, len(data) // 2 + 999
    r = requests.get(
        f"{stac_server.data_url}/{rel}", headers={"Range": f"bytes={start}-{end}"}, timeout=10
    )
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    assert r.content == data[start : end + 1]
    assert "content-encoding" not in r.headers


def test_gdal_reads_a_cog_window_over_http(stac_server):
    rel, path = first_cog(stac_server.root)
    assert path.stat().st_size > 16_384, "pick a COG bigger than GDAL's first read"
    with rasterio.open(path) as local:
        h, w = local.height, local.width
        window = Window(w // 2, h // 2, min(64, w // 2), min(64, h // 2))
        expected = local.read(1, window=window)
        crs = local.crs
    with rasterio.Env(**GDAL_HTTP), rasterio.open(f"{stac_server.data_url}/{rel}") as remote:
        assert remote.crs == crs
        np.testing.assert_array_equal(remote.read(1, window=window), expected)


def test_query_extension_accepts_lt_and_rejects_in(stac_server):
    """Why lakeml.search uses CQL2 ``filter``: this server's ``query`` refuses ``in``."""
    url = stac_server.stac_url + "/search"
    base = {"collections": ["landsat-c2-l2"], "limit": 100}
    r = requests.post(url, json={**base, "query": {"platform": {"in": ["landsat-5"]}}}, timeout=10)
    assert r.status_code in (400, 422)  # 400 with stac-fastapi-pgstac 7.2
    r = requests.post(url, json={**base, "query": {"eo:cloud_cover": {"lt": 1}}}, timeout=10)
    assert r.status_code == 200
    clouds = [f["properties"]["eo:cloud_cover"] for f in r.json()["features"]]
    assert all(c < 1 for c in clouds)


# ------------------------------------------------------------------------------------------
# Throwaway servers on the mini catalog: start-up and clean-up
# ------------------------------------------------------------------------------------------


def test_read_catalog_rewrites_relative_hrefs(mini_catalog):
    collection, items = read_catalog(mini_catalog, "http://127.0.0.1:9/data/")
    assert collection["id"] == "landsat-c2-l2"
    href = items[0]["assets"]["red"]["href"]
    assert href.startswith("http://127.0.0.1:9/data/cogs/")
    assert "//cogs" not in href


def test_bad_root_is_refused_before_anything_starts(tmp_path):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(ValueError, match="not a sample directory"):
        with serve_sample(tmp_path):
            pass
    with pytest.raises(ValueError, match="does not exist"):
        with serve_sample(tmp_path / "nope"):
            pass
    with pytest.raises(ValueError, match="port"):
        with serve_sample(tmp_path, port=70000):
            pass
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_serve_sample_stops_everything_on_exit(mini_catalog, monkeypatch):
    monkeypatch.setenv("ENABLED_EXTENSIONS", "sort")  # must not switch off filter/query
    t0 = time.perf_counter()
    with serve_sample(mini_catalog) as srv:
        startup = time.perf_counter() - t0
        tree = process_tree(srv.pids)
        assert len(tree) >= 3  # uvicorn, postmaster, postgres auxiliary processes
        assert all(alive(pid) for pid in srv.pids)
        assert port_is_open(srv.port)
        assert srv.workdir.is_dir()
        client = pystac_client.Client.open(srv.stac_url)
        search = client.search(
            collections=["landsat-c2-l2"],
            bbox=WALKER_BBOX,
            datetime="1988-06-01/1988-09-30",
            filter=CQL2_L5_CLEAR,
        )
        assert [i.id for i in search.items()] == ["LT05_L2SP_042033_19880717_02_T1"]
        assert search.matched() == 1
        # GDAL over /vsicurl/: a window at the end of a 1 MB COG needs ranged reads
        item_id = MINI_ITEMS[2][0]
        url = f"{srv.data_url}/cogs/{item_id}/{item_id}_SR_B4.TIF"
        h, w = MINI_SHAPE
        with rasterio.Env(**GDAL_HTTP), rasterio.open(url) as src:
            got = src.read(1, window=Window(w - 50, h - 40, 50, 40))
        np.testing.assert_array_equal(got, mini_pixels(2)[h - 40 :, w - 50 :])
    assert not port_is_open(srv.port)
    assert not [pid for pid in tree if alive(pid)]
    assert not srv.workdir.exists()
    print(f"mini-catalog server start-up: {startup:.2f} s")
    assert startup < 30


def test_serve_sample_cleans_up_after_an_exception(mini_catalog):
    with pytest.raises(KeyboardInterrupt):
        with serve_sample(mini_catalog) as srv:
            tree = process_tree(srv.pids)
            raise KeyboardInterrupt
    assert not port_is_open(srv.port)
    assert not [pid for pid in tree if alive(pid)]
    assert not srv.workdir.exists()


def test_killed_parent_leaves_nothing_running(mini_catalog, tmp_path):
    """If the Python process holding serve_sample() is SIGKILLed, uvicorn cleans up."""
    script = (
        "import json, sys, time\n"
        "from lakeml.offline.server import serve_sample\n"
        "cm = serve_sample(sys.argv[1])\n"
        "srv = cm.__enter__()\n"
        "print(json.dumps({'pids': srv.pids, 'port': srv.port, 'workdir': str(srv.workdir)}))\n"
        "sys.stdout.flush()\n"
        "time.sleep(300)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(mini_catalog)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        info = json.loads(proc.stdout.readline())
        tree = process_tree(info["pids"])
    finally:
        proc.kill()
        proc.wait()
    assert wait_until(lambda: not [pid for pid in tree if alive(pid)]), "processes left running"
    assert wait_until(lambda: not Path(info["workdir"]).exists())
    assert not port_is_open(info["port"])


def test_run_with_sample_passes_the_url_and_the_exit_code(mini_catalog, tmp_path):
    out = tmp_path / "url.txt"
    code = (
        "import os, sys, pystac_client\n"
        "url = os.environ['LAKEML_STAC_URL']\n"
        "pystac_client.Client.open(url).get_collection('landsat-c2-l2')\n"
        f"open({str(out)!r}, 'w').write(url)\n"
        "sys.exit(3)\n"
    )
    assert run_with_sample([sys.executable, "-c", code], root=mini_catalog) == 3
    url = out.read_text()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/stac/v1")
    port = int(url.split(":")[2].split("/")[0])
    assert not port_is_open(port)
    with pytest.raises(ValueError, match="command not found"):
        run_with_sample(["no-such-command-lakeml"], root=mini_catalog)


def test_serve_forever_stops_on_ctrl_c(mini_catalog, tmp_path):
    # stderr to a file, not a pipe that nobody reads while the server runs
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakeml.offline.server", "--root", str(mini_catalog)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # started with SIGINT ignored, as a background job is (and as a pytest worker's
            # children can be after some tests: the server then never stopped on Ctrl-C)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    try:
        line = proc.stdout.readline()
        assert line.startswith("STAC API: http://127.0.0.1:"), line + log.read_text()[-3000:]
        url = line.split()[-1]
        port = int(url.split(":")[2].split("/")[0])
        assert requests.get(url + "/", timeout=10).status_code == 200
        tree = process_tree([proc.pid]) - {proc.pid}
        proc.send_signal(signal.SIGINT)
        # reads stdout to the end (it cannot fill either); the wait is longer than the
        # server's own stop budget (pg_ctl -t 20, then 10 s for each process), which a loaded
        # machine used: the test timed out at 30 s in two of six fresh-clone runs
        proc.communicate(timeout=90)
        assert proc.returncode == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not port_is_open(port)
    assert not [pid for pid in tree if alive(pid)]
