"""Base class for component parameters, in the shape of FATE's param objects.

A parameter class sets its defaults as instance attributes in ``__init__``; nested
parameter objects are attributes holding another ``BaseParam``. The DSL parser
turns a param object into a dict (``to_dict``), merges runtime-conf values into it
(``update``) and components validate with ``check``.

``update`` drops keys that are not parameters, as FATE does, so that stored confs and
FATE's default confs still load; the DSL parser refuses them at submit (``is_parameter``,
``similar_names``).
"""
from __future__ import annotations

import copy
import difflib
from typing import Any


class BaseParam:
    """A bag of named parameters with recursive dict conversion and merging."""

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict, nested params as nested dicts."""
        out = {}
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            out[name] = value.to_dict() if isinstance(value, BaseParam) else copy.deepcopy(value)
        return out

    def parameter_names(self) -> list[str]:
        """The names of this object's parameters (nested param objects included, by their name)."""
        return [name for name in vars(self) if not name.startswith("_")]

    def is_parameter(self, name: str) -> bool:
        """Whether ``name`` is one of this object's parameters."""
        return not name.startswith("_") and name in vars(self)

    def similar_names(self, name: str) -> list[str]:
        """Parameters ``name`` may be a misspelling of, best first; a name found only inside a
        nested param object comes as its dotted path (``init_param.init_method``)."""
        names = self.parameter_names()
        lowered = {candidate.lower(): candidate for candidate in names}
        close = [lowered[match] for match in difflib.get_close_matches(name.lower(), lowered, n=3, cutoff=0.75)]
        if close:
            return close
        return [f"{outer}.{name}" for outer in names
                if isinstance(getattr(self, outer), BaseParam) and getattr(self, outer).is_parameter(name)]

    def update(self, conf: dict[str, Any]) -> "BaseParam":
        """Set attributes from ``conf``; nested params merge recursively, unknown keys are ignored
        (the DSL parser refuses them at submit)."""
        for name, value in (conf or {}).items():
            if not self.is_parameter(name):
                continue
            current = getattr(self, name)
            if isinstance(current, BaseParam) and isinstance(value, dict):
                current.update(value)
            else:
                setattr(self, name, copy.deepcopy(value))
        return self

    def check(self) -> None:
        """Validate the values; raise ValueError naming the bad parameter. Default: accept."""

    @classmethod
    def from_dict(cls, conf: dict[str, Any]) -> "BaseParam":
        """Build a param object from defaults overlaid with ``conf``."""
        return cls().update(conf)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int > 0, else raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} should be a positive integer, got {value!r}")
    return value
