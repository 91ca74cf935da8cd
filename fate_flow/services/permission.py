"""Privileges of other parties on this one (``/v1/permission``) and their check on incoming schedule calls.

A privilege says: party ``src_party_id`` acting as ``src_role`` (the initiator of a job) may
make this party, playing ``privilege_role``, run ``privilege_command`` (create, run, stop)
for jobs made of ``privilege_component`` modules. Values are stored one row each in
``t_permission``; ``all`` grants every value known now (every registered module for
components). Calls a party makes to itself are always allowed.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from fate_flow.db.base import DB, now_ms
from fate_flow.db.models import Job, Permission
from fate_flow.errors import ArgumentError, NotFound, PermissionDenied
from fate_flow.utils.signing import LOCAL_PARTY

logger = logging.getLogger("fate_flow.permission")

ROLES = ("guest", "host", "arbiter")
COMMANDS = ("create", "run", "stop")
PRIVILEGE_TYPES = ("privilege_role", "privilege_command", "privilege_component")
_PARTY_ID = re.compile(r"^[0-9]{1,32}$")


def component_names() -> list[str]:
    """Lower-cased module names of the registered components (FATE's privilege_component values).

    Upload and download are left out, as in FATE: they run as local jobs, never for another party.
    """
    from fate_flow.components.registry import modules

    return sorted({m.lower() for m in modules()} - {"upload", "download"})


def _allowed_values(privilege_type: str) -> list[str]:
    return {"privilege_role": list(ROLES), "privilege_command": list(COMMANDS)}.get(privilege_type) \
        or component_names()


def check_source(src_party_id: Any, src_role: Any) -> tuple[str, str]:
    """Validated (src_party_id, src_role); ArgumentError (101) naming the bad field."""
    if src_party_id in (None, ""):
        raise ArgumentError("src_party_id")
    if src_role in (None, ""):
        raise ArgumentError("src_role")
    party = str(src_party_id).strip()
    if not _PARTY_ID.match(party):
        raise ArgumentError("src_party_id", f"must be a party id (digits), not {src_party_id!r}")
    role = str(src_role).strip().lower()
    if role not in ROLES:
        raise ArgumentError("src_role", f"must be one of {', '.join(ROLES)}, not {src_role!r}")
    return party, role


def parse_privileges(body: Mapping[str, Any]) -> dict[str, list[str]]:
    """The privilege values of a grant/delete request, "all" expanded; ArgumentError on unknown ones."""
    parsed = {}
    for privilege_type in PRIVILEGE_TYPES:
        raw = body.get(privilege_type)
        if raw in (None, "", []):
            continue
        values = _values(privilege_type, raw)
        allowed = _allowed_values(privilege_type)
        if "all" in values:
            values = allowed
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ArgumentError(privilege_type, f"has unknown value(s) {', '.join(unknown)} "
                                                f"(allowed: {', '.join(allowed)} or all)")
        parsed[privilege_type] = list(dict.fromkeys(values))
    if not parsed:
        raise ArgumentError(" or ".join(PRIVILEGE_TYPES), "is required")
    return parsed


def _values(privilege_type: str, raw: Any) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if items is None or not all(isinstance(v, str) for v in items):
        raise ArgumentError(privilege_type, "must be a comma-separated string or a list of strings")
    return [v.strip().lower() for v in items if v.strip()]


def _granted(src_party_id: str, src_role: str) -> dict[str, set[str]]:
    """``{privilege_type: {values}}`` granted to the source (every type present, maybe empty)."""
    granted: dict[str, set[str]] = {t: set() for t in PRIVILEGE_TYPES}
    rows = Permission.select().where(Permission.f_src_party_id == src_party_id, Permission.f_src_role == src_role)
    for row in rows:
        granted.setdefault(row.f_privilege_type, set()).add(row.f_value)
    return granted


def query_privileges(src_party_id: Any, src_role: Any) -> dict:
    """FATE's query answer: ``{src_party_id, role, privilege_role[], privilege_command[], privilege_component[]}``."""
    party, role = check_source(src_party_id, src_role)
    granted = _granted(party, role)
    order = {"privilege_role": ROLES, "privilege_command": COMMANDS}
    answer = {"src_party_id": party, "role": role}
    for privilege_type in PRIVILEGE_TYPES:
        rank = order.get(privilege_type, ())
        answer[privilege_type] = sorted(granted[privilege_type],
                                        key=lambda v: (rank.index(v) if v in rank else len(rank), v))
    return answer


def grant_privileges(src_party_id: Any, src_role: Any, body: Mapping[str, Any]) -> None:
    """Add privileges (already granted values are kept once)."""
    party, role = check_source(src_party_id, src_role)
    privileges = parse_privileges(body)
    now = now_ms()
    rows = [{"f_src_party_id": party, "f_src_role": role, "f_privilege_type": t, "f_value": v,
             "f_create_time": now, "f_update_time": now} for t, values in privileges.items() for v in values]
    with DB.atomic():
        Permission.insert_many(rows).on_conflict_ignore().execute()
    logger.info("granted party %s role %s: %s", party, role, privileges)


def delete_privileges(src_party_id: Any, src_role: Any, body: Mapping[str, Any]) -> None:
    """Remove privileges; a value that was never granted is refused (101) and nothing is removed."""
    party, role = check_source(src_party_id, src_role)
    privileges = parse_privileges(body)
    explicit = {t: v for t, v in privileges.items() if "all" not in _values(t, body[t])}
    granted = _granted(party, role)
    for privilege_type, values in explicit.items():
        missing = [v for v in values if v not in granted[privilege_type]]
        if missing:
            raise NotFound(f"{privilege_type} {', '.join(missing)} is not granted to party {party} role {role}, "
                           f"it can not be deleted")
    with DB.atomic():
        for privilege_type in privileges:
            where = [Permission.f_src_party_id == party, Permission.f_src_role == role,
                     Permission.f_privilege_type == privilege_type]
            if privilege_type in explicit:  # "all" also removes values no longer registered
                where.append(Permission.f_value.in_(explicit[privilege_type]))
            Permission.delete().where(*where).execute()
    logger.info("deleted from party %s role %s: %s", party, role, privileges)


# ---- enforcement on incoming /v1/schedule calls ----------------------------------------

@dataclass(frozen=True)
class ScheduleCommand:
    """What an incoming schedule call asks this party to do, as a privilege command."""

    command: str
    job_id: str
    role: str
    party_id: str
    component: str = ""


_JOB_COMMANDS = {"create": "create", "kill": "stop", "cancel": "stop"}


def schedule_command(path: str) -> ScheduleCommand | None:
    """The privilege command of a /v1/schedule path (create, run, kill/cancel), None for the others."""
    parts = path.strip("/").split("/")
    if parts[:2] != ["v1", "schedule"]:
        return None
    parts = parts[2:]
    if len(parts) == 4 and parts[3] in _JOB_COMMANDS:
        return ScheduleCommand(_JOB_COMMANDS[parts[3]], parts[0], parts[1], parts[2])
    if len(parts) == 6 and parts[5] == "run":
        return ScheduleCommand("run", parts[0], parts[3], parts[4], component=parts[1])
    return None


def check_schedule_call(caller_party: str, own_party_ids: Iterable, command: ScheduleCommand,
                        body: Mapping[str, Any]) -> None:
    """Raise PermissionDenied unless ``caller_party`` may send ``command`` here.

    The source role is the job initiator's role: from the job row in the body for a
    create, from the stored job otherwise. Components are the job's modules for a
    create, the component's module for a run, none for a stop.
    """
    if caller_party in {str(p) for p in own_party_ids} | {LOCAL_PARTY}:
        return
    dsl, conf = _job_documents(command, body)
    src_role = str((conf.get("initiator") or {}).get("role", ""))
    components = _components(command, dsl)
    missing = _missing_privileges(caller_party, src_role, command, components)
    if missing:
        message = (f"permission denied: party {caller_party} role {src_role or '?'} may not {command.command} "
                   f"job {command.job_id} as {command.role} {command.party_id} "
                   f"(not granted: {'; '.join(missing)})")
        raise PermissionDenied(message)  # the guard logs every refusal


def _job_documents(command: ScheduleCommand, body: Mapping[str, Any]) -> tuple[dict, dict]:
    if command.command == "create":
        return _json_field(body.get("f_dsl")), _json_field(body.get("f_runtime_conf"))
    job = Job.get_or_none(Job.f_job_id == command.job_id, Job.f_role == command.role,
                          Job.f_party_id == command.party_id)
    if job is None:
        raise PermissionDenied(f"permission denied: job {command.job_id} has no {command.role} "
                               f"{command.party_id} here")
    return _json_field(job.f_dsl), _json_field(job.f_runtime_conf)


def _json_field(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _components(command: ScheduleCommand, dsl: dict) -> list[str]:
    components = dsl.get("components") or {}
    if command.command == "create":
        names = components.keys()
    elif command.command == "run":
        names = [command.component]
    else:
        return []
    return sorted({str((components.get(n) or {}).get("module") or n).lower() for n in names})


def _missing_privileges(party: str, src_role: str, command: ScheduleCommand, components: list[str]) -> list[str]:
    granted = _granted(party, src_role)
    wanted = {"privilege_role": [command.role], "privilege_command": [command.command],
              "privilege_component": components}
    missing = []
    for privilege_type, values in wanted.items():
        lacking = [v for v in values if v not in granted[privilege_type]]
        if lacking:
            missing.append(f"{privilege_type} {', '.join(lacking)}")
    return missing
