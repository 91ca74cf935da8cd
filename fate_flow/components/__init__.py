"""Federated ML components. Free of HTTP and database code (see README.md)."""
from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput, TableData, Tracker
from fate_flow.components.param import BaseParam
from fate_flow.components.registry import ComponentSpec, get_spec, has_module, modules, register

__all__ = [
    "BaseParam", "ComponentBase", "ComponentContext", "ComponentOutput", "ComponentSpec",
    "TableData", "Tracker", "get_spec", "has_module", "modules", "register",
]
