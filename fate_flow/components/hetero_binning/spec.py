"""Registration of HeteroFeatureBinning (FATE's setting_conf/HeteroFeatureBinning.json): guest and host."""
from fate_flow.components.hetero_binning.param import DEFAULT_CONF
from fate_flow.components.registry import ComponentSpec, register

_PACKAGE = "fate_flow.components.hetero_binning"

register(ComponentSpec(
    module="HeteroFeatureBinning",
    programs={"guest": f"{_PACKAGE}.guest:HeteroFeatureBinningGuest",
              "host": f"{_PACKAGE}.host:HeteroFeatureBinningHost"},
    param_class=f"{_PACKAGE}.param:FeatureBinningParam",
    default_conf=DEFAULT_CONF,
))
