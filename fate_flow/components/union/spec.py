"""Registration of Union (guest and host, local: no messages between parties)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.union"

SPEC = ComponentSpec(
    module="Union",
    programs={"guest": f"{_PACKAGE}.union:Union", "host": f"{_PACKAGE}.union:Union"},
    param_class=f"{_PACKAGE}.param:UnionParam",
    need_deploy=False,
)
