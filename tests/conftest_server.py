"""Pytest fixtures: a real local STAC API (stac-fastapi-pgstac) serving the offline sample.

Loaded as a plugin by ``pyproject.toml`` (``addopts = "-p tests.conftest_server"``).

Fixtures
--------
stac_server (session)
    A running ``lakeml.offline.server.SampleServer`` for the sample built by
    ``lakeml.offline.sample.build()`` (``.stac_url``, ``.data_url``, ``.root``). One per
    pytest-xdist worker: each has its own free port and temporary directory.
stac_url (function)
    ``stac_server.stac_url``, also set as ``$LAKEML_STAC_URL`` for the test (monkeypatch), so code
    that reads the environment (``lakeml.search``) talks to the local server.
sample_root (session)
    The sample directory (``lakeml.offline.sample.build()``).
mini_catalog (session)
    A tiny independent sample (3 items, small COGs) in the same layout, written by
    ``make_mini_catalog``; used by the server's own tests of its mechanics.

A test asks for the fixture it needs::

    def test_search(stac_url):
        client = pystac_client.Client.open(stac_url)
        items = list(client.search(collections=["landsat-c2-l2"]).items())
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

MINI_COLLECTION = "landsat-c2-l2"
MINI_BBOX = (-118.89, 38.54, -118.57, 38.84)
MINI_ITEMS = (
    # id, platform, datetime, eo:cloud_cover
    ("LT05_L2SP_042033_19880717_02_T1", "landsat-5", "1988-07-17T18:05:12Z", 0.0),
    ("LT05_L2SP_042033_19880802_02_T1", "landsat-5", "1988-08-02T18:05:40Z", 12.0),
    ("LC08_L2SP_042033_20170717_02_T1", "landsat-8", "2017-07-17T18:32:21Z", 0.2),
)
"""The mini catalog's items: landsat-5, cloud < 1, summer 1988 finds only the first."""

MINI_SHAPE = (600, 700)  # rows, cols: each COG (uint16, deflate, noise) is > 16 kB


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def mini_pixels(index: int) -> Any:
    """Deterministic uint16 pixels of the mini catalog's ``index``-th item, ``MINI_SHAPE``."""
    import numpy as np

    rng = np.random.default_rng(1000 + index)
    return rng.integers(1, 40000, size=MINI_SHAPE, dtype=np.uint16)


def make_mini_catalog(root: Path) -> Path:
    """Write a tiny sample (collection + 3 items, one COG each) under ``root``; return ``root``.

    Same layout as ``lakeml.offline.sample``: ``catalog/collection.json``, ``catalog/items.ndjson``
    with hrefs relative to ``root``, ``cogs/<item_id>/<item_id>_SR_B4.TIF`` (EPSG:32611, 30 m).

    Used as ``make_mini_catalog(tmp_path)``.
    """
    import rasterio
    from affine import Affine

    root = Path(root)
    (root / "catalog").mkdir(parents=True, exist_ok=True)
    w, s, e, n = MINI_BBOX
    geometry = {
        "type": "Polygon",
        "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
    }
    transform = Affine(30.0, 0.0, 340000.0, 0.0, -30.0, 4300000.0)
    lines = []
    for k, (item_id, platform, when, cloud) in enumerate(MINI_ITEMS):
        rel = f"cogs/{item_id}/{item_id}_SR_B4.TIF"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.tif")
        profile = {
            "driver": "COG",
            "dtype": "uint16",
            "count": 1,
            "height": MINI_SHAPE[0],
            "width": MINI_SHAPE[1],
            "crs": "EPSG:32611",
            "transform": transform,
            "nodata": 0,
            "compress": "deflate",
            "blocksize": 256,
        }
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(mini_pixels(k), 1)
        os.replace(tmp, path)
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "stac_extensions": [],
            "id": item_id,
            "collection": MINI_COLLECTION,
            "geometry": geometry,
            "bbox": list(MINI_BBOX),
            "properties": {
                "datetime": when,
                "platform": platform,
                "eo:cloud_cover": cloud,
                "proj:epsg": 32611,
            },
            "links": [],
            "assets": {
                "red": {
                    "href": rel,
                    "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                    "roles": ["data"],
                }
            },
        }
        lines.append(json.dumps(item))
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": MINI_COLLECTION,
        "description": "lakeml server test mini catalog",
        "license": "proprietary",
        "links": [],
        "extent": {
            "spatial": {"bbox": [list(MINI_BBOX)]},
            "temporal": {"interval": [["1984-01-01T00:00:00Z", None]]},
        },
    }
    _write_json(root / "catalog" / "collection.json", collection)
    tmp = root / "catalog" / "items.ndjson.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, root / "catalog" / "items.ndjson")
    return root


@pytest.fixture(scope="session")
def mini_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sample directory written by ``make_mini_catalog`` (one per xdist worker)."""
    return make_mini_catalog(tmp_path_factory.mktemp("mini-sample"))


@pytest.fixture(scope="session")
def sample_root() -> Path:
    """The offline sample directory, built on first use by ``lakeml.offline.sample.build()``."""
    from lakeml.offline import sample

    return Path(sample.build())


_SERVER = pytest.StashKey[Any]()
_STACK = pytest.StashKey[contextlib.ExitStack]()
_OWN_CACHE = pytest.StashKey[str]()


def shared_server(config: pytest.Config) -> Any:
    """The one sample server of this pytest process, started on first use.

    Shared by the ``stac_server`` fixture and the notebooks (nbmake items cannot take fixtures;
    :func:`pytest_runtest_setup` exports its URL as ``$LAKEML_STAC_URL`` before a notebook's kernel
    starts). Stopped by :func:`stop_shared_server` at the end of the session.
    """
    if _SERVER not in config.stash:
        from lakeml.offline import sample
        from lakeml.offline.server import serve_sample

        stack = contextlib.ExitStack()
        config.stash[_STACK] = stack
        config.stash[_SERVER] = stack.enter_context(serve_sample(Path(sample.build())))
    return config.stash[_SERVER]


def stop_shared_server(config: pytest.Config) -> None:
    """Stop the shared sample server if it was started."""
    stack = config.stash.get(_STACK, None)
    if stack is not None:
        stack.close()


@pytest.fixture(scope="session")
def stac_server(sample_root: Path, pytestconfig: pytest.Config) -> Iterator[Any]:
    """A running local STAC API + COG server for the sample (stopped at session end)."""
    yield shared_server(pytestconfig)


@pytest.fixture
def stac_url(stac_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The local STAC API URL, also exported as ``$LAKEML_STAC_URL`` during the test."""
    monkeypatch.setenv("LAKEML_STAC_URL", stac_server.stac_url)
    return stac_server.stac_url


def pytest_configure(config: pytest.Config) -> None:
    """A scene cache of this session's own (notebooks and the command cache what they load)."""
    if "LAKEML_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["LAKEML_CACHE_DIR"] = tempfile.mkdtemp(prefix="lakeml-scene-cache-")
        config.stash[_OWN_CACHE] = os.environ["LAKEML_CACHE_DIR"]


SERVER_FIXTURES = frozenset({"stac_server", "stac_url", "sample_root", "mini_catalog"})
"""Fixtures (also when used through other fixtures) that mark a test ``server``."""

SAMPLE_DOCTEST_NAMES = ("sample_stac_url", "sample_root")
"""Names lakeml's examples use for this session's sample: its STAC API (the one sample server,
shared with the notebooks) and its folder. A doctest that names one gets it
(:func:`sample_in_doctests`) and is marked ``server``."""


def _sample_names(item: pytest.Item) -> set[str]:
    from _pytest.doctest import DoctestItem

    if not isinstance(item, DoctestItem) or item.dtest is None:
        return set()
    return {
        name
        for name in SAMPLE_DOCTEST_NAMES
        for example in item.dtest.examples
        if name in example.source
    }


def _starts_a_server(item: pytest.Item) -> bool:
    """A doctest that starts a sample server of its own (``serve_sample``'s example)."""
    from _pytest.doctest import DoctestItem

    if not isinstance(item, DoctestItem) or item.dtest is None:
        return False
    return any("serve_sample(" in example.source for example in item.dtest.examples)


@pytest.fixture(autouse=True)
def sample_in_doctests(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> None:
    """Give the examples that name the sample (:data:`SAMPLE_DOCTEST_NAMES`) this session's;
    other tests get nothing, and start nothing."""
    names = _sample_names(request.node)
    if "sample_root" in names:
        doctest_namespace["sample_root"] = request.getfixturevalue("sample_root")
    if "sample_stac_url" in names:
        doctest_namespace["sample_stac_url"] = shared_server(request.config).stac_url


SERVER_MODULE_FIXTURES = frozenset(
    {
        ("test_sample.py", "built"),  # sample.build()
        ("test_pipeline.py", "change_run"),  # lakeml change --sample
        ("test_timeseries.py", "full_run"),  # lakeml timeseries --sample
    }
)
"""Test modules' own fixtures that build the sample or start the servers without the above."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark notebooks ``notebook`` and tests that need the sample or the servers ``server``.

    A test is ``server`` when its fixture closure holds one of :data:`SERVER_FIXTURES` or
    :data:`SERVER_MODULE_FIXTURES`; notebooks are both ``notebook`` and ``server`` (they read
    the local STAC API). ``make test-fast`` deselects them: ``-m "not server and not notebook"``.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
            item.add_marker(pytest.mark.server)
            continue
        names = set(getattr(item, "fixturenames", ()))
        if (
            _sample_names(item)
            or _starts_a_server(item)
            or names & SERVER_FIXTURES
            or any(
                item.path.name == module and name in names
                for module, name in SERVER_MODULE_FIXTURES
            )
        ):
            item.add_marker(pytest.mark.server)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Point notebooks at the local STAC API before nbmake starts their kernel.

    nbmake runs each notebook in a fresh kernel that inherits this process's environment; the
    notebooks' default catalog is Planetary Computer, unreachable offline.
    """
    if item.path.suffix == ".ipynb":
        os.environ["LAKEML_STAC_URL"] = shared_server(item.config).stac_url


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the shared sample server, remove this session's own scene cache."""
    stop_shared_server(session.config)
    own = session.config.stash.get(_OWN_CACHE, None)
    if own:
        import shutil

        shutil.rmtree(own, ignore_errors=True)
