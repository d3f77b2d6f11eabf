"""lakeml: the helpers of the lakeml cookbook (see a lake shrink from space with Landsat).

Three layers, one folder each:

- The lesson core, here: what the notebooks teach, xarray in and out, coordinates and CRS
  kept. :mod:`lakeml.search` (STAC), :mod:`lakeml.load` (odc-stac, scaling, ``qa_pixel``),
  :mod:`lakeml.reshape` (pixels to samples and back), :mod:`lakeml.cluster` (spectral
  clustering with dask), :mod:`lakeml.water` (naming the water clusters, areas, metrics,
  change), :mod:`lakeml.references` (USGS DSWE, WOfS, the QA water bit, MNDWI-Otsu),
  :mod:`lakeml.trend` (the lake's extent over the years, the trend), :mod:`lakeml.plots`;
  beneath them :mod:`lakeml.checks` (every input check and its message),
  :mod:`lakeml.errors`, :mod:`lakeml.files`, :mod:`lakeml.cache`, :mod:`lakeml.signing`.
- The workflows on top (:mod:`lakeml.workflows`): pipeline, timeseries, validate, the
  ``lakeml`` command.
- The offline kit apart (:mod:`lakeml.offline`): the offline sample and its local STAC server.

The core imports neither of the others. ``from lakeml import load, water`` imports a core
module; the others by their folder, e.g. ``from lakeml.workflows import pipeline``.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

try:
    __version__ = version("lakeml")
except PackageNotFoundError:  # pragma: no cover - a checkout on sys.path, not installed
    __version__ = "0+unknown"

CORE = ("search", "load", "reshape", "cluster", "water", "references", "trend", "plots")
"""The core modules a learner imports, as attributes too (``lakeml.water``), loaded on use."""


def __getattr__(name: str) -> ModuleType:
    """Load a core module on first use of ``lakeml.<name>`` (PEP 562).

    ``import lakeml`` stays light: no xarray, dask or odc-stac until a module is used.
    """
    if name in CORE:
        return importlib.import_module(f"lakeml.{name}")
    raise AttributeError(f"module 'lakeml' has no attribute {name!r}")


__all__ = ["CORE", "__version__", *CORE]
