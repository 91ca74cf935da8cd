"""Registry of components: DSL module name -> its ComponentSpec.

The DSL parser reads it to know on which roles a module runs, its parameter class,
defaults and ``need_deploy``; the task executor reads it to find the class to run; the
serving engine reads each module's online hook. The built-in table (``builtin.py``) is
registered on first lookup; implementations are imported only when a task runs them.
"""
from __future__ import annotations

import importlib
import os
import threading
from typing import Any, Callable

from fate_flow.components.component_spec import PASS_THROUGH, ComponentSpec, load_object

__all__ = ["PLUGINS_ENV", "ComponentSpec", "get_spec", "has_module", "load_hook", "modules", "register",
           "served_modules"]

_REGISTRY: dict[str, ComponentSpec] = {}
_builtin_loaded = False
_load_lock = threading.RLock()

PLUGINS_ENV = "FATE_FLOW_COMPONENT_PLUGINS"


def register(spec: ComponentSpec) -> ComponentSpec:
    """Add ``spec`` to the registry (last registration of a module wins)."""
    _REGISTRY[spec.module] = spec
    return spec


def get_spec(module: str) -> ComponentSpec:
    """Return the spec of DSL module ``module``; KeyError if unknown."""
    _ensure_builtin()
    return _REGISTRY[module]


def has_module(module: str) -> bool:
    """True if ``module`` is a registered DSL module."""
    _ensure_builtin()
    return module in _REGISTRY


def modules() -> list[str]:
    """Every registered DSL module name, sorted."""
    _ensure_builtin()
    return sorted(_REGISTRY)


def served_modules() -> list[str]:
    """The modules that serve online (pass-through ones left out)."""
    _ensure_builtin()
    return sorted(m for m, spec in _REGISTRY.items() if spec.serving and spec.serving != PASS_THROUGH)


def load_hook(dotted: str) -> Callable[..., Any]:
    """A module's online hook from its spec's ``serving`` name."""
    return load_object(dotted)


def _ensure_builtin() -> None:
    # Extra component modules named in $FATE_FLOW_COMPONENT_PLUGINS (comma-separated)
    # register themselves when imported; the server and its task processes share that
    # environment.
    global _builtin_loaded
    if _builtin_loaded:
        return
    with _load_lock:  # HTTP threads may look a module up at the same time
        if not _builtin_loaded:
            from fate_flow.components.builtin import BUILTIN_SPECS

            for spec in BUILTIN_SPECS:
                register(spec)
            for name in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
                importlib.import_module(name.strip())
            _builtin_loaded = True
