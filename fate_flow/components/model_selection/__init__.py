"""Training machinery FATE 1.4 shares between its models: cross validation (``k_fold``),
validation during training with early stopping (``validation_strategy``), stepwise selection
(``stepwise``), and the metric records they write (``evaluate``). One-vs-rest is
``components.one_vs_rest``, the sqn optimizer ``linear_model.sqn``. Nothing is imported here.

How a model plugs in (HeteroLR and HomoLR do; a HeteroLinR/HeteroPoisson built like HeteroLR needs
the same few lines):
- subclass ``linear_model.common.LinearModelBase``: its ``run`` picks the learner (``Stepwise`` when
  ``stepwise_param.need_stepwise``, ``OneVsRest`` when ``supports_one_vs_rest``, else the model) and runs
  cross validation when ``cv_param.need_cv``; set ``mode`` ("hetero"/"homo") and ``eval_type``
  ("binary", "regression");
- implement ``load_data(table)`` (a stored table or loaded data -> ``partitioned.LoadedData``),
  ``fit(data)``, ``predict(data, kind)``, ``export_model``/``load_model`` and ``export_unfitted`` (the
  cross-validation job's model);
- in the training loop of every role, end each epoch with ``if self.validation_step(n_iter): break``
  (before the convergence break), and log the arbiter's loss through ``log_loss_metric`` (it names the
  curve ``loss.<k>`` in fold k and stays quiet in one-vs-rest and stepwise fits);
- sqn: build the optimizer with a ``make_optimizer`` like HeteroLR's, keep ``sqn_inputs_`` (batches, their
  sizes, the public key) for the curvature pairs, set ``sqn_hess_factor`` (1.0 for LinR) and serve
  ``SqnArbiter.serve_batch`` after each batch on the arbiter;
- stepwise: the arbiter's ``loss_history_`` gives the loss; LinR sets ``stepwise_ic(loss, dfe, n, k)``
  to ``k * dfe + n * ln(2 * loss)``.
"""
