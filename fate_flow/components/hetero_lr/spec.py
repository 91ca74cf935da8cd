"""Registration of HeteroLR (FATE's setting_conf/HeteroLR.json) with the shared DEFAULT_CONF."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.linear_model.spec import DEFAULT_CONF, RETIRED_PARAMS

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
    required_roles=frozenset({"guest", "host", "arbiter"}),  # the arbiter holds the Paillier key
    retired_params=RETIRED_PARAMS,
    serving=f"{_PACKAGE}.online:load_online",
)
