"""Every error the server answers with, and the only place retcodes are numbered.

An exception carries its context as attributes and builds its own message; the
single Flask error handler renders ``{retcode, retmsg}`` from it (HTTP 200, as the
original does for handled errors).
"""
from __future__ import annotations

import json
from typing import Any

SUCCESS = 0
GENERIC_ERROR = 100
NOT_FOUND = 101
# FATE-Flow 1.7's code for a request its app-key check refused
AUTHENTICATION_ERROR = 109
SERVER_UNREACHABLE = 999


class FlowError(Exception):
    """Base of all handled errors; ``retcode`` 100 unless a subclass says otherwise."""

    retcode = GENERIC_ERROR
    retmsg = "failed"

    def __init__(self, retmsg: str | None = None, data: Any = None) -> None:
        self.retmsg = retmsg if retmsg is not None else type(self).retmsg
        self.data = data
        super().__init__(self.retmsg)


class ArgumentError(FlowError):
    """A request field is missing or invalid; the message names the field (retcode 101)."""

    retcode = NOT_FOUND

    def __init__(self, field: str, problem: str = "is required") -> None:
        self.field = field
        super().__init__(f"{field} {problem}" if problem else field)


class NestingTooDeep(FlowError):
    """A JSON value nests deeper than the server reads (retcode 100); names the field."""

    def __init__(self, field: str, limit: int) -> None:
        self.field, self.limit = field, limit
        super().__init__(f"{field} nests deeper than {limit} levels")


class RequiredArgumentsError(FlowError):
    """FATE's "the following arguments are required: a,b" (retcode 100)."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = list(fields)
        super().__init__("the following arguments are required: " + ",".join(self.fields))


class RequiredModelArgumentsError(RequiredArgumentsError):
    """The same message as FATE's /v1/model routes answer it: retcode 101."""

    retcode = NOT_FOUND


class DSLError(FlowError):
    """The DSL or runtime conf is inconsistent; the message names the component or field."""


class NotFound(FlowError):
    """A negative result the original answers with retcode 101."""

    retcode = NOT_FOUND


class JobNotFound(NotFound):
    """No row of the job on this server; FATE's "find job failed" when no job id is named."""

    retmsg = "find job failed"

    def __init__(self, job_id: str | None = None) -> None:
        self.job_id = job_id
        super().__init__(None if job_id is None else f"job {job_id} not found")


class PartyNotFound(NotFound):
    """The job exists, but not for this role/party.

    Args:
        roles: the job's roles when the role/party is not among them; None when it is, but
            its row lives on another party's server (cluster mode).
    """

    def __init__(self, job_id: str, role: Any, party_id: Any, roles: dict | None = None) -> None:
        self.job_id, self.role, self.party_id, self.roles = job_id, role, party_id, roles
        who = " ".join(f"{name} {value}" for name, value in (("role", role), ("party", party_id)) if value is not None)
        if roles is None:
            message = f"job {job_id} {who} is not on this server: ask the server of that party"
        else:
            message = f"job {job_id} has no {who} (its roles: {json.dumps(roles, sort_keys=True)})"
        super().__init__(message)


class ComponentNotFound(NotFound):
    """The job's DSL has no component of that name; the message lists those it has."""

    def __init__(self, job_id: str, component: Any, components: list[str]) -> None:
        self.job_id, self.component, self.components = job_id, component, sorted(components)
        super().__init__(f"job {job_id} has no component {component} (its components: {', '.join(self.components)})")


class TaskNotFound(NotFound):
    retmsg = "find task failed"


class DataViewNotFound(NotFound):
    retmsg = "find data view failed"


class TableNotFound(NotFound):
    retmsg = "no find table"


class CheckpointRequestError(FlowError):
    """A /v1/checkpoint request FATE-Flow 1.7+ refuses with its 400 (missing fields, no or a bad step)."""

    retcode = 400


class CheckpointNotFound(NotFound):
    """FATE 1.7+'s /v1/checkpoint/get without such a checkpoint: its 404 and message; names component and step."""

    retcode = 404

    def __init__(self, component: str, step: str) -> None:
        self.component, self.step = component, step
        super().__init__(f"The checkpoint was not found. (component {component} has no checkpoint {step}: "
                         f"no component of this server keeps checkpoints)")


class TableEngineNotSupported(FlowError):
    """/v1/table/add or bind names a storage engine this server can not read (retcode 100); names ``engine``."""

    def __init__(self, engine: Any, supported: list[str]) -> None:
        self.engine = engine
        super().__init__(f"engine {engine!r} is not supported here: this server adds tables only from a file "
                         f"on its machine (engine {', '.join(supported)} with address.path)")


class TagError(FlowError):
    """FATE 1.5's model tag answers for a duplicate or missing tag: retcode 100 and its message."""


class IllegalTransition(FlowError):
    """A status change that the job/task state machine does not allow."""

    def __init__(self, kind: str, row_id: str, current: str, wanted: str) -> None:
        self.kind, self.row_id, self.current, self.wanted = kind, row_id, current, wanted
        super().__init__(f"{kind} {row_id} is {current}, it can not become {wanted}")


class FederationError(FlowError):
    """A call to another party's server failed; names the party and the route."""

    def __init__(self, role: str, party_id: Any, endpoint: str, reason: str) -> None:
        self.role, self.party_id, self.endpoint, self.reason = role, party_id, endpoint, reason
        super().__init__(f"request to role {role} party {party_id} {endpoint} failed: {reason}")


class PartiesFailed(FlowError):
    """An operation the initiator sent to every party (deploy, migrate) failed on some of them (retcode 101).

    ``data`` keeps the per-party answer (``{role: {party_id: retcode}, "detail": ...}``) so the user
    sees which party failed and why; the message names them too.
    """

    retcode = NOT_FOUND

    def __init__(self, operation: str, failures: list[str], data: Any = None) -> None:
        self.operation, self.failures = operation, list(failures)
        super().__init__(f"{operation} failed on " + "; ".join(self.failures), data=data)


class DuplicateMessage(FlowError):
    """A federation message was already delivered under this key (FATE's "remote duplicate tag").

    ``data`` says so to the sending task, which raises its own DuplicateRemoteError.
    """

    def __init__(self, key: Any) -> None:
        self.key = key
        super().__init__(f"remote duplicate tag: {key.name} tag {key.tag} was already sent to "
                         f"{key.dst_role} {key.dst_party} in session {key.session_id}", data={"duplicate": True})


class ServerUnreachable(FlowError):
    retcode = SERVER_UNREACHABLE


class SignatureError(FlowError):
    """A party-to-party call is unsigned, badly signed, replayed or stale (answered with HTTP 403)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"party call refused: {reason}")


class PermissionDenied(FlowError):
    """A party asks for a schedule command it holds no privilege for (answered with HTTP 403)."""


class AuthenticationError(FlowError):
    """A user-route request without a valid app-key signature (retcode 109); ``status`` is its HTTP status.

    401: unsigned, malformed or an unknown app key; 403: a wrong signature or a replayed nonce;
    425: a timestamp outside the accepted window (FATE-Flow 1.7's statuses).
    """

    retcode = AUTHENTICATION_ERROR
    status = 401

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"authentication failed: {reason}")


class UnknownAppKey(AuthenticationError):
    status = 401


class BadAppSignature(AuthenticationError):
    status = 403


class ReplayedRequest(AuthenticationError):
    status = 403


class StaleRequest(AuthenticationError):
    status = 425


# ---- online serving: FATE-Serving's inference codes. The thousands digit says where it went
# wrong (1 guest, 2 host), the rest what: 100 bad request, 102 bad feature, 104 no model,
# 105 network, 107 load failed, 109 bind failed, 110 system error, 113 no such feature.

class ModelNotFound(NotFound):
    """A load names a model version this party does not have (nothing is loaded or written)."""

    def __init__(self, role: str, party_id: Any, model_id: str, model_version: str) -> None:
        self.role, self.party_id, self.model_id, self.model_version = role, party_id, model_id, model_version
        super().__init__(f"model {model_id} version {model_version} not found for role {role} party {party_id}")


class ModelVersionNotFound(NotFound):
    """A deploy or predict-DSL request names a model version no party of this server has."""

    def __init__(self, model_id: str, model_version: str) -> None:
        self.model_id, self.model_version = model_id, model_version
        super().__init__(f"model {model_id} version {model_version} is not on this server")


class ServingError(FlowError):
    """Base of the online serving errors (guest system error unless a subclass says otherwise)."""

    retcode = 1110


class InferenceArgumentError(ServingError):
    retcode = 1100


class InvalidFeature(ServingError):
    retcode = 1102


class ServiceNotFound(ServingError):
    retcode = 1104

    def __init__(self, service_id: Any) -> None:
        self.service_id = service_id
        super().__init__(f"can not find model by service id {service_id}: bind one with /v1/model/bind")


class HostUnreachable(ServingError):
    retcode = 1105

    def __init__(self, party_id: Any, reason: str) -> None:
        self.party_id, self.reason = party_id, reason
        super().__init__(f"host {party_id} network error: {reason}")


class ServingLoadFailed(ServingError):
    retcode = 1107


class ServingBindFailed(ServingError):
    retcode = 1109


class HostAnswerError(ServingError):
    """A host answered an error; its own (host side, 2xxx) retcode is kept."""

    retcode = 1115

    def __init__(self, party_id: Any, retcode: Any, retmsg: str) -> None:
        super().__init__(f"host {party_id}: {retmsg}")
        self.party_id = party_id
        if isinstance(retcode, int) and 2000 <= retcode < 3000:
            self.retcode = retcode


class HostInvalidRequest(ServingError):
    retcode = 2100


class HostInvalidFeature(ServingError):
    retcode = 2102


class HostModelNotLoaded(ServingError):
    retcode = 2104

    def __init__(self, party_id: Any, model_id: str, model_version: str) -> None:
        self.party_id = party_id
        super().__init__(f"host {party_id} has not loaded model {model_id} version {model_version}: "
                         f"run /v1/model/load for every party")


class HostFeatureNotFound(ServingError):
    retcode = 2113

    def __init__(self, party_id: Any, feature_id: Any) -> None:
        self.party_id, self.feature_id = party_id, feature_id
        super().__init__(f"host {party_id} has no features for id {feature_id}")
