"""HeteroFeatureBinning: quantile/bucket/category binning with the guest's labels, WOE and IV.

The guest computes WOE/IV for its own columns and, through Paillier-encrypted labels, for the
hosts' columns without seeing their values or split points (see ``guest`` and ``host``).
Only the parameter class is imported here; the role classes load with ``spec.program``.
"""
from fate_flow.components.hetero_binning.param import FeatureBinningParam, OptimalBinningParam, TransformParam

__all__ = ["FeatureBinningParam", "OptimalBinningParam", "TransformParam"]
