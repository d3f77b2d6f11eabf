"""Network faults between lakeml and the catalog, as one table.

A fault-injecting proxy on loopback (tests/faultproxy.py) sits in front of the real local STAC
API and COG server. Each row injects one fault and asserts the exact outcome: recovery with the
same ids / the same pixels as without the proxy, or a clean failure whose message names the URL
and carries no signature. Each row also bounds what the fault cost in wall time; the costs are
written to ``_build/reports/fault_costs.json`` (and printed with ``-s``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from rasterio.errors import RasterioIOError

from lakeml import errors, load, search, signing
from lakeml.workflows.cli import describe
from tests.faultproxy import Fault, Proxy, fault_proxy
from tests.leaks import SIGNED_URL

SMALL_BBOX = (-118.73, 38.68, -118.69, 38.72)  # ~3.5 x 4.5 km over the lake's middle
DATES, PLATFORM = "2017-06-01/2017-09-30", "landsat-8"
COSTS: dict[str, float] = {}
REPORT = Path(__file__).resolve().parents[1] / "_build" / "reports" / "fault_costs.json"


@pytest.fixture(scope="module", autouse=True)
def costs_report():
    """After the module: what each row cost, to _build/reports/fault_costs.json (and -s)."""
    yield
    if COSTS:
        from lakeml.files import write_json

        write_json(dict(sorted(COSTS.items())), REPORT)
        for name, seconds in sorted(COSTS.items()):
            print(f"fault cost: {name}: {seconds:.2f} s")


@pytest.fixture(scope="module")
def proxy(stac_server) -> Proxy:
    parts = urlsplit(stac_server.stac_url)
    with fault_proxy(f"{parts.scheme}://{parts.netloc}") as p:
        yield p


@pytest.fixture(scope="module")
def proxied_url(proxy, stac_server) -> str:
    return stac_server.stac_url.replace(proxy.upstream, proxy.url)


@pytest.fixture(scope="module")
def reference(stac_server) -> tuple[str, list[str], object]:
    """The item, the search's ids and the pixels, read without the proxy."""
    items = search.search(
        SMALL_BBOX, DATES, PLATFORM, catalog=search.open_catalog(stac_server.stac_url)
    )
    item = items[-1]
    ds = load.load_scene(item, SMALL_BBOX, bands=load.REFLECTANCE_BANDS).compute()
    return item.id, [it.id for it in items], ds


@pytest.fixture
def ctx(proxy, proxied_url, reference, monkeypatch) -> Iterator[Ctx]:
    from planetary_computer.settings import Settings

    # planetary_computer's token service: the proxy's, with an empty token cache (lakeml's)
    monkeypatch.setattr(Settings.get(), "sas_url", proxy.token_service)
    monkeypatch.setattr(signing, "_TOKENS", {})
    monkeypatch.setattr(proxy, "sas_lifetime", 2.0)
    monkeypatch.setattr(proxy, "tokens_issued", 0)
    yield Ctx(proxy, proxied_url, reference, monkeypatch)
    monkeypatch.delenv("GDAL_HTTP_TIMEOUT", raising=False)
    load.configure_gdal()  # odc keeps the last settings: give the next test the defaults


@dataclass
class Ctx:
    proxy: Proxy
    url: str
    reference: tuple[str, list[str], object]
    monkeypatch: pytest.MonkeyPatch
    notes: dict[str, object] = field(default_factory=dict)


def sample_signer(url: str, refresh: bool = False) -> str:
    """Sign the sample's COG links as Planetary Computer's blob links are signed (same code)."""
    return signing.sign_with_token_service(url, "sample", "cogs", refresh)


# --- what each row runs ---------------------------------------------------------------------


def run_search(ctx: Ctx, timeout: float = 60, retries: int = 5) -> None:
    catalog = search.open_catalog(ctx.url, timeout=timeout, retries=retries)
    ids = [it.id for it in search.search(SMALL_BBOX, DATES, PLATFORM, catalog=catalog)]
    assert ids == ctx.reference[1]


def run_series_search(ctx: Ctx) -> None:
    """The series' per-year search (timeseries.search_years) is the single search's, retries
    included: the same ids as :func:`run_search`."""
    from lakeml.workflows import timeseries

    catalog = search.open_catalog(ctx.url)
    found = timeseries.search_years(
        SMALL_BBOX, [2016, 2017], (6, 9), max_cloud=1, platforms=[PLATFORM], catalog=catalog
    )
    assert [it.id for it in found[2017]] == ctx.reference[1]
    assert found[2016] and all(it.id.split("_")[3].startswith("2016") for it in found[2016])


def run_load(
    ctx: Ctx,
    band: str,
    signer: Callable[[str, bool], str] = sample_signer,
    before_compute: Callable[[], None] | None = None,
    resolution: float = 30,
) -> None:
    """Load ``band`` through the proxy, its links signed with tokens from the proxy's token
    service (a band no other row reads the same way: GDAL caches what it read)."""
    item_id, _, expected = ctx.reference
    catalog = search.open_catalog(ctx.url)
    item = next(catalog.get_collection("landsat-c2-l2").get_items(item_id))
    assert item.assets[band].href.startswith(ctx.proxy.url)
    lazy = load.load_scene(item, SMALL_BBOX, bands=[band], signer=signer, resolution=resolution)
    assert not SIGNED_URL.search(repr(dict(lazy[band].data.dask))), "the graph holds unsigned URLs"
    if before_compute is not None:
        before_compute()
    ds = lazy.compute()
    np.testing.assert_array_equal(ds[band].values, expected[band].values)


def nothing_listening(ctx: Ctx) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    ctx.url = f"http://127.0.0.1:{port}/api/stac/v1"
    search.open_catalog(ctx.url, retries=2)


def expired_token(ctx: Ctx) -> None:
    """A token cached earlier expires (server side) while a lazy load waits to be computed."""

    def wait_for_expiry() -> None:
        sample_signer(f"{ctx.proxy.url}/data/x.TIF")  # cached; it claims an hour, lives 2 s
        time.sleep(2.1)
        ctx.notes["waited"] = 2.1  # not a cost of the fault
        ctx.proxy.plan(Fault("sas", r"\.TIF", times=None))

    run_load(ctx, "red", signer=sample_signer, before_compute=wait_for_expiry)
    # the first block read (red or qa_pixel, whichever starts first) meets the expired token;
    # a block that starts after the renewal reads with the new one at once
    codes = [code for _, path, code in ctx.proxy.log if ".TIF" in path]
    assert codes[0] == 403 and set(codes) <= {403, 200, 206} and codes[-1] != 403, codes
    assert codes.count(403) <= 2, "at most one refusal per block (red, qa_pixel)"
    assert ctx.proxy.tokens_issued == 2, "the stale token and one replacement, shared by blocks"


def refused_token(ctx: Ctx) -> None:
    ctx.proxy.sas_lifetime = -1.0  # every token the service gives is already expired
    ctx.proxy.plan(Fault("sas", r"\.TIF", times=None))
    run_load(ctx, "swir22", signer=sample_signer)


def unsigned_403(ctx: Ctx) -> None:
    """A 403 on a link that is not signed (not Planetary Computer's): no re-signing."""
    run_load(ctx, "red", signer=signing.sign)


def token_service_slow(ctx: Ctx) -> None:
    """The token service does not answer in time once: asked again, the read goes on."""
    ctx.monkeypatch.setattr(signing, "TOKEN_TIMEOUT", 1.0)
    run_load(ctx, "swir22")


def cog_timeout(ctx: Ctx, band: str) -> None:
    ctx.monkeypatch.setenv("GDAL_HTTP_TIMEOUT", "1")  # GDAL's own setting, read by lakeml
    run_load(ctx, band)


def change_command(ctx: Ctx) -> None:
    """The ``lakeml change`` command through a proxy whose COGs are all truncated."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakeml.workflows.cli",
            "change",
            "--bbox",
            *map(str, SMALL_BBOX),
            "--before",
            "1988-06-01/1988-09-30",
            "--after",
            DATES,
            "--stac-url",
            ctx.url,
            "--quiet",
            "--out",
            str(ctx.notes["out"]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LAKEML_CACHE_DIR": str(ctx.notes["out"]) + "-cache"},
    )
    ctx.notes["exit"] = proc.returncode
    if proc.returncode:
        raise RuntimeError(proc.stderr)


@dataclass
class Row:
    """One fault: what is injected, what runs, and the exact outcome."""

    id: str
    faults: tuple[Fault, ...]
    run: Callable[[Ctx], None]
    fails: str | None  # None: recovers; else a regex the one-line message must match
    max_seconds: float
    check_log: Callable[[list[tuple[str, str, int]]], bool] | None = None


URL = r"http://127\.0\.0\.1:\d+"
ROWS = [
    Row(
        "stac-503-burst",
        (Fault("status", r"/search", times=3, code=503),),
        run_search,
        None,
        10,
        lambda log: [c for _, p, c in log if "/search" in p][:4] == [503, 503, 503, 200],
    ),
    Row("stac-slow", (Fault("slow", r"/search", times=1, delay=2.0),), run_search, None, 8),
    Row(
        "stac-timeout",
        (Fault("slow", r"/search", times=1, delay=4.0),),
        lambda c: run_search(c, timeout=1),
        None,
        3.9,
    ),
    Row(
        "stac-cut-mid-body",
        (Fault("cut", r"/search", times=1),),
        run_search,
        None,
        8,
        lambda log: any(c == -1 for *_, c in log),
    ),
    Row(
        "series-search-cut-mid-body",
        (Fault("cut", r"/search", times=1),),
        run_series_search,
        None,
        10,
        lambda log: any(c == -1 for *_, c in log),
    ),
    Row(
        "stac-down",
        (Fault("status", r"/search", times=None, code=503),),
        run_search,
        rf"STAC API {URL}/api/stac/v1 failed: .*503",
        30,
    ),
    Row(
        "stac-nothing-listening",
        (),
        nothing_listening,
        rf"STAC API {URL}/api/stac/v1 failed: .*(Connection refused|Max retries)",
        10,
    ),
    Row(
        "cog-503-burst",
        (Fault("status", r"SR_B1\.TIF", times=2, code=503),),
        lambda c: run_load(c, "coastal"),
        None,
        10,
        lambda log: [c for _, p, c in log if "SR_B1" in p][:2] == [503, 503],
    ),
    Row(
        "cog-slow",
        (Fault("slow", r"SR_B3\.TIF", times=2, delay=1.0),),
        lambda c: run_load(c, "green"),
        None,
        8,
    ),
    Row(
        "cog-timeout",
        (Fault("slow", r"SR_B2\.TIF", times=1, delay=4.0),),
        lambda c: cog_timeout(c, "blue"),
        None,
        3.9,
    ),
    Row(
        "cog-cut-mid-body",
        (Fault("cut", r"SR_B5\.TIF", times=1),),
        lambda c: run_load(c, "nir08"),
        None,
        8,
        lambda log: any(c == -1 for *_, c in log),
    ),
    Row(
        "cog-truncated",
        (Fault("truncate", r"SR_B6\.TIF", times=None, size=20_000),),
        lambda c: run_load(c, "swir16"),
        rf"{URL}/data/cogs/.*SR_B6\.TIF",
        10,
    ),
    Row(
        "cog-truncated-warped",
        (Fault("truncate", r"ST_B10\.TIF", times=None, size=20_000),),
        lambda c: run_load(c, "lwir11", resolution=45),
        rf"(Read|warp) failed.* \(reading {URL}/data/cogs/.*ST_B10\.TIF\)",
        10,
    ),
    Row(
        "cog-403-unsigned-link",
        (Fault("status", r"SR_B4\.TIF", times=None, code=403),),
        unsigned_403,
        rf"^HTTP response code: 403 \(reading {URL}/data/cogs/.*SR_B4\.TIF\)$",
        10,
    ),
    Row(
        "token-service-down",
        (Fault("status", r"/api/sas/v1/token/", times=None, code=503),),
        lambda c: run_load(c, "blue", resolution=60),
        rf"^Planetary Computer's token service {URL}/api/sas/v1/token/sample/cogs gave no "
        r"token \(.*\); try again later, or check PC_SDK_SAS_URL$",
        15,
    ),
    Row(
        "token-service-slow",
        (Fault("slow", r"/api/sas/v1/token/", times=1, delay=4.0),),
        token_service_slow,
        None,
        3.9,
    ),
    Row("cog-expired-token", (), expired_token, None, 8),
    Row(
        "cog-token-refused",
        (),
        refused_token,
        rf"HTTP response code: 403 even with a freshly signed URL.* \(reading {URL}/data/cogs/"
        r".*(SR_B7|QA_PIXEL)\.TIF\)",
        10,
    ),
    Row(
        "command-truncated-cogs",
        (Fault("truncate", r"\.TIF", times=None, size=20_000),),
        change_command,
        rf"^lakeml: failed: RasterioIOError: .*{URL}/data/cogs/.*\.TIF[^\n]*\n$",
        120,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_fault_table(row: Row, ctx: Ctx, caplog, tmp_path):
    ctx.proxy.plan(*row.faults)
    ctx.notes["out"] = tmp_path / "out"
    start = time.perf_counter()
    with caplog.at_level("DEBUG"):
        if row.fails is None:
            row.run(ctx)
        else:
            with pytest.raises((RuntimeError, RasterioIOError)) as caught:
                row.run(ctx)
    seconds = time.perf_counter() - start - float(ctx.notes.get("waited", 0))
    COSTS[row.id] = round(seconds, 2)
    if row.faults:
        assert any(f.hits for f in row.faults), "the fault was injected"
    if row.check_log is not None:
        assert row.check_log(ctx.proxy.log), ctx.proxy.log
    if row.fails is not None:
        message = describe(caught.value) if row.run is not change_command else str(caught.value)
        assert re.search(row.fails, message), message
        shown = "".join(traceback.format_exception(caught.value))  # what a notebook shows
        assert not SIGNED_URL.search(shown), shown[-2000:]
    if row.run is unsigned_403:
        assert ctx.proxy.tokens_issued == 0 and "freshly" not in message
    if row.run is change_command:
        assert ctx.notes["exit"] == 1 and message.count("\n") == 1, message
        assert "Traceback" not in message
        assert not list(Path(ctx.notes["out"]).glob("*")), "no output, not even half of one"
    logged = [r.getMessage() for r in caplog.records]
    assert not [m for m in logged if SIGNED_URL.search(m)], "a signed URL in the log"
    if row.run is not change_command and row.id != "stac-nothing-listening":
        assert any("127.0.0.1" in m for m in logged), "the DEBUG log was captured"
    if row.id.startswith("cog-") and row.run is not unsigned_403:
        # signed links did reach rasterio's and odc-loader's log lines, and were redacted there
        assert any("?<signature removed>" in m for m in logged), logged[:5]
    if row.run is expired_token:
        assert any("signing it again" in m for m in logged)
        assert not [r for r in caplog.records if r.levelname == "ERROR"], "no alarm for a retry"
    assert seconds <= row.max_seconds, f"{row.id} took {seconds:.1f} s"


def test_planetary_computer_links_get_a_new_token_on_refresh(ctx):
    """lakeml.signing.sign on a real-shaped blob link, tokens from a token service on loopback."""
    from planetary_computer import sas

    pc_cache = dict(sas.TOKEN_CACHE)
    href = "https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/x/LC09_SR_B4.TIF"
    first = signing.sign(href)
    assert first.startswith(href + "?st=") and "&sig=" in first and ctx.proxy.tokens_issued == 1
    assert signing.sign(first) == first  # cached: the claimed expiry is an hour away
    renewed = signing.sign(first, refresh=True)
    assert renewed != first and renewed.startswith(href + "?st=")
    assert ctx.proxy.tokens_issued == 2
    assert errors.redact(f"GET {renewed} failed") == f"GET {href}?<signature removed> failed"
    assert sas.TOKEN_CACHE == pc_cache, "planetary_computer's private cache is not written"


@pytest.mark.parametrize(
    ("fault", "hits", "message"),
    [
        # a request the API refuses is not sent again
        (Fault("status", r"/search", times=None, code=400), 1, "injected fault"),
        # urllib3 retries a timeout (1 + retries=1); lakeml's body-read retry must not repeat
        # that (matching the text "Read timed out", it used to, and its third try passed)
        (Fault("slow", r"/search", times=2, delay=1.5), 2, "Read timed out"),
    ],
    ids=["400-not-retried", "timeout-retried-by-urllib3-only"],
)
def test_stac_failures_are_retried_only_where_they_can_pass(ctx, fault, hits, message):
    catalog = search.open_catalog(ctx.url, timeout=1, retries=1)
    ctx.proxy.plan(fault)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=rf"^STAC API {URL}/api/stac/v1 failed: .*{message}"):
        search.search(SMALL_BBOX, DATES, PLATFORM, catalog=catalog)
    assert fault.hits == hits
    assert time.perf_counter() - start < 1.5 * hits + 1
    time.sleep(fault.delay)  # the proxy's delayed answers end before its upstream stops
