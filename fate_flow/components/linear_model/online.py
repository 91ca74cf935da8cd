"""Linear models online: ``x . coef + intercept`` per party, the link of the sum at the guest
(the sigmoid for HeteroLR and HomoLR, the identity for HeteroLinR, exp for HeteroPoisson)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from fate_flow.components.linear_model.common import select_model_features, sigmoid
from fate_flow.components.online import OnlineModel
from fate_flow.computing import Instances


class LinearOnlineModel(OnlineModel):
    """A party's linear share of the score over the model's header.

    Attributes:
        header: the features the weights apply to, in order.
        coef: one weight per header feature.
        intercept: the guest's intercept (0 on a host or without one).
        is_hetero: HeteroLR (the guest adds the hosts' shares) rather than HomoLR.
        link: what turns the summed shares into the score (the sigmoid by default).
    """

    def __init__(self, header: list[str], coef: np.ndarray, intercept: float, is_hetero: bool,
                 link: Callable[[np.ndarray], np.ndarray] = sigmoid) -> None:
        self.header = list(header)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.is_hetero = is_hetero
        self.link = link

    def share(self, data: Instances) -> np.ndarray:
        return select_model_features(data, self.header).features @ self.coef + self.intercept

    def score(self, own: np.ndarray, host_shares: list[np.ndarray]) -> np.ndarray:
        return self.link(own + sum(host_shares, np.zeros_like(own)))


def load_linear_model(component: object, messages: dict, role: str, is_hetero: bool,
                      model_class: type = LinearOnlineModel, **options) -> LinearOnlineModel:
    """The online model of a fitted LR component (its own ``load_model`` reads the messages).

    Raises:
        ValueError when the saved model has no weights.
    """
    component.load_model(messages)
    weights, header = component.weights_, component.header_
    if weights is None or not header:
        raise ValueError(f"the LR model of the {role} has no weights")
    # HomoLR names it fit_intercept_, HeteroLR fits_intercept (always False on a host)
    fitted = getattr(component, "fit_intercept_", getattr(component, "fits_intercept", False))
    width = len(header)
    intercept = float(weights[width]) if fitted else 0.0
    return model_class(list(header), np.asarray(weights[:width]), intercept, is_hetero, **options)
