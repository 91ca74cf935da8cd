"""Registration of HeteroLR (FATE's setting_conf/HeteroLR.json) with the shared DEFAULT_CONF."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.linear_model.spec import DEFAULT_CONF

_PACKAGE = "fate_flow.components.hetero_lr"

SPEC = ComponentSpec(
    module="HeteroLR",
    programs={
        "guest": f"{_PACKAGE}.guest:HeteroLRGuest",
        "host": f"{_PACKAGE}.host:HeteroLRHost",
        "arbiter": f"{_PACKAGE}.arbiter:HeteroLRArbiter",
    },
    param_class=f"{_PACKAGE}.param:HeteroLogisticParam",
    default_conf=DEFAULT_CONF,
    serving=f"{_PACKAGE}.online:load_online",
)
