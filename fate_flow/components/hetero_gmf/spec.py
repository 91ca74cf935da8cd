"""Registration of HeteroGMF (guest, host, arbiter)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_gmf"

SPEC = ComponentSpec(
    module="HeteroGMF",
    programs={"guest": f"{_PACKAGE}.gmf:HeteroGMFClient", "host": f"{_PACKAGE}.gmf:HeteroGMFClient",
              "arbiter": f"{_PACKAGE}.gmf:HeteroGMFArbiter"},
    param_class=f"{_PACKAGE}.param:HeteroGMFParam",
    # FATE 1.4.1's default conf
    default_conf={"max_iter": 100, "batch_size": 320,
                  "optimizer": {"optimizer": "RMSprop", "learning_rate": 0.05, "decay": 0.9, "momentum": 0.9},
                  "init_param": {"init_method": "random_normal", "embed_dim": 20}},
    required_roles=frozenset({"guest", "host", "arbiter"}),
)
