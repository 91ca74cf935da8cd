"""Request parsing shared by the blueprints: JSON bodies (also on GET), required fields, and
the check every request passes before its route runs."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from fate_flow.errors import ArgumentError, RequiredArgumentsError
from fate_flow.utils import validate


def raw_body(view):
    """Mark a route that reads its body itself (a multipart upload, a binary chunk) unless it is declared JSON."""
    view.reads_raw_body = True
    return view


def json_body() -> dict:
    """The JSON object of the request; {} when there is none. GET bodies are read too."""
    data = request.get_json(silent=True, force=True)
    if data is None:
        raw = request.get_data(cache=True).strip()
        if raw == b"null":
            raise ArgumentError("request body", "must be a JSON object")
        if raw:
            raise ArgumentError("request body", "is not valid JSON")
        return {}
    if not isinstance(data, dict):
        raise ArgumentError("request body", "must be a JSON object")
    return data


def check_request() -> None:
    """Flask before_request: refuse bad path variables, query fields and JSON bodies for every route.

    Ids and names are checked here once (``utils.validate.FIELD_RULES``), so a route only
    decides which fields it requires. A body must be a JSON object (whatever its declared
    type: FATE's client sends some without one), except on a route marked ``raw_body``,
    which reads any body not declared JSON itself.
    """
    if request.routing_exception is not None:
        return
    validate.check_fields(request.view_args or {}, every_key=True)
    validate.check_fields(request.args)
    view = current_app.view_functions.get(request.endpoint)
    if request.is_json or not getattr(view, "reads_raw_body", False):
        validate.check_fields(json_body())


def require(body: dict, *fields: str) -> list[Any]:
    """Values of ``fields``; FATE's "the following arguments are required" if any is missing.

    A required id (a field of ``validate.FIELD_RULES``) given as a list or an object is
    refused naming it (ArgumentError).
    """
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise RequiredArgumentsError(missing)
    return [validate.check_scalar_id(f, body[f]) if f in validate.FIELD_RULES else body[f] for f in fields]


def column_filters(model, body: dict) -> dict:
    """Keys of ``body`` that name a column of ``model`` without the ``f_`` prefix."""
    columns = model._meta.fields
    return {k: v for k, v in body.items() if f"f_{k}" in columns and not isinstance(v, (dict, list))}
