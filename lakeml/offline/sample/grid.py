"""Where the sample lies: the bounding box, the CRS and the pixel grid every scene shares.

Every scene (synthetic) is drawn on one grid, :data:`SCENE_SHAPE` pixels with the affine
:data:`SCENE_TRANSFORM` in EPSG:32611, aligned like real Landsat (UTM coordinates of pixel
edges at 15 mod 30 m), so that ``odc.stac.load(items, bbox=SAMPLE_BBOX)`` gives the
:data:`LOAD_WINDOW` of it (1128 x 950 pixels), as it does on Planetary Computer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from affine import Affine
    from odc.geo.geobox import GeoBox

SAMPLE_BBOX = (-118.89, 38.54, -118.57, 38.84)
"""The original cookbook's bounding box (W, S, E, N, degrees) that every scene covers."""

LAKE_CENTRE = (-118.71, 38.70)
"""A point (lon, lat) that is water in every scene's ground truth."""

EPSG = 32611
"""The scenes' CRS: WGS 84 / UTM zone 11N."""

RESOLUTION = 30
"""Pixel size in metres."""

SCENE_SHAPE = (1160, 982)
"""(rows, cols) of every scene: the load window plus a 16-pixel (480 m) margin on each side."""

SCENE_TRANSFORM = (30.0, 0.0, 334785.0, 0.0, -30.0, 4301205.0)
"""Affine (a, b, c, d, e, f) of every scene: pixel edges at 15 mod 30 m, as on real Landsat."""

LOAD_WINDOW = (16, 16, 1128, 950)
"""(row_off, col_off, rows, cols) of the ``odc.stac.load(bbox=SAMPLE_BBOX)`` grid in a scene."""


def _affine() -> Affine:
    from affine import Affine

    return Affine(*SCENE_TRANSFORM)


def scene_geobox() -> GeoBox:
    """Return the ``odc.geo.GeoBox`` of every scene (1160 x 982 pixels, EPSG:32611, 30 m).

    Returns
    -------
    odc.geo.geobox.GeoBox
        :data:`SCENE_SHAPE` pixels, affine :data:`SCENE_TRANSFORM`, CRS ``EPSG:32611``.

    Examples
    --------
    >>> gbox = scene_geobox()
    >>> gbox.shape, gbox.crs.epsg, gbox.resolution.x
    (Shape2d(x=982, y=1160), 32611, 30.0)
    """
    from odc.geo.geobox import GeoBox

    return GeoBox(SCENE_SHAPE, _affine(), f"EPSG:{EPSG}")


def load_geobox() -> GeoBox:
    """Return the grid ``odc.stac.load(items, bbox=SAMPLE_BBOX)`` gives: 1128 x 950 pixels.

    It is the :data:`LOAD_WINDOW` of :func:`scene_geobox`; the ground truth
    (:func:`lakeml.offline.sample.truth`) is on this grid.

    Returns
    -------
    odc.geo.geobox.GeoBox
        The load window of the scene grid.

    Examples
    --------
    >>> gbox = load_geobox()
    >>> gbox.shape
    Shape2d(x=950, y=1128)
    >>> gbox.affine.c - scene_geobox().affine.c  # 16 pixels of margin, 30 m each
    480.0
    """
    r, c, h, w = LOAD_WINDOW
    return scene_geobox()[r : r + h, c : c + w]
