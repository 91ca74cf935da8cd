"""Registration of HeteroSVD (guest, host, arbiter)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_svd"

SPEC = ComponentSpec(
    module="HeteroSVD",
    programs={"guest": f"{_PACKAGE}.svd:HeteroSVDClient", "host": f"{_PACKAGE}.svd:HeteroSVDClient",
              "arbiter": f"{_PACKAGE}.svd:HeteroSVDArbiter"},
    param_class=f"{_PACKAGE}.param:HeteroSVDParam",
    # FATE 1.4.1's default conf
    default_conf={"max_iter": 100, "batch_size": 320,
                  "optimizer": {"optimizer": "RMSprop", "learning_rate": 0.05, "decay": 0.9, "momentum": 0.9},
                  "init_param": {"init_method": "random_uniform"}},
    required_roles=frozenset({"guest", "host", "arbiter"}),
)
