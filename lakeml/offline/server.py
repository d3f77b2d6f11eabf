"""Serve the offline sample as a real STAC API, with its COGs over HTTP, on localhost.

``serve_sample()`` runs, for as long as its ``with`` block lasts:

- a throwaway PostgreSQL + PostGIS cluster (``initdb`` in a temporary directory, ``fsync=off``,
  reachable only through a Unix socket inside that directory, run as the ``postgres`` system user
  when we are root), with pgstac installed (``pypgstac`` migrate) and the sample's collection and
  items loaded, their asset hrefs rewritten to absolute ``http://`` URLs;
- ONE uvicorn process serving stac-fastapi-pgstac (the software behind Microsoft Planetary
  Computer's STAC API) under ``/api/stac/v1``, and the sample directory under ``/data`` with
  Starlette's ``StaticFiles``, which answers HTTP ``Range`` requests with ``206 Partial Content``
  (GDAL needs that to read a Cloud-Optimized GeoTIFF over ``/vsicurl/``).

On exit, also after an exception or Ctrl-C, uvicorn and PostgreSQL are stopped and the temporary
directory removed. If the Python process that started them is killed outright (``SIGKILL``), the
uvicorn process notices within a second, stops PostgreSQL and removes the directory itself.

The URLs look like Planetary Computer's: ``http://127.0.0.1:PORT/api/stac/v1`` (STAC) and
``http://127.0.0.1:PORT/data`` (files). pgstac's ``context`` setting is on, so searches report
``numberMatched`` (``pystac_client``'s ``search.matched()``).

The CLI (``lakeml sample serve`` / ``lakeml sample run -- CMD``) calls ``serve_forever`` and
``run_with_sample``. ``python -m lakeml.offline.server [--root DIR] [--port N]`` does the same as
``lakeml sample serve``.

stac-fastapi-pgstac 7.2 reads its database connection from the environment variables ``PGUSER``,
``PGPASSWORD``, ``PGHOST``, ``PGPORT`` and ``PGDATABASE`` (all required; not ``POSTGRES_*``): they
are set for the uvicorn process only, ``PGHOST`` being the percent-encoded socket directory.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lakeml.checks import BadInput

STAC_PREFIX = "/api/stac/v1"
"""Path of the STAC API on the server (the same as Planetary Computer's)."""

DATA_PREFIX = "/data"
"""Path under which the sample directory is served (asset hrefs point below it)."""

_PG_PORT = 5432  # only names the Unix socket file inside our private directory: no TCP port
_PG_USER = "postgres"
_PG_DATABASE = "postgres"
_PG_CONF = """
# lakeml throwaway cluster: speed over durability, no TCP
listen_addresses = ''
port = {port}
unix_socket_directories = '{sockdir}'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 40
max_wal_size = 256MB
logging_collector = off
log_min_messages = warning
"""
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, minus "/.s.PGSQL.5432"


@dataclasses.dataclass(frozen=True)
class SampleServer:
    """Where a running sample server answers (yielded by ``serve_sample``).

    Attributes
    ----------
    stac_url : str
        STAC API root, e.g. ``http://127.0.0.1:40123/api/stac/v1`` (no trailing slash).
    data_url : str
        URL of the sample directory, e.g. ``http://127.0.0.1:40123/data``; the asset at
        ``root / "cogs/X/Y.TIF"`` is served at ``f"{data_url}/cogs/X/Y.TIF"``.
    root : Path
        The sample directory being served.
    port : int
        TCP port of the HTTP server (STAC API and files).
    pids : tuple of int
        Process ids of uvicorn and of the PostgreSQL postmaster (for tests and diagnostics).
    workdir : Path
        Temporary directory holding the database cluster and logs; removed on exit.

    Examples
    --------
    What a running sample server tells its caller:

    >>> [field.name for field in dataclasses.fields(SampleServer)]
    ['stac_url', 'data_url', 'root', 'port', 'pids', 'workdir']

    :func:`serve_sample` returns one (its example runs a server).
    """

    stac_url: str
    data_url: str
    root: Path
    port: int
    pids: tuple[int, ...]
    workdir: Path


# --------------------------------------------------------------------------------------------
# Catalog: read the sample's collection and items, rewrite relative hrefs to absolute URLs
# --------------------------------------------------------------------------------------------


def _absolute_href(href: str, data_url: str) -> str:
    """Return ``href`` as an absolute URL: relative hrefs are taken relative to ``data_url``."""
    if urllib.parse.urlsplit(href).scheme:  # http(s)://, s3://, file:// ... left alone
        return href
    if href.startswith("/"):
        raise ValueError(
            f"asset href {href!r} is an absolute local path: sample hrefs must be relative "
            "to the sample directory (e.g. 'cogs/<item_id>/<file>.TIF')"
        )
    rel = href.removeprefix("./")
    return f"{data_url}/{urllib.parse.quote(rel)}"


_SERVER_LINK_RELS = {"self", "item", "parent", "collection", "root", "items", "child"}
"""Link relations stac-fastapi-pgstac drops from stored objects and generates itself."""


def _absolutize(obj: dict[str, Any], data_url: str) -> dict[str, Any]:
    """Copy of a STAC item/collection with asset hrefs and (kept) link hrefs made absolute."""
    out = dict(obj)
    assets = obj.get("assets")
    if isinstance(assets, dict):
        out["assets"] = {
            name: (
                {**asset, "href": _absolute_href(asset["href"], data_url)}
                if isinstance(asset, dict) and isinstance(asset.get("href"), str)
                else asset
            )
            for name, asset in assets.items()
        }
    links = obj.get("links")
    if isinstance(links, list):
        out["links"] = [
            (
                {**link, "href": _absolute_href(link["href"], data_url)}
                if isinstance(link, dict)
                and isinstance(link.get("href"), str)
                and link.get("rel") not in _SERVER_LINK_RELS
                else link
            )
            for link in links
        ]
    return out


def read_catalog(
    root: str | os.PathLike[str], data_url: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read a sample's collection and items, with asset hrefs made absolute under ``data_url``.

    Parameters
    ----------
    root : str or os.PathLike
        Sample directory holding ``catalog/collection.json`` and ``catalog/items.ndjson``.
    data_url : str
        URL at which ``root`` is served, e.g. ``http://127.0.0.1:8080/data``.

    Returns
    -------
    collection : dict
        The STAC collection, its kept link hrefs made absolute.
    items : list of dict
        The STAC items, in file order, each with ``collection`` set and relative asset hrefs
        made absolute under ``data_url``.

    Raises
    ------
    ValueError
        If the catalog files are missing or malformed, an item names another collection, or
        an asset href is an absolute local path.

    Examples
    --------
    A one-item catalog written in a temporary folder:

    >>> import json, tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> (root / "catalog").mkdir()
    >>> _ = (root / "catalog" / "collection.json").write_text(json.dumps(
    ...     {"type": "Collection", "id": "landsat-c2-l2", "links": []}))
    >>> item = {"type": "Feature", "id": "LC08_X", "links": [],
    ...         "assets": {"red": {"href": "cogs/LC08_X/LC08_X_SR_B4.TIF"}}}
    >>> _ = (root / "catalog" / "items.ndjson").write_text(json.dumps(item))  # one item a line
    >>> collection, items = read_catalog(root, "http://127.0.0.1:8080/data")
    >>> collection["id"], len(items), items[0]["collection"]
    ('landsat-c2-l2', 1, 'landsat-c2-l2')
    >>> items[0]["assets"]["red"]["href"]
    'http://127.0.0.1:8080/data/cogs/LC08_X/LC08_X_SR_B4.TIF'
    >>> try:
    ...     read_catalog(root / "cogs", "http://127.0.0.1:8080/data")
    ... except ValueError as err:
    ...     print(str(err).replace(str(root), "ROOT").split(" (")[0])
    ROOT/cogs/catalog/collection.json not found: ROOT/cogs is not a sample directory
    >>> tmp.cleanup()
    """
    root = Path(root)
    data_url = data_url.rstrip("/")
    coll_path = root / "catalog" / "collection.json"
    items_path = root / "catalog" / "items.ndjson"
    for p in (coll_path, items_path):
        if not p.is_file():
            raise ValueError(
                f"{p} not found: {root} is not a sample directory "
                "(expected catalog/collection.json and catalog/items.ndjson; "
                "build one with `lakeml sample build`)"
            )
    try:
        collection = json.loads(coll_path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{coll_path} is not valid JSON: {err}") from None
    if not isinstance(collection, dict) or "id" not in collection:
        raise ValueError(f"{coll_path} is not a STAC collection (no 'id')")
    items = []
    with items_path.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{items_path}:{n} is not valid JSON: {err}") from None
            if item.get("collection", collection["id"]) != collection["id"]:
                raise ValueError(
                    f"{items_path}:{n}: item {item.get('id')!r} names collection "
                    f"{item.get('collection')!r}, not {collection['id']!r}"
                )
            item["collection"] = collection["id"]
            items.append(_absolutize(item, data_url))
    if not items:
        raise ValueError(f"{items_path} holds no items")
    return _absolutize(collection, data_url), items


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def _pg_bindir() -> Path:
    """Directory of PostgreSQL's server binaries (``initdb``, ``postgres``, ``pg_ctl``)."""
    env = os.environ.get("LAKEML_PG_BINDIR")
    candidates = [Path(env)] if env else []
    which = shutil.which("initdb")
    if which:
        candidates.append(Path(which).parent)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += versions
    for c in candidates:
        if (c / "initdb").is_file() and (c / "postgres").is_file():
            return c
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, postgres) not found: install PostgreSQL 15 with "
        "PostGIS 3 (Debian: apt-get install postgresql-15-postgis-3) or set LAKEML_PG_BINDIR"
    )


def _pg_identity() -> dict[str, Any]:
    """``subprocess`` keyword arguments to run PostgreSQL as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root, PostgreSQL needs the 'postgres' system user, which does not "
            "exist: install PostgreSQL from your distribution (it creates the user) or run "
            "as an ordinary user"
        ) from None
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _pg_stop(bindir: Path, pgdata: Path, proc: subprocess.Popen | None = None) -> None:
    """Stop a cluster with ``pg_ctl stop -m fast``; kill the postmaster if that fails."""
    if (pgdata / "postmaster.pid").exists():
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(pgdata), "stop", "-m", "fast", "-w", "-t", "20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(pgdata.parent),
            check=False,
            **_pg_identity(),
        )
    if proc is not None:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _pg_dsn(sockdir: Path) -> str:
    return f"host={sockdir} port={_PG_PORT} user={_PG_USER} dbname={_PG_DATABASE}"


def _pg_start(bindir: Path, workdir: Path, log: Any) -> subprocess.Popen:
    """``initdb`` a cluster in ``workdir/pgdata`` and start ``postgres`` on it (not waited for)."""
    pgdata = workdir / "pgdata"
    ident = _pg_identity()
    cmd = [
        str(bindir / "initdb"),
        "-D", str(pgdata),
        "-U", _PG_USER,
        "-E", "UTF8",
        "--locale=C",
        "--auth=trust",
        "--no-sync",
        "--no-instructions",
    ]  # fmt: skip
    # Own session: a Ctrl-C meant for us must not make initdb delete its half-written
    # directory while we delete it too; if we are interrupted, its whole group is killed.
    initdb = subprocess.Popen(
        cmd,
        cwd=str(workdir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **ident,
    )
    try:
        out, _ = initdb.communicate()
    except BaseException:
        _kill_group(initdb)
        raise
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{out}")
    with open(pgdata / "postgresql.conf", "a") as f:
        f.write(_PG_CONF.format(port=_PG_PORT, sockdir=workdir))
    return subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(pgdata)],
        cwd=str(workdir),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        **ident,
    )


def _pg_wait(dsn: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    """Wait until PostgreSQL accepts connections."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"PostgreSQL exited with code {proc.returncode} during start-up:\n"
                + _tail(log_path)
            )
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not accept connections within {timeout:.0f} s:\n"
                    + _tail(log_path)
                ) from None
            time.sleep(0.05)


def _pgstac_load(dsn: str, collection: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Install pgstac, load one collection and its items, and turn ``context`` on."""
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods
    from pypgstac.migrate import Migrate

    db = PgstacDB(dsn=dsn)
    pool = db.get_pool()  # keep a handle: PgstacDB.disconnect() forgets it without closing it
    try:
        Migrate(db).run_migration()
        loader = Loader(db)
        loader.load_collections(iter([collection]), Methods.insert)
        loader.load_items(iter(items), Methods.insert)
        db.query_one(
            "INSERT INTO pgstac.pgstac_settings (name, value) VALUES ('context', 'on') "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value RETURNING value"
        )
    finally:
        db.disconnect()
        pool.close()


# --------------------------------------------------------------------------------------------
# HTTP: one ASGI app, run by uvicorn in a child process
# --------------------------------------------------------------------------------------------


def create_app(root: str | os.PathLike[str], prefix: str = STAC_PREFIX) -> Any:
    """Build the ASGI app: stac-fastapi-pgstac under ``prefix``, ``root`` under ``/data``.

    The database connection comes from ``PG*`` environment variables (see module docstring);
    the API's own settings come from here only: stray ``ENABLED_EXTENSIONS``, ``CORS_*`` or a
    ``.env`` file in the environment do not change it.
    Files are served by Starlette's ``StaticFiles`` outside stac-fastapi's middlewares (whose
    Brotli compression must not touch byte ranges).

    Parameters
    ----------
    root : str or os.PathLike
        The sample directory, served under :data:`DATA_PREFIX`.
    prefix : str
        Path of the STAC API.

    Returns
    -------
    Callable
        An ASGI application ``app(scope, receive, send)``, as uvicorn runs it.

    Examples
    --------
    Making the app needs no database (about 4 s: importing stac-fastapi):

    >>> import inspect, tempfile
    >>> app = create_app(tempfile.mkdtemp())
    >>> list(inspect.signature(app).parameters)
    ['scope', 'receive', 'send']

    It answers only with PostgreSQL and pgstac behind it (the ``PG*`` variables), which
    :func:`serve_sample` starts; the last line is skipped here because it serves until Ctrl-C:

    >>> import uvicorn
    >>> app = create_app(sample_root)
    >>> uvicorn.run(app, port=8080)  # doctest: +SKIP
    """
    from stac_fastapi.pgstac.app import instantiate_api
    from stac_fastapi.pgstac.config import Settings
    from stac_fastapi.pgstac.models.extensions import Extensions
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    class _Settings(Settings):
        """API settings from the arguments below only, never from the environment or .env."""

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, **sources):
            return (init_settings,)

    settings = _Settings(
        prefix_path=prefix,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        stac_fastapi_title="lakeml offline sample",
        stac_fastapi_description="Synthetic Landsat C2 L2 sample served by stac-fastapi-pgstac",
        stac_fastapi_landing_id="lakeml-sample",
        stac_fastapi_version="1.0.0",
        enable_transactions_extensions=False,
    )
    stac_app = instantiate_api(settings=settings, extensions=Extensions(settings=settings)).app
    files = Starlette(  # an app, not a bare Router: it turns 404 exceptions into responses
        routes=[Mount(DATA_PREFIX, app=StaticFiles(directory=Path(root).resolve()))]
    )

    async def app(scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == DATA_PREFIX or path.startswith(DATA_PREFIX + "/")):
            await files(scope, receive, send)
        else:  # STAC API, and lifespan (opens/closes the database pool)
            await stac_app(scope, receive, send)

    return app


def _child_main(argv: Sequence[str]) -> int:
    """Entry point of the uvicorn child process (``python -m lakeml.offline.server _child ...``)."""
    import uvicorn

    p = argparse.ArgumentParser(prog="lakeml.offline.server _child")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--parent-pid", type=int, required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--bindir", required=True)
    p.add_argument("--access-log", action="store_true")
    a = p.parse_args(argv)

    sock = socket.socket(fileno=a.fd)  # family and type detected from the inherited socket
    config = uvicorn.Config(
        create_app(a.root),
        log_level="info",
        access_log=a.access_log,
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    orphaned = threading.Event()

    def watch_parent() -> None:
        while not server.should_exit:
            if os.getppid() != a.parent_pid:
                orphaned.set()
                server.should_exit = True
                return
            time.sleep(0.5)

    threading.Thread(target=watch_parent, daemon=True).start()
    server.run(sockets=[sock])
    if orphaned.is_set():  # our parent died without cleaning up: do it ourselves
        workdir = Path(a.workdir)
        _pg_stop(Path(a.bindir), workdir / "pgdata")
        _rmtree(workdir)
    return 0


def _http_get_status(url: str, timeout: float = 2.0) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(lines[-n:]) or "(empty log)"


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a child started in its own session, with everything it started, and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _rmtree(path: Path, timeout: float = 10.0) -> None:
    """Remove a directory, retrying while exiting processes may still write into it."""
    deadline = time.monotonic() + timeout
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists() or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def _stop_process_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM a child's process group, then SIGKILL it if it does not exit in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)


def _bind(host: str, port: int) -> socket.socket:
    """Bind (without listening) the server's TCP socket; uvicorn inherits it (no port race)."""
    if not 0 <= int(port) <= 65535:
        raise BadInput(f"port must be in 0..65535 (0 = any free port), got {port!r}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise BadInput(f"cannot resolve host {host!r}: {err}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as err:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {err}") from err
    return sock


def _url_host(host: str, family: int) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if family == socket.AF_INET6 else host


def _make_workdir() -> Path:
    """Make a private temporary directory, short enough to hold a Unix socket path."""
    workdir = Path(tempfile.mkdtemp(prefix="lakeml-srv-"))
    if len(str(workdir)) > _SOCKET_PATH_MAX:
        shutil.rmtree(workdir, ignore_errors=True)
        workdir = Path(tempfile.mkdtemp(prefix="lakeml-srv-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    return workdir


@contextlib.contextmanager
def serve_sample(
    root: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float = 60.0,
    access_log: bool = False,
) -> Iterator[SampleServer]:
    """Serve a sample directory as a STAC API plus COG file server, for the ``with`` block.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Sample directory (``catalog/collection.json``, ``catalog/items.ndjson``, ``cogs/``...).
        Default: ``lakeml.offline.sample.build()`` (builds the sample once, then reuses it).
    host : str
        Interface to listen on. Keep the default loopback address: the server has no
        authentication. URLs use ``127.0.0.1`` when ``host`` is ``0.0.0.0``.
    port : int
        TCP port; 0 picks a free one.
    timeout : float
        Seconds to wait for PostgreSQL and then for the STAC API to answer.
    access_log : bool
        Log every HTTP request to the uvicorn log (kept in the temporary directory).

    Yields
    ------
    SampleServer
        ``.stac_url``, ``.data_url``, ``.root`` (and ``.port``, ``.pids``, ``.workdir``).

    Raises
    ------
    ValueError
        If ``root`` is not a sample directory or ``port`` is out of range.
    RuntimeError
        If PostgreSQL or the API fails to start (with the tail of its log).

    Examples
    --------
    Needs the built sample (``lakeml sample build``) and PostgreSQL with PostGIS; a few
    seconds to start:

    >>> import pystac_client
    >>> with serve_sample(sample_root) as srv:  # doctest: +ELLIPSIS
    ...     client = pystac_client.Client.open(srv.stac_url)
    ...     print(srv.stac_url, client.get_collection("landsat-c2-l2").id)
    http://127.0.0.1:.../api/stac/v1 landsat-c2-l2
    """
    if root is None:
        from lakeml.offline import sample  # lazy: the sample module is heavy and optional here

        root = sample.build()
    root = Path(root).resolve()
    if not root.is_dir():
        raise BadInput(f"sample directory {root} does not exist (run `lakeml sample build`)")
    bindir = _pg_bindir()

    with contextlib.ExitStack() as stack:
        sock = _bind(host, port)
        stack.callback(sock.close)
        bound_port = sock.getsockname()[1]
        base = f"http://{_url_host(host, sock.family)}:{bound_port}"
        stac_url, data_url = base + STAC_PREFIX, base + DATA_PREFIX
        collection, items = read_catalog(root, data_url)  # fails early on a bad root

        workdir = _make_workdir()
        stack.callback(_rmtree, workdir)
        pg_log_path, api_log_path = workdir / "postgres.log", workdir / "uvicorn.log"
        pg_log = stack.enter_context(open(pg_log_path, "wb"))
        api_log = stack.enter_context(open(api_log_path, "wb"))

        # Start uvicorn first: its imports (~2 s) overlap initdb and pgstac's migration.
        # Its database pool opens lazily (DB_MIN_CONN_SIZE=0), so it starts without the db.
        env = {
            **os.environ,
            "PGUSER": _PG_USER,
            "PGPASSWORD": "unused-trust-auth",  # required by stac-fastapi; the socket is private
            "PGHOST": urllib.parse.quote(str(workdir), safe=""),
            "PGPORT": str(_PG_PORT),
            "PGDATABASE": _PG_DATABASE,
            "DB_MIN_CONN_SIZE": "0",
            "DB_MAX_CONN_SIZE": "4",
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
        }
        cmd = [
            sys.executable, "-m", "lakeml.offline.server", "_child",
            "--fd", str(sock.fileno()),
            "--root", str(root),
            "--parent-pid", str(os.getpid()),
            "--workdir", str(workdir),
            "--bindir", str(bindir),
        ]  # fmt: skip
        if access_log:
            cmd.append("--access-log")
        api = subprocess.Popen(
            cmd,
            env=env,
            cwd=str(workdir),
            stdin=subprocess.DEVNULL,
            stdout=api_log,
            stderr=api_log,
            pass_fds=(sock.fileno(),),
            start_new_session=True,
        )
        stack.callback(_stop_process_group, api)
        sock.close()  # uvicorn holds its own copy now

        pg = _pg_start(bindir, workdir, pg_log)
        stack.callback(_pg_stop, bindir, workdir / "pgdata", pg)
        stack.callback(_stop_process_group, api)  # on exit: uvicorn first, then PostgreSQL
        dsn = _pg_dsn(workdir)
        _pg_wait(dsn, pg, pg_log_path, timeout)
        _pgstac_load(dsn, collection, items)

        deadline = time.monotonic() + timeout
        while True:
            if api.poll() is not None:
                raise RuntimeError(
                    f"the STAC API server exited with code {api.returncode} during start-up; "
                    f"its log:\n{_tail(api_log_path)}"
                )
            try:
                status = _http_get_status(stac_url + "/")
            except (urllib.error.URLError, OSError):
                status = 0
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the STAC API at {stac_url} did not answer within {timeout:.0f} s "
                    f"(last status {status or 'no connection'}); its log:\n{_tail(api_log_path)}"
                )
            time.sleep(0.05)

        yield SampleServer(
            stac_url=stac_url,
            data_url=data_url,
            root=root,
            port=bound_port,
            pids=(api.pid, pg.pid),
            workdir=workdir,
        )


# --------------------------------------------------------------------------------------------
# CLI hooks
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _sigterm_as_keyboard_interrupt() -> Iterator[None]:
    """Let ``kill PID`` (SIGTERM) clean up like Ctrl-C does (main thread only).

    Ctrl-C (SIGINT) raises KeyboardInterrupt here even if this process was started with
    SIGINT ignored, as a background job or a child of a process that ignores it passes on:
    Python then leaves it ignored, and the server would never stop on Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def serve_forever(
    root: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", port: int = 0
) -> None:
    """Serve the sample until Ctrl-C (or SIGTERM), printing the STAC and data URLs.

    Parameters
    ----------
    root : str or os.PathLike, optional
        As for :func:`serve_sample`.
    host : str
        As for :func:`serve_sample`.
    port : int
        As for :func:`serve_sample`.

    Raises
    ------
    ValueError
        As for :func:`serve_sample` (a bad ``root``, ``host`` or ``port``).
    RuntimeError
        If PostgreSQL or the API fails to start.

    Examples
    --------
    A sample directory that does not exist is refused before anything starts:

    >>> serve_forever(root="/nonexistent/sample")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: sample directory /nonexistent/sample does not exist (run ...)

    Skipped here: it serves until Ctrl-C (``tests/test_server.py`` runs it in a subprocess):

    >>> serve_forever(port=8080)  # doctest: +SKIP
    STAC API: http://127.0.0.1:8080/api/stac/v1
    ...
    """
    with _sigterm_as_keyboard_interrupt():
        try:
            with serve_sample(root, host, port, access_log=True) as srv:
                print(f"STAC API: {srv.stac_url}", flush=True)
                print(f"Data:     {srv.data_url}  (sample {srv.root})", flush=True)
                print(f"Use it:   export LAKEML_STAC_URL={srv.stac_url}", flush=True)
                print(f"Logs:     {srv.workdir}/uvicorn.log, postgres.log", flush=True)
                print("Press Ctrl-C to stop.", flush=True)
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            print("Stopped.", file=sys.stderr, flush=True)


def run_with_sample(cmd: Sequence[str], root: str | os.PathLike[str] | None = None) -> int:
    """Run ``cmd`` with ``LAKEML_STAC_URL`` pointing at a freshly started sample server.

    The servers are stopped when ``cmd`` exits (or on Ctrl-C / SIGTERM).

    Parameters
    ----------
    cmd : sequence of str
        The command and its arguments, e.g. ``["pytest", "notebooks"]``.
    root : str or os.PathLike, optional
        As for :func:`serve_sample`.

    Returns
    -------
    int
        ``cmd``'s exit code (128 + N if it was killed by signal N; 130 on Ctrl-C).

    Raises
    ------
    ValueError
        (bad input) If ``cmd`` is empty or its program is not found; as for
        :func:`serve_sample` otherwise.
    RuntimeError
        If PostgreSQL or the API fails to start.

    Examples
    --------
    It starts the sample server (the built sample, here ``sample_root``, and PostgreSQL):

    >>> import sys
    >>> cmd = [sys.executable, "-c", "import os; print(os.environ['LAKEML_STAC_URL'][:17])"]
    >>> run_with_sample(cmd, sample_root)
    0
    """
    cmd = [str(c) for c in cmd]
    if not cmd:
        raise BadInput("no command given: use e.g. `lakeml sample run -- pytest notebooks`")
    if shutil.which(cmd[0]) is None:
        raise BadInput(f"command not found: {cmd[0]!r}")
    with _sigterm_as_keyboard_interrupt():
        try:
            with serve_sample(root) as srv:
                env = dict(os.environ, LAKEML_STAC_URL=srv.stac_url)
                for var in ("NO_PROXY", "no_proxy"):
                    env[var] = ",".join(filter(None, [env.get(var, ""), "127.0.0.1", "localhost"]))
                proc = subprocess.Popen(cmd, env=env)
                try:
                    rc = proc.wait()
                except KeyboardInterrupt:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=10)  # Ctrl-C reached it too (same process group)
                    if proc.poll() is None:
                        proc.terminate()
                        proc.wait()
                    raise
        except KeyboardInterrupt:
            return 130
    return 128 - rc if rc < 0 else rc


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lakeml.offline.server [--root DIR] [--host H] [--port N]``: serve until Ctrl-C.

    Parameters
    ----------
    argv : sequence of str or None
        The arguments; None means ``sys.argv[1:]``. ``_child ...`` runs the uvicorn child
        process of :func:`serve_sample` instead.

    Returns
    -------
    int
        The exit code: 0 once stopped.

    Examples
    --------
    >>> try:
    ...     main(["--help"])  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    ... except SystemExit as exit:
    ...     print("exit code", exit.code)
    usage: python -m lakeml.offline.server [-h] [--root ROOT] [--host HOST] [--port PORT]
    ...
    exit code 0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_child"]:
        return _child_main(argv[1:])
    # the docstring's summary line only, not its numpy sections
    summary = (main.__doc__ or "").split("\n\n")[0]
    p = argparse.ArgumentParser(prog="python -m lakeml.offline.server", description=summary)
    p.add_argument("--root", default=None, help="sample directory (default: build the sample)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port")
    a = p.parse_args(argv)
    serve_forever(a.root, a.host, a.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
