"""Training machinery FATE 1.4 shares between its models: cross validation (``k_fold``),
validation during training with early stopping (``validation_strategy``), and the metric
records they write (``evaluate``). Nothing is imported here, so that registering stays cheap.

A model plugs in by being a ``LinearModelBase``-like learner: ``fit(data)``, ``predict(data, kind)``
(a Table of predict rows on the party that outputs them, else None), ``export_model()``,
``load_model(messages)``, ``variables.set_flowid``, and ``eval_type`` ("binary" or "regression").
"""
