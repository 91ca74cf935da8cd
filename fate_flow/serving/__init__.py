"""Online serving built into the server: load and bind models, answer FATE-Serving's inference API.

The names below load on first use: the engine needs numpy and pyarrow, which the server
keeps out of its memory until a model is loaded (an idle server stays small).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ModelPublisher": "fate_flow.serving.publish", "model_key": "fate_flow.serving.publish",
    "serving_key": "fate_flow.serving.publish", "ModelKey": "fate_flow.serving.registry",
    "ServingRegistry": "fate_flow.serving.registry", "ServingService": "fate_flow.serving.service",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
