"""Request parsing shared by the blueprints: JSON bodies (also on GET), required fields, uploads,
and the check every request passes before its route runs."""
from __future__ import annotations

import os
from typing import Any, Sequence

from flask import Request, current_app, request

from fate_flow.errors import ArgumentError, NestingTooDeep, RequiredArgumentsError
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


def as_text(fields: Sequence[str], values: Sequence[Any]) -> list[str]:
    """``values`` as strings (a party id may come as a number); ArgumentError naming a field given a list or object."""
    for field, value in zip(fields, values):
        validate.check_scalar_id(field, value)
    return [str(v) for v in values]


def column_filters(model, body: dict) -> dict:
    """Keys of ``body`` that name a column of ``model`` without the ``f_`` prefix.

    A column given a list or an object is refused by name: equality with it means nothing.
    """
    columns = model._meta.fields
    filters = {k: v for k, v in body.items() if f"f_{k}" in columns}
    as_text(list(filters), list(filters.values()))
    return filters


class FlowRequest(Request):
    """The request of every route: JSON bodies parsed with a nesting limit, uploads streamed to disk.

    The upload routes set ``environ["fate_flow.upload_dir"]`` before reading the form, so
    a big file is written once, where the task reads it, and never held in memory. The
    client's file name is reduced to a safe base name there, never followed as a path.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """As Flask's, but a body nested deeper than ``validate.MAX_JSON_DEPTH`` is refused (100)."""
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:  # deeper than the parser itself goes
            raise NestingTooDeep("request body", validate.MAX_JSON_DEPTH) from None
        if value is not getattr(self, "_depth_checked", None):  # routes ask for the cached body again
            validate.check_depth(value, "request body")
            self._depth_checked = value
        return value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        target = self.environ.get("fate_flow.upload_dir")
        if not target:
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        os.makedirs(target, exist_ok=True)
        name = validate.safe_file_name(filename, "upload.csv")
        return open(os.path.join(target, name), "w+b")
