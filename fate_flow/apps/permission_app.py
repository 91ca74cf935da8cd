"""/v1/permission: privileges other parties hold on this one (enforced when security.use_permission is on)."""
from __future__ import annotations

from flask import Blueprint

from fate_flow.apps._openapi import OBJECT, PRIVILEGES, api
from fate_flow.apps._request import json_body
from fate_flow.apps._response import ok
from fate_flow.services import permission

bp = Blueprint("permission", __name__, url_prefix="/v1/permission")


@bp.route("/grant/privilege", methods=["POST"])
@api("src_party_id", "src_role", optional=PRIVILEGES)
def grant_privilege():
    """Grant another party privileges on this one."""
    body = json_body()
    permission.grant_privileges(body.get("src_party_id"), body.get("src_role"), body)
    return ok()


@bp.route("/delete/privilege", methods=["POST"])
@api("src_party_id", "src_role", optional=PRIVILEGES)
def delete_privilege():
    """Take privileges back from another party."""
    body = json_body()
    permission.delete_privileges(body.get("src_party_id"), body.get("src_role"), body)
    return ok()


@bp.route("/query/privilege", methods=["POST"])
@api("src_party_id", "src_role", data=OBJECT)
def query_privilege():
    """The privileges a party holds here."""
    body = json_body()
    return ok(permission.query_privileges(body.get("src_party_id"), body.get("src_role")))


def _party(body: dict) -> tuple:
    """FATE 1.9+'s permission requests name the party as party_id (and role); 1.4's as src_*."""
    return body.get("src_party_id", body.get("party_id")), body.get("src_role", body.get("role"))


@bp.route("/grant", methods=["POST"])
@api("party_id", "role", optional=PRIVILEGES)
def grant():
    """FATE 1.9+'s grant: the same privileges as /grant/privilege."""
    body = json_body()
    permission.grant_privileges(*_party(body), body)
    return ok()


@bp.route("/delete", methods=["POST"])
@api("party_id", "role", optional=PRIVILEGES)
def delete():
    """FATE 1.9+'s delete: the same privileges as /delete/privilege."""
    body = json_body()
    permission.delete_privileges(*_party(body), body)
    return ok()


@bp.route("/query", methods=["POST"])
@api("party_id", "role", data=OBJECT)
def query():
    """FATE 1.9+'s query: the same privileges as /query/privilege."""
    return ok(permission.query_privileges(*_party(json_body())))
