"""Files: every file lakeml writes goes to a temporary name first, then is renamed.

A run interrupted mid-write (Ctrl-C, a killed kernel, a full disk) leaves the previous file or
no file, never a half-written one under the final name.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lakeml.checks import BadInput

TMP_TAG = "lakeml-"
"""Temporary files are named ``.NAME.lakeml-XXXXXXXX.tmp``: :func:`sweep_temporary` removes
only those, never another program's."""


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary name next to ``path``, then rename it to ``path``.

    The file gets the usual ``rw-r--r--`` permissions (not ``mkstemp``'s owner-only 0600); the
    temporary file is removed if ``write`` fails.

    Parameters
    ----------
    path : str or os.PathLike
        The final file name; its folder is created if needed.
    write : callable
        Called with the temporary file name (a str) and expected to write the whole file
        there, e.g. ``lambda tmp: df.to_csv(tmp)``; its return value is ignored.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    Exception
        Whatever ``write`` raises: the temporary file is removed and the file at ``path``
        (if any) is left as it was.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = atomic_write(Path(tmp.name, "out", "table.csv"),
    ...                     lambda name: Path(name).write_text("Walker,113.6"))
    >>> path.name, path.read_text(), oct(path.stat().st_mode & 0o777)
    ('table.csv', 'Walker,113.6', '0o644')
    >>> atomic_write(path, lambda name: 1 / 0)  # a failed write keeps the old file
    Traceback (most recent call last):
    ZeroDivisionError: division by zero
    >>> path.read_text(), [p.name for p in path.parent.iterdir()]
    ('Walker,113.6', ['table.csv'])
    >>> tmp.cleanup()
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

    Meant to run before any work, so that a bad ``--out`` fails at once. lakeml's temporary
    files left in it by an earlier run that was killed (see :func:`sweep_temporary`) are
    removed.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder (created with its parents if missing).

    Returns
    -------
    Path
        ``path``, now an existing, writable folder.

    Raises
    ------
    ValueError
        (bad input) If ``path`` is a file, cannot be created or is not writable.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = output_dir(Path(tmp.name, "runs", "walker"))
    >>> out.is_dir(), out.name
    (True, 'walker')
    >>> _ = Path(tmp.name, "notes.txt").write_text("not a folder")
    >>> try:
    ...     output_dir(Path(tmp.name, "notes.txt"))  # doctest: +ELLIPSIS
    ... except ValueError as err:
    ...     print(err)
    output folder '.../notes.txt' is a file; give a folder for --out
    >>> tmp.cleanup()
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"output folder {str(path)!r} is a file; give a folder for --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(
            f"cannot create the output folder {str(path)!r} ({err.strerror}); give another --out"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise BadInput(f"output folder {str(path)!r} is not writable; give another --out")
    sweep_temporary(path)
    return path


def sweep_temporary(folder: str | os.PathLike[str], older_than: float = 3600) -> list[Path]:
    """Remove lakeml's temporary files (``.NAME.lakeml-*.tmp``) older than ``older_than`` seconds.

    :func:`atomic_write` removes its temporary file when the write fails, but a process killed
    mid-write (SIGKILL, a dead kernel, a power cut) cannot. Younger files are kept: another
    process may be writing them right now.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to clean (not recursive).
    older_than : float
        Minimum age in seconds (by modification time) of a file to remove.

    Returns
    -------
    list of Path
        The removed files (files that vanish or cannot be removed meanwhile are skipped).

    Examples
    --------
    >>> import os, tempfile, time
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> stale = Path(tmp.name, ".table.csv.lakeml-1a2b3c4d.tmp")
    >>> fresh = Path(tmp.name, ".plot.png.lakeml-5e6f7a8b.tmp")
    >>> for p in (stale, fresh):
    ...     _ = p.write_text("half-written")
    >>> os.utime(stale, (time.time() - 7200,) * 2)  # two hours old: its writer is gone
    >>> [p.name for p in sweep_temporary(tmp.name)]
    ['.table.csv.lakeml-1a2b3c4d.tmp']
    >>> [p.name for p in Path(tmp.name).iterdir()]  # the young one may still be written
    ['.plot.png.lakeml-5e6f7a8b.tmp']
    >>> tmp.cleanup()
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


def write_cog(
    path: str | os.PathLike[str],
    array: Any,
    crs: str,
    transform: Sequence[float],
    nodata: float | None = None,
) -> Path:
    """Write one band as a Cloud-Optimised GeoTIFF, atomically.

    Deflate with the horizontal predictor, 512 x 512 tiles, and overviews by nearest neighbour
    (class codes and ``qa_pixel`` bits must not be averaged). The offline sample's COGs and the
    command's ``change.tif`` are both written here.

    GDAL's COG driver (through rasterio) writes the file, not odc-geo's ``write_cog`` (0.5.3),
    which writes a tiled GTiff and copies in overviews (``driver="GTiff"``, set by odc-geo
    itself, so it cannot be told otherwise). Measured: for an image under 512 pixels on its
    short side it writes a plain tiled GTiff, not a COG (no ``LAYOUT=COG``; blocks resized to
    the image, e.g. 304 x 400 for a 300 x 400 crop), and the five real scenes are 235-468
    pixels tall; on a 1160 x 982 sample band it adds overviews down to 1/32 (five levels,
    908 kB) where the COG driver stops at 1/4 (two, 878 kB), unless ``overview_levels`` is
    given. The bytes differ too, so the sample's manifest hashes would change.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write.
    array : numpy.ndarray
        The band, 2-D (rows, columns); its dtype is the file's.
    crs : str
        The CRS, e.g. ``"EPSG:32611"``.
    transform : sequence of float
        The affine transform's first six coefficients ``(a, b, c, d, e, f)``.
    nodata : float or None
        The no-data value, if any.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import rasterio
    >>> codes = np.array([[0, 1], [2, 4]], dtype="uint8")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_cog(f"{tmp}/c.tif", codes, "EPSG:32611", (30, 0, 3e5, 0, -30, 4.3e6), 0)
    ...     with rasterio.open(path) as src:
    ...         print(src.profile["driver"], src.crs.to_epsg(), src.nodata, src.read(1).tolist())
    GTiff 32611 0.0 [[0, 1], [2, 4]]
    """
    import rasterio
    from affine import Affine

    profile = {
        "driver": "COG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": Affine(*transform[:6]),
        "compress": "deflate",
        "predictor": 2,
        "blocksize": 512,
        "overview_resampling": "nearest",
        "bigtiff": "no",
    }
    if nodata is not None:
        profile["nodata"] = nodata

    def write(tmp: str) -> None:
        with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(tmp, "w", **profile) as dst:
            dst.write(array, 1)

    return atomic_write(path, write)


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as indented JSON, atomically (see :func:`atomic_write`).

    Parameters
    ----------
    data : dict
        JSON-serialisable mapping.
    path : str or os.PathLike
        The file to write (its folder is created if needed).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If ``data`` holds a value ``json`` cannot write (``path`` is then left untouched).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = write_json({"water_km2": 113.6, "year": 2017}, Path(tmp.name, "summary.json"))
    >>> print(path.read_text(), end="")
    {
      "water_km2": 113.6,
      "year": 2017
    }
    >>> tmp.cleanup()
    """

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")

    return atomic_write(path, write)
