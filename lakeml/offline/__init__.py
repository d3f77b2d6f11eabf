"""The offline kit: what lets the lesson run with no internet, kept apart from the lesson.

- :mod:`lakeml.offline.sample`: the offline sample, a deterministic synthetic Walker Lake in
  items and COGs shaped exactly like Planetary Computer's ``landsat-c2-l2``, plus five REAL
  Landsat crops (:mod:`lakeml.offline.sample.real_scenes`, shipped as package data), with a
  known ground truth (:func:`lakeml.offline.sample.truth`);
- :mod:`lakeml.offline.server`: a real STAC API (stac-fastapi-pgstac on PostgreSQL) and the
  COGs over HTTP with ranges, on loopback (``lakeml sample serve``, ``lakeml sample run``).

The lesson core (the modules of ``lakeml`` itself) and the workflows
(:mod:`lakeml.workflows`) never import it; the ``lakeml`` command, the tests and the
notebooks' set-up cell do, and pass its STAC API's URL and its truth in.
"""
