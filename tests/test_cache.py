"""Scenes cached on disk: a rerun reads them back identically without the network, and a run
killed mid-write leaves no corrupt cache file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pystac
import pytest

from lakeml import cache, load, search

BBOX = (-118.80, 38.60, -118.66, 38.76)
BANDS = ["green", "nir08", "swir16"]


@pytest.fixture(scope="module")
def item(stac_server) -> pystac.Item:
    items = search.search(
        BBOX,
        "2017-06-01/2017-09-30",
        "landsat-8",
        catalog=search.open_catalog(stac_server.stac_url),
    )
    return items[0]


def unreachable(item: pystac.Item) -> pystac.Item:
    """The same item with every asset pointing at a port where nothing listens."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = item.clone()
    for asset in dead.assets.values():
        tail = asset.href.split("/data/", 1)[-1]
        asset.href = f"http://127.0.0.1:{port}/data/{tail}"
    return dead


def test_cached_scene_reloads_identically_without_the_network(item, tmp_path):
    fresh = load.load_scene(item, BBOX, bands=BANDS).compute()
    first = load.load_scene(item, BBOX, bands=BANDS, cache=tmp_path).compute()
    files = list(tmp_path.glob("*.tif"))
    assert len(files) == 1 and files[0].name.startswith(item.id)
    again = load.load_scene(unreachable(item), BBOX, bands=BANDS, cache=tmp_path).compute()
    for ds in (first, again):
        for band in BANDS:
            np.testing.assert_array_equal(ds[band].values, fresh[band].values)
        np.testing.assert_array_equal(ds.valid.values, fresh.valid.values)
        assert ds.odc.geobox == fresh.odc.geobox
    # another grid is another cache entry
    load.load_scene(item, BBOX, bands=BANDS, resolution=60, cache=tmp_path)
    assert len(list(tmp_path.glob("*.tif"))) == 2


def test_killed_mid_write_leaves_no_corrupt_file(item, stac_server, tmp_path):
    script = textwrap.dedent(f"""
        from lakeml import load, search
        items = search.search({BBOX!r}, "2017-06-01/2017-09-30", "landsat-8",
                              catalog=search.open_catalog({stac_server.stac_url!r}))
        load.load_scene(items[0], {BBOX!r}, bands={BANDS!r}, cache={str(tmp_path)!r})
    """)
    killed_during_write = False
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                killed_during_write = True
                break
            time.sleep(0.002)
        proc.wait(30)
        if killed_during_write:
            break
        for p in tmp_path.iterdir():  # it finished before we caught it: try again
            p.unlink()
    assert killed_during_write, "the write was never caught in progress"
    assert not list(tmp_path.glob("*.tif")), "a half-written file took the final name"
    ds = load.load_scene(item, BBOX, bands=BANDS, cache=tmp_path).compute()
    fresh = load.load_scene(item, BBOX, bands=BANDS).compute()
    np.testing.assert_array_equal(ds.nir08.values, fresh.nir08.values)
    assert len(list(tmp_path.glob("*.tif"))) == 1


def test_stale_temporary_files_are_swept_young_ones_kept(item, tmp_path):
    """A run killed mid-write leaves ``.NAME.lakeml-*.tmp``; the next write into the folder
    removes it once it is an hour old (a younger one may belong to a run still writing). Other
    programs' temporary files and folders are left alone."""
    stale = tmp_path / f".{item.id}_0123456789abcdef.tif.lakeml-k1ll3d.tmp"
    young = tmp_path / f".{item.id}_fedcba9876543210.tif.lakeml-wr1t1ng.tmp"
    theirs = tmp_path / ".bashrc.tmp"
    folder = tmp_path / ".x.lakeml-dir.tmp"
    folder.mkdir()
    for p in (stale, young, theirs):
        p.write_bytes(b"II*\x00half a GeoTIFF")
    old = time.time() - 2 * 3600
    for p in (stale, theirs, folder):
        os.utime(p, (old, old))
    load.load_scene(item, BBOX, bands=["green"], resolution=120, cache=tmp_path)
    assert not stale.exists()
    assert young.exists() and theirs.exists() and folder.is_dir()
    assert len(list(tmp_path.glob("*.tif"))) == 1


def test_cache_key_follows_the_item_version(item):
    """A re-processed item (new ``created``/``updated``) or a new sample is a new cache entry."""
    from lakeml.offline import sample

    where = {"bbox": BBOX, "resolution": 30}
    key = cache.scene_key(item, BANDS, where)
    assert item.properties["created"].startswith(sample.SAMPLE_RELEASES[sample.SAMPLE_VERSION][:16])
    newer = item.clone()
    newer.properties["created"] = "2030-01-01T00:00:00Z"
    assert cache.scene_key(newer, BANDS, where) != key
    assert cache.scene_key(item.clone(), BANDS, where) == key
    assert cache.scene_key(item, BANDS, {"bbox": BBOX, "resolution": 60}) != key
