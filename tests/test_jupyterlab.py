"""JupyterLab in a real browser, the way Binder serves the cookbook.

The project's own venv runs JupyterLab through the repository's ``.binder/start`` script (what
repo2docker runs on Binder) under a JupyterHub-like base URL, against the local STAC API
(``$LAKEML_STAC_URL``, as the notebooks get it), configured for testing by JupyterLab's Galata
helper (``jupyterlab.galata.configure_jupyter_server``: no token, ``window.jupyterapp`` and
``window.galata`` in the page). Headless Chromium opens a copy of the clustering notebook and runs
every cell with JupyterLab's own commands. Checked: no error output, the plots draw (Bokeh
canvases of real size), no request leaves loopback, and the dask dashboard link the notebook
prints opens inside JupyterLab's own origin (through jupyter-server-proxy): the Bokeh status page
answers and draws, and dask-labextension's server accepts the link as a dashboard.

The cheap test at the end checks the ``.binder/start`` script's link in its three cases (a hub's
prefix, a JupyterLab of one's own, a link set by the user) and the default of a plain terminal.
``tests/test_binder.py`` runs a notebook the same way in an environment built from ``.binder/``
alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import BROWSER_ARGS, CHROMIUM, free_port

ROOT = Path(__file__).resolve().parents[1]
START = ROOT / ".binder" / "start"  # what repo2docker runs before the server
NOTEBOOK = "03-clustering.ipynb"  # the notebook that starts a dask Client and shows its link
PREFIX = "/user/lakeml/"  # a JupyterHub-like base URL, as Binder's /user/<name>/
CLOSE_CELL = "client.close()"  # the dashboard is checked before this cell runs
# the link as the notebook shows it: printed, or as a Markdown or an HTML link
LINK = re.compile(r'dashboard: (?:\[[^\]]*\]\(|<a href=")?([^\s\])"<]+)')

pytestmark = pytest.mark.slow  # a JupyterLab server, a kernel and a browser

# Galata's test configuration, and nothing fetched from the internet by the server: no news
# feed, no update check against PyPI, an extension manager without PyPI listings.
SERVER_CONFIG = """\
from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)
c.ServerApp.allow_root = True  # CI containers run as root
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
"""

# JupyterLab's own setting: do not ask to fetch the news (a toast over the notebook)
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    }
}

START_TIMEOUT_S = 180  # the server's start: ~15 s
RUN_TIMEOUT_S = 900  # every cell of the notebook: ~100 s alone, ~200 s on 2 busy cores


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"jupyter lab did not answer {url} in {timeout} s:\n{log.read_text()[-4000:]}"
    )


def lab_home(tmp_path: Path) -> tuple[dict[str, Path], Path]:
    """Jupyter's and IPython's directories under ``tmp_path``, the lab settings and the server
    config written: the environment variables naming the directories, and the config file."""
    home = tmp_path / "jupyter"
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        "IPYTHONDIR": home / "ipython",
        "TMPDIR": home / "tmp",  # Galata's workspaces and bash rc file
    }
    for d in dirs.values():
        d.mkdir(parents=True)
    for name, settings in LAB_SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    config = tmp_path / "jupyter_server_config.py"
    config.write_text(SERVER_CONFIG)
    return dirs, config


@contextlib.contextmanager
def lab_server(
    start: Path,
    jupyter: Path,
    config: Path,
    root: Path,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    timeout: float,
) -> Iterator[dict[str, Any]]:
    """``start jupyter lab`` at :data:`PREFIX` on a free loopback port, as Binder starts it;
    stopped, with any kernel it left, at the end. Yields ``base`` (the server's URL),
    ``origin`` and ``start_s`` (seconds until it answered)."""
    port = free_port()
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(start),  # Binder's start script: it exports the dashboard link
                str(jupyter),
                "lab",
                f"--config={config}",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.base_url={PREFIX}",
                f"--ServerApp.root_dir={root}",
            ],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: its kernels are in it
        )
    base = f"http://127.0.0.1:{port}{PREFIX}"
    try:
        _wait_http(f"{base}api/status", proc, log, timeout)
        start_s = time.perf_counter() - started
        print(f"jupyter lab ({jupyter}): up in {start_s:.0f} s")
        yield {"base": base, "origin": f"http://127.0.0.1:{port}", "start_s": start_s}
    finally:
        proc.terminate()  # the server shuts its kernels down
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        try:  # a kernel the server left behind: the group is the one this fixture started
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def jupyterlab(stac_server, tmp_path):
    """The venv's JupyterLab on a copy of the notebooks, Binder's way; stopped at the end.

    Everything it writes goes under ``tmp_path``: the notebooks' copy (its root), Jupyter's and
    IPython's config, data, runtime and settings directories, and Galata's temporary files.
    """
    assert importlib.util.find_spec("jupyterlab.galata"), "this JupyterLab has no Galata helper"
    root = tmp_path / "notebooks"
    shutil.copytree(
        ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    )
    dirs, config = lab_home(tmp_path)
    # the link is the start script's to set: none from the caller's environment
    drop = ("DASK_DISTRIBUTED__DASHBOARD__LINK", "JUPYTERHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        LAKEML_STAC_URL=stac_server.stac_url,
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,  # what JupyterHub (so Binder) sets for the server
    )
    jupyter = Path(sys.executable).with_name("jupyter")
    log = tmp_path / "jupyter.log"
    with lab_server(START, jupyter, config, root, tmp_path, env, log, START_TIMEOUT_S) as lab:
        yield {**lab, "log": log}


# The notebook is open, its kernel started and idle. (Reading galata.app keeps the app in
# Galata's helpers, for galata.haveBeenExecuted() below.)
READY_JS = """() => {
  const panel = window.galata && window.galata.app && window.galata.app.shell.currentWidget;
  const session = panel && panel.sessionContext && panel.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle'
            && panel.content.model.cells.length > 0);
}"""

# The kernel's status and each code cell's execution count and outputs (nbformat JSON), from
# JupyterLab's notebook model: the DOM holds only the cells on screen.
STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== 'code') continue;
    const json = cell.toJSON();
    cells.push({source: json.source, count: cell.executionCount, outputs: json.outputs});
  }
  return {kernel: kernel ? kernel.status : null, cells: cells};
}"""

# Clear the outputs, then run every cell above code cell number `close` (every cell when there
# is none) with JupyterLab's own commands: Run > Run All Above Selected Cell (Run All Cells).
RUN_ABOVE_JS = """async (close) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  const code = nb.widgets.map((w, i) => i).filter(i => nb.widgets[i].model.type === 'code');
  if (close < code.length) {
    nb.activeCellIndex = code[close];
    void app.commands.execute('notebook:run-all-above');
  } else {
    void app.commands.execute('notebook:run-all-cells');
  }
}"""

# The rest, from the selected cell (`close`) on: Run > Run Selected Cell and All Below.
RUN_BELOW_JS = "() => void window.jupyterapp.commands.execute('notebook:run-all-below')"

FETCH_JS = """async (url) => {
  const r = await fetch(url, {credentials: 'same-origin'});
  return {status: r.status, url: r.url, body: await r.text()};
}"""


def _text(out: dict) -> str:
    """The text of an output: a stream's, or its plain text, Markdown and HTML."""
    parts = [out.get("text", "")]
    parts += [out.get("data", {}).get(m, "") for m in ("text/plain", "text/markdown", "text/html")]
    return "".join("".join(p) if isinstance(p, list) else p for p in parts)


def _errors(state: dict) -> list[str]:
    """Error outputs (an ``ename``) and tracebacks on stderr, one line each."""
    found = []
    for i, cell in enumerate(state["cells"]):
        for out in cell["outputs"]:
            if out["output_type"] == "error" or "ename" in out:
                found.append(f"code cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("name") == "stderr" and "Traceback" in _text(out):
                found.append(f"code cell {i}: a traceback on stderr: {_text(out)[-500:]}")
    return found


def _run_until_idle(page, cells: slice, deadline: float) -> dict:
    """Wait until the code cells in ``cells`` have execution counts and the kernel is idle.

    Returns early on an error output (the kernel then skips the cells queued after it).
    """
    while True:
        state = page.evaluate(STATE_JS)
        if _errors(state):
            return state
        if state["kernel"] == "idle" and all(c["count"] for c in state["cells"][cells]):
            time.sleep(0.5)  # idle between two queued cells would be a false end
            state = page.evaluate(STATE_JS)
            if state["kernel"] == "idle":
                return state
        if time.monotonic() > deadline:
            pending = [i for i, c in enumerate(state["cells"]) if c["count"] is None]
            raise AssertionError(
                f"code cells {pending} not run in {RUN_TIMEOUT_S} s (kernel {state['kernel']})"
            )
        time.sleep(1)


def _canvas_sizes(locator) -> list[tuple[float, float]]:
    boxes = [c.bounding_box() for c in locator.locator("canvas").all()]
    return [(b["width"], b["height"]) for b in boxes if b]


def _notebook_canvas_sizes(page) -> list[tuple[float, float]]:
    """Canvas sizes in every cell's output, each cell scrolled to (JupyterLab draws lazily)."""
    sizes = []
    n = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    for i in range(n):
        page.evaluate(
            "async (i) => { await window.jupyterapp.shell.currentWidget.content.scrollToItem(i); }",
            i,
        )
        page.wait_for_timeout(300)
        sizes += _canvas_sizes(page.locator(".jp-Notebook .jp-Cell").nth(i))
    return sizes


def _check_dashboard(page, context, base: str, origin: str, link: str, shots: Path) -> None:
    """The link opens inside JupyterLab: same origin, through jupyter-server-proxy."""
    # Binder's form of the link: the hub's prefix, jupyter-server-proxy, dask's status page
    assert re.fullmatch(rf"{re.escape(PREFIX)}proxy/\d+/status", link), link
    status = page.evaluate(FETCH_JS, link)  # fetched by the JupyterLab page itself
    assert status["status"] == 200, (status["status"], status["body"][:500])
    assert status["url"] == origin + link, status["url"]  # no redirect elsewhere
    assert "<title>Dask" in status["body"] and "bokeh" in status["body"].lower()
    # dask-labextension's own check (what its sidebar asks when the link is pasted in)
    check = page.evaluate(
        "async (url) => (await fetch(url)).json()",
        f"{base}dask/dashboard-check/{urllib.parse.quote(link, safe='')}",
    )
    assert check["isActive"] is True, check
    assert any("task-stream" in u for u in check["plots"].values()), check
    # and opened in a tab of its own, as a click on the link does: Bokeh draws the status page
    tab = context.new_page()
    try:
        response = tab.goto(origin + link, wait_until="load")
        assert response is not None and response.status == 200
        tab.locator("canvas").first.wait_for(state="attached", timeout=60_000)
        tab.wait_for_timeout(1500)
        sizes = _canvas_sizes(tab)
        tab.screenshot(path=str(shots / "dashboard.png"))
    finally:
        tab.close()
    assert any(w >= 200 and h >= 150 for w, h in sizes), f"the dashboard drew nothing: {sizes}"


def test_notebook_runs_in_jupyterlab_with_plots_and_a_dashboard_link(jupyterlab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, origin = jupyterlab["base"], jupyterlab["origin"]
    ws_origin = origin.replace("http://", "ws://", 1)
    outside, sockets, page_errors, console = [], [], [], []
    started = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            def on_request(req):  # every page's, the dashboard's tab too
                if not req.url.startswith((origin + "/", "data:", "blob:", "about:")):
                    outside.append(req.url)

            def on_page(page_):
                page_.on("websocket", lambda ws: sockets.append(ws.url))
                page_.on("pageerror", lambda exc: page_errors.append(str(exc)))
                page_.on(
                    "console",
                    lambda msg: console.append(msg.text) if msg.type == "error" else None,
                )

            context.on("request", on_request)
            context.on("page", on_page)
            page = context.new_page()
            page.goto(f"{base}lab/tree/{NOTEBOOK}", wait_until="load")
            page.wait_for_function(READY_JS, timeout=120_000)
            print(f"notebook open, kernel idle: {time.perf_counter() - started:.0f} s")

            state = page.evaluate(STATE_JS)
            sources = ["".join(c["source"]) for c in state["cells"]]
            close = next((i for i, s in enumerate(sources) if CLOSE_CELL in s), len(sources))
            assert close < len(sources), f"{NOTEBOOK} has no cell {CLOSE_CELL!r}"
            deadline = time.monotonic() + RUN_TIMEOUT_S
            page.evaluate(RUN_ABOVE_JS, close)
            state = _run_until_idle(page, slice(0, close), deadline)
            print(f"cells above {CLOSE_CELL!r} run: {time.perf_counter() - started:.0f} s")
            assert not _errors(state), _errors(state)

            # the dashboard, while the notebook's Client is alive
            shown = "".join(_text(o) for c in state["cells"] for o in c["outputs"])
            found = LINK.search(shown)
            assert found, f"no dashboard link in the outputs: {shown[-2000:]}"
            _check_dashboard(page, context, base, origin, found.group(1), tmp_path)
            print(f"dashboard {found.group(1)} checked: {time.perf_counter() - started:.0f} s")

            page.evaluate(RUN_BELOW_JS)
            state = _run_until_idle(page, slice(None), deadline)
            assert not _errors(state), _errors(state)
            assert page.evaluate("() => window.galata.haveBeenExecuted()")
            print(f"every cell run: {time.perf_counter() - started:.0f} s")

            sizes = _notebook_canvas_sizes(page)
            page.screenshot(path=str(tmp_path / "notebook.png"))
            stderr = page.locator(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
            ).all_inner_texts()
        finally:
            browser.close()
    print(f"jupyterlab test: {time.perf_counter() - started:.0f} s in the browser")
    print(f"canvases {sizes}; console errors {console[:5]}")
    assert not [t for t in stderr if "Traceback" in t], stderr
    drawn = [s for s in sizes if s[0] >= 200 and s[1] >= 150]
    assert len(drawn) >= 2, f"not every plot drew a canvas of real size: {sizes}"
    assert not outside, f"requests left loopback: {sorted(set(outside))[:5]}"
    assert sockets and all(u.startswith(ws_origin + PREFIX) for u in sockets), sockets
    assert not page_errors, page_errors[:5]


def test_start_script_sets_the_dashboard_link():
    """``start``: a hub's prefix, then a JupyterLab of one's own; the user's link wins."""
    code = "import distributed.utils as u; print(u.format_dashboard_link('127.0.0.1', 8787))"
    drop = ("DASK_DISTRIBUTED__DASHBOARD__LINK", "JUPYTERHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    cases = [
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/ann/"}, "/user/ann/proxy/8787/status"),
        ({}, "/proxy/8787/status"),
        (
            {"DASK_DISTRIBUTED__DASHBOARD__LINK": "http://{host}:{port}/x"},
            "http://127.0.0.1:8787/x",
        ),
    ]
    for extra, expected in cases:
        out = subprocess.run(
            [str(START), sys.executable, "-c", code],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected, (extra, out.stdout)
    # without the script (a terminal, nbmake, the book's build): dask's own default
    plain = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert plain.stdout.strip() == "http://127.0.0.1:8787/status", plain.stderr
