"""/v1/federation: the mailbox of the http federation backend (see fate_flow/federation/http.py).

Other parties' tasks put messages here for this party's tasks, which take and acknowledge
them. When calls are signed, a put must come from the message's source party and a take or
an ack from its destination party.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, g, request

from fate_flow.apps._openapi import OBJECT, api
from fate_flow.apps._request import json_body, raw_body, require
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.db import close_db
from fate_flow.errors import ArgumentError, PermissionDenied
from fate_flow.federation.base import MessageKey
from fate_flow.federation.http import KEY_FIELDS, MAX_CHUNK_SIZE, MESSAGE_ID_HEADER, unpack_chunk
from fate_flow.party.mailbox import Mailbox

bp = Blueprint("federation", __name__, url_prefix="/v1/federation")
# msgpack framing around a chunk: the key, the message id and two integers
_HEADER_ALLOWANCE = 64 << 10


@bp.route("/<session_id>/message/put", methods=["POST"])
@raw_body
@api(body={"type": "string", "format": "binary"}, data=OBJECT)
def put_message(session_id: str):
    """Store one chunk of a message another party's task sends to a task of ours."""
    size = request.content_length
    if size is None or size > MAX_CHUNK_SIZE + _HEADER_ALLOWANCE:
        raise ArgumentError("request body", f"must have a Content-Length of at most {MAX_CHUNK_SIZE} bytes")
    try:
        chunk = unpack_chunk(request.get_data(cache=False))
    except ValueError as exc:
        raise ArgumentError("request body", str(exc)) from None
    key = MessageKey(session_id, *chunk.fields)
    _check_caller(key.src_party)
    complete = _mailbox().put_chunk(key, chunk.message_id, chunk.index, chunk.count, chunk.data)
    return ok({"complete": complete}, keep_data=True)


@bp.route("/<session_id>/message/take", methods=["POST"])
@api("name", "tag", "src_role", "src_party", "dst_role", "dst_party", optional=("wait",), data=OBJECT)
def take_message(session_id: str):
    """Long-poll for a message to one of our tasks; answers its bytes when complete."""
    body = json_body()
    key = _message_key(session_id, body)
    _check_caller(key.dst_party)
    wait = _wait_seconds(body)
    close_db()  # a long poll must not hold one of the pool's database connections
    message = _mailbox().wait_message(key, wait)
    if message is None:
        return ok({"arrived": False}, retmsg="not arrived")
    headers = {"Content-Length": str(message.size), MESSAGE_ID_HEADER: message.message_id}
    return Response(message.blocks(), mimetype="application/octet-stream", headers=headers)


@bp.route("/<session_id>/message/ack", methods=["POST"])
@api("name", "tag", "src_role", "src_party", "dst_role", "dst_party", "message_id")
def ack_message(session_id: str):
    """Acknowledge a taken message, which removes it."""
    body = json_body()
    key = _message_key(session_id, body)
    _check_caller(key.dst_party)
    _mailbox().acknowledge(key, str(require(body, "message_id")[0]))
    return ok()


def _mailbox() -> Mailbox:
    """This server's one mailbox (one wake-up condition for every long poll)."""
    return services().mailbox


def _message_key(session_id: str, body: Mapping[str, Any]) -> MessageKey:
    for field in KEY_FIELDS:
        value = body.get(field)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise ArgumentError(field, "must be a non-empty string")
    return MessageKey(session_id, *(str(body[field]) for field in KEY_FIELDS))


def _wait_seconds(body: Mapping[str, Any]) -> float:
    wait = body.get("wait", 0)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < float("inf"):
        raise ArgumentError("wait", "must be a number of seconds, 0 or more")
    return float(wait)


def _check_caller(party_id: str) -> None:
    """With signed calls, the verified caller must be the party the message names."""
    caller = g.get("fate_party")
    if caller is not None and caller != party_id:
        raise PermissionDenied(f"party {caller} can not act for party {party_id} on this message")
