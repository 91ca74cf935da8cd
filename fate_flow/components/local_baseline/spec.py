"""Registration of LocalBaseline (guest and host, each on its own data; no messages between parties)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.local_baseline"

SPEC = ComponentSpec(
    module="LocalBaseline",
    programs={"guest": f"{_PACKAGE}.local_baseline:LocalBaseline",
              "host": f"{_PACKAGE}.local_baseline:LocalBaseline"},
    param_class=f"{_PACKAGE}.param:LocalBaselineParam",
)
