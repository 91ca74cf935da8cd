"""What is checked at submit, before anything is created, with the built-in components."""
from __future__ import annotations

import pytest


def test_required_roles_are_declared_by_the_specs():
    from fate_flow.components import registry

    assert registry.get_spec("HeteroLR").required_roles == {"guest", "host", "arbiter"}
    assert registry.get_spec("HomoLR").required_roles == {"arbiter"}
    assert registry.get_spec("Intersection").required_roles == {"guest", "host"}
    assert registry.get_spec("DataIO").required_roles == frozenset()
    with pytest.raises(ValueError, match="arbiter"):
        registry.ComponentSpec(module="X", programs={"guest": "a:b"}, param_class="a:B",
                               required_roles=frozenset({"arbiter"}))


def test_param_objects_name_their_parameters_and_near_misses():
    from fate_flow.components.hetero_lr.param import HeteroLogisticParam

    param = HeteroLogisticParam()
    assert param.is_parameter("max_iter") and param.is_parameter("init_param")
    assert not param.is_parameter("check") and not param.is_parameter("_private") and not param.is_parameter("max_itr")
    assert param.similar_names("max_itr") == ["max_iter"]
    assert param.similar_names("Max_Iter") == ["max_iter"]
    assert param.similar_names("init_method") == ["init_param.init_method"]
    assert param.similar_names("qqq") == []
    assert "max_iter" in param.parameter_names() and "check" not in param.parameter_names()
    param.update({"check": 1, "to_dict": 2, "max_iter": 5})  # methods are no parameters
    assert callable(param.check) and param.max_iter == 5
