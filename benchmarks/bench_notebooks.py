"""Benchmark: does each notebook fit a Binder session? Time on one CPU vs two, peak memory, MB read.

Each notebook runs top to bottom (nbmake's executor, as ``tests/test_book.py`` runs it) on the
offline sample, through a local STAC API this script starts, twice: pinned to one CPU
(``taskset -c 0``: a mybinder.org session is guaranteed about one) and to two (``taskset -c
0,1``). The kernel inherits the pinning, and dask sizes its thread pool from it. Each run is a
process of its own with an empty scene cache (``LAKEML_CACHE_DIR``), as a fresh session has.

Per notebook it reports:

- ``s_1cpu``, ``s_2cpu``: wall-clock seconds of the whole run (kernel start to shutdown), the
  fastest of ``--repeats`` runs (the others are disturbed more by other work on the machine),
  and ``ratio`` = ``s_1cpu / s_2cpu`` (2.0: all of it parallel; 1.0: none of it). In each
  repeat the one-CPU run goes first, so it also pays for cold disk caches: the ratio errs high;
- ``cpu_s``: the CPU seconds (user + system) the kernel used, the least of all runs: what the
  notebook costs whatever else runs on the machine, and a floor for its time on one CPU (on a
  shared machine ``cpu_s`` says more than the times do);
- ``peak_mb``: the kernel's peak resident memory (``tests/kernel_memory.py``; the larger of
  the two runs), MB = 10**6 bytes;
- ``online_mb``: an ESTIMATE of the megabytes the notebook would read from Planetary Computer:
  the pixels it loads, counted at every ``odc.stac.load`` call of the kernel (a startup file
  wraps it; ``lakeml.load`` loads through it), bands x pixels (x times) x bytes per pixel of
  the loaded data (uint16 for every Landsat Collection 2 Level-2 asset: 2 bytes). Uncompressed:
  the COGs are deflate-compressed, so fewer bytes cross the network, but a read also takes the
  whole internal tiles (512 x 512) that overlap the box, so more; loads that the scene cache
  answers are not counted, as on a real run. ``loads`` is the number of calls.

The local STAC API runs unpinned, on both CPUs. The machine may be shared (other processes on the
same cores): times are noisy, and a ratio below 1 means that the other load changed between the
runs; the load average at the end is in the report. Writes ``_build/bench/notebooks.json`` and
prints a Markdown table::

    make bench-notebooks                                            # every notebook, 2 repeats
    .venv/bin/python benchmarks/bench_notebooks.py --repeats 3      # every notebook
    .venv/bin/python benchmarks/bench_notebooks.py 01-ingestion     # some of them, 1 repeat

(``LAKEML_SAMPLE_DIR`` as ``make`` sets it, or the sample is built in ``~/.cache/lakeml``.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.kernel_memory

OUT = ROOT / "_build" / "bench" / "notebooks.json"
CPUS = {"1cpu": "0", "2cpu": "0,1"}
TIMEOUT_S = 900

# Loaded into every kernel before the notebook's first cell ($IPYTHONDIR's startup folder).
RECORD_LOADS = """\
import json as _json
import os as _os

import odc.stac as _odc_stac

_LOADS = []
_load = _odc_stac.load


def _recording_load(*args, **kwargs):
    ds = _load(*args, **kwargs)
    _LOADS.append(
        {
            "bands": len(ds.data_vars),
            "sizes": {str(k): int(v) for k, v in ds.sizes.items()},
            "bytes": int(sum(v.size * v.dtype.itemsize for v in ds.data_vars.values())),
        }
    )
    with open(_os.environ["LAKEML_BENCH_LOADS"], "w") as f:
        _json.dump(_LOADS, f)
    return ds


_odc_stac.load = _recording_load
"""


def run_one(page: str, stac_url: str) -> dict:
    """Run notebook ``page`` in this process (under whatever CPU pinning it has)."""
    from nbmake.nb_run import NotebookRun

    from tests.kernel_memory import KernelPeak

    with tempfile.TemporaryDirectory(prefix="bench-nb-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "notebooks", work / "notebooks")
        startup = work / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-record-loads.py").write_text(RECORD_LOADS)
        loads_file = work / "loads.json"
        os.environ.update(
            LAKEML_STAC_URL=stac_url,
            LAKEML_CACHE_DIR=str(work / "scene-cache"),  # empty: a fresh session
            IPYTHONDIR=str(work / "ipython"),
            LAKEML_BENCH_LOADS=str(loads_file),
        )
        started = time.perf_counter()
        with KernelPeak() as peak:
            result = NotebookRun(work / "notebooks" / f"{page}.ipynb", TIMEOUT_S).execute()
        seconds = time.perf_counter() - started
        loads = json.loads(loads_file.read_text()) if loads_file.exists() else []
    if result.error is not None:  # the table says so, and the other notebooks still run
        summary = re.sub(r"\x1b\[[0-9;]*m", "", result.error.summary).strip()  # no colours
        return {"error": summary[-300:] or "failed"}
    return {
        "seconds": round(seconds, 1),
        "peak_mb": round(peak.mb),
        "cpu_s": round(peak.cpu_s, 1),
        "loads": len(loads),
        "online_mb": round(sum(d["bytes"] for d in loads) / 1e6, 1),
        "cpus": sorted(os.sched_getaffinity(0)),
    }


def run_pinned(page: str, cpus: str, stac_url: str) -> dict:
    """Run notebook ``page`` in a child process pinned to ``cpus`` (``taskset -c``)."""
    proc = subprocess.run(
        ["taskset", "-c", cpus, sys.executable, __file__, "--one", page, "--stac-url", stac_url],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 120,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{page} on CPUs {cpus} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: dict[str, dict]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| notebook | s, 1 CPU | s, 2 CPUs | ratio | CPU s | kernel peak MB | online MB (est.) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page, r in rows.items():
        if "error" in r:
            lines.append(f"| {page} | failed: {r['error'].splitlines()[-1][:60]} |||||")
            continue
        lines.append(
            f"| {page} | {r['s_1cpu']:.0f} | {r['s_2cpu']:.0f} | {r['ratio']:.2f} |"
            f" {r['cpu_s']:.0f} | {r['peak_mb']} | {r['online_mb']:.0f} ({r['loads']} loads) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="notebook names (default: every notebook)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per CPU setting (1)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: run one notebook
    parser.add_argument("--stac-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.stac_url)))
        return 0
    if shutil.which("taskset") is None:
        raise SystemExit("taskset not found: it is in util-linux (apt-get install util-linux)")
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        raise SystemExit("this benchmark compares CPUs 0 and 0,1: it needs both")
    every = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    unknown = sorted(set(args.pages) - set(every))
    if unknown:
        raise SystemExit(f"no notebook {unknown}; there are {every}")
    pages = args.pages or every

    from lakeml.offline import sample
    from lakeml.offline.server import serve_sample

    rows: dict[str, dict] = {}
    with serve_sample(Path(sample.build())) as server:
        for page in pages:
            runs: dict[str, list[dict]] = {name: [] for name in CPUS}
            for _ in range(args.repeats):
                for name, cpus in CPUS.items():
                    runs[name].append(run_pinned(page, cpus, server.stac_url))
            failed = [r["error"] for rs in runs.values() for r in rs if "error" in r]
            if failed:
                rows[page] = {"error": failed[0]}
                print(f"{page}: failed: {failed[0]}", file=sys.stderr)
                continue
            one = min(r["seconds"] for r in runs["1cpu"])
            two = min(r["seconds"] for r in runs["2cpu"])
            rows[page] = {
                "s_1cpu": one,
                "s_2cpu": two,
                "ratio": round(one / two, 2),
                "cpu_s": min(r["cpu_s"] for rs in runs.values() for r in rs),
                "peak_mb": max(r["peak_mb"] for rs in runs.values() for r in rs),
                "online_mb": runs["2cpu"][0]["online_mb"],
                "loads": runs["2cpu"][0]["loads"],
                "runs": runs,
            }
            brief = {k: v for k, v in rows[page].items() if k != "runs"}
            print(f"{page}: {json.dumps(brief)}", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg()},
        "repeats": args.repeats,
        "notebooks": rows,
    }
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(table(rows))
    print(f"written: {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
