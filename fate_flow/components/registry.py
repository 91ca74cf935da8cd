"""Registry of components: DSL module name -> implementation per role.

This is FATE's ``setting_conf/<Module>.json`` as Python objects. The DSL parser
reads it to know on which roles a module runs, its parameter class, defaults and
``need_deploy``; the task executor reads it to find the class to run.
"""
from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from fate_flow.components.param import BaseParam


@dataclass(frozen=True)
class ComponentSpec:
    """How one DSL module is run.

    Attributes:
        module: DSL module name, e.g. ``"SecureAddExample"``.
        programs: role -> ``"python.module:ClassName"`` of the implementation; a role
            missing here does not run the module (no task for it).
        param_class: ``"python.module:ClassName"`` of the parameter class.
        need_deploy: whether the module is kept in the predict DSL.
        default_conf: FATE's default_runtime_conf overlay on the param defaults.
        code_path: FATE-style ``CodePath`` per role, for compatibility answers.
    """

    module: str
    programs: dict[str, str]
    param_class: str
    need_deploy: bool = True
    default_conf: dict[str, Any] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.programs)

    def param_type(self) -> type[BaseParam]:
        return _load(self.param_class)

    def param_name(self) -> str:
        """Name of the param class, the key FATE uses in component_parameters."""
        return self.param_class.rsplit(":", 1)[1]

    def default_params(self) -> BaseParam:
        """A param object with class defaults overlaid by ``default_conf``."""
        return self.param_type()().update(self.default_conf)

    def program(self, role: str) -> type:
        """Return the implementation class for ``role``; KeyError if it does not run there."""
        return _load(self.programs[role])

    def code_path(self, role: str) -> str:
        module, cls = self.programs[role].split(":")
        return module.replace(".", "/") + ".py/" + cls


def _load(dotted: str) -> Any:
    module, name = dotted.split(":")
    return getattr(importlib.import_module(module), name)


_REGISTRY: dict[str, ComponentSpec] = {}
_builtin_loaded = False
_load_lock = threading.RLock()


def register(spec: ComponentSpec) -> ComponentSpec:
    """Add ``spec`` to the registry (last registration of a module wins)."""
    _REGISTRY[spec.module] = spec
    return spec


def get_spec(module: str) -> ComponentSpec:
    """Return the spec of DSL module ``module``; KeyError if unknown."""
    _ensure_builtin()
    return _REGISTRY[module]


def has_module(module: str) -> bool:
    _ensure_builtin()
    return module in _REGISTRY


def modules() -> list[str]:
    _ensure_builtin()
    return sorted(_REGISTRY)


PLUGINS_ENV = "FATE_FLOW_COMPONENT_PLUGINS"


def _ensure_builtin() -> None:
    # The built-in table is a constant list; importing it registers nothing heavy
    # (implementations are imported lazily by ``program``). Extra component modules
    # named in $FATE_FLOW_COMPONENT_PLUGINS (comma-separated) register themselves the
    # same way; the server and its task processes share that environment.
    global _builtin_loaded
    if _builtin_loaded:
        return
    with _load_lock:  # HTTP threads may look a module up at the same time
        if not _builtin_loaded:
            from fate_flow.components import builtin  # noqa: F401

            for name in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
                importlib.import_module(name.strip())
            _builtin_loaded = True
