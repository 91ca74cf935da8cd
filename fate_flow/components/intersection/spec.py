"""Registration of Intersection (FATE's setting_conf/Intersection.json): guest and host, no arbiter."""
from fate_flow.components.component_spec import PASS_THROUGH, ComponentSpec

_PACKAGE = "fate_flow.components.intersection"

SPEC = ComponentSpec(
    module="Intersection",
    programs={
        "guest": f"{_PACKAGE}.intersect_model:IntersectGuest",
        "host": f"{_PACKAGE}.intersect_model:IntersectHost",
    },
    param_class=f"{_PACKAGE}.param:IntersectParam",
    # FATE's default_runtime_conf/intersect_param.json: the effective method is RSA.
    default_conf={
        "intersect_method": "rsa",
        "random_bit": 128,
        "sync_intersect_ids": True,
        "join_role": "guest",
        "with_encode": False,
        "only_output_key": False,
        "encode_params": {"encode_method": "none", "salt": "", "base64": False},
    },
    required_roles=frozenset({"guest", "host"}),
    serving=PASS_THROUGH,  # an online request names its ids itself
    retired_params={"rsa_params": None},  # FATE 1.6's RSA tuning (key length, hashes): RSA runs with its own
)
