"""Registration of HeteroFeatureBinning (FATE's setting_conf/HeteroFeatureBinning.json): guest and host."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.hetero_binning.param import DEFAULT_CONF

_PACKAGE = "fate_flow.components.hetero_binning"

SPEC = ComponentSpec(
    module="HeteroFeatureBinning",
    programs={"guest": f"{_PACKAGE}.guest:HeteroFeatureBinningGuest",
              "host": f"{_PACKAGE}.host:HeteroFeatureBinningHost"},
    param_class=f"{_PACKAGE}.param:FeatureBinningParam",
    default_conf=DEFAULT_CONF,
    # the guest holds the labels; without hosts it bins its own columns only
    required_roles=frozenset({"guest"}),
    retired_params={"cols": "bin_indexes"},  # FATE 1.0's name, still in FATE's selection example
    serving=f"{_PACKAGE}.online:load_online",
)
