"""Registration of HomoFM (guest and host clients, arbiter aggregating)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.homo_fm"

SPEC = ComponentSpec(
    module="HomoFM",
    programs={"guest": f"{_PACKAGE}.homo_fm:HomoFMClient", "host": f"{_PACKAGE}.homo_fm:HomoFMClient",
              "arbiter": f"{_PACKAGE}.homo_fm:HomoFMArbiter"},
    param_class="fate_flow.components.hetero_fm.param:HomoFactorizationParam",
    # FATE 1.4.1's factorization_machine_param.json
    default_conf={"alpha": 0.01, "batch_size": 320, "init_param": {"init_method": "random_normal", "embed_size": 20},
                  "cv_param": {"shuffle": True}, "clip_gradient": 0.0},
    required_roles=frozenset({"arbiter"}),
)
