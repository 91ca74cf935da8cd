"""Registration of Reader (FATE's setting_conf/Reader.json): guest and host, never deployed."""
from fate_flow.components.component_spec import ComponentSpec

SPEC = ComponentSpec(
    module="Reader",
    programs={"guest": "fate_flow.components.reader.reader:Reader",
              "host": "fate_flow.components.reader.reader:Reader"},
    param_class="fate_flow.components.reader.param:ReaderParam",
    need_deploy=False,
)
