"""Registration of HeteroNN and HomoNN (FATE's setting_conf/HeteroNN.json and HomoNN.json).

The programs are imported only when a task runs; they import torch only inside ``run``.
"""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.nn"

HETERO_SPEC = ComponentSpec(
    module="HeteroNN",
    programs={"guest": f"{_PACKAGE}.hetero:HeteroNNGuest", "host": f"{_PACKAGE}.hetero:HeteroNNHost"},
    param_class=f"{_PACKAGE}.param:HeteroNNParam",
    required_roles=frozenset({"guest", "host"}),
    # FATE 1.4's HeteroNNParam takes this name but stores it as encrypted_model_calculator_param,
    # so a conf setting it is dropped there: accepted here with a warning
    retired_params={"encrypted_mode_calculator_param": "encrypted_model_calculator_param"},
)

HOMO_SPEC = ComponentSpec(
    module="HomoNN",
    programs={"guest": f"{_PACKAGE}.homo:HomoNNGuest", "host": f"{_PACKAGE}.homo:HomoNNHost",
              "arbiter": f"{_PACKAGE}.homo:HomoNNArbiter"},
    param_class=f"{_PACKAGE}.param:HomoNNParam",
    # the arbiter aggregates; the clients may be guests, hosts or both (two at least, checked at run)
    required_roles=frozenset({"arbiter"}),
)

# FATE 1.4 also registers HomoNN's experimental entry: the arbiter server and host clients only
HOMO_EXPERIMENT_SPEC = ComponentSpec(
    module="HomoNNExperiment",
    programs={"host": f"{_PACKAGE}.homo:HomoNNHost", "arbiter": f"{_PACKAGE}.homo:HomoNNArbiter"},
    param_class=f"{_PACKAGE}.param:HomoNNParam",
    required_roles=frozenset({"arbiter", "host"}),
)

SPECS = [HETERO_SPEC, HOMO_SPEC, HOMO_EXPERIMENT_SPEC]
