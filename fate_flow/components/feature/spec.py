"""Registration of FeatureScale and OneHotEncoder (guest and host, local)."""
from fate_flow.components.registry import ComponentSpec, register

register(ComponentSpec(
    module="FeatureScale",
    programs={"guest": "fate_flow.components.feature.scale:FeatureScale",
              "host": "fate_flow.components.feature.scale:FeatureScale"},
    param_class="fate_flow.components.feature.param:ScaleParam",
))

register(ComponentSpec(
    module="OneHotEncoder",
    programs={"guest": "fate_flow.components.feature.one_hot:OneHotEncoder",
              "host": "fate_flow.components.feature.one_hot:OneHotEncoder"},
    param_class="fate_flow.components.feature.param:OneHotEncoderParam",
))
