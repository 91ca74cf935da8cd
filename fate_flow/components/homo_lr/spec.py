"""Registration of HomoLR (FATE's setting_conf/HomoLR.json) with the shared DEFAULT_CONF."""
from fate_flow.components.linear_model.spec import DEFAULT_CONF
from fate_flow.components.registry import ComponentSpec, register

_PACKAGE = "fate_flow.components.homo_lr"

register(ComponentSpec(
    module="HomoLR",
    programs={
        "guest": f"{_PACKAGE}.client:HomoLRGuest",
        "host": f"{_PACKAGE}.client:HomoLRHost",
        "arbiter": f"{_PACKAGE}.arbiter:HomoLRArbiter",
    },
    param_class=f"{_PACKAGE}.param:HomoLogisticParam",
    default_conf=DEFAULT_CONF,
))
