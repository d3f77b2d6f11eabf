"""The ``lakeml`` command: the offline sample, the change pipeline and the yearly series.

Exit codes: 0 success, 1 runtime failure, 2 bad input (:class:`lakeml.checks.BadInput`, and
argparse's own errors), 130 interrupted. Errors are one line, without SAS signatures
(:func:`lakeml.errors.describe_error`); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from lakeml.checks import BadInput, check_extent_file
from lakeml.errors import describe_error, redact
from lakeml.water import START_CLUSTERS


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (argparse's own print the usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"lakeml: error: {message}; see {self.prog} --help\n")


def _sample(args: argparse.Namespace) -> int:
    from lakeml.offline import sample

    if args.action == "build":
        root = sample.build(force=args.force)
        print(root)
        return 0
    from lakeml.offline import server

    if args.action == "serve":
        server.serve_forever(host=args.host, port=args.port)
        return 0
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise BadInput(
            "lakeml sample run needs a command after '--', e.g. lakeml sample run -- jupyter lab"
        )
    return server.run_with_sample(cmd)


def _cluster(args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """Connect to the dask cluster the command runs on, if any.

    A Client to ``--scheduler`` (else dask's own ``DASK_SCHEDULER_ADDRESS``), an in-process
    cluster of ``--workers`` single-threaded workers, or none (dask's threads). The command is
    the application, so it makes the Client; lakeml's functions only use the current one.
    """
    import dask

    address = getattr(args, "scheduler", None) or dask.config.get("scheduler-address", None)
    workers = getattr(args, "workers", 0)
    if workers < 0:
        raise BadInput(f"workers must be 0 (dask threads) or more, got {workers}")
    if address and workers:
        raise BadInput(
            f"--workers {workers} starts a local cluster, but a scheduler is given "
            f"({address}): use one or the other (unset DASK_SCHEDULER_ADDRESS for --workers)"
        )
    if not (address or workers):
        return contextlib.nullcontext()
    from distributed import Client

    if address:
        return Client(address, timeout="30s")
    return Client(processes=False, n_workers=workers, threads_per_worker=1, dashboard_address=None)


@contextlib.contextmanager
def _catalog(args: argparse.Namespace) -> Iterator[tuple[str | None, Any]]:
    """Yield the STAC API and the ground truth to run on.

    ``--stac-url`` (and no truth), or with ``--sample`` the offline sample served on loopback
    for the command's run, with its ground truth (:func:`lakeml.offline.sample.truth`).
    """
    if not getattr(args, "sample", False):
        yield args.stac_url, None
        return
    from lakeml.offline import sample
    from lakeml.offline.server import serve_sample

    with serve_sample() as served:
        yield served.stac_url, sample.truth


def _change(args: argparse.Namespace) -> int:
    from lakeml.files import output_dir
    from lakeml.workflows import pipeline

    # bad input fails here, before any server, cluster or search starts
    pipeline.check_change_inputs(
        args.bbox,
        args.before,
        args.after,
        args.platform_before,
        args.platform_after,
        args.max_cloud,
        args.clusters,
        args.lake_point,
    )
    output_dir(args.out)
    with _cluster(args), _catalog(args) as (stac_url, truth):
        summary = pipeline.change(
            bbox=args.bbox,
            before=args.before,
            after=args.after,
            platform_before=args.platform_before,
            platform_after=args.platform_after,
            max_cloud=args.max_cloud,
            clusters=args.clusters,
            stac_url=stac_url,
            out=args.out,
            progress=not args.quiet,
            lake_point=args.lake_point,
            truth=truth,
        )
    before, after = summary["before"]["water_km2"], summary["after"]["water_km2"]
    print(
        f"water {before:.2f} km2 -> {after:.2f} km2, "
        f"change {summary['change_km2']:+.2f} km2; wrote {args.out}/change.tif, change.png, "
        "summary.json"
    )
    return 0


def _timeseries(args: argparse.Namespace) -> int:
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from lakeml.files import output_dir
    from lakeml.workflows import timeseries

    # odc-loader's warped reads create in-memory rasters before georeferencing them: harmless
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)

    # bad input fails here, before any server, cluster or search starts
    timeseries.check_inputs(
        args.bbox,
        args.years,
        args.months,
        args.max_cloud,
        args.resolution,
        args.clusters,
        args.min_observed,
    )
    if args.extent is not None:
        check_extent_file(args.extent)
    cluster = _cluster(args)
    output_dir(args.out)
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    with cluster as client, _catalog(args) as (stac_url, truth):
        summary = timeseries.run(
            bbox=args.bbox,
            years=args.years,
            months=args.months,
            max_cloud=args.max_cloud,
            stac_url=stac_url,
            out=args.out,
            resolution=args.resolution,
            clusters=args.clusters,
            min_observed=args.min_observed,
            client=client,
            progress=progress,
            truth=truth,
            extent=args.extent,
        )
    trend = summary["trend_km2_per_decade"]
    trend_text = f"{trend:+.2f} km2/decade" if trend is not None else "no trend (< 2 years)"
    low, high, p = (
        summary[f"trend_{k}"] for k in ("ci_low_km2_per_decade", "ci_high_km2_per_decade", "mk_p")
    )
    notes = [f"95% CI {low:+.2f} to {high:+.2f}"] if low is not None and high is not None else []
    notes += [f"Mann-Kendall p {p:.2g}, serial correlation allowed for"] if p is not None else []
    trend_text += f" ({'; '.join(notes)})" if notes else ""
    print(
        f"{summary['years_reported']} of {summary['years_requested']} years reported "
        f"({len(summary['years_partial'])} partly observed, {len(summary['years_missing'])} "
        f"missing); trend {trend_text}; wrote {args.out}/lake_area.csv, lake_area.png, "
        "lake_extent.tif, summary.json"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lakeml.files import output_dir, write_json
    from lakeml.offline.sample.real_scenes import SCENES
    from lakeml.offline.server import serve_sample
    from lakeml.workflows import validate

    out = Path(args.out)
    output_dir(out.parent)
    with serve_sample() as served:  # the real scenes are in the offline sample
        report = validate.run(served.stac_url, SCENES, with_sweep=args.sweep)
    write_json(report, out)

    def num(value: float | None) -> float:
        return float("nan") if value is None else value

    for row in report["scenes"].values():
        new, old = row["lakeml"], row["old_rule"]
        print(
            f"{row['name']:12s} water {num(new['consensus']['water_fraction']):.4f}  IoU vs "
            f"WOfS {num(new['wofs']['iou']):.3f}, vs consensus {num(new['consensus']['iou']):.3f}"
            f"  (old rule: {num(old['consensus']['iou']):.3f})"
        )
    print(f"wrote {out}")
    return 0


def describe(err: BaseException) -> str:
    """One line for an error and its causes, at most 500 characters, without signatures.

    Parameters
    ----------
    err : BaseException
        The error.

    Returns
    -------
    str
        :func:`lakeml.errors.describe_error`'s line, cut at 500 characters.

    Examples
    --------
    >>> try:
    ...     try:
    ...         raise OSError("'/vsicurl/http://h/x.TIF' not recognized")
    ...     except OSError as inner:
    ...         raise RuntimeError("Read failed") from inner
    ... except RuntimeError as err:
    ...     print(describe(err))
    Read failed <- '/vsicurl/http://h/x.TIF' not recognized
    """
    return describe_error(err)[:500]


def _print_traceback(err: BaseException) -> None:
    """``--debug``: the whole traceback, without SAS signatures."""
    print(redact("".join(traceback.format_exception(err))), file=sys.stderr, end="")


def _bbox_option(p: argparse.ArgumentParser) -> None:
    """``--bbox W S E N``, as ``change`` and ``timeseries`` take it."""
    p.add_argument("--bbox", nargs=4, type=float, required=True, metavar=("W", "S", "E", "N"))


def _scheduler_option(p: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS``, as ``change`` and ``timeseries`` take it."""
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
        "(default: $DASK_SCHEDULER_ADDRESS if set, else dask's threads here)",
    )


def _clusters_option(p: argparse.ArgumentParser) -> None:
    """``--clusters K``, as ``change`` and ``timeseries`` take it."""
    p.add_argument(
        "--clusters",
        type=int,
        default=START_CLUSTERS,
        metavar="K",
        help=f"starting clusters (default {START_CLUSTERS}; mixed ones are split)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``lakeml`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with the sub-commands ``sample``, ``change``, ``timeseries`` and
        ``validate``.

    Examples
    --------
    >>> build_parser().parse_args(["sample", "build"]).action
    'build'
    >>> args = build_parser().parse_args(["timeseries", "--bbox", "-118.89", "38.54", "-118.57",
    ...                                   "38.84", "--years", "1984-2024", "--sample",
    ...                                   "--out", "walker-series"])
    >>> args.bbox, args.months, args.max_cloud, args.workers
    ([-118.89, 38.54, -118.57, 38.84], '6-9', 20.0, 0)
    """
    parser = _Parser(prog="lakeml", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="the offline sample catalog")
    p.add_argument("action", choices=["build", "serve", "run"])
    p.add_argument("--force", action="store_true", help="rebuild the sample (build)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (serve)")
    p.add_argument("--port", type=int, default=0, help="port to serve on, 0 = any free (serve)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="run: -- COMMAND ARGS...")
    p.set_defaults(func=_sample)

    p = sub.add_parser("change", help="water change between two dates")
    _bbox_option(p)
    p.add_argument("--before", required=True, metavar="START/END")
    p.add_argument("--after", required=True, metavar="START/END")
    p.add_argument("--platform-before", default="landsat-5")
    p.add_argument("--platform-after", default="landsat-8")
    p.add_argument("--max-cloud", type=float, default=1.0, metavar="PCT")
    _clusters_option(p)
    p.add_argument(
        "--lake-point",
        nargs=2,
        type=float,
        default=None,
        metavar=("LON", "LAT"),
        help="a point on the lake, to check the water cluster (default: Walker "
        "Lake's centre when the bbox holds it)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--stac-url", default=None, help="a STAC API (default Planetary Computer)")
    src.add_argument("--sample", action="store_true", help="use the offline sample catalog")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _scheduler_option(p)
    p.set_defaults(func=_change)

    p = sub.add_parser("timeseries", help="lake area per year, one clear summer scene a year")
    _bbox_option(p)
    p.add_argument("--years", required=True, metavar="START-END", help="e.g. 1984-2024")
    p.add_argument(
        "--months",
        default="6-9",
        metavar="M1-M2",
        help="months of the year to search (default 6-9: June-September)",
    )
    p.add_argument(
        "--max-cloud",
        type=float,
        default=20.0,
        metavar="PCT",
        help="scene cloud cover limit, percent (default 20)",
    )
    p.add_argument(
        "--resolution",
        type=float,
        default=30.0,
        metavar="M",
        help="pixel size in metres (default 30, Landsat's own)",
    )
    _clusters_option(p)
    p.add_argument(
        "--min-observed",
        type=float,
        default=0.98,
        metavar="FRACTION",
        help="below this observed fraction of the lake's maximum extent a year is "
        "flagged partial (default 0.98)",
    )
    p.add_argument(
        "--extent",
        default=None,
        metavar="TIF",
        help="the lake's maximum extent to judge the years against (a GeoTIFF, 1 lake, e.g. "
        "the lake_extent.tif of an earlier run over the whole record), so that a year's "
        "partial flag does not depend on the years requested (default: measured from them)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="run the years on a local dask cluster of N workers (default 0: dask's "
        "threaded scheduler)",
    )
    _scheduler_option(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--stac-url", default=None, help="a STAC API (e.g. Planetary Computer's)")
    src.add_argument("--sample", action="store_true", help="use the offline sample catalog")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no per-year progress lines")
    p.set_defaults(func=_timeseries)

    p = sub.add_parser("validate", help="water on the real scenes vs DSWE, WOfS, MNDWI, QA")
    p.add_argument("--out", default="_build/reports/real_scenes.json", metavar="FILE")
    p.add_argument("--sweep", action="store_true", help="also sweep the number of clusters")
    p.set_defaults(func=_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lakeml`` command; returns the exit code.

    Parameters
    ----------
    argv : sequence of str or None
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 runtime failure, 2 bad input, 130 interrupted.

    Examples
    --------
    Bad input is refused before any work, with exit code 2 (the message goes to stderr):

    >>> import contextlib
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     main(["change", "--bbox", "-118.57", "38.54", "-118.89", "38.84", "--before",
    ...           "1988-06-01/1988-09-30", "--after", "2017-06-01/2017-09-30", "--out", "x"])
    lakeml: error: bbox west (-118.57) must be less than east (-118.89): the order is W S E N
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:  # odc-loader logs each failed read; the error line below says it once
        logging.getLogger("odc.loader").setLevel(logging.CRITICAL)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("lakeml: interrupted", file=sys.stderr)
        return 130
    except BadInput as err:
        if args.debug:
            _print_traceback(err)
        print(f"lakeml: error: {describe(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug:
            _print_traceback(err)
        print(f"lakeml: failed: {type(err).__name__}: {describe(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
