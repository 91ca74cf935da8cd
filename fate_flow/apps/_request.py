"""Request parsing shared by the blueprints: JSON bodies (also on GET), required fields, uploads."""
from __future__ import annotations

import os
from typing import Any, Sequence

from flask import Request, request

from fate_flow.errors import ArgumentError, RequiredArgumentsError


def json_body() -> dict:
    """The JSON object of the request; {} when there is none. GET bodies are read too."""
    data = request.get_json(silent=True, force=True)
    if data is None:
        if request.get_data(cache=True).strip():
            raise ArgumentError("request body", "is not valid JSON")
        return {}
    if not isinstance(data, dict):
        raise ArgumentError("request body", "must be a JSON object")
    return data


def require(body: dict, *fields: str) -> list[Any]:
    """Values of ``fields``; FATE's "the following arguments are required" if any is missing."""
    missing = [f for f in fields if body.get(f) in (None, "")]
    if missing:
        raise RequiredArgumentsError(missing)
    return [body[f] for f in fields]


def as_text(fields: Sequence[str], values: Sequence[Any]) -> list[str]:
    """``values`` as strings (a party id may come as a number); ArgumentError naming a field given a list or object."""
    for field, value in zip(fields, values):
        if isinstance(value, (list, dict)):
            raise ArgumentError(field, f"must be a string, not {type(value).__name__}")
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
    """Streams a multipart upload straight into the job's directory when a route asks for it.

    The upload route sets ``environ["fate_flow.upload_dir"]`` before reading the form, so
    a big file is written once, where the upload task reads it, and never held in memory.
    """

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        target = self.environ.get("fate_flow.upload_dir")
        if not target:
            return super()._get_file_stream(total_content_length, content_type, filename, content_length)
        os.makedirs(target, exist_ok=True)
        name = os.path.basename(filename or "") or "upload.csv"
        if name in (".", ".."):
            name = "upload.csv"
        return open(os.path.join(target, name), "w+b")
