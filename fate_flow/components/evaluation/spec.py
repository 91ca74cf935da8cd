"""Registration of Evaluation (guest and host; not part of the predict pipeline)."""
from fate_flow.components.component_spec import ComponentSpec

SPEC = ComponentSpec(
    module="Evaluation",
    programs={"guest": "fate_flow.components.evaluation.evaluation:Evaluation",
              "host": "fate_flow.components.evaluation.evaluation:Evaluation"},
    param_class="fate_flow.components.evaluation.param:EvaluateParam",
    need_deploy=False,
)
