"""The OpenAPI 3 document of the server, built from the app's url_map and the ``@api`` declaration next to
each route, so the document can not drift from what is served (a test holds every rule to it).

A route declares the JSON fields it reads (``@api("job_id", optional=("role",))``: their schemas come
from ``FIELDS``, which mirrors ``utils.validate.FIELD_RULES``, the check every request passes), or a
whole body schema, and what its answer's ``data`` holds. Every JSON answer is FATE's envelope
``{retcode, retmsg, data, jobId, meta}``; answers that are files, pages or other formats say so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from flask import Flask

from fate_flow import FATE_VERSION
from fate_flow.utils.validate import JOB_ID_MAX, MAX_ID_LENGTH, MAX_LIMIT

OPENAPI_VERSION = "3.0.3"
JSON = "application/json"

_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": r"^[^/\\]+$"}
_TEXT = {"type": "string", "maxLength": MAX_ID_LENGTH}
PARTY_ID = {"anyOf": [{"type": "string", "pattern": "^[0-9]{1,18}$"}, {"type": "integer", "minimum": 0}]}
OBJECT = {"type": "object"}
ROWS = {"type": "array", "items": OBJECT}

# the schema of each field a request may name at its top level (see utils.validate.FIELD_RULES)
FIELDS: dict[str, dict] = {
    "job_id": {"type": "string", "pattern": f"^[A-Za-z0-9_-]{{1,{JOB_ID_MAX}}}$"},
    "component_name": _NAME, "task_id": _NAME, "namespace": _NAME, "table_name": _NAME, "name": _NAME,
    "model_id": _NAME, "model_version": _NAME, "src_role": _NAME, "session_id": _NAME, "party_model_id": _NAME,
    "role": _NAME, "party_id": PARTY_ID, "src_party_id": PARTY_ID,
    "service_id": {"anyOf": [_TEXT, {"type": "integer"}]},
    "metric_namespace": _TEXT, "metric_name": _TEXT, "operation": _TEXT, "module": _TEXT, "what": _TEXT,
    "filename": _TEXT, "file": _TEXT,
    "limit": {"type": "integer", "minimum": -1, "maximum": MAX_LIMIT},
    "timeout": {"anyOf": [{"type": "boolean"}, {"type": "number", "minimum": 0}]},
    "work_mode": {"type": "integer", "enum": [0, 1]},
    "notes": {"type": "string"}, "operate": {"type": "string", "enum": ["stop", "kill", "cancel"]},
    "reason": {"type": "string"}, "force": {"type": "boolean"}, "page": {"type": "integer", "minimum": 1},
    "page_size": {"type": "integer", "minimum": 1, "maximum": 1000}, "status": _TEXT,
    "job_dsl": OBJECT, "job_runtime_conf": OBJECT, "dsl": OBJECT, "runtime_conf": OBJECT,
    "output_path": _TEXT, "delimitor": {"type": "string", "maxLength": 8},
    "head": {"type": "integer", "enum": [0, 1]}, "partition": {"type": "integer", "minimum": 1, "maximum": 1024},
    "force_update": {"type": "boolean"}, "store_address": OBJECT, "cpn_list": {"type": "array", "items": _NAME},
    "offset": {"type": "integer", "minimum": -1},
    "job_parameters": OBJECT, "component_parameters": OBJECT, "train_dsl": OBJECT, "predict_dsl": OBJECT,
    "job_train_runtime_conf": OBJECT, "cpn_str": {"type": "string"}, "components": {"type": "array", "items": _NAME},
    "description": {"type": "string"}, "order_by": {"type": "string"}, "order": {"type": "string", "enum": ["asc", "desc"]},
    "metrics": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}, "metric_meta": OBJECT,
    "meta": OBJECT, "upload_count": {"type": "integer", "minimum": -1}, "model": {"type": "string"},
    "message_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}, "wait": {"type": "number", "minimum": 0, "maximum": 1},
    "src_party": PARTY_ID, "dst_role": _NAME, "dst_party": PARTY_ID, "tag": _TEXT,
    "ping_back": {"type": "boolean"}, "engine": {"type": "string"}, "use_local_data": {"type": "integer", "enum": [0, 1]},
    "drop": {"type": "integer", "enum": [0, 1]}, "servings": {"type": "array", "items": {"type": "string"}},
    "transfer_address": {"type": "string"}, "featureIdList": {"type": "array", "items": OBJECT},
    "privilege_role": {"type": "string"}, "privilege_command": {"type": "string"},
    "privilege_component": {"type": "string"},
    "tag_name": _TEXT, "tag_desc": {"type": "string"}, "new_tag_name": _TEXT, "new_tag_desc": {"type": "string"},
    "with_model": {"anyOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}]},
    "remove": {"anyOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}]},
    # the party calls of deploy and migrate: the new version, and the party asked to act
    "child_model_version": _NAME, "local": OBJECT,
    "step_index": {"type": "integer", "minimum": 0}, "step_name": _TEXT,
}

# FATE 1.5's /v1/model/migrate body: the model, who it belongs to now and who it will belong to
MIGRATE_BODY = {"type": "object", "required": ["model_id", "model_version", "migrate_role", "execute_party"],
                "properties": {"model_id": FIELDS["model_id"], "model_version": FIELDS["model_version"],
                               "job_parameters": OBJECT, "role": OBJECT, "migrate_role": OBJECT,
                               "execute_party": OBJECT, "migrate_initiator": OBJECT,
                               "unify_model_version": {"type": "string"}}}

# the field groups many routes share
COMPONENT = ("job_id", "component_name", "role", "party_id")
MODEL = ("role", "party_id", "model_id", "model_version")
LIST_FIELDS = ("limit", "page", "page_size", "job_id", "role", "party_id", "status", "description", "order_by",
               "order")
PRIVILEGES = ("privilege_role", "privilege_command", "privilege_component")
# FATE-Serving's inference request: {head: {serviceId}, body: {featureData, sendToRemoteFeatureData}}
# (batch: body.batchDataList of such rows, each with an index)
_ROW = {"type": "object", "properties": {"featureData": OBJECT, "sendToRemoteFeatureData": OBJECT,
                                         "index": {"type": "integer"}}}
INFERENCE = {"type": "object", "properties": {
    "head": {"type": "object", "properties": {"serviceId": FIELDS["service_id"]}},
    "body": {"type": "object", "properties": {**_ROW["properties"], "batchDataList": {"type": "array",
                                                                                    "items": _ROW}}}}}
SERVING_ANSWER = {"type": "object", "required": ["retcode"], "properties": {
    "retcode": {"type": "integer"}, "retmsg": {"type": "string"}, "data": {}, "flag": {"type": "integer"},
    "batchDataList": {"type": "array"}}}


@dataclass(frozen=True)
class RouteDoc:
    """What one route reads and answers, as its ``@api`` declared it."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    body: dict | None = None  # a whole request body schema, instead of fields
    data: dict = field(default_factory=dict)  # the schema of the envelope's ``data``
    answer: str = "envelope"  # envelope | file | html | redirect | text | json (not an envelope)
    answer_schema: dict | None = None  # the body of a ``json`` answer
    form: bool = False  # a multipart upload (the body is a file part, fields in the form or query)


def api(*required: str, optional: Iterable[str] = (), body: dict | None = None, data: dict | None = None,
        answer: str = "envelope", answer_schema: dict | None = None, form: bool = False) -> Callable:
    """Declare a route's request fields (required, then ``optional``) or ``body`` and its answer's ``data``.

    Stacks with ``@bp.route`` in either order: it only marks the view function.
    """
    for name in (*required, *optional):
        if name not in FIELDS:
            raise KeyError(f"field {name!r} has no schema in apps._openapi.FIELDS")
    doc = RouteDoc(tuple(required), tuple(optional), body, data or {}, answer, answer_schema, form)

    def mark(view: Callable) -> Callable:
        view.api_doc = doc
        return view
    return mark


def envelope_schema(data: dict | None = None) -> dict:
    """FATE's answer: retcode (0 = success), retmsg, data; jobId and meta on some routes."""
    return {"type": "object", "required": ["retcode"], "properties": {
        "retcode": {"type": "integer"}, "retmsg": {"type": "string"}, "data": data or {},
        "jobId": {"type": "string"}, "meta": {}}}


def build_document(app: Flask) -> dict:
    """The OpenAPI 3 document of every rule of ``app`` (HEAD and OPTIONS left out)."""
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "api_doc", None) or _static_doc(rule.endpoint)
        item = paths.setdefault(openapi_path(rule.rule), {})
        parameters = [_path_parameter(name) for name in _path_names(rule.rule)]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation(rule, method, view, doc, parameters)
    return {"openapi": OPENAPI_VERSION,
            "info": {"title": "FATE-Flow", "version": FATE_VERSION,
                     "description": "FATE-Flow 1.4's HTTP API (and the 1.5-1.9 routes this server also answers). "
                                    "JSON answers are HTTP 200 with a retcode: 0 is success."},
            "paths": paths,
            "components": {"schemas": {"Envelope": envelope_schema()}}}


def openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path: ``/v1/x/<path:what>`` -> ``/v1/x/{what}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _path_names(rule: str) -> list[str]:
    return re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)


def _path_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": FIELDS.get(name, _NAME)}


def _static_doc(endpoint: str) -> RouteDoc | None:
    """Flask's own static routes have no declaration: they answer files."""
    return RouteDoc(answer="file") if endpoint == "static" or endpoint.endswith(".static") else None


def _operation(rule, method: str, view: Callable, doc: RouteDoc | None, parameters: list[dict]) -> dict:
    summary = (view.__doc__ or "").strip().split("\n")[0]
    operation = {"operationId": f"{method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', rule.rule)}".rstrip("_"),
                 "tags": [rule.endpoint.split(".")[0]], "summary": summary, "parameters": parameters}
    if doc is None:  # tests/test_openapi.py refuses this; the document stays whole meanwhile
        operation["responses"] = {"200": {"description": "undeclared", "content": {JSON: {"schema": {}}}}}
        return operation
    if method != "GET":
        operation["requestBody"] = _request_body(doc)
    operation["responses"] = _responses(doc)
    if doc.answer == "envelope" and getattr(view, "errors_as_http_status", False):  # FATE 1.7's checkpoint routes
        envelope = {"content": {JSON: {"schema": envelope_schema()}}}
        operation["responses"].update({"400": {"description": "a refused request", **envelope},
                                       "404": {"description": "nothing found", **envelope}})
    return operation


def _request_body(doc: RouteDoc) -> dict:
    if doc.form:
        schema = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        return {"required": False, "content": {"multipart/form-data": {"schema": schema}}}
    if doc.body is not None:
        schema = doc.body
    else:
        schema = {"type": "object", "properties": {n: FIELDS[n] for n in (*doc.required, *doc.optional)}}
        if doc.required:
            schema["required"] = list(doc.required)
    return {"required": bool(doc.required) or doc.body is not None, "content": {JSON: {"schema": schema}}}


def _responses(doc: RouteDoc) -> dict:
    envelope = {"content": {JSON: {"schema": envelope_schema(doc.data)}}}
    if doc.answer == "envelope":
        return {"200": {"description": "FATE's answer; retcode 0 is success", **envelope}}
    if doc.answer == "json":
        return {"200": {"description": "the answer", "content": {JSON: {"schema": doc.answer_schema or OBJECT}}}}
    if doc.answer == "file":
        return {"200": {"description": "the file", "content": {"application/octet-stream": {"schema": {
                    "type": "string", "format": "binary"}}}},
                "400": {"description": "a refused request", **envelope},
                "404": {"description": "nothing found", **envelope}}
    if doc.answer == "html":
        return {"200": {"description": "a page", "content": {"text/html": {"schema": {"type": "string"}}}},
                "401": {"description": "a wrong login", "content": {"text/html": {"schema": {"type": "string"}}}},
                "302": {"description": "to the login page"}}
    if doc.answer == "text":
        return {"200": {"description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    return {"302": {"description": "a redirect"}}
