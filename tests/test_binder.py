"""Binder's environment, built from ``.binder/`` alone as repo2docker builds it, runs a notebook.

With a ``.binder/`` folder, repo2docker reads only that folder (configuration files at the
root, ``pyproject.toml`` included, are ignored; repo2docker's documentation and its
``buildpacks/python``), in this order: ``runtime.txt`` picks the Python (3.11), ``apt.txt``'s
packages are installed with apt-get, the repository is copied in, ``requirements.txt`` is
installed as it is, ``pip install -r .binder/requirements.txt`` from the repository's root (its
``.[lab]`` line is a local path, lakeml itself, which is why pip runs after the copy), then
``postBuild`` would run (there is none: nothing else is needed); ``start`` runs at every launch,
before the server (it ends with ``exec "$@"``).

This test does the same without Docker: the repository's files (what a clone has, with this
work tree's changes) are copied to a temporary folder, a fresh virtual environment of the Python
of ``runtime.txt`` gets ``pip install -r .binder/requirements.txt`` there and nothing else (pip's
own cache is reused; repo2docker downloads the same files again), and the installed versions
are checked against the file. Then ``.binder/start <venv>/bin/jupyter lab`` serves the copy
under a JupyterHub-like prefix, as Binder does, and headless Chromium opens
``notebooks/01-ingestion.ipynb`` and runs every cell with JupyterLab's own commands, against the
local STAC API (``$LAKEML_STAC_URL``: on Binder the notebooks read Planetary Computer). The
kernel is asked which Python it runs. Seconds of each step: ``_build/reports/binder.json``.

Not the same as on Binder: repo2docker's own base packages (a conda environment with
JupyterHub's single-user server, the classic notebook, jupyter-resource-usage; pip then
installs this file over it), Ubuntu instead of this machine's Debian, and Docker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.browser import BROWSER_ARGS, CHROMIUM
from tests.test_jupyterlab import (
    PREFIX,
    READY_JS,
    RUN_ABOVE_JS,
    STATE_JS,
    _errors,
    _notebook_canvas_sizes,
    _run_until_idle,
    lab_home,
    lab_server,
)

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / ".binder"
NOTEBOOK = "notebooks/01-ingestion.ipynb"  # a short one: ~10 s alone
INSTALL_TIMEOUT_S = 900  # measured: 159-256 s on 2 cores shared with other work (load 6-9)
RUN_TIMEOUT_S = 600

pytestmark = pytest.mark.slow  # a fresh environment, a JupyterLab server and a browser

# The kernel's own account: which Python, where lakeml comes from, no test tools.
ASK_KERNEL_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: code});
  let out = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') { out += msg.content.text; }
  };
  await future.done;
  return out;
}"""
ASK_KERNEL = """\
import importlib.util, json, sys
import lakeml
print(json.dumps({"prefix": sys.prefix, "lakeml": lakeml.__file__,
                  "pytest": importlib.util.find_spec("pytest") is not None}))
"""


def _copy_repository(dest: Path) -> None:
    """The files a clone has (tracked, and new ones not ignored), as this work tree has them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a file deleted in the work tree is not in a clone of it
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _pins(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.strip())
        if found:
            out[re.sub(r"[-_.]+", "-", found.group(1)).lower()] = found.group(2)
    return out


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory) -> dict:
    """The repository's copy and a venv built from ``.binder/`` alone, as repo2docker does."""
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    assert f"python-{sys.version_info.major}.{sys.version_info.minor}" == runtime, (
        f"this interpreter is not runtime.txt's {runtime}: run the tests with .venv"
    )
    for package in (BINDER / "apt.txt").read_text().split("\n"):
        package = package.split("#")[0].strip()
        if package:  # what repo2docker installs with apt-get, here already
            found = subprocess.run(["dpkg-query", "-W", package], capture_output=True)
            assert found.returncode == 0, f"apt.txt's {package} is not installed: make sysdeps"
    assert not (BINDER / "postBuild").exists()  # if there is one, this test must run it
    tmp = tmp_path_factory.mktemp("binder")
    repo, venv = tmp / "repo", tmp / "venv"
    started = time.perf_counter()
    _copy_repository(repo)
    # a fresh venv: its own pip (the interpreter's bundled one), nothing else installed
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-r", ".binder/requirements.txt"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    install_s = time.perf_counter() - started
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    print(f"binder environment: copied and installed in {install_s:.0f} s")
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    installed = {
        re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"] for p in json.loads(freeze.stdout)
    }
    return {"repo": repo, "venv": venv, "installed": installed, "install_s": install_s}


def test_binder_environment_is_the_pinned_runtime_set(binder_env):
    """Every pin of ``.binder/requirements.txt`` installed at its version; no test tools."""
    wanted = _pins((BINDER / "requirements.txt").read_text())
    installed = binder_env["installed"]
    wrong = {n: (v, installed.get(n)) for n, v in wanted.items() if installed.get(n) != v}
    assert not wrong, f"pinned vs installed: {wrong}"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert installed["lakeml"] == version  # from the repository's copy (.[lab])
    # nothing but the file's packages, lakeml and the venv's own pip and setuptools
    others = set(installed) - set(wanted) - {"lakeml", "pip", "setuptools"}
    assert not others, f"installed beyond .binder/requirements.txt: {sorted(others)}"


@pytest.fixture
def binder_lab(binder_env, stac_server, tmp_path):
    """``.binder/start <venv>/bin/jupyter lab`` on the copy, Binder's way; stopped at the end."""
    repo, venv = binder_env["repo"], binder_env["venv"]
    dirs, config = lab_home(tmp_path)
    # the Binder venv first on PATH (as repo2docker's environment is), the project's .venv not
    # at all; no dashboard link or hub variables from the caller: .binder/start sets the link
    drop = ("DASK_DISTRIBUTED__DASHBOARD__LINK", "JUPYTERHUB_", "VIRTUAL_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)]
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), *path]),
        LAKEML_STAC_URL=stac_server.stac_url,
        LAKEML_CACHE_DIR=str(tmp_path / "scene-cache"),
        JUPYTERHUB_SERVICE_PREFIX=PREFIX,
    )
    log = tmp_path / "jupyter.log"
    start, jupyter = repo / ".binder" / "start", venv / "bin" / "jupyter"
    # Binder opens the repository's root
    with lab_server(start, jupyter, config, repo, repo, env, log, 180) as lab:
        yield lab


def test_binder_environment_runs_a_notebook_in_jupyterlab(binder_env, binder_lab):
    from playwright.sync_api import sync_playwright

    base, origin = binder_lab["base"], binder_lab["origin"]
    outside, page_errors = [], []
    started = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.on(
                "request",
                lambda req: (
                    None
                    if req.url.startswith((origin + "/", "data:", "blob:", "about:"))
                    else outside.append(req.url)
                ),
            )
            page = context.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.goto(f"{base}lab/tree/{NOTEBOOK}", wait_until="load")
            page.wait_for_function(READY_JS, timeout=120_000)
            kernel = json.loads(page.evaluate(ASK_KERNEL_JS, ASK_KERNEL).strip())
            state = page.evaluate(STATE_JS)
            page.evaluate(RUN_ABOVE_JS, len(state["cells"]))  # Run All Cells
            state = _run_until_idle(page, slice(None), time.monotonic() + RUN_TIMEOUT_S)
            run_s = time.perf_counter() - started
            assert not _errors(state), _errors(state)
            assert page.evaluate("() => window.galata.haveBeenExecuted()")
            sizes = _notebook_canvas_sizes(page)
        finally:
            browser.close()
    print(f"{NOTEBOOK} in the binder venv's JupyterLab: {run_s:.0f} s; canvases {sizes}")
    report = ROOT / "_build" / "reports" / "binder.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    seconds = {
        "install_s": round(binder_env["install_s"]),
        "jupyterlab_start_s": round(binder_lab["start_s"]),
        "notebook_s": round(run_s),
    }
    load = [round(x, 1) for x in os.getloadavg()]  # the machine may be shared
    report.write_text(json.dumps({"notebook": NOTEBOOK, **seconds, "load": load}, indent=1) + "\n")
    # the kernel is the Binder venv's Python, with lakeml installed there (not the work tree)
    venv = binder_env["venv"]
    assert Path(kernel["prefix"]) == venv, kernel
    assert Path(kernel["lakeml"]).is_relative_to(venv), kernel
    assert kernel["pytest"] is False, kernel
    assert all(c["count"] for c in state["cells"]), "a code cell did not run"
    assert any(w >= 200 and h >= 150 for w, h in sizes), f"no plot drew: {sizes}"
    assert not outside, f"requests left loopback: {sorted(set(outside))[:5]}"
    assert not page_errors, page_errors[:5]
