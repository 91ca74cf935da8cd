"""The built-in component table (FATE's setting_conf for the modules we ship).

Each component package's ``spec.py`` holds its ComponentSpec; importing them loads no
implementation (those are named by dotted path and imported when a task runs).
"""
from fate_flow.components.component_spec import ComponentSpec
from fate_flow.components.dataio import spec as dataio
from fate_flow.components.evaluation import spec as evaluation
from fate_flow.components.feature import spec as feature
from fate_flow.components.federated_sample import spec as federated_sample
from fate_flow.components.hetero_fm import spec as hetero_fm
from fate_flow.components.hetero_binning import spec as hetero_binning
from fate_flow.components.hetero_gmf import spec as hetero_gmf
from fate_flow.components.hetero_linr import spec as hetero_linr
from fate_flow.components.hetero_lr import spec as hetero_lr
from fate_flow.components.hetero_mf import spec as hetero_mf
from fate_flow.components.hetero_pearson import spec as hetero_pearson
from fate_flow.components.hetero_poisson import spec as hetero_poisson
from fate_flow.components.hetero_secureboost import spec as hetero_secureboost
from fate_flow.components.hetero_selection import spec as hetero_selection
from fate_flow.components.hetero_svd import spec as hetero_svd
from fate_flow.components.hetero_svdpp import spec as hetero_svdpp
from fate_flow.components.homo_fm import spec as homo_fm
from fate_flow.components.homo_lr import spec as homo_lr
from fate_flow.components.homo_secureboost import spec as homo_secureboost
from fate_flow.components.intersection import spec as intersection
from fate_flow.components.local_baseline import spec as local_baseline
from fate_flow.components.model_store import spec as model_store
from fate_flow.components.nn import spec as nn
from fate_flow.components.reader import spec as reader
from fate_flow.components.rsa import spec as rsa
from fate_flow.components.union import spec as union

SECURE_ADD = ComponentSpec(
    module="SecureAddExample",
    programs={
        "guest": "fate_flow.components.toy_example.secure_add_guest:SecureAddGuest",
        "host": "fate_flow.components.toy_example.secure_add_host:SecureAddHost",
    },
    param_class="fate_flow.components.toy_example.param:SecureAddExampleParam",
    default_conf={"seed": 123, "partition": 1, "data_num": 10000},
    required_roles=frozenset({"guest", "host"}),
)

UPLOAD = ComponentSpec(
    module="Upload",
    programs={"local": "fate_flow.components.data_access.upload:Upload"},
    param_class="fate_flow.components.data_access.param:UploadParam",
    need_deploy=False,
)

DOWNLOAD = ComponentSpec(
    module="Download",
    programs={"local": "fate_flow.components.data_access.download:Download"},
    param_class="fate_flow.components.data_access.param:DownloadParam",
    need_deploy=False,
)

BUILTIN_SPECS = [
    SECURE_ADD, UPLOAD, DOWNLOAD, dataio.SPEC, evaluation.SPEC, *feature.SPECS, intersection.SPEC, hetero_lr.SPEC,
    homo_lr.SPEC, hetero_binning.SPEC, hetero_selection.SPEC, *model_store.SPECS, hetero_secureboost.SPEC,
    homo_secureboost.SPEC, reader.SPEC, *nn.SPECS, hetero_linr.SPEC, hetero_poisson.SPEC,
    # wave 2: FATE 1.4's small modules
    federated_sample.SPEC, union.SPEC, hetero_pearson.SPEC, local_baseline.SPEC, rsa.SPEC,
    # FATE 1.4.1's FederatedRec
    hetero_fm.SPEC, homo_fm.SPEC, hetero_mf.SPEC, hetero_svd.SPEC, hetero_svdpp.SPEC,
    hetero_gmf.SPEC,
]
