"""The ``lakeml`` command: the offline sample and the change pipeline from a shell.

Exit codes: 0 success, 1 runtime failure, 2 bad input. Errors are one line; ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence


class BadInput(ValueError):
    """A user-supplied value is wrong (exit code 2)."""


def _sample(args: argparse.Namespace) -> int:
    from lakeml import sample

    if args.action == "build":
        root = sample.build(force=args.force)
        print(root)
        return 0
    from lakeml import server

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


def _change(args: argparse.Namespace) -> int:
    from lakeml import pipeline

    summary = pipeline.change(
        bbox=args.bbox,
        before=args.before,
        after=args.after,
        platform_before=args.platform_before,
        platform_after=args.platform_after,
        max_cloud=args.max_cloud,
        clusters=args.clusters,
        stac_url=args.stac_url,
        sample=args.sample,
        out=args.out,
        progress=not args.quiet,
    )
    before, after = summary["before"]["water_km2"], summary["after"]["water_km2"]
    print(
        f"water {before:.2f} km2 -> {after:.2f} km2, "
        f"change {summary['change_km2']:+.2f} km2; wrote {args.out}/change.tif, change.png, "
        "summary.json"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lakeml`` command.

    Example
    -------
    >>> build_parser().parse_args(["sample", "build"]).action
    'build'
    """
    parser = argparse.ArgumentParser(prog="lakeml", description=__doc__.splitlines()[0])
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
    p.add_argument("--bbox", nargs=4, type=float, required=True, metavar=("W", "S", "E", "N"))
    p.add_argument("--before", required=True, metavar="START/END")
    p.add_argument("--after", required=True, metavar="START/END")
    p.add_argument("--platform-before", default="landsat-5")
    p.add_argument("--platform-after", default="landsat-8")
    p.add_argument("--max-cloud", type=float, default=1.0, metavar="PCT")
    p.add_argument("--clusters", type=int, default=4, metavar="K")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--stac-url", default=None, help="a STAC API (default Planetary Computer)")
    src.add_argument("--sample", action="store_true", help="use the offline sample catalog")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_change)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lakeml`` command; returns the exit code.

    Example
    -------
    >>> main(["sample", "build"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("lakeml: interrupted", file=sys.stderr)
        return 130
    except (BadInput, ValueError) as err:
        if args.debug:
            traceback.print_exc()
        print(f"lakeml: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - one line for users, traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(f"lakeml: failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
