"""What the registry knows of one DSL module: FATE's ``setting_conf/<Module>.json`` as an object."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from fate_flow.components.param import BaseParam

# the ``serving`` of a module an online request skips (Intersection: the request names its ids)
PASS_THROUGH = "pass"


@dataclass(frozen=True)
class ComponentSpec:
    """How one DSL module is run and served.

    Attributes:
        module: DSL module name, e.g. ``"SecureAddExample"``.
        programs: role -> ``"python.module:ClassName"`` of the implementation; a role
            missing here does not run the module (no task for it).
        param_class: ``"python.module:ClassName"`` of the parameter class.
        need_deploy: whether the module is kept in the predict DSL.
        default_conf: FATE's default_runtime_conf overlay on the param defaults.
        serving: how the module serves online: ``"python.module:function"`` of its hook
            (``fate_flow.components.online``), ``PASS_THROUGH`` for a module an online
            request skips, or None for a module that can not be served.
        required_roles: the roles without which the module can not work (its parties wait
            for messages from them); a job whose ``role`` lacks one is refused at submit.
            Roles of ``programs`` left out here are optional (DataIO runs on whatever
            roles the job has).
        retired_params: parameter names, dotted for nested ones (``cv_param.evaluate_param``),
            that an older FATE read and FATE 1.4 silently drops, but that FATE's own example
            confs still set: name -> what to set instead (None if nothing). A conf setting
            one is accepted with a warning; any other unknown name is refused at submit.
    """

    module: str
    programs: dict[str, str]
    param_class: str
    need_deploy: bool = True
    default_conf: dict[str, Any] = field(default_factory=dict)
    serving: str | None = None
    required_roles: frozenset[str] = frozenset()
    retired_params: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(self.required_roles) - set(self.programs)
        if missing:
            raise ValueError(f"{self.module}: required roles {sorted(missing)} have no program")
        object.__setattr__(self, "required_roles", frozenset(self.required_roles))

    @property
    def roles(self) -> frozenset[str]:
        """The roles that run the module."""
        return frozenset(self.programs)

    def param_type(self) -> type[BaseParam]:
        """The parameter class."""
        return load_object(self.param_class)

    def param_name(self) -> str:
        """Name of the param class, the key FATE uses in component_parameters."""
        return self.param_class.rsplit(":", 1)[1]

    def default_params(self) -> BaseParam:
        """A param object with class defaults overlaid by ``default_conf``."""
        return self.param_type()().update(self.default_conf)

    def program(self, role: str) -> type:
        """Return the implementation class for ``role``; KeyError if it does not run there."""
        return load_object(self.programs[role])

    def code_path(self, role: str) -> str:
        """FATE's ``CodePath`` of the role's implementation, for compatibility answers."""
        module, cls = self.programs[role].split(":")
        return module.replace(".", "/") + ".py/" + cls


def load_object(dotted: str) -> Any:
    """The object named ``"python.module:name"`` (its module imported on first use)."""
    module, name = dotted.split(":")
    return getattr(importlib.import_module(module), name)
