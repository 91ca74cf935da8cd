"""Registration of HeteroFM (FATE 1.4.1's FederatedRec module: guest with labels, host, arbiter with the key)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_fm"

SPEC = ComponentSpec(
    module="HeteroFM",
    programs={"guest": f"{_PACKAGE}.hetero_fm:HeteroFMGuest", "host": f"{_PACKAGE}.hetero_fm:HeteroFMHost",
              "arbiter": f"{_PACKAGE}.hetero_fm:HeteroFMArbiter"},
    param_class=f"{_PACKAGE}.param:HeteroFactorizationParam",
    # FATE 1.4.1's factorization_machine_param.json
    default_conf={"alpha": 0.01, "batch_size": 320, "init_param": {"init_method": "random_normal", "embed_size": 20},
                  "cv_param": {"shuffle": True}, "clip_gradient": 0.0},
    required_roles=frozenset({"guest", "host", "arbiter"}),
)
