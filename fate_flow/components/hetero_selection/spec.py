"""Registration of HeteroFeatureSelection (FATE's setting_conf/HeteroFeatureSelection.json): guest and host."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.hetero_selection.param import DEFAULT_CONF

_PACKAGE = "fate_flow.components.hetero_selection"

SPEC = ComponentSpec(
    module="HeteroFeatureSelection",
    programs={"guest": f"{_PACKAGE}.guest:HeteroFeatureSelectionGuest",
              "host": f"{_PACKAGE}.host:HeteroFeatureSelectionHost"},
    param_class=f"{_PACKAGE}.param:FeatureSelectionParam",
    default_conf=DEFAULT_CONF,
    serving=f"{_PACKAGE}.online:load_online",
)
