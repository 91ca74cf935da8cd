"""Registration of HeteroMF (guest and host with their own items, arbiter aggregating the user embedding)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_mf"

SPEC = ComponentSpec(
    module="HeteroMF",
    programs={"guest": f"{_PACKAGE}.mf:HeteroMFClient", "host": f"{_PACKAGE}.mf:HeteroMFClient",
              "arbiter": f"{_PACKAGE}.mf:HeteroMFArbiter"},
    param_class=f"{_PACKAGE}.param:HeteroMatrixParam",
    # FATE 1.4.1's default conf; its init_method "uniform" fails the check, as in FATE: confs set their own
    default_conf={"max_iter": 100, "batch_size": 320,
                  "optimizer": {"optimizer": "RMSprop", "learning_rate": 0.05, "decay": 0.9, "momentum": 0.9},
                  "init_param": {"init_method": "uniform"}},
    required_roles=frozenset({"guest", "host", "arbiter"}),
)
