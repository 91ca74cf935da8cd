"""Registration of HomoLR (FATE's setting_conf/HomoLR.json) with the shared DEFAULT_CONF."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.linear_model.spec import DEFAULT_CONF, RETIRED_PARAMS

_PACKAGE = "fate_flow.components.homo_lr"

SPEC = ComponentSpec(
    module="HomoLR",
    programs={
        "guest": f"{_PACKAGE}.client:HomoLRGuest",
        "host": f"{_PACKAGE}.client:HomoLRHost",
        "arbiter": f"{_PACKAGE}.arbiter:HomoLRArbiter",
    },
    param_class=f"{_PACKAGE}.param:HomoLogisticParam",
    default_conf=DEFAULT_CONF,
    # the arbiter aggregates; the clients may be guests, hosts or both (two at least, checked at run)
    required_roles=frozenset({"arbiter"}),
    retired_params=RETIRED_PARAMS,
    serving=f"{_PACKAGE}.online:load_online",
)
