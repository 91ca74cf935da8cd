"""Base class for component parameters, in the shape of FATE's param objects.

A parameter class sets its defaults as instance attributes in ``__init__``; nested
parameter objects are attributes holding another ``BaseParam``. The DSL parser
turns a param object into a dict (``to_dict``), merges runtime-conf values into it
(``update``, unknown keys dropped as FATE does) and components validate with ``check``.
"""
from __future__ import annotations

import copy
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

    def update(self, conf: dict[str, Any]) -> "BaseParam":
        """Set attributes from ``conf``; nested params merge recursively, unknown keys are ignored."""
        for name, value in (conf or {}).items():
            if name.startswith("_") or not hasattr(self, name):
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
