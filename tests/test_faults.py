"""Network faults between the notebooks and the catalog: a fault-injecting proxy on loopback in
front of the real local STAC API and COG server. Each case recovers (with correct pixels) or
fails cleanly with a message naming the URL."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import numpy as np
import pytest

from lakeml import load, search
from tests.faultproxy import Fault, fault_proxy

SMALL_BBOX = (-118.73, 38.68, -118.69, 38.72)  # ~3.5 x 4.5 km over the lake's middle
DATES, PLATFORM = "2017-06-01/2017-09-30", "landsat-8"
COSTS: dict[str, float] = {}
pytestmark = pytest.mark.xdist_group("faults")  # one worker: the cost report sees all cases


@pytest.fixture(scope="module")
def proxy(stac_server):
    parts = urlsplit(stac_server.stac_url)
    with fault_proxy(f"{parts.scheme}://{parts.netloc}") as p:
        yield p


@pytest.fixture(scope="module")
def proxied_url(proxy, stac_server) -> str:
    return stac_server.stac_url.replace(proxy.upstream, proxy.url)


@pytest.fixture(scope="module")
def reference(stac_server):
    items = search.search(SMALL_BBOX, DATES, PLATFORM, catalog=search.open_catalog(
        stac_server.stac_url))
    item = items[-1]
    ds = load.load_scene(item, SMALL_BBOX, bands=["blue", "green", "red", "nir08"]).compute()
    return item.id, [it.id for it in items], ds


def timed_search(url: str) -> tuple[list[str], float]:
    start = time.perf_counter()
    items = search.search(SMALL_BBOX, DATES, PLATFORM, catalog=search.open_catalog(url))
    return [it.id for it in items], time.perf_counter() - start


def test_stac_503_burst_is_retried(proxy, proxied_url, reference):
    proxy.plan(Fault("status", r"/search", times=3, code=503))
    ids, seconds = timed_search(proxied_url)
    assert ids == reference[1]
    assert [code for _, path, code in proxy.log if "/search" in path][:4] == [503, 503, 503, 200]
    COSTS["stac 3 x 503"] = seconds


def test_stac_slow_answer_is_waited_for(proxy, proxied_url, reference):
    proxy.plan(Fault("slow", r"/search", times=1, delay=2.0))
    ids, seconds = timed_search(proxied_url)
    assert ids == reference[1] and seconds >= 2.0
    COSTS["stac slow 2 s"] = seconds


def test_stac_cut_mid_body_is_retried(proxy, proxied_url, reference):
    proxy.plan(Fault("cut", r"/search", times=1))
    ids, seconds = timed_search(proxied_url)
    assert ids == reference[1]
    assert any(code == -1 for *_, code in proxy.log)
    COSTS["stac cut mid-body"] = seconds


def test_stac_down_fails_cleanly_naming_the_url(proxy, proxied_url):
    proxy.plan(Fault("status", r"/search", times=None, code=503))
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"STAC API .*127\.0\.0\.1.* failed"):
        timed_search(proxied_url)
    COSTS["stac permanent 503 (give up)"] = time.perf_counter() - start


def _load_through(proxy, proxied_url, item_id, bands):
    catalog = search.open_catalog(proxied_url)
    item = next(catalog.get_collection("landsat-c2-l2").get_items(item_id))
    assert item.assets["red"].href.startswith(proxy.url)
    return load.load_scene(item, SMALL_BBOX, bands=bands).compute()


@pytest.mark.parametrize(
    ("fault", "band"),
    [
        (Fault("status", r"SR_B4\.TIF", times=2, code=503), "red"),
        (Fault("slow", r"SR_B3\.TIF", times=2, delay=1.0), "green"),
        (Fault("cut", r"SR_B5\.TIF", times=1), "nir08"),
    ],
    ids=["cog-503-burst", "cog-slow", "cog-cut-mid-body"],
)
def test_cog_faults_recover_with_correct_pixels(proxy, proxied_url, reference, fault, band):
    item_id, _, expected = reference
    proxy.plan(fault)
    start = time.perf_counter()
    ds = _load_through(proxy, proxied_url, item_id, [band])
    COSTS[f"cog {fault.kind}"] = time.perf_counter() - start
    assert fault.hits >= 1, "the fault was injected"
    np.testing.assert_array_equal(ds[band].values, expected[band].values)


def test_truncated_cog_fails_cleanly_naming_the_file(proxy, proxied_url, reference):
    item_id, _, _ = reference
    proxy.plan(Fault("truncate", r"SR_B2\.TIF", times=None, size=20_000))
    from rasterio.errors import RasterioIOError

    with pytest.raises(RasterioIOError) as caught:
        _load_through(proxy, proxied_url, item_id, ["blue"])
    # GDAL fails at open or at the first missing tile; the chain names the file either way,
    # and so does the command's one-line message (lakeml.cli.describe).
    from lakeml.cli import describe

    assert re.search(r"http://127\.0\.0\.1:\d+/.*SR_B2\.TIF", describe(caught.value))


def test_nothing_listening_fails_cleanly_naming_the_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    url = f"http://127.0.0.1:{port}/api/stac/v1"
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=rf"STAC API http://127\.0\.0\.1:{port}/api/stac/v1"):
        search.open_catalog(url, retries=2)
    COSTS["connection refused, 2 retries (give up)"] = time.perf_counter() - start


def test_report_retry_costs():
    # Printed with -s / in the CI log: what each fault cost in wall time.
    for name, seconds in COSTS.items():
        print(f"retry cost: {name}: {seconds:.2f} s")
    assert COSTS, "the fault tests ran first in this module"


@pytest.fixture
def token_service(proxy, monkeypatch):
    """planetary_computer pointed at the proxy's token service, with an empty token cache."""
    from planetary_computer import sas
    from planetary_computer.settings import Settings

    monkeypatch.setattr(Settings.get(), "sas_url", proxy.token_service)
    monkeypatch.setattr(sas, "TOKEN_CACHE", {})
    monkeypatch.setattr(proxy, "sas_lifetime", 2.0)
    monkeypatch.setattr(proxy, "tokens_issued", 0)
    return proxy


def sample_signer(url: str, refresh: bool = False) -> str:
    """Sign the sample's COG links as Planetary Computer's blob links are signed (same code)."""
    return load.sign_with_token_service(url, "sample", "cogs", refresh)


def test_expired_token_is_renewed_and_the_read_retried(token_service, proxied_url, reference,
                                                       caplog):
    item_id, _, expected = reference
    proxy = token_service
    catalog = search.open_catalog(proxied_url)
    item = next(catalog.get_collection("landsat-c2-l2").get_items(item_id))
    lazy = load.load_scene(item, SMALL_BBOX, bands=["red"], signer=sample_signer)
    assert "sig=" not in repr(dict(lazy.red.data.dask)), "the graph holds unsigned URLs"
    sample_signer(item.assets["red"].href)  # a token is cached, then expires server-side
    time.sleep(2.1)
    proxy.plan(Fault("sas", r"\.TIF", times=None))
    start = time.perf_counter()
    with caplog.at_level("INFO"):
        ds = lazy.compute()
    COSTS["cog expired SAS token (re-sign)"] = time.perf_counter() - start
    np.testing.assert_array_equal(ds.red.values, expected.red.values)
    codes = [code for _, path, code in proxy.log if "SR_B4" in path]
    assert codes[0] == 403 and set(codes[1:]) <= {200, 206} and len(codes) > 1, codes
    assert proxy.tokens_issued == 2  # the stale one and its replacement
    assert any("signing it again" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], "no alarm for a retried 403"
    assert not any("sig=" in r.getMessage() for r in caplog.records)


def test_token_refused_every_time_fails_cleanly_without_the_signature(token_service,
                                                                      proxied_url, reference,
                                                                      caplog):
    item_id, _, _ = reference
    proxy = token_service
    proxy.sas_lifetime = -1.0  # every token is already expired
    proxy.plan(Fault("sas", r"\.TIF", times=None))
    catalog = search.open_catalog(proxied_url)
    item = next(catalog.get_collection("landsat-c2-l2").get_items(item_id))
    from rasterio.errors import RasterioIOError

    from lakeml.cli import describe

    with pytest.raises(RasterioIOError) as caught:
        load.load_scene(item, SMALL_BBOX, bands=["red"], signer=sample_signer).compute()
    message = describe(caught.value)
    assert "403 even with a freshly signed URL" in message
    assert re.search(r"http://127\.0\.0\.1:\d+/.*(SR_B4|QA_PIXEL)\.TIF\)", message)
    assert "sig=" not in message and "se=" not in message
    # each of the two blocks (red, qa_pixel) tried once more with a fresh token, then gave up
    assert 2 <= proxy.tokens_issued <= 3
    assert not any("sig=" in r.getMessage() for r in caplog.records)


def test_planetary_computer_links_get_a_new_token_on_refresh(token_service):
    """lakeml.load.sign on a real-shaped blob link, with tokens from a token service on loopback."""
    proxy = token_service
    href = "https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/x/LC09_SR_B4.TIF"
    first = load.sign(href)
    assert first.startswith(href + "?st=") and "&sig=" in first and proxy.tokens_issued == 1
    assert load.sign(first) == first  # cached: the claimed expiry is an hour away
    renewed = load.sign(first, refresh=True)
    assert renewed != first and renewed.startswith(href + "?st=") and proxy.tokens_issued == 2
    assert load.redact(f"GET {renewed} failed") == f"GET {href}?<signature removed> failed"
