"""Encoding of ids for raw intersection: a salted hash, in hex or base64 (FATE's Encode)."""
from __future__ import annotations

import base64
import hashlib

from fate_flow.components.intersection.param import EncodeParam


def encode_ids(ids: list[str], params: EncodeParam) -> list[str]:
    """Return ``method(id + salt)`` of every id, hex digest or base64 of the digest.

    With encode_method "none" the ids are returned as they are.
    """
    method = params.encode_method
    if method == "none":
        return list(ids)
    salt = params.salt
    constructor = getattr(hashlib, method)
    if params.base64:
        return [base64.b64encode(constructor((value + salt).encode("utf-8")).digest()).decode("ascii")
                for value in ids]
    return [constructor((value + salt).encode("utf-8")).hexdigest() for value in ids]
