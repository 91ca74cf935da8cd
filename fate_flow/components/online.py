"""How a component serves online: what its ComponentSpec's ``serving`` hook builds.

A served model is a chain of steps rebuilt from the component models a train job saved:
one ``FeatureReader`` (DataIO: rows as the model's features), any number of
``FeatureTransform`` (scaling, one-hot, binning, selection), then one ``OnlineModel``.
A component that an online request skips (Intersection: the request names its own ids)
declares ``PASS_THROUGH``. The serving engine (``fate_flow.serving``) only composes these
steps and moves shares between parties; it never reads a component's internals.

A hook is a function ``(messages, role, name) -> step``: ``messages`` are the component's
saved model messages (``{"XxxMeta": {...}, "XxxParam": {...}}``), ``role`` the party's role
and ``name`` the component's name in the DSL (for messages). It raises ValueError naming
what can not be served.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, Union

import numpy as np

from fate_flow.components.component_spec import PASS_THROUGH
from fate_flow.computing import Instances

__all__ = ["PASS_THROUGH", "FeatureReader", "FeatureTransform", "FunctionTransform", "OnlineModel", "OnlineStep"]


class FeatureReader(abc.ABC):
    """Turns request rows into the model's features (the first step)."""

    header: list[str]

    @abc.abstractmethod
    def read(self, ids: Any, values: Any, schema: dict) -> Instances:
        """Rows stored as delimited text (a host's feature table), as the model's features."""

    @abc.abstractmethod
    def read_feature_dicts(self, rows: list[dict]) -> Instances:
        """``{feature name: value}`` rows of a request; absent features count as missing.

        Raises:
            ValueError naming a feature whose value can not be read.
        """


class FeatureTransform(abc.ABC):
    """A feature step between the reader and the model."""

    @abc.abstractmethod
    def __call__(self, data: Instances) -> Instances:
        """The rows after the step."""


class FunctionTransform(FeatureTransform):
    """A transform given as a plain function of Instances."""

    def __init__(self, function: Callable[[Instances], Instances]) -> None:
        self.function = function

    def __call__(self, data: Instances) -> Instances:
        return self.function(data)


class OnlineModel(abc.ABC):
    """The last step: a party's share of each row's score, and the guest's final score.

    Attributes:
        header: the feature names the model reads.
        is_hetero: True when the guest's score needs every host's share (a hetero model);
            each host then computes its share from its own training table.
    """

    header: list[str]
    is_hetero: bool

    @abc.abstractmethod
    def share(self, data: Instances) -> np.ndarray:
        """This party's share of every row's score: one float per row."""

    @abc.abstractmethod
    def score(self, own: np.ndarray, host_shares: list[np.ndarray]) -> np.ndarray:
        """The guest's score of every row from its own share and each host's share (0 where a host
        lacks the row; such rows are answered as errors)."""


OnlineStep = Union[FeatureReader, FeatureTransform, OnlineModel]
