"""Read-only queries of jobs and tasks: rows as the original answers them, lookups that name
what is missing, a job's parser, its models."""
from __future__ import annotations

import json
from typing import Any

from peewee import fn

from fate_flow.db import Job, Queue
from fate_flow.driver import dsl_parser, dsl_v2
from fate_flow.driver.status import JobStatus, QueueState
from fate_flow.errors import ArgumentError, ComponentNotFound, FlowError, JobNotFound, NotFound, PartyNotFound
from fate_flow.settings import Settings
from fate_flow.utils import ids, validate
from fate_flow.utils.model_layout import component_module, load_component_model, version_dir
from fate_flow.utils.redact import redact

CONF_COLUMNS = ("f_runtime_conf", "f_train_runtime_conf")


def query_rows(model, filters: dict[str, Any]) -> list[dict]:
    """All rows of ``model`` matching ``filters`` (column names without ``f_``), in DB order."""
    query = model.select()
    for key, value in filters.items():
        query = query.where(getattr(model, f"f_{key}") == (str(value) if not isinstance(value, int) else value))
    return [row.to_json() for row in query]


def query_jobs(filters: dict[str, Any], with_position: bool = True) -> list[dict]:
    """Job rows; waiting ones also tell their place in the queue (``f_queue_position``, 1-based)."""
    rows = [_redacted(row) for row in query_rows(Job, filters)]
    if with_position and any(r["f_status"] == str(JobStatus.WAITING) for r in rows):
        order = [q.f_job_id for q in Queue.select(Queue.f_job_id)
                 .where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id)]
        for row in rows:
            if row["f_status"] == str(JobStatus.WAITING) and row["f_job_id"] in order:
                row["f_queue_position"] = order.index(row["f_job_id"]) + 1
    return rows


def is_dsl_v2(job_id: Any) -> bool:
    """Whether the job was submitted with a DSL v2 conf (False for an unknown job)."""
    job = _any_row(check_job_id(job_id))
    if job is None:
        return False
    try:
        return dsl_v2.dsl_version(json.loads(job.f_runtime_conf or "{}")) == 2
    except (ValueError, FlowError):
        return False


def job_config(row: dict) -> dict:
    """The /v1/job/config answer for one job row."""
    runtime_conf = json.loads(row["f_runtime_conf"])
    params = runtime_conf.get("job_parameters", {})
    return {"job_id": row["f_job_id"], "dsl": json.loads(row["f_dsl"]), "runtime_conf": redact(runtime_conf),
            "train_runtime_conf": redact(json.loads(row["f_train_runtime_conf"] or "{}")),
            "model_info": {"model_id": params.get("model_id"), "model_version": params.get("model_version")}}


def _redacted(row: dict) -> dict:
    """The row with store passwords and URL credentials of its confs masked."""
    for column in CONF_COLUMNS:
        if row.get(column):
            try:
                row[column] = json.dumps(redact(json.loads(row[column])))
            except ValueError:
                pass
    return row


def check_job_id(value: Any) -> str:
    """``value`` if it has the form of a job id; ArgumentError naming ``job_id`` otherwise."""
    return validate.check_job_id("job_id", value)


def initiator_job(job_id: Any) -> Job:
    """The job's initiator row if this server holds it, else any row of the job; FATE's FlowError if none."""
    job = _any_row(check_job_id(job_id))
    if job is None:
        raise FlowError(f"can not found job: {job_id}")
    return job


def require_job(job_id: Any) -> Job:
    """The job's initiator row if this server holds it, else any row of it; JobNotFound naming it."""
    job = _any_row(check_job_id(job_id))
    if job is None:
        raise JobNotFound(job_id)
    return job


def party_job(job_id: Any, role: str, party_id: Any) -> Job:
    """One party's row of the job on this server; JobNotFound or PartyNotFound saying what is missing."""
    job = Job.get_or_none(Job.f_job_id == check_job_id(job_id), Job.f_role == role, Job.f_party_id == str(party_id))
    if job is None:
        roles = job_roles(require_job(job_id))
        raise PartyNotFound(job_id, role, party_id, None if _plays(roles, role, party_id) else roles)
    return job


def require_component(job_id: Any, component: str, role: str, party_id: Any) -> Job:
    """The party's row of a job whose DSL has ``component``; NotFound naming the job, party or component."""
    job = party_job(job_id, role, party_id)
    _require_in_dsl(job, component)
    return job


def require_scope(job_id: Any, role: str | None = None, party_id: Any = None, component: str | None = None) -> Job:
    """The job (as ``require_job``) after checking that the role, party and component given are in it.

    Unlike ``party_job`` the party's row need not be on this server: its conf is the job's.
    """
    job = require_job(job_id)
    roles = job_roles(job)
    if (role is not None or party_id is not None) and not _plays(roles, role, party_id):
        raise PartyNotFound(job_id, role, party_id, roles)
    if component is not None:
        _require_in_dsl(job, component)
    return job


def job_roles(job: Job) -> dict[str, list]:
    """The job's ``{role: [party_id, ...]}``."""
    return json.loads(job.f_roles or "{}")


def _any_row(job_id: str) -> Job | None:
    return Job.select().where(Job.f_job_id == job_id).order_by(Job.f_is_initiator.desc()).first()


def _plays(roles: dict[str, list], role: str | None, party_id: Any) -> bool:
    """True if some party of the job matches the role and party id given (None matches any)."""
    return any((role is None or r == role) and (party_id is None or str(p) == str(party_id))
               for r, parties in roles.items() for p in parties)


def _require_in_dsl(job: Job, component: str) -> None:
    components = job_parser(job).component_list()
    if component not in components:
        raise ComponentNotFound(job.f_job_id, component, components)


def job_parser(job: Job, runtime_conf: dict | None = None) -> dsl_parser.DSLParser:
    """The parsed DSL and confs of a stored job row (with ``runtime_conf`` in place of its own if given)."""
    train_conf = json.loads(job.f_train_runtime_conf or "{}")
    mode = "predict" if train_conf else "train"
    conf = runtime_conf if runtime_conf is not None else json.loads(job.f_runtime_conf)
    return dsl_parser.parse_job(json.loads(job.f_dsl), conf, train_conf or None, mode=mode)


def component_parameters(job_id: str, component: str, role: str, party_id: str) -> dict:
    """``{"module": M, "<XxxParam>": {...}}`` of one component for one party (tracking route).

    The party need not be on this server: the parameters come from the job's conf.
    """
    job = require_scope(job_id, role, party_id, component)
    try:
        params = job_parser(job).component_parameters(component, role, int(party_id))
    except FlowError as exc:  # the component does not run on that role
        raise NotFound(f"can not found this component parameters: {exc.retmsg}") from None
    return {"module": params.get("module"), **{k: v for k, v in params.items() if k.endswith("Param")}}


def component_model(settings: Settings, job_id: str, component: str, role: str, party_id: str) -> dict | None:
    """The model a component saved (``{"param", "meta", "module"}``), or None."""
    job = require_component(job_id, component, role, party_id)
    params = json.loads(job.f_runtime_conf)["job_parameters"]
    root = version_dir(settings.model_dir, ids.party_model_id(role, party_id, params["model_id"]),
                       params["model_version"])
    messages = load_component_model(root, component)
    if not messages:
        return None
    pick = lambda suffix: next((v for k, v in messages.items() if k.endswith(suffix)), {})  # noqa: E731
    return {"param": pick("Param"), "meta": pick("Meta"), "module": component_module(root, component)}



# keys only FATE-Flow 1.7.2+'s paged list requests carry (1.5-1.7.1 send only ``limit``)
PAGED_LIST_KEYS = ("page", "order_by", "order", "job_id", "party_id", "role", "status", "description")
_ORDER_COLUMNS = ("create_time", "start_time", "end_time", "elapsed", "job_id")


def list_rows(model, body: dict) -> tuple[list[dict], int | None]:
    """Rows for /v1/job/list/{job,task}: (rows, None) for a 1.5-1.7.1 request, (rows, count) for a paged one.

    The plain form answers the newest ``limit`` rows with their ``f_`` keys; the paged form
    filters by the request's keys, orders, pages, and answers keys without ``f_``.
    """
    limit = _positive(body.get("limit"), "limit", 20 if any(k in body for k in PAGED_LIST_KEYS) else None)
    if not any(k in body for k in PAGED_LIST_KEYS):
        query = model.select().order_by(model.f_create_time.desc())
        return [row.to_json() for row in (query.limit(limit) if limit else query)], None
    query = model.select()
    for key in ("job_id", "party_id", "role", "status"):
        value = body.get(key)
        if value not in (None, "", []):
            values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            query = query.where(getattr(model, f"f_{key}").in_(values))
    if body.get("description") and hasattr(model, "f_description"):
        query = query.where(model.f_description.contains(str(body["description"])))
    order_by = body.get("order_by") if body.get("order_by") in _ORDER_COLUMNS else "create_time"
    column = getattr(model, f"f_{order_by}")
    query = query.order_by(column.asc() if str(body.get("order", "desc")).lower() == "asc" else column.desc())
    count = query.count()
    page = _positive(body.get("page"), "page", 1)
    rows = [_unprefixed(row.to_json()) for row in query.paginate(page, limit)]
    return rows, count


def _positive(value: Any, name: str, default: int | None) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ArgumentError(name, f"should be a positive integer, got {value!r}") from None
    if number < 1:
        raise ArgumentError(name, f"should be a positive integer, got {value!r}")
    return number


def _unprefixed(row: dict) -> dict:
    plain = {key[2:] if key.startswith("f_") else key: value for key, value in row.items()}
    if "roles" in plain and "role" in plain:
        try:
            roles = json.loads(plain["roles"]) if isinstance(plain["roles"], str) else plain["roles"]
            plain["partners"] = sorted({str(p) for r, ids in roles.items() for p in ids
                                        if not (r == plain["role"] and str(p) == str(plain.get("party_id")))})
        except (TypeError, ValueError, AttributeError):
            plain["partners"] = []
    return plain


def board_url(settings: Settings, job_id: str, role: str, party_id: Any) -> str:
    """FATEBoard's dashboard address of one party's job."""
    return (f"http://{settings.board_address}/index.html#/dashboard"
            f"?job_id={job_id}&role={role}&party_id={party_id}")


def job_tables(job_id: Any, role: str, party_id: str) -> dict:
    """``{component: {"input": [{name, namespace}], "output": [{name, namespace}]}}`` of one party's job."""
    from fate_flow.db import DataView

    job = party_job(job_id, role, party_id)
    parser = job_parser(job)
    answer: dict[str, dict] = {}
    for name in parser.component_list():
        inputs = [parser.job_args(role, int(party_id)).get("data", {}).get(key) for key in parser.args_keys(name)]
        answer[name] = {"input": [t for t in inputs if t], "output": []}
    for view in DataView.select().where(DataView.f_job_id == job.f_job_id, DataView.f_role == role,
                                        DataView.f_party_id == str(party_id)):
        answer.setdefault(view.f_component_name, {"input": [], "output": []})["output"].append(
            {"name": view.f_table_name, "namespace": view.f_table_namespace})
    return answer


def jobs_by_status() -> dict[str, int]:
    """How many jobs this server holds in each status (a job counted once, whatever parties it plays here)."""
    query = Job.select(Job.f_status, fn.COUNT(fn.DISTINCT(Job.f_job_id)).alias("count")).group_by(Job.f_status)
    counts = {str(status): 0 for status in JobStatus}
    counts.update({row.f_status: row.count for row in query})
    return counts


def queue_length() -> int:
    """Jobs waiting in this server's queue for admission."""
    return Queue.select().where(Queue.f_is_waiting == QueueState.WAITING).count()
