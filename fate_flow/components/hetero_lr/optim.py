"""HeteroLR's weights, optimizers, penalties and convergence: linear_model.optim's, named here too."""
from fate_flow.components.linear_model.optim import (
    ConvergeCheck, Optimizer, add_l2_term, apply_update, initial_weights, penalty_loss,
)
from fate_flow.components.linear_model.param import InitParam

__all__ = ["ConvergeCheck", "InitParam", "Optimizer", "add_l2_term", "apply_update", "initial_weights",
           "penalty_loss"]
