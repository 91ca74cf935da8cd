"""Registration of HomoSecureboost (FATE's setting_conf/HomoSecureboost.json): guest/host clients and an arbiter."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.hetero_secureboost.spec import DEFAULT_CONF

_PACKAGE = "fate_flow.components.homo_secureboost"

SPEC = ComponentSpec(
    module="HomoSecureboost",
    programs={"guest": f"{_PACKAGE}.client:HomoSecureBoostClient", "host": f"{_PACKAGE}.client:HomoSecureBoostClient",
              "arbiter": f"{_PACKAGE}.arbiter:HomoSecureBoostArbiter"},
    param_class="fate_flow.components.hetero_secureboost.param:BoostingTreeParam",
    default_conf=DEFAULT_CONF,
    required_roles=frozenset({"arbiter"}),  # the clients may be guests, hosts or both (two at least)
    retired_params={"cv_param.evaluate_param": None, "predict_param.with_proba": None},
    serving=f"{_PACKAGE}.online:load_online",
)
