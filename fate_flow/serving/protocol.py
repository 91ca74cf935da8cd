"""FATE-Serving's HTTP inference shapes: what a guest entry receives and how it answers.

Single: ``{"head": {"serviceId"}, "body": {"featureData", "sendToRemoteFeatureData"}}``, or the
older flat ``{"serviceId", "featureData", "sendToRemoteFeatureData"}``. Batch:
``{"head": {"serviceId"}, "body": {"batchDataList": [{"index", "featureData",
"sendToRemoteFeatureData"}]}}``. Answers are ``{"retcode", "retmsg", "data", "flag"}`` with
``data = {"score", "modelId", "modelVersion", "timestamp"}`` (batch: per-row results in
``batchDataList``), FATE-Serving's own fields; a row whose ``featureData`` lacks model features
(filled as the model was trained) or holds features the model does not read also carries
``missingFeatures`` / ``unknownFeatures`` (lists of names) next to its score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fate_flow.errors import SUCCESS, InferenceArgumentError


@dataclass
class InferenceRequest:
    service_id: str
    features: list[dict]
    remotes: list[dict]
    indexes: list[Any]


def parse_single(body: dict) -> InferenceRequest:
    """The service id and the one row of a single inference request."""
    head, payload = _head_and_body(body)
    row = _row(payload, "body")
    return InferenceRequest(_service_id(head), [row[0]], [row[1]], [0])


def parse_batch(body: dict) -> InferenceRequest:
    """The service id and rows of a batch inference request."""
    head, payload = _head_and_body(body)
    items = payload.get("batchDataList")
    if not isinstance(items, list) or not items:
        raise InferenceArgumentError("body.batchDataList must be a non-empty list")
    rows = [_row(item, f"batchDataList[{i}]") for i, item in enumerate(items)]
    indexes = [item.get("index", i) for i, item in enumerate(items)]
    return InferenceRequest(_service_id(head), [r[0] for r in rows], [r[1] for r in rows], indexes)


def model_data(entry: dict) -> dict:
    """modelId (the party model id), modelVersion and timestamp (load time, ms) of a served model."""
    key = entry["key"]
    return {"modelId": f"{key['role']}#{key['party_id']}#{key['model_id']}", "modelVersion": key["model_version"],
            "timestamp": entry.get("loaded_at", 0)}


def single_answer(score: float, entry: dict, warnings: dict | None = None) -> dict:
    """FATE-Serving's answer to one row; ``warnings`` (missing/unknown features) go into ``data``."""
    return {"retcode": SUCCESS, "retmsg": "success", "data": dict(model_data(entry), score=score, **(warnings or {})),
            "flag": 0}


def batch_answer(indexes: list, scores: list, errors: dict, entry: dict, warnings: dict | None = None) -> dict:
    """FATE-Serving's batch answer: one result per row, in the request's order."""
    warnings = warnings or {}
    results = []
    for row, (index, score) in enumerate(zip(indexes, scores)):
        error = errors.get(row)
        results.append({"index": index, "retcode": error.retcode, "retmsg": error.retmsg} if error else
                       {"index": index, "retcode": SUCCESS, "retmsg": "success",
                        "data": {"score": score, **warnings.get(row, {})}})
    return {"retcode": SUCCESS, "retmsg": "success", "data": model_data(entry), "flag": 0, "batchDataList": results}


def _head_and_body(body: dict) -> tuple[dict, dict]:
    if "head" in body or "body" in body:
        head, payload = body.get("head"), body.get("body", {})
        if not isinstance(head, dict) or not isinstance(payload, dict):
            raise InferenceArgumentError("head and body must be objects")
        return head, payload
    return body, body  # the older flat shape


def _service_id(head: dict) -> str:
    service_id = head.get("serviceId")
    if isinstance(service_id, bool) or not isinstance(service_id, (str, int)) or service_id == "":
        raise InferenceArgumentError("serviceId is required")
    return str(service_id)


def _row(item: Any, where: str) -> tuple[dict, dict]:
    if not isinstance(item, dict):
        raise InferenceArgumentError(f"{where} must be an object")
    features = item.get("featureData") or {}
    remote = item.get("sendToRemoteFeatureData") or {}
    if not isinstance(features, dict) or not isinstance(remote, dict):
        raise InferenceArgumentError(f"{where}: featureData and sendToRemoteFeatureData must be objects")
    return features, remote
