"""The sample on disk: writing it (:func:`build`), reading it (:func:`items`, :func:`truth`).

:func:`build` writes, under one directory (see :func:`sample_dir`), the COGs of every scene,
its ground truth, the catalog and, last, ``manifest.json`` (version, seed, item ids, sha256 of
every file), atomically (a sibling temporary directory renamed into place) and under a lock.
Scenes are rendered in parallel processes, each building the landscape once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from filelock import FileLock

from lakeml.checks import BadInput
from lakeml.files import write_cog
from lakeml.offline.sample import real_scenes
from lakeml.offline.sample.grid import (
    EPSG,
    LOAD_WINDOW,
    RESOLUTION,
    SAMPLE_BBOX,
    SCENE_TRANSFORM,
    load_geobox,
    scene_geobox,
)
from lakeml.offline.sample.landscape import CLASSES, _landscape, _levels
from lakeml.offline.sample.missions import _file_suffix, asset_definitions
from lakeml.offline.sample.render import render_scene
from lakeml.offline.sample.scenes import SEED, SceneSpec, _inflow_at, _overpass, scene_specs
from lakeml.offline.sample.stac import COLLECTION_ID, SAMPLE_VERSION, _collection, _item

_ENV_DIR = "LAKEML_SAMPLE_DIR"


def _write_cog(
    path: Path,
    array: np.ndarray,
    nodata: int | None,
    epsg: int = EPSG,
    transform: tuple[float, ...] = SCENE_TRANSFORM,
) -> None:
    """Write one band as a COG (:func:`lakeml.files.write_cog`) on the sample's grid.

    ``epsg`` and ``transform`` (affine a, b, c, d, e, f) put it on another grid.
    """
    write_cog(path, array, f"EPSG:{epsg}", transform, nodata)


def _stats(spec: SceneSpec, scene: dict[str, Any]) -> dict[str, Any]:
    """Measure a rendered scene: its truth document and its items' cloud cover and sun."""
    r, c, hh, ww = LOAD_WINDOW
    win = (slice(r, r + hh), slice(c, c + ww))
    fill, cloud, dil, shadow = (scene[k] for k in ("fill", "cloud", "dilated", "shadow"))
    water = scene["water"]
    cloudy = cloud | dil
    valid_scene = ~fill
    land = valid_scene & ~water
    cloud_cover = 100.0 * cloudy.sum() / max(valid_scene.sum(), 1)
    cloud_land = 100.0 * (cloudy & land).sum() / max(land.sum(), 1)
    wf, wc, wsh, ww_ = fill[win], cloudy[win], shadow[win], water[win]
    valid = ~wf & ~wc & ~wsh
    n = wf.size
    classes = scene["classes"][win]
    counts = np.bincount(classes.ravel(), minlength=len(CLASSES))
    kind = scene["water_kind"][win]
    nwat = max(int(ww_.sum()), 1)
    seen = ~wf & ~wc
    return {
        "item_id": spec.item_id,
        "platform": spec.platform,
        "datetime": _overpass(spec).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "role": spec.role,
        "water_km2": round(float(ww_.sum()) * RESOLUTION**2 / 1e6, 4),
        "water_pixels": int(ww_.sum()),
        "lake_level_m": round(scene["level"], 3),
        "valid_fraction": round(float(valid.sum()) / n, 6),
        "cloud_fraction": round(float(wc.sum()) / max(int((~wf).sum()), 1), 6),
        "shadow_fraction": round(float(wsh.sum()) / max(int((~wf).sum()), 1), 6),
        "fill_fraction": round(float(wf.sum()) / n, 6),
        "water_observed_fraction": round(float((ww_ & valid).sum()) / max(int(ww_.sum()), 1), 6),
        "water_turbid_fraction": round(float((kind == 2).sum()) / nwat, 6),
        "water_mixed_fraction": round(float((kind == 3).sum()) / nwat, 6),
        "water_fraction_sum_km2": round(
            float(scene["water_fraction"][win].sum()) * RESOLUTION**2 / 1e6, 4
        ),
        "shadow_true_fraction": round(
            float(scene["shadow_true"][win].sum()) / max(int((~wf).sum()), 1), 6
        ),
        "terrain_shadow_km2": round(
            float((scene["terrain_shadow"][win] & seen).sum()) * RESOLUTION**2 / 1e6, 4
        ),
        "inflow": _inflow_at(spec.date),
        "class_km2": {
            name: round(float(counts[code]) * RESOLUTION**2 / 1e6, 4)
            for name, code in CLASSES.items()
        },
        "window": {
            "row_off": r,
            "col_off": c,
            "shape": [hh, ww],
            "transform": list(load_geobox().transform)[:6],
            "bbox": list(SAMPLE_BBOX),
        },
        "cloud_cover": round(float(cloud_cover), 2),
        "cloud_cover_land": round(float(cloud_land), 2),
        "sun": scene["sun"],
    }


def _render_and_write(specs: list[SceneSpec], root: str) -> list[dict[str, Any]]:
    """Build the landscape once, then render and write each scene of ``specs`` (a worker)."""
    land = _landscape()
    levels = _levels(land)
    out = []
    for spec in specs:
        scene = render_scene(spec, land, levels)
        stats = _stats(spec, scene)
        cog_dir = Path(root) / "cogs" / spec.item_id
        cog_dir.mkdir(parents=True, exist_ok=True)
        for key in asset_definitions(spec.platform):
            name = f"{spec.product_id}_{_file_suffix(spec.platform, key)}.TIF"
            nodata = 1 if key == "qa_pixel" else 0
            _write_cog(cog_dir / name, scene[key], nodata)
        truth_dir = Path(root) / "truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        _write_cog(truth_dir / f"{spec.item_id}_class.tif", scene["classes"], None)
        _write_cog(truth_dir / f"{spec.item_id}_water.tif", scene["water_kind"], None)
        item = _item(spec, stats)
        truth_doc = {
            k: v for k, v in stats.items() if k not in ("cloud_cover", "cloud_cover_land", "sun")
        }
        truth_doc["eo:cloud_cover"] = stats["cloud_cover"]
        truth_doc["definitions"] = (
            "All numbers on the odc.stac.load(bbox=SAMPLE_BBOX) window (1128 x 950 px). "
            "water = the real lake: pixels whose sub-pixel water fraction is >= 0.5 (basin "
            "elevation <= lake_level_m), regardless of clouds, gaps and fill; _water.tif: 0 "
            "land, 1 water, 2 turbid water (sediment adds > 0.04 to red), 3 mixed shoreline "
            "pixel (0.5 <= water fraction < 1); water_fraction_sum_km2 = sum of the fractions; "
            "valid = not fill, not cloud, not dilated cloud, not cloud shadow as flagged in "
            "qa_pixel (shadow_fraction); shadow_true_fraction = where cloud shadow really falls; "
            "terrain_shadow_km2 = seen land with less than 25 % of the flat-ground direct sun."
        )
        (truth_dir / f"{spec.item_id}.json").write_text(json.dumps(truth_doc, indent=1) + "\n")
        out.append(item)
    return out


def _sha256(path: Path) -> str:
    """Return the hex sha256 of the file at ``path`` (the standard library's ``file_digest``).

    Not pooch (``pooch.file_hash``, ``Pooch.registry``): its registry checks files it downloads
    against known hashes, while the sample is generated here and its manifest records what was
    written. ``pooch.file_hash`` gives the same hashes at the same speed (measured on the 580
    files, 489 MB, of the sample, two runs: 1.2-1.3 s each; 1.5-2.2 s for the old 1 MiB-chunk
    loop) and would be one more dependency for it.
    """
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sample_dir() -> Path:
    """Return where the sample lives: ``$LAKEML_SAMPLE_DIR``, else ``~/.cache/lakeml/sample-v1``.

    Returns
    -------
    pathlib.Path
        The sample root (``~`` expanded); it need not exist yet.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"LAKEML_SAMPLE_DIR": "~/lakeml-sample"}):
    ...     sample_dir() == Path.home() / "lakeml-sample"
    True
    >>> with mock.patch.dict(os.environ):
    ...     _ = os.environ.pop("LAKEML_SAMPLE_DIR", None)
    ...     sample_dir().relative_to(Path.home()).as_posix()
    '.cache/lakeml/sample-v1'
    """
    env = os.environ.get(_ENV_DIR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "lakeml" / "sample-v1"


def _manifest(root: Path) -> dict[str, Any] | None:
    """Return ``root``'s manifest if it is a whole sample of this :data:`SAMPLE_VERSION`.

    Whole: its real scenes are every one of :data:`lakeml.offline.sample.real_scenes.SCENES` (an
    older build without them, from an install that lacked their files, is rebuilt, never reused).
    """
    try:
        doc = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != SAMPLE_VERSION:
        return None
    if sorted(doc.get("real_items") or []) != sorted(real_scenes.SCENES):
        return None
    return doc


def _replaceable(root: Path) -> bool:
    """Tell whether ``root`` is empty or an (old or partial) lakeml sample: replaceable."""
    names = {p.name for p in root.iterdir()}
    return not names or bool(names & {"manifest.json", "catalog", "cogs"})


def is_complete(root: Path | str | None = None) -> bool:
    """Tell whether ``root`` holds a finished sample of this :data:`SAMPLE_VERSION`.

    Parameters
    ----------
    root : pathlib.Path or str or None
        The sample root; default :func:`sample_dir`.

    Returns
    -------
    bool
        True if ``root/manifest.json`` (written last by :func:`build`) is of this version.

    Examples
    --------
    >>> is_complete("/nonexistent")
    False
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "manifest.json").write_text('{"version": "0.9.0"}')
    ...     is_complete(tmp)  # a sample of another version is rebuilt
    False
    """
    return _manifest(Path(root) if root is not None else sample_dir()) is not None


def _lock(root: Path) -> FileLock:
    """Return an exclusive lock on a file next to ``root`` (filelock: POSIX and Windows)."""
    return FileLock(root.parent / f".{root.name}.lock")


def _write_tree(tmp: Path, workers: int) -> None:
    """Write the whole sample under ``tmp``, rendering with ``workers`` processes."""
    specs = scene_specs()
    chunks = [specs[i::workers] for i in range(workers)]
    if workers == 1:
        results = [_render_and_write(specs, str(tmp))]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = list(pool.map(_render_and_write, chunks, [str(tmp)] * workers))
    by_id = {it["id"]: it for chunk in results for it in chunk}
    real, real_note = _real_items(tmp)
    item_dicts = [by_id[s.item_id] for s in specs] + real
    catalog = tmp / "catalog"
    catalog.mkdir(parents=True, exist_ok=True)
    collection = _collection(item_dicts)
    if real:
        collection["description"] += (
            f" Except {len(real)} REAL Landsat scenes "
            f"(lakeml.offline.sample.real_scenes: {real_note}), converted to Collection 2 where "
            "they were Collection 1."
        )
    (catalog / "collection.json").write_text(json.dumps(collection, indent=1) + "\n")
    with (catalog / "items.ndjson").open("w") as f:
        for it in item_dicts:
            f.write(json.dumps(it, separators=(",", ":")) + "\n")
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = {
        "version": SAMPLE_VERSION,
        "seed": SEED,
        "generator": "lakeml.offline.sample",
        "synthetic": True,
        "collection": COLLECTION_ID,
        "bbox": list(SAMPLE_BBOX),
        "items": [s.item_id for s in specs],
        "real_items": [it["id"] for it in real],
        "real_scenes": real_note,
        "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def _real_items(tmp: Path) -> tuple[list[dict[str, Any]], str]:
    """Write the real scenes (:mod:`.real_scenes`) under ``tmp``; return them and a note.

    The note is for the manifest. The raw files are package data: without them the install is
    broken, and no sample is built (one without them would fail notebook 06 and validation).
    """
    _check_real_sources()
    names = ", ".join(s.name for s in real_scenes.SCENES.values())
    return real_scenes.write_scenes(tmp), f"included: {names}"


def _check_real_sources() -> None:
    """Raise if the real scenes' raw files (package data) are not all installed."""
    missing = real_scenes.missing_sources()
    if missing:
        raise RuntimeError(
            f"lakeml's real scenes are missing from {real_scenes.raw_dir()} "
            f"({', '.join(missing)}): this install of lakeml is incomplete; reinstall it "
            "(pip install --force-reinstall lakeml, or from a full git checkout)"
        )


def build(
    root: Path | str | None = None, force: bool = False, *, workers: int | None = None
) -> Path:
    """Build the sample under ``root`` (default :func:`sample_dir`) unless it is already there.

    Idempotent and cached: a complete sample of this :data:`SAMPLE_VERSION` is reused (its
    ``manifest.json`` is written last); ``force=True`` rebuilds. Atomic: the sample is written to
    a sibling temporary directory and renamed into place; concurrent builds are serialised by a
    lock file, and if another process finished first its sample is used. An existing directory
    that is not a lakeml sample is never replaced. Takes about 70 s on two cores and ~620 MB of
    disk (48 synthetic scenes x 8-9 COGs of 1160 x 982 pixels, ~1.5-2 MB each).

    Parameters
    ----------
    root : pathlib.Path or str or None
        Target directory; default :func:`sample_dir`.
    force : bool
        Rebuild even if a complete sample exists.
    workers : int or None
        Processes to render with (default: up to 2, one per CPU).

    Returns
    -------
    pathlib.Path
        The sample root.

    Raises
    ------
    lakeml.checks.BadInput
        ``root`` is a file, or a directory that is not a lakeml sample (nor empty); ``workers``
        is less than 1.
    RuntimeError
        The real scenes' files are missing from the installed package (before any work).

    Examples
    --------
    >>> root = build()  # cached: this session's sample (sample_root) is reused at once
    >>> root == sample_root, (root / "manifest.json").exists()
    (True, True)

    What it refuses, before any work:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     build(tmp, workers=0)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: workers must be >= 1, got 0
    >>> with tempfile.NamedTemporaryFile() as f:  # doctest: +ELLIPSIS
    ...     build(f.name)
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: sample root ... exists and is not a directory
    """
    root = Path(root).expanduser() if root is not None else sample_dir()
    if root.exists() and not root.is_dir():
        raise BadInput(f"sample root {root} exists and is not a directory")
    if root.is_dir() and not _replaceable(root):
        raise BadInput(
            f"{root} exists and is not a lakeml sample (no manifest.json, catalog/ or cogs/): "
            "refusing to replace it; pass an empty or new directory"
        )
    if workers is None:
        workers = max(1, min(2, os.cpu_count() or 1))
    if workers < 1:
        raise BadInput(f"workers must be >= 1, got {workers}")
    if not force and _manifest(root) is not None:
        return root
    _check_real_sources()
    root.parent.mkdir(parents=True, exist_ok=True)
    with _lock(root):
        if not force and _manifest(root) is not None:  # another process built it meanwhile
            return root
        tmp = root.parent / f"{root.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _write_tree(tmp, workers)
            old = None
            if root.exists():
                old = root.parent / f".{root.name}.old-{os.getpid()}"
                os.replace(root, old)
            try:
                os.replace(tmp, root)
            except OSError:
                if _manifest(root) is None:
                    raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _ready(root: Path | str | None) -> Path:
    """Return the sample root (default :func:`sample_dir`), building the sample if needed."""
    root = Path(root).expanduser() if root is not None else sample_dir()
    if _manifest(root) is None:
        build(root)
    return root


def items(root: Path | str | None = None, synthetic: bool | None = None) -> list[dict[str, Any]]:
    """Return the sample's STAC items as dicts (asset hrefs relative to ``root``), in catalog order.

    The synthetic Walker Lake scenes (oldest first), then the real scenes of
    :data:`lakeml.offline.sample.real_scenes.SCENES`. Builds the sample first if ``root`` holds
    none.

    Parameters
    ----------
    root : pathlib.Path or str or None
        The sample root; default :func:`sample_dir`.
    synthetic : bool or None
        ``True``: only the synthetic scenes (those with a :func:`truth`); ``False``: only the
        real ones; ``None``: all (what the server serves).

    Returns
    -------
    list of dict
        The items of ``catalog/items.ndjson``.

    Examples
    --------
    A file where the sample should be is refused before anything is built:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     items(f.name)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: sample root ... exists and is not a directory

    On the built sample (``sample_root``):

    >>> its = items(sample_root)
    >>> its[0]["assets"]["red"]["href"]
    'cogs/LT05_L2SP_042033_19840808_02_T1/LT05_L2SP_042033_19840808_20200902_02_T1_SR_B3.TIF'
    """
    root = _ready(root)
    with (root / "catalog" / "items.ndjson").open() as f:
        out = [json.loads(line) for line in f if line.strip()]
    if synthetic is None:
        return out
    return [it for it in out if (it["id"] not in real_scenes.SCENES) == synthetic]


def truth(item_id: str, root: Path | str | None = None, full: bool = False) -> xr.Dataset:
    """Return the ground truth of one synthetic scene: the real lake and the observed classes.

    Variables: bool ``water`` (the real lake), uint8 ``water_kind`` (0 land, 1 water, 2 turbid
    water, 3 mixed shoreline pixel) and uint8 ``classes`` (:data:`CLASSES`), on the
    ``odc.stac.load(bbox=SAMPLE_BBOX)`` grid (1128 x 950, :func:`load_geobox`) unless ``full``
    (the whole scene grid). Attributes: everything in ``truth/<item_id>.json``
    (``water_km2``, ``lake_level_m``, ``valid_fraction``, ``cloud_fraction``, ...). CRS and
    coordinates as odc-geo sets them (``ds.odc.crs``, ``ds.odc.geobox``). Builds the sample
    first if ``root`` holds none.

    Parameters
    ----------
    item_id : str
        A synthetic scene's id, e.g. ``LC08_L2SP_042033_20170718_02_T1``.
    root : pathlib.Path or str or None
        The sample root; default :func:`sample_dir`.
    full : bool
        The whole scene grid (:func:`~lakeml.offline.sample.grid.scene_geobox`) instead of the load
        window.

    Returns
    -------
    xarray.Dataset
        ``water``, ``water_kind`` and ``classes`` on the grid, the truth numbers as attributes.

    Raises
    ------
    lakeml.checks.BadInput
        ``item_id`` is not a synthetic scene of the sample.

    Examples
    --------
    A file where the sample should be is refused before anything is built:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     truth("LC08_L2SP_042033_20170718_02_T1", f.name)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lakeml.checks.BadInput: sample root ... exists and is not a directory

    On the built sample (``sample_root``):

    >>> t = truth("LC08_L2SP_042033_20170718_02_T1", sample_root)
    >>> t.water.shape, t.attrs["water_km2"]  # doctest: +NUMBER
    ((1128, 950), 109.16)
    """
    import rasterio
    from odc.geo.xr import xr_coords

    root = _ready(root)
    doc_path = root / "truth" / f"{item_id}.json"
    if not doc_path.exists():
        known = json.loads((root / "manifest.json").read_text())["items"]
        raise BadInput(
            f"no truth for item {item_id!r} in {root}; sample items are e.g. {known[:3]}"
        )
    attrs = json.loads(doc_path.read_text())
    gbox = scene_geobox() if full else load_geobox()
    r, c, hh, ww = LOAD_WINDOW
    window = None if full else ((r, r + hh), (c, c + ww))
    with rasterio.open(root / "truth" / f"{item_id}_class.tif") as ds:
        classes = ds.read(1, window=window)
    with rasterio.open(root / "truth" / f"{item_id}_water.tif") as ds:
        kind = ds.read(1, window=window)
    water = kind > 0
    coords = xr_coords(gbox, crs_coord_name="spatial_ref")
    flat = {
        k: v for k, v in attrs.items() if isinstance(v, str | int | float) and k != "definitions"
    }
    ds = xr.Dataset(
        {
            "water": (("y", "x"), water, {"long_name": "real lake (regardless of clouds)"}),
            "water_kind": (
                ("y", "x"),
                kind,
                {
                    "long_name": "kind of lake pixel",
                    "flag_values": [0, 1, 2, 3],
                    "flag_meanings": "land water turbid_water mixed_pixel",
                },
            ),
            "classes": (
                ("y", "x"),
                classes,
                {
                    "long_name": "observed class",
                    "flag_values": list(CLASSES.values()),
                    "flag_meanings": " ".join(CLASSES),
                },
            ),
        },
        coords=coords,
        attrs=flat,
    )
    return ds
