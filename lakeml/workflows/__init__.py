"""The workflows: the lesson's steps strung together, on top of the core.

- :mod:`lakeml.workflows.pipeline`: one scene to a validated water mask
  (:func:`~lakeml.workflows.pipeline.classify_scene`), two dates to a change
  (:func:`~lakeml.workflows.pipeline.change`);
- :mod:`lakeml.workflows.timeseries`: one clear summer scene a year, its water area, flagged
  when partly observed, and the trend;
- :mod:`lakeml.workflows.validate`: lakeml's water on real scenes against USGS DSWE, WOfS,
  MNDWI-Otsu and the USGS QA water bit;
- :mod:`lakeml.workflows.cli`: the ``lakeml`` command.

They use the current dask scheduler (a ``distributed.Client`` if one is running, which the
caller makes: ``lakeml ... --scheduler``), and take a STAC API's URL and, where it is known,
a scene's ground truth as arguments: nothing here imports the offline kit
(:mod:`lakeml.offline`) but the command, which serves it for ``--sample``.
"""
