"""The notebooks and the book, each notebook executed once.

Each notebook runs under nbmake's executor (``test_notebook_runs``, against the local STAC API),
into a copy of the book's sources; the book is then built from those executed notebooks with
execution off, warnings as errors, and its plots must draw in a real browser (headless
Chromium) with no request leaving loopback and no console error, and no cell output may be
wider than the page's column at 1280 px (at 390 px, a phone, only tables and printouts may
scroll; the counts at both widths go to ``_build/reports/overflow.json``). ``make book`` builds
the book from the committed notebooks instead, executing them itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml
from nbmake.nb_run import NotebookRun

from tests.browser import BROWSER_ARGS, CHROMIUM, free_port
from tests.kernel_memory import KernelPeak
from tests.leaks import SIGNED_URL

ROOT = Path(__file__).resolve().parents[1]
# every notebook (test_notebooks_static checks that each one is in the toc)
PAGES = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
# The book's notebooks each run in under a minute on the offline sample (measured on a quiet
# 2-core machine); this bound leaves room for the other pytest worker and catches a notebook
# that grew several-fold.
NOTEBOOK_SECONDS = 120
# A mybinder.org session has 1 to 2 GB of memory for the Jupyter server and the kernels: each
# notebook's kernel may use 1.5 GB at most (peak resident memory, the kernel with any process
# it starts: tests/kernel_memory.py); the peaks go to _build/reports/notebook_memory.json
KERNEL_PEAK_MB = 1500

pytestmark = pytest.mark.slow  # one worker runs this file: make test uses --dist loadfile


@pytest.fixture(scope="module")
def book_src(tmp_path_factory) -> Path:
    """A copy of the book's sources whose _config.yml does not execute the notebooks."""
    src = tmp_path_factory.mktemp("book-src")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "force"  # make book executes them
    config["execute"]["execute_notebooks"] = "off"  # here they are executed by nbmake
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(ROOT / "_toc.yml", src / "_toc.yml")
    shutil.copytree(ROOT / "notebooks", src / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
    return src


@pytest.fixture(scope="module")
def run_notebook(book_src, stac_server, request) -> Callable[[str], dict]:
    """Execute a notebook once (nbmake's executor) into ``book_src``; later calls reuse it."""
    done: dict[str, dict] = {}
    timeout = request.config.option.nbmake_timeout

    def run(page: str) -> dict:
        if page not in done:
            copy = book_src / "notebooks" / f"{page}.ipynb"
            shutil.copy(ROOT / "notebooks" / f"{page}.ipynb", copy)
            os.environ["LAKEML_STAC_URL"] = stac_server.stac_url  # the kernel inherits it
            started = time.perf_counter()
            with KernelPeak() as peak:
                result = NotebookRun(copy, timeout).execute()
            seconds = time.perf_counter() - started
            nbformat.write(result.nb, str(copy))
            done[page] = {"seconds": round(seconds, 1), "error": result.error, "mb": peak.mb}
            print(f"{page}: {seconds:.0f} s, kernel peak {peak.mb:.0f} MB")
        return done[page]

    yield run
    times = {page: run["seconds"] for page, run in done.items()}
    report = ROOT / "_build" / "reports" / "notebook_seconds.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(times, indent=1) + "\n")
    peaks = {page: round(run["mb"]) for page, run in done.items()}
    (report.parent / "notebook_memory.json").write_text(json.dumps(peaks, indent=1) + "\n")


@pytest.mark.notebook
@pytest.mark.parametrize("page", PAGES)
def test_notebook_runs(run_notebook, page):
    """The notebook runs top to bottom without an error, in well under the timeout."""
    run = run_notebook(page)
    error = run["error"]
    assert error is None, f"{page}: {error.summary}\n{error.trace}"
    assert run["seconds"] < NOTEBOOK_SECONDS, f"{page} took {run['seconds']} s"
    assert run["mb"] > 50, f"{page}: no kernel measured ({run['mb']:.0f} MB)"
    assert run["mb"] <= KERNEL_PEAK_MB, (
        f"{page}: the kernel's peak memory was {run['mb']:.0f} MB, over the {KERNEL_PEAK_MB} MB"
        " a notebook may use on Binder"
    )


@pytest.fixture(scope="module")
def built_book(book_src, run_notebook, tmp_path_factory) -> Path:
    """The book, built from the executed notebooks (each ran once, by ``run_notebook``)."""
    failed = [page for page in PAGES if run_notebook(page)["error"] is not None]
    if failed:
        pytest.fail(f"notebooks failed, no book: {failed} (see test_notebook_runs)")
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    started = time.perf_counter()
    proc = subprocess.run(
        [str(jb), "build", str(book_src), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    print(f"book build (notebooks not executed again): {time.perf_counter() - started:.0f} s")
    assert proc.returncode == 0, (proc.stdout[-6000:], proc.stderr[-6000:])
    assert "Executing notebook" not in proc.stdout, "the book build executed a notebook again"
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html


def test_book_pages_exist_and_carry_no_signed_urls(built_book):
    for page in PAGES:
        text = (built_book / "notebooks" / f"{page}.html").read_text()
        assert "Traceback" not in text, page
        assert not SIGNED_URL.search(text), f"{page}: a signed URL in the page"


def test_api_reference_documents_every_module_and_links_resolve(built_book):
    """Each module of notebooks/api.md has its section; every link to the page has a target."""
    api = (built_book / "notebooks" / "api.html").read_text()
    page = (ROOT / "notebooks" / "api.md").read_text()
    modules = re.findall(r"^\.\. automodule:: (\S+)", page, re.M)
    assert modules
    missing = [m for m in modules if f'id="module-{m}"' not in api]
    assert not missing, f"api.html lacks the sections of {missing}"
    ids = set(re.findall(r'id="([^"]+)"', api))
    for html in sorted((built_book / "notebooks").glob("*.html")):
        anchors = set(re.findall(r'href="api\.html#([^"]+)"', html.read_text()))
        assert anchors <= ids, f"{html.name}: links to no target in api.html: {anchors - ids}"


@pytest.fixture(scope="module")
def http_root(built_book):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=built_book,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_port(port: int, timeout: float = 20) -> None:
    import socket

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


# A known harmless page error of sphinx-thebe 0.3.1 (it declares THEBE_JS_URL twice).
KNOWN_CONSOLE = ("THEBE_JS_URL",)


@pytest.mark.parametrize("page", PAGES)
def test_plots_render_offline_in_chromium(http_root, page, tmp_path):
    from playwright.sync_api import sync_playwright

    outside, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=BROWSER_ARGS,
        )
        try:
            page_ = browser.new_page(viewport={"width": 1280, "height": 900})

            def on_request(req):
                if not req.url.startswith((http_root, "data:", "blob:", "about:")):
                    outside.append(req.url)

            page_.on("request", on_request)
            page_.on(
                "console",
                lambda msg: errors.append(msg.text) if msg.type == "error" else None,
            )
            page_.on("pageerror", lambda exc: errors.append(str(exc)))
            page_.goto(f"{http_root}/notebooks/{page}.html", wait_until="load")
            canvases = page_.locator("canvas")
            canvases.first.wait_for(state="attached", timeout=30_000)
            page_.wait_for_timeout(1500)
            sizes, right_edges = [], []
            for i in range(canvases.count()):
                box = canvases.nth(i).bounding_box()
                if box:
                    sizes.append((box["width"], box["height"]))
                    right_edges.append(box["x"] + box["width"])
            column = page_.locator("article.bd-article, main").first.bounding_box()
            page_.screenshot(path=str(tmp_path / f"{page}.png"), full_page=False)
        finally:
            browser.close()
    drawn = [s for s in sizes if s[0] >= 200 and s[1] >= 150]
    assert drawn, f"{page}: no plot canvas of real size drew: {sizes}"
    assert not outside, f"{page}: requests left loopback: {outside[:5]}"
    real_errors = [e for e in errors if not any(k in e for k in KNOWN_CONSOLE)]
    assert not real_errors, f"{page}: console errors: {real_errors[:5]}"
    assert column, f"{page}: no article element"
    limit = column["x"] + column["width"] + 2
    overflow = [r for r in right_edges if r > limit]
    assert not overflow, f"{page}: plots overflow the column (right edge {limit}): {overflow}"


# Every cell output of a page, measured in the browser: the scroll width of the output and of
# everything inside it (a <pre> nested in the output scrolls on its own) against its client
# width (a table or printout that scrolls or is cut off), and the right edge of everything drawn
# inside it, through Bokeh's shadow roots (a plot cut off by a container that hides overflow)
# against the column's. "kind" is plot (a canvas inside), table, text or another element.
# The collapsed cells (hide-input, hide-cell: the solutions) are opened first: a reader opens
# them too.
OPEN_HIDDEN = """
() => document.querySelectorAll("div.cell details").forEach((d) => (d.open = true))
"""
MEASURE_OUTPUTS = """
(slack) => {
  const column = document.querySelector("article.bd-article") || document.querySelector("main");
  const right = Math.min(column.getBoundingClientRect().right, window.innerWidth);
  const all = (root, found, shadow) => {
    for (const el of root.querySelectorAll("*")) {
      found.push([el, shadow]);
      if (el.shadowRoot) all(el.shadowRoot, found, true);
    }
    return found;
  };
  // every code cell, its input hidden (hide-input) or the whole cell (hide-cell) or not
  const codeCells = Array.from(document.querySelectorAll("div.cell"));
  const out = [];
  codeCells.forEach((cell, index) => {
    for (const o of cell.querySelectorAll(".cell_output > *")) {
      const box = o.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      const inside = all(o, [], false);
      let drawn = box.right;
      let scroll = o.scrollWidth - o.clientWidth;
      for (const [el, shadow] of inside) {
        const r = el.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden" || style.display === "none") continue;
        drawn = Math.max(drawn, r.right);
        // a <pre> (or any box) inside the output that scrolls or cuts off its own content; not
        // Bokeh's plot frames (in shadow roots), which clip what is drawn outside the axes, nor
        // a text shortened with an ellipsis on purpose (xarray's previews; the full values
        // unfold below them)
        const clips = style.overflowX !== "visible" && style.textOverflow !== "ellipsis";
        if (!shadow && el.clientWidth > 0 && clips) {
          scroll = Math.max(scroll, el.scrollWidth - el.clientWidth);
        }
      }
      const tags = inside.map(([el]) => el.tagName.toLowerCase());
      const kind = tags.includes("canvas") ? "plot" : tags.includes("table") ? "table"
        : o.matches(".stream, .text_plain, .output") && tags.includes("pre") ? "text"
        : (o.tagName.toLowerCase() + "." + Array.from(o.classList).join("."));
      out.push({
        cell: index,
        kind,
        column: Math.round(right - column.getBoundingClientRect().left),
        scroll,
        beyond: Math.round(drawn - right),
        width: Math.round(Math.max(o.clientWidth + scroll, drawn - box.left)),
        text: (o.innerText || "").replace(/\\s+/g, " ").trim().slice(0, 80),
      });
    }
  });
  return out.filter((m) => m.scroll > slack || m.beyond > slack);
}
"""

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
"""The viewports the outputs are measured at: the reviewer's 1280 px and a phone's 390 px."""


def _code_cell_indices(page: str) -> list[int]:
    """Notebook cell index of each code cell the page shows (cells tagged remove-cell are not)."""
    nb = json.loads((ROOT / "notebooks" / f"{page}.ipynb").read_text())
    return [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and not {"remove-cell", "remove_cell"} & set(cell.get("metadata", {}).get("tags", []))
    ]


@pytest.fixture(scope="module")
def overflowing(http_root) -> dict[str, dict[str, list[dict]]]:
    """Per viewport and page, the cell outputs wider than their column (measured in Chromium)."""
    from playwright.sync_api import sync_playwright

    found: dict[str, dict[str, list[dict]]] = {name: {} for name in WIDTHS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            for name, (width, height) in WIDTHS.items():
                tab = browser.new_page(viewport={"width": width, "height": height})
                for page in PAGES:
                    tab.goto(f"{http_root}/notebooks/{page}.html", wait_until="load")
                    tab.locator("canvas").first.wait_for(state="attached", timeout=30_000)
                    tab.evaluate(OPEN_HIDDEN)
                    tab.wait_for_timeout(1500)  # Bokeh lays out after the first canvas
                    cells = _code_cell_indices(page)
                    wide = tab.evaluate(MEASURE_OUTPUTS, 2)
                    for w in wide:
                        w["notebook cell"] = cells[w["cell"]] if w["cell"] < len(cells) else None
                    found[name][page] = wide
                tab.close()
        finally:
            browser.close()
    report = ROOT / "_build" / "reports" / "overflow.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    counts = {
        name: {"viewport px": WIDTHS[name][0], "total": sum(map(len, pages.values()))}
        | {page: len(wide) for page, wide in pages.items()}
        for name, pages in found.items()
    }
    report.write_text(json.dumps({"counts": counts, "outputs": found}, indent=1) + "\n")
    return found


def _describe(page: str, wide: list[dict]) -> str:
    return "\n".join(
        f"  {page} notebook cell {w['notebook cell']} ({w['kind']}, {w['width']} px in a "
        f"{w['column']} px column): {w['text'][:80]!r}"
        for w in wide
    )


def test_no_output_is_wider_than_the_column_at_1280_px(overflowing):
    """At 1280 px every plot, table and printout fits the column: nothing scrolls or is cut."""
    wide = {page: w for page, w in overflowing["desktop"].items() if w}
    assert not wide, "outputs wider than the column at 1280 px:\n" + "\n".join(
        _describe(page, w) for page, w in wide.items()
    )


def test_plots_scale_down_to_a_phone(overflowing):
    """At 390 px the plots shrink to the column; only tables and printouts may scroll."""
    plots = {
        page: [w for w in wide if w["kind"] not in ("table", "text")]
        for page, wide in overflowing["phone"].items()
    }
    plots = {page: w for page, w in plots.items() if w}
    assert not plots, "plots wider than the column at 390 px:\n" + "\n".join(
        _describe(page, w) for page, w in plots.items()
    )
