#!/usr/bin/env python3
"""Write ``.binder/requirements.txt``: what Binder installs, pinned as CI tests it.

repo2docker installs ``.binder/requirements.txt`` as it is (``pip install -r``, from the
repository's root). This script writes it from ``constraints.txt`` (the pins of ``make test``):
lakeml itself with its ``lab`` extra (the line ``.[lab]``), then ``name==version`` for every
package that lakeml's runtime dependencies and the ``lab`` extra (JupyterLab, ipykernel,
dask-labextension, jupyter-server-proxy) need, followed through each package's own
requirements (with their extras and environment markers, as installed in the environment that
runs this script: ``.venv``, pinned by constraints.txt). No test, lint, book or local-server
package: those are other extras, and Binder reads Planetary Computer online::

    .venv/bin/python scripts/binder_requirements.py          # write the file
    .venv/bin/python scripts/binder_requirements.py --check  # exit 1 if it is not up to date

``tests/test_packaging.py`` checks that the file is what this script writes (so it cannot drift
from constraints.txt) and that each of its pins is constraints.txt's.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
PYPROJECT = ROOT / "pyproject.toml"
TARGET = ROOT / ".binder" / "requirements.txt"
EXTRA = "lab"
"""The extra that Binder installs with lakeml."""

HEADER = f"""\
# What Binder (repo2docker) installs: pip install -r .binder/requirements.txt, from the
# repository's root. lakeml with its `{EXTRA}` extra (JupyterLab and its dask extensions), and
# every package they need, pinned as constraints.txt pins them for CI. Written by
# scripts/binder_requirements.py: do not edit, run it again
# (tests/test_packaging.py checks that this file is up to date).
.[{EXTRA}]
"""


def normalise(name: str) -> str:
    """PEP 503 normalised name: lower case, runs of ``-``, ``_`` and ``.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, tuple[str, str]]:
    """``{normalised name: (name as written, version)}`` of the ``name==version`` lines."""
    out = {}
    for line in text.splitlines():
        found = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.split("#")[0].strip())
        if found:
            out[normalise(found.group(1))] = (found.group(1), found.group(2))
    return out


def roots() -> list[Requirement]:
    """lakeml's runtime dependencies and its ``lab`` extra, from pyproject.toml."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    listed = project["dependencies"] + project["optional-dependencies"][EXTRA]
    return [Requirement(r) for r in listed]


def closure(start: list[Requirement]) -> set[str]:
    """Normalised names of ``start`` and of everything they require, as installed here.

    Each installed package's requirements are followed with the extras asked for it; a
    requirement whose environment marker is false here (another platform, another Python, an
    extra nobody asked for) is left out.
    """
    seen: dict[str, set[str]] = {}  # name -> extras already followed
    todo = list(start)
    while todo:
        req = todo.pop()
        name = normalise(req.name)
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(
                f"{req.name} (needed by the Binder set) is not installed in {sys.prefix}: run "
                "this script with the project's environment, .venv/bin/python"
            )
        for text in dist.requires or []:
            sub = Requirement(text)
            wanted = [""] + sorted(seen[name])
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(sub)
    return set(seen)


def render() -> str:
    """The text of ``.binder/requirements.txt``."""
    pinned = pins(CONSTRAINTS.read_text())
    names = closure(roots()) - {"lakeml"}
    missing = sorted(names - set(pinned))
    if missing:
        sys.exit(f"constraints.txt does not pin {missing}: pin them (pip freeze of .venv)")
    lines = [f"{pinned[n][0]}=={pinned[n][1]}" for n in sorted(names)]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from what it would be"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run {Path(__file__).name}")
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text)
    print(f"{TARGET.relative_to(ROOT)}: {len(text.splitlines()) - HEADER.count(chr(10))} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
