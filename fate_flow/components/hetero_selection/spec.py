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
    required_roles=frozenset({"guest"}),  # the guest judges every party's columns
    # older names FATE's example and default confs still set
    retired_params={"local_only": "local_only inside iv_value_param, iv_percentile_param or iv_top_k_param",
                    "filter_method": "filter_methods", "select_cols": "select_col_indexes"},
    serving=f"{_PACKAGE}.online:load_online",
)
