"""A deterministic, synthetic, offline stand-in for Planetary Computer's ``landsat-c2-l2``.

:func:`build` writes, under one directory (see :func:`sample_dir`), a small STAC catalog of
Landsat Collection 2 Level-2 scenes over Walker Lake, Nevada (WRS-2 path 042, row 033), whose
pixels are generated here from a fixed seed, with a known ground truth:

.. code-block:: text

    root/catalog/collection.json    the landsat-c2-l2 collection (shaped like Planetary Computer's)
    root/catalog/items.ndjson       one STAC item per line; asset and link hrefs relative to root
    root/cogs/<item_id>/*.TIF       Cloud Optimized GeoTIFFs, uint16, EPSG:32611, 30 m
                                    (plus five REAL scenes, lakeml.offline.sample.real_scenes: own
                                    grids)
    root/truth/<item_id>.json       water_km2, lake_level_m, valid_fraction, ... (see below)
    root/truth/<item_id>_class.tif  uint8 class map (:data:`CLASSES`), same grid as the COGs
    root/truth/<item_id>_water.tif  uint8 1 = the real lake (under clouds too), same grid
    root/manifest.json              version, seed, item ids (synthetic, real), sha256 of every
                                    file; written last

What the code sees is shaped exactly like the real thing: item properties, asset keys, titles,
media types, roles, ``eo:bands``, ``raster:bands`` (scale 2.75e-05, offset -0.2, nodata 0 for
surface reflectance; 0.00341802 / 149.0 for surface temperature), ``qa_pixel`` with the real
Collection 2 bit meanings, file names like ``LC08_L2SP_042033_20170718_20200903_02_T1_SR_B4.TIF``,
and a pixel grid aligned like real Landsat (UTM coordinates of pixel edges at 15 mod 30 m) such
that ``odc.stac.load(items, bbox=SAMPLE_BBOX)`` gives 1128 x 950 pixels, as it does on
Planetary Computer.

The landscape: a long north-south lake in a desert basin between two ranges (west higher, the
Wassuk Range), on a bathymetry-like elevation field, so that the lake is ``elevation < level``
and a lower level is a smaller lake of the same place. Around the lake: exposed lakebed (bright
playa, damp ``wet_playa`` just above the waterline and at seeps), a thin bright paleo-shoreline
ring, desert scrub, granitic rock on the ranges and dark volcanic rock on the eastern one, and
green riparian vegetation along the Walker River entering at the north end (spreading onto the
exposed delta as the lake recedes). It is meant to be as hard as the real thing, by physics,
not by tuning to any water rule:

- Lake levels follow the published Walker Lake record where there is one (:data:`LAKE_LEVEL_FT`,
  USGS SIR 2007-5012 and the others cited there; the rest interpolated or invented, said so).
- A turbid plume off the river mouth (suspended sediment: red 0.05-0.14, NIR 0.02-0.09, SWIR
  < 0.01), large in wet years (:data:`_INFLOW`), fading into the lake. It is water.
- Shallow margins: the lakebed shows through shallow water (attenuated twice over the depth),
  and shoreline pixels mix water and land linearly by their sub-pixel water fraction f (from
  the basin's slope across the pixel); a pixel is water in the truth when f >= 0.5.
- Terrain illumination from the elevation field and each scene's own sun (the items'
  ``view:sun_azimuth`` / ``view:sun_elevation``): observed = reflectance x (direct x cos(i) /
  cos(sun zenith), zero in cast shadow, + diffuse fraction(band) x sky view + light from the
  neighbouring slopes); the diffuse fraction is 0.32 in the coastal band down to 0.035 in
  swir22, so shade is dark and bluish. At Walker Lake's summer-morning overpass (sun from the
  ESE at 55-65 degrees) deep terrain shadow is rare; September scenes have more.
- Cloud shadows projected from the clouds along the sun's rays (lit by skylight and the
  clouds' sides only); CFMask's flag (bit 4) misses about 3 in 10 of them and those over
  water, and is dilated by 3 pixels; the truth class map has the real shadow.
- Sensor noise: OLI 12-bit with a signal-dependent noise; TM / ETM+ 8-bit counts (quantised in
  top-of-atmosphere reflectance), detector striping along the scan lines and more noise; a
  smooth residual of the atmospheric correction (largest in the blue).
- ``qa_pixel`` bit 7 (water) is made as CFMask makes it: the Fmask water test
  (:data:`FMASK_WATER`, Zhu and Woodcock 2012) on the rendered noisy pixels (approximate
  top-of-atmosphere reflectance), not set on cloud, dilated cloud or fill. So it has the real
  errors: water flagged on shaded slopes, dark volcanic rock and cloud shadow; missed where a
  shoreline pixel is mostly vegetation or bright land.

Per-class spectra follow the measured Walker Lake water/land reflectances (Landsat 5 TM 1988,
Landsat 8 OLI 2017), with smooth spatial texture. One scene per summer 1984-2024 from the
mission flying that year (Landsat 7 after 2003-05-31 with SLC-off wedge gaps), on the missions'
real 16-day cycles over path 042 (so the 1988 and 2017 ids are real Planetary Computer ids),
some partly cloudy scenes, two years whose only summer scene is too cloudy, and decoys around
the original notebook's two searches (see :data:`EXPECTED_SEARCH`).

Ground truth (``truth/<item_id>.json``), all measured on the 1128 x 950 load window of
:data:`SAMPLE_BBOX` (:func:`load_geobox`):

- ``water_km2``: pixels of the real lake (water fraction >= 0.5, i.e. basin elevation <=
  ``lake_level_m``) x 900 m2 / 1e6. The lake is defined regardless of clouds, SLC gaps and
  fill: it is what is on the ground. ``water_fraction_sum_km2`` sums the fractions instead;
  ``water_turbid_fraction`` and ``water_mixed_fraction`` are the shares of the lake's pixels
  that are turbid (sediment adds > 0.04 to red) or mixed (f < 1).
- ``valid_fraction``: fraction of the window that survives masking ``qa_pixel`` bits 0-4 (not fill,
  not dilated cloud, not cirrus, not cloud, not flagged cloud shadow).
- ``cloud_fraction``: fraction of the window's non-fill pixels flagged cloud or dilated cloud;
  ``shadow_fraction`` likewise for flagged cloud shadow, ``shadow_true_fraction`` for the real
  one; ``terrain_shadow_km2``: seen land with less than a quarter of the flat-ground direct sun.
- ``water_observed_fraction``: fraction of the real lake's pixels that are valid (seen).
- ``class_km2``: area per observed class (:data:`CLASSES`) in the window.

The class map is what the sensor sees (``cloud`` over the lake is ``cloud``; SLC gaps are
``nodata``); ``_water.tif`` is the lake itself (0 land, 1 water, 2 turbid, 3 mixed pixel).

The code is split by topic: :mod:`~lakeml.offline.sample.grid` (bounding box, CRS, pixel grid),
:mod:`~lakeml.offline.sample.missions` (platforms, asset metadata, ``qa_pixel`` bitfields),
:mod:`~lakeml.offline.sample.scenes` (the scene list, dates, sun, lake-level record),
:mod:`~lakeml.offline.sample.landscape` (terrain, land cover, levels, surface spectra),
:mod:`~lakeml.offline.sample.render` (drawing one scene), :mod:`~lakeml.offline.sample.stac` (items
and the collection) and :mod:`~lakeml.offline.sample.disk` (writing and reading the sample); every
public name is importable from ``lakeml.offline.sample`` itself.

Examples
--------
>>> from lakeml.offline import sample
>>> [s.item_id for s in sample.scene_specs()][:2]
['LT05_L2SP_042033_19840808_02_T1', 'LT05_L2SP_042033_19850912_02_T1']
>>> root = sample.build()  # built once, then cached (here: this session's, sample_root)
>>> root == sample_root
True
>>> [it["id"] for it in sample.items(root)][:2]
['LT05_L2SP_042033_19840808_02_T1', 'LT05_L2SP_042033_19850912_02_T1']
>>> sample.truth("LT05_L2SP_042033_19880702_02_T1").attrs["water_km2"]  # doctest: +NUMBER
163.8
"""

from __future__ import annotations

# The ``_name as _name`` imports below are private helpers that other lakeml code and the tests use,
# importable from here as before the split (lakeml.offline.sample.real_scenes writes its COGs and
# names its files with _file_suffix; tests/test_sample.py re-renders scenes).
from lakeml.offline.sample.disk import _render_and_write as _render_and_write
from lakeml.offline.sample.disk import _sha256 as _sha256
from lakeml.offline.sample.disk import build, is_complete, items, sample_dir, truth
from lakeml.offline.sample.grid import (
    EPSG,
    LAKE_CENTRE,
    LOAD_WINDOW,
    RESOLUTION,
    SAMPLE_BBOX,
    SCENE_SHAPE,
    SCENE_TRANSFORM,
    load_geobox,
    scene_geobox,
)
from lakeml.offline.sample.landscape import CLASS_NAMES, CLASSES, LEVEL_HIGH_STAND
from lakeml.offline.sample.landscape import _landscape as _landscape
from lakeml.offline.sample.landscape import _levels as _levels
from lakeml.offline.sample.missions import _BANDS as _BANDS
from lakeml.offline.sample.missions import _file_suffix as _file_suffix
from lakeml.offline.sample.missions import asset_definitions
from lakeml.offline.sample.render import _PATH as _PATH
from lakeml.offline.sample.render import _TRANSMIT as _TRANSMIT
from lakeml.offline.sample.render import FMASK_WATER, render_scene
from lakeml.offline.sample.scenes import (
    EXPECTED_CLEAREST,
    EXPECTED_SEARCH,
    LAKE_LEVEL_FT,
    SEED,
    SceneSpec,
    scene_specs,
)
from lakeml.offline.sample.scenes import _level_at as _level_at
from lakeml.offline.sample.stac import (
    COLLECTION_ID,
    SAMPLE_RELEASES,
    SAMPLE_VERSION,
    data_source,
    is_synthetic,
    item_dict,
)

__all__ = [
    # the sample
    "SAMPLE_VERSION",
    "SAMPLE_RELEASES",
    "SEED",
    "COLLECTION_ID",
    "build",
    "is_complete",
    "sample_dir",
    "items",
    "truth",
    "is_synthetic",
    "data_source",
    # where: the grid
    "SAMPLE_BBOX",
    "LAKE_CENTRE",
    "EPSG",
    "RESOLUTION",
    "SCENE_SHAPE",
    "SCENE_TRANSFORM",
    "LOAD_WINDOW",
    "scene_geobox",
    "load_geobox",
    # what: missions, scenes, the landscape and its classes
    "asset_definitions",
    "SceneSpec",
    "scene_specs",
    "LAKE_LEVEL_FT",
    "EXPECTED_SEARCH",
    "EXPECTED_CLEAREST",
    "CLASSES",
    "CLASS_NAMES",
    "LEVEL_HIGH_STAND",
    # how: rendering and metadata
    "render_scene",
    "FMASK_WATER",
    "item_dict",
]
