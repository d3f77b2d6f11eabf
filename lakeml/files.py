"""Files: every file lakeml writes goes to a temporary name first, then is renamed.

A run interrupted mid-write (Ctrl-C, a killed kernel, a full disk) leaves the previous file or
no file, never a half-written one under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_TAG = "lakeml-"
"""Temporary files are named ``.NAME.lakeml-XXXXXXXX.tmp``: :func:`sweep_temporary` removes
only those, never another program's."""


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{TMP_TAG}", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create the output folder ``path`` if needed and check it can be written; return it.

    Raises ``ValueError`` (bad input) before any work if ``path`` is a file or not writable.
    lakeml's temporary files left in it by an earlier run that was killed (see
    :func:`sweep_temporary`) are removed.

    Example
    -------
    >>> output_dir("out")  # doctest: +SKIP
    PosixPath('out')
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"output folder {str(path)!r} is a file; give a folder for --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"cannot create the output folder {str(path)!r} ({err.strerror}); give another --out"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"output folder {str(path)!r} is not writable; give another --out")
    sweep_temporary(path)
    return path


def sweep_temporary(folder: str | os.PathLike[str], older_than: float = 3600) -> list[Path]:
    """Remove lakeml's temporary files (``.NAME.lakeml-*.tmp``) older than ``older_than`` seconds.

    :func:`atomic_write` removes its temporary file when the write fails, but a process killed
    mid-write (SIGKILL, a dead kernel, a power cut) cannot. Younger files are kept: another
    process may be writing them right now. Returns the removed paths.

    Example
    -------
    >>> sweep_temporary("out")  # doctest: +SKIP
    []
    """
    removed = []
    now = time.time()
    for tmp in Path(folder).glob(f".*.{TMP_TAG}*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # renamed or removed meanwhile by its writer, or not ours to remove
            continue
    return removed


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
