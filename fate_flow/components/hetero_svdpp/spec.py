"""Registration of HeteroSVDpp (guest, host, arbiter)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_svdpp"

SPEC = ComponentSpec(
    module="HeteroSVDpp",
    programs={"guest": f"{_PACKAGE}.svdpp:HeteroSVDppClient", "host": f"{_PACKAGE}.svdpp:HeteroSVDppClient",
              "arbiter": f"{_PACKAGE}.svdpp:HeteroSVDppArbiter"},
    param_class=f"{_PACKAGE}.param:HeteroSVDppParam",
    # FATE 1.4.1's default conf
    default_conf={"max_iter": 100, "batch_size": 320,
                  "optimizer": {"optimizer": "RMSprop", "learning_rate": 0.05, "decay": 0.9, "momentum": 0.9},
                  "init_param": {"init_method": "random_normal"}},
    required_roles=frozenset({"guest", "host", "arbiter"}),
)
