"""/v1/party: the connection test of the route table, and the signed ping it sends other parties."""
from __future__ import annotations

from flask import Blueprint, g

from fate_flow.apps._openapi import OBJECT, ROWS, api
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.services import connection

bp = Blueprint("party", __name__, url_prefix="/v1/party")


@bp.route("/connection/test", methods=["POST"])
@api(optional=("party_id",), data=ROWS)
def connection_test():
    """Check every route (or ``party_id``: one id or a list); one entry per party, which hop fails."""
    party_ids = json_body().get("party_id")
    if party_ids not in (None, "") and not isinstance(party_ids, list):
        party_ids = [party_ids]
    svc = services()
    return ok(connection.test_routes(svc.settings, svc.api, party_ids), keep_data=True)


@bp.route("/ping", methods=["POST"])
@api(optional=("src_party_id", "ping_back"), data=OBJECT)
def ping():
    """Answer a (signed) ping; ``ping_back`` pings the caller in turn through our route table."""
    body = json_body()
    caller = g.get("fate_party") or (str(body["src_party_id"]) if body.get("src_party_id") else None)
    svc = services()
    return ok(connection.answer_ping(svc.settings, svc.api, caller, bool(body.get("ping_back"))))
