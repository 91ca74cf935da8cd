"""Registration of DataIO (FATE's setting_conf/DataIO.json) for guest and host."""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.dataio.param import DEFAULT_CONF

SPEC = ComponentSpec(
    module="DataIO",
    programs={"guest": "fate_flow.components.dataio.data_io:DataIO",
              "host": "fate_flow.components.dataio.data_io:DataIO"},
    param_class="fate_flow.components.dataio.param:DataIOParam",
    need_deploy=True,
    default_conf=DEFAULT_CONF,
    serving="fate_flow.components.dataio.online:load_online",
)
