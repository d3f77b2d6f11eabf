#!/usr/bin/env python3
"""Which installed packages differ from the pins in constraints.txt.

``make test-latest`` (and the nightly CI job) install the newest release of every dependency
into ``.venv-latest``; when its tests fail, this names the suspects::

    python scripts/pins_diff.py --python .venv-latest/bin/python   # pip freeze of that python
    python scripts/pins_diff.py --freeze freeze.txt                 # a saved pip freeze
    python scripts/pins_diff.py --self-check                        # this script's own check

One line per difference, sorted by name, to stdout::

    numpy: 2.3.4 -> 2.4.0
    newpkg: (not pinned) -> 1.0
    oldpkg: 0.9 -> (not installed)

then a count on stderr. Names compare as PEP 503 normalised names (``ruamel.yaml`` is
``ruamel-yaml``); each line shows the pin's spelling, else the installed one. The project
itself (an editable install) and pip (make upgrades it) are left out. Exits 0 whatever the
differences (2 on a usage error): it reports, the tests decide. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
NOT_PINNED = "(not pinned)"
NOT_INSTALLED = "(not installed)"
SKIP = {"lakeml", "pip"}  # the project (an editable install) and pip (make upgrades it)
_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(===?|@)\s*(.+?)\s*$")


def normalise(name: str) -> str:
    """PEP 503 normalised name: lower case, runs of ``-``, ``_`` and ``.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(text: str) -> dict[str, tuple[str, str]]:
    """``{normalised name: (name as written, version)}`` of a pip freeze or constraints text.

    Reads ``name==version`` (also ``===``) and ``name @ url`` (the version is ``@ url``);
    skips blank lines, comments, options (``-e ...``, ``--hash``...) and anything else.
    """
    out: dict[str, tuple[str, str]] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        m = _REQ.match(line)
        if not m:
            continue
        name, op, version = m.groups()
        version = version.split(";", 1)[0].strip()  # an environment marker
        out[normalise(name)] = (name, f"@ {version}" if op == "@" else version)
    return out


def differences(pins_text: str, freeze_text: str) -> list[str]:
    """The lines ``name: pinned -> installed`` for every package whose versions differ."""
    pins, installed = parse(pins_text), parse(freeze_text)
    lines = []
    for key in sorted((pins.keys() | installed.keys()) - SKIP):
        pinned, got = pins.get(key), installed.get(key)
        if pinned and got and pinned[1] == got[1]:
            continue
        name = (pinned or got or (key, ""))[0]
        old = pinned[1] if pinned else NOT_PINNED
        new = got[1] if got else NOT_INSTALLED
        lines.append(f"{name}: {old} -> {new}")
    return lines


def freeze(python: str) -> str:
    """``pip freeze --all`` of another Python (its virtual environment's packages)."""
    proc = subprocess.run(
        [python, "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{python} -m pip freeze exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def self_check() -> None:
    """Check :func:`differences` on a tiny made-up pin list and freeze."""
    pins = "# pins\nnumpy==2.3.4\nruamel.yaml==0.19.1\nSame_Name==1.0\ngone==0.9\n"
    frozen = (
        "numpy==2.4.0\nruamel-yaml==0.19.1\nsame-name==1.0\nnew.pkg==1.0\n"
        "-e git+https://example.org/lakeml#egg=lakeml\nlakeml==0.1.0\n"
        "local @ file:///tmp/local-1.0.tar.gz\n"
    )
    got = differences(pins, frozen)
    want = [
        "gone: 0.9 -> (not installed)",
        "local: (not pinned) -> @ file:///tmp/local-1.0.tar.gz",
        "new.pkg: (not pinned) -> 1.0",
        "numpy: 2.3.4 -> 2.4.0",
    ]
    assert got == want, got
    assert differences(pins, pins) == []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--python", help="the Python whose pip freeze to compare")
    src.add_argument("--freeze", type=Path, help="a pip freeze output file ('-': stdin)")
    src.add_argument("--self-check", action="store_true", help="check this script and exit")
    ap.add_argument("--constraints", type=Path, default=CONSTRAINTS, help="the pins")
    args = ap.parse_args(argv)
    if args.self_check:
        self_check()
        print("pins_diff: self-check passed")
        return 0
    try:
        pins_text = args.constraints.read_text()
        if args.python:
            frozen = freeze(args.python)
        elif str(args.freeze) == "-":
            frozen = sys.stdin.read()
        else:
            frozen = args.freeze.read_text()
    except (OSError, RuntimeError) as exc:
        print(f"pins_diff: {exc}", file=sys.stderr)
        return 2
    lines = differences(pins_text, frozen)
    for line in lines:
        print(line)
    print(
        f"pins_diff: {len(lines)} package(s) differ from {args.constraints.name}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
