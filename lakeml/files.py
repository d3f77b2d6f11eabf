"""Files: every file lakeml writes goes to a temporary name first, then is renamed.

A run interrupted mid-write (Ctrl-C, a killed kernel, a full disk) leaves the previous file or
no file, never a half-written one under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary name next to ``path``, then rename it to ``path``.

    The file gets the usual ``rw-r--r--`` permissions (not ``mkstemp``'s owner-only 0600); the
    temporary file is removed if ``write`` fails.

    Example
    -------
    >>> atomic_write("out/table.csv", lambda tmp: df.to_csv(tmp))  # doctest: +SKIP
    PosixPath('out/table.csv')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as indented JSON, atomically (see :func:`atomic_write`).

    Example
    -------
    >>> write_json({"water_km2": 113.6}, "out/summary.json")  # doctest: +SKIP
    PosixPath('out/summary.json')
    """

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")

    return atomic_write(path, write)
