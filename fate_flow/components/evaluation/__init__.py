"""Evaluation component (FATE 1.4 ``Evaluation``, module name ``Evaluation``).

The pure computation layer lives in :mod:`fate_flow.components.evaluation.metrics`:
it turns labels and predict scores (or predicted labels for ``multi``) into the
metric records the component logs through its tracker (summary values such as
auc/ks, curves such as roc/lift/gain/precision/recall, and meta-only tables such
as confusion_mat/f1_score/psi/quantile_pr). It depends on numpy only.
"""
