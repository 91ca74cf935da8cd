"""The built-in component table (FATE's setting_conf for the modules we ship)."""
from fate_flow.components.registry import ComponentSpec, register

register(ComponentSpec(
    module="SecureAddExample",
    programs={
        "guest": "fate_flow.components.toy_example.secure_add_guest:SecureAddGuest",
        "host": "fate_flow.components.toy_example.secure_add_host:SecureAddHost",
    },
    param_class="fate_flow.components.toy_example.param:SecureAddExampleParam",
    default_conf={"seed": 123, "partition": 1, "data_num": 10000},
))

register(ComponentSpec(
    module="Upload",
    programs={"local": "fate_flow.components.data_access.upload:Upload"},
    param_class="fate_flow.components.data_access.param:UploadParam",
    need_deploy=False,
))

register(ComponentSpec(
    module="Download",
    programs={"local": "fate_flow.components.data_access.download:Download"},
    param_class="fate_flow.components.data_access.param:DownloadParam",
    need_deploy=False,
))

# Components that register themselves (each package's spec.py holds its ComponentSpec).
from fate_flow.components.dataio import spec as _dataio  # noqa: E402,F401
from fate_flow.components.evaluation import spec as _evaluation  # noqa: E402,F401
from fate_flow.components.feature import spec as _feature  # noqa: E402,F401
from fate_flow.components.intersection import spec as _intersection  # noqa: E402,F401
from fate_flow.components.hetero_lr import spec as _hetero_lr  # noqa: E402,F401
from fate_flow.components.homo_lr import spec as _homo_lr  # noqa: E402,F401
from fate_flow.components.hetero_binning import spec as _hetero_binning  # noqa: E402,F401
from fate_flow.components.hetero_selection import spec as _hetero_selection  # noqa: E402,F401
from fate_flow.components.model_store import spec as _model_store  # noqa: E402,F401
