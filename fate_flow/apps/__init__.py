"""HTTP routes, one blueprint per /v1 group. Routes parse, make one call below, answer."""
from fate_flow.apps._security import is_party_route
from fate_flow.apps.data_access_app import bp as data_access_bp
from fate_flow.apps.federation_app import bp as federation_bp
from fate_flow.apps.info_app import checkpoint_bp, component_bp, info_bp
from fate_flow.apps.job_app import bp as job_bp
from fate_flow.apps.model_app import bp as model_bp
from fate_flow.apps.model_serving_app import bp as model_serving_bp
from fate_flow.apps.ops_app import bp as ops_bp
from fate_flow.apps.party_app import bp as party_bp
from fate_flow.apps.permission_app import bp as permission_bp
from fate_flow.apps.pipeline_app import bp as pipeline_bp
from fate_flow.apps.schedule_app import bp as schedule_bp
from fate_flow.apps.table_app import bp as table_bp
from fate_flow.apps.tracking_app import TASK_REPORT_PATH
from fate_flow.apps.tracking_app import bp as tracking_bp
from fate_flow.apps.version_app import bp as version_bp

BLUEPRINTS = [job_bp, schedule_bp, pipeline_bp, tracking_bp, version_bp, data_access_bp, table_bp,
              party_bp, permission_bp, model_bp, model_serving_bp, federation_bp, info_bp, component_bp, checkpoint_bp,
              ops_bp]


def is_internal_call(path: str) -> bool:
    """True for the routes other parties' servers and this party's tasks call (schedule, reports,
    federation), as opposed to those users and their clients call."""
    return is_party_route(path) or TASK_REPORT_PATH.fullmatch(path) is not None
