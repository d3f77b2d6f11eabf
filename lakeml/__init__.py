"""lakeml: the helpers of the lakeml cookbook (see a lake shrink from space with Landsat).

One module per stage a learner meets: :mod:`lakeml.search` (STAC), :mod:`lakeml.load`
(odc-stac, scaling, ``qa_pixel``), :mod:`lakeml.reshape`, :mod:`lakeml.cluster` (spectral
clustering with dask), :mod:`lakeml.water`, :mod:`lakeml.references` (USGS DSWE, WOfS, the QA
water bit), :mod:`lakeml.plots`, :mod:`lakeml.sample` (the offline sample). Input checks live
in :mod:`lakeml.checks`; :mod:`lakeml.pipeline` and :mod:`lakeml.timeseries` string the stages
together for the ``lakeml`` command (:mod:`lakeml.cli`).
"""
