"""Benchmark: the book's maps, built in Python and drawn in headless Chromium, now vs a revision.

The maps are those of the book's pages at their sizes: a true-colour map and cluster labels
at 400 and 220 px (pages 01, 03), water masks at 220 and 150 px (page 05), a change map at
400 px (page 04), cluster labels at 160 px (page 03's k sweep). The data are a synthetic
scene shaped like the Walker Lake scene (1128 x 950 pixels of 30 m in EPSG:32611, its bbox),
with a round lake, so that nothing here needs the sample or a server.

For each implementation of ``lakeml.plots`` (this worktree's, and ``--baseline REV``'s file
from git, e.g. ``HEAD~1``), per map: ``build`` is the function call (``plots.rgb(...)``),
``render`` is Bokeh's model made from it (``holoviews.render``: GeoViews projects the pixels
here), ``bytes`` the standalone HTML of that one map (BokehJS left out); the implementations
take turns ``--repeats`` times and each map's fastest run counts. Then every map on one
page (BokehJS inline, as the book embeds it) is opened in headless Chromium (Debian's
``/usr/bin/chromium``, tests/browser.py's flags): ``browser`` is the time from navigation to
the moment every map's canvas is in the page and drawn (the median of ``--repeats`` loads).

Usage::

    python benchmarks/bench_maps.py --baseline HEAD~1   # -> _build/bench/maps.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (kind, frame_width): the sizes the book's pages draw maps at
MAPS = [
    ("rgb", 400),
    ("labels", 400),
    ("change", 400),
    ("rgb", 220),
    ("labels", 220),
    ("water_mask", 220),
    ("water_mask", 150),
    ("labels", 160),
]

# Bokeh draws in shadow roots: count the canvases drawn in all of them
DRAWN = """
(expected) => {
  const canvases = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.tagName === "CANVAS") canvases.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const drawn = canvases.filter((c) => c.width > 100 && c.height > 100);
  return drawn.length >= expected ? performance.now() : null;
}
"""


def scene() -> Any:
    """A synthetic 1128 x 950 scene over Walker Lake's bbox: a round lake in dry land."""
    import odc.geo.xr
    import xarray as xr
    from odc.geo.geobox import GeoBox

    grid = GeoBox.from_bbox((335250, 4267020, 363750, 4300860), "EPSG:32611", resolution=30)
    zeros = odc.geo.xr.xr_zeros(grid, dtype="float32")
    yy, xx = np.meshgrid(np.arange(grid.shape[0]), np.arange(grid.shape[1]), indexing="ij")
    lake = (yy - 560) ** 2 / 400**2 + (xx - 470) ** 2 / 200**2 < 1
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, grid.shape).astype("float32")
    bands = {
        "red": np.where(lake, 0.02, 0.16),
        "green": np.where(lake, 0.04, 0.14),
        "blue": np.where(lake, 0.03, 0.10),
    }
    ds = xr.Dataset({b: zeros + (v + noise).astype("float32") for b, v in bands.items()})
    labels = zeros.astype("int16") + ((xx // 97 + yy // 131) % 3 + 1).astype("int16")
    labels = labels.where(~lake, 0)
    water = (labels == 0).astype("float32")
    water[:40] = np.nan  # a band of no data
    change = (zeros + np.where(lake, 4, 1)).astype("uint8")
    change[500:620] = np.where(lake[500:620], 2, 1)
    return ds, labels, water, change


def draw(plots: Any, kind: str, width: int, data: tuple) -> Any:
    ds, labels, water, change = data
    if kind == "rgb":
        return plots.rgb(ds, title="rgb", frame_width=width)
    if kind == "labels":
        return plots.labels(labels, title="labels", water=[0], frame_width=width)
    if kind == "water_mask":
        return plots.water_mask(water, title="water", frame_width=width)
    return plots.change(change, title="change", frame_width=width)


def load_plots(revision: str | None) -> Any:
    """This worktree's ``lakeml.plots``, or the file of ``revision`` imported beside it."""
    if revision is None:
        from lakeml import plots

        return plots
    text = subprocess.run(
        ["git", "show", f"{revision}:lakeml/plots.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "plots_baseline.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("lakeml.plots_baseline", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def python_times(plots: Any, data: tuple) -> list[dict]:
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.resources import CDN

    rows = []
    for kind, width in MAPS:
        started = time.perf_counter()
        plot = draw(plots, kind, width, data)
        built = time.perf_counter()
        figure = hv.render(plot, backend="bokeh")
        rendered = time.perf_counter()
        size = len(file_html(figure, CDN, kind))
        rows.append(
            {
                "map": f"{kind} {width} px",
                "build s": round(built - started, 3),
                "render s": round(rendered - built, 3),
                "bytes": size,
            }
        )
    return rows


def browser_seconds(plots: Any, data: tuple, repeats: int) -> dict[str, float]:
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.resources import INLINE
    from playwright.sync_api import sync_playwright

    from tests.browser import BROWSER_ARGS, CHROMIUM

    figures = [draw(plots, kind, width, data) for kind, width in MAPS]  # models of their own
    layout = hv.Layout(figures).cols(1).opts(shared_axes=False)
    page = hv.render(layout, backend="bokeh")
    html = Path(tempfile.mkdtemp()) / "maps.html"
    html.write_text(file_html(page, INLINE, "maps"))
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            for _ in range(repeats):
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                tab.goto(html.as_uri(), wait_until="load")
                handle = tab.wait_for_function(DRAWN, arg=len(figures), timeout=60_000)
                times.append(handle.json_value() / 1000)
                tab.close()
        finally:
            browser.close()
    return {"browser s": round(statistics.median(times), 3), "page bytes": html.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a git revision whose lakeml/plots.py to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "_build" / "bench" / "maps.json"))
    args = parser.parse_args()

    import holoviews as hv

    hv.extension("bokeh")
    data = scene()
    implementations = {"now": load_plots(None)}
    if args.baseline:
        implementations["baseline"] = load_plots(args.baseline)
    for plots in implementations.values():  # warm-up: imports, first projections
        for kind, width in MAPS[:3]:
            draw(plots, kind, width, data)
    # the implementations take turns, --repeats times; each map's fastest run counts (the
    # machine is shared: a slow run is another process's doing)
    runs: dict[str, list[list[dict]]] = {name: [] for name in implementations}
    for _ in range(args.repeats):
        for name, plots in implementations.items():
            runs[name].append(python_times(plots, data))
    result = {}
    for name, plots in implementations.items():
        rows = [
            min(by_map, key=lambda r: r["build s"] + r["render s"])
            for by_map in zip(*runs[name], strict=True)
        ]
        result[name] = {
            "revision": args.baseline if name == "baseline" else "worktree",
            "maps": rows,
            "build s": round(sum(r["build s"] for r in rows), 2),
            "render s": round(sum(r["render s"] for r in rows), 2),
            **browser_seconds(plots, data, args.repeats),
        }
        print(name, json.dumps({k: v for k, v in result[name].items() if k != "maps"}))
        for row in rows:
            print("   ", row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print("->", out)


if __name__ == "__main__":
    main()
