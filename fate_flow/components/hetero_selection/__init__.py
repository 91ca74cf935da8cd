"""HeteroFeatureSelection: filters applied in order to each party's columns.

Local filters (unique_value, coefficient_of_variation_value_thres, outlier_cols,
percentage_value, manually) run on each party's own data; the IV filters read the
HeteroFeatureBinning model given as ``isometric_model`` and the guest decides for the hosts'
columns by their anonymous names (see ``guest`` and ``host``). Only the parameter class is
imported here; the role classes load with ``spec.program``.
"""
from fate_flow.components.hetero_selection.param import FeatureSelectionParam

__all__ = ["FeatureSelectionParam"]
