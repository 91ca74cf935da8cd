"""Registration of Rsa (guest or host, local)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.rsa"

SPEC = ComponentSpec(
    module="Rsa",
    programs={"guest": f"{_PACKAGE}.rsa:RsaModel", "host": f"{_PACKAGE}.rsa:RsaModel"},
    param_class=f"{_PACKAGE}.param:RsaParam",
)
