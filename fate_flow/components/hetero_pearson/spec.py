"""Registration of HeteroPearson (exactly one guest and one host)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.hetero_pearson"

SPEC = ComponentSpec(
    module="HeteroPearson",
    programs={"guest": f"{_PACKAGE}.pearson:HeteroPearson", "host": f"{_PACKAGE}.pearson:HeteroPearson"},
    param_class=f"{_PACKAGE}.param:PearsonParam",
    need_deploy=False,
    required_roles=frozenset({"guest", "host"}),
)
