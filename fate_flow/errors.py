"""Every error the server answers with, and the only place retcodes are numbered.

An exception carries its context as attributes and builds its own message; the
single Flask error handler renders ``{retcode, retmsg}`` from it (HTTP 200, as the
original does for handled errors).
"""
from __future__ import annotations

from typing import Any

SUCCESS = 0
GENERIC_ERROR = 100
NOT_FOUND = 101
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


class RequiredArgumentsError(FlowError):
    """FATE's "the following arguments are required: a,b" (retcode 100)."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = list(fields)
        super().__init__("the following arguments are required: " + ",".join(self.fields))


class DSLError(FlowError):
    """The DSL or runtime conf is inconsistent; the message names the component or field."""


class NotFound(FlowError):
    """A negative result the original answers with retcode 101."""

    retcode = NOT_FOUND


class JobNotFound(NotFound):
    retmsg = "find job failed"


class TaskNotFound(NotFound):
    retmsg = "find task failed"


class DataViewNotFound(NotFound):
    retmsg = "find data view failed"


class TableNotFound(NotFound):
    retmsg = "no find table"


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


class ServerUnreachable(FlowError):
    retcode = SERVER_UNREACHABLE
