"""Registration of FederatedSample (guest and host; the guest's draw is followed by the hosts in hetero)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.federated_sample"

SPEC = ComponentSpec(
    module="FederatedSample",
    programs={"guest": f"{_PACKAGE}.sampler:FederatedSample", "host": f"{_PACKAGE}.sampler:FederatedSample"},
    param_class=f"{_PACKAGE}.param:SampleParam",
    need_deploy=False,
    default_conf={"fractions": 0.9},
)
