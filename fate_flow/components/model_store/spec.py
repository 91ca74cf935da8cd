"""Registration of ModelStore and ModelRestore (local jobs of /v1/model/store and /v1/model/restore)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.model_store"

STORE = ComponentSpec(
    module="ModelStore",
    programs={"local": f"{_PACKAGE}.programs:ModelStore"},
    param_class=f"{_PACKAGE}.param:ModelStoreParam",
    need_deploy=False,
)

RESTORE = ComponentSpec(
    module="ModelRestore",
    programs={"local": f"{_PACKAGE}.programs:ModelRestore"},
    param_class=f"{_PACKAGE}.param:ModelRestoreParam",
    need_deploy=False,
)

SPECS = [STORE, RESTORE]
