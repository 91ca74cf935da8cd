"""Registration of FeatureScale and OneHotEncoder (guest and host, local)."""
from fate_flow.components.component_spec import ComponentSpec

_PACKAGE = "fate_flow.components.feature"

SCALE = ComponentSpec(
    module="FeatureScale",
    programs={"guest": f"{_PACKAGE}.scale:FeatureScale", "host": f"{_PACKAGE}.scale:FeatureScale"},
    param_class=f"{_PACKAGE}.param:ScaleParam",
    serving=f"{_PACKAGE}.online:scale_online",
)

ONE_HOT = ComponentSpec(
    module="OneHotEncoder",
    programs={"guest": f"{_PACKAGE}.one_hot:OneHotEncoder", "host": f"{_PACKAGE}.one_hot:OneHotEncoder"},
    param_class=f"{_PACKAGE}.param:OneHotEncoderParam",
    serving=f"{_PACKAGE}.online:one_hot_online",
)

SPECS = [SCALE, ONE_HOT]
