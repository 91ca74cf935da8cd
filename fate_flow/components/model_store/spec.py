"""Registration of ModelStore and ModelRestore (local jobs of /v1/model/store and /v1/model/restore)."""
from fate_flow.components.registry import ComponentSpec, register

register(ComponentSpec(
    module="ModelStore",
    programs={"local": "fate_flow.components.model_store.programs:ModelStore"},
    param_class="fate_flow.components.model_store.param:ModelStoreParam",
    need_deploy=False,
))

register(ComponentSpec(
    module="ModelRestore",
    programs={"local": "fate_flow.components.model_store.programs:ModelRestore"},
    param_class="fate_flow.components.model_store.param:ModelRestoreParam",
    need_deploy=False,
))
