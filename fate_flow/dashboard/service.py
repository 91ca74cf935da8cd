"""What the dashboard reads beyond the /v1 routes the clients use: a paged job list, log tails, table previews.

Everything here is read-only. Log reads are confined to the job's own log directory and to
the parties this server answers for, whatever the request says.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fate_flow.db import Job, Queue
from fate_flow.driver.job_queries import check_job_id
from fate_flow.driver.status import JobStatus, QueueState
from fate_flow.errors import ArgumentError, TableNotFound
from fate_flow.settings import Settings
from fate_flow.stores.table_catalogue import TableCatalogue

PAGE_SIZE_MAX = 200
PREVIEW_ROWS = 100
# bytes one log read answers: enough for a screen, small enough to poll every second
LOG_CHUNK = 64 * 1024
LIST_COLUMNS = (Job.f_job_id, Job.f_role, Job.f_party_id, Job.f_status, Job.f_status_reason, Job.f_is_initiator,
                Job.f_progress, Job.f_create_time, Job.f_start_time, Job.f_end_time, Job.f_elapsed,
                Job.f_description)
UNFINISHED = (str(JobStatus.WAITING), str(JobStatus.RUNNING))


@dataclass(frozen=True)
class JobFilter:
    """The job list's filters and page (1-based)."""

    job_id: str = ""
    role: str = ""
    status: str = ""
    page: int = 1
    page_size: int = 20

    @classmethod
    def from_body(cls, body: dict) -> "JobFilter":
        """Read and bound the filters of a request body; ArgumentError names a bad page field."""
        try:
            page, size = int(body.get("page") or 1), int(body.get("page_size") or 20)
        except (TypeError, ValueError):
            raise ArgumentError("page", "must be an integer") from None
        return cls(str(body.get("job_id") or "").strip(), str(body.get("role") or ""),
                   str(body.get("status") or ""), max(page, 1), min(max(size, 1), PAGE_SIZE_MAX))


def list_jobs(flt: JobFilter) -> dict:
    """One page of this server's job rows, newest first, with counts and queue positions."""
    query = Job.select(*LIST_COLUMNS)
    if flt.job_id:
        query = query.where(Job.f_job_id.contains(flt.job_id))
    if flt.role:
        query = query.where(Job.f_role == flt.role)
    if flt.status:
        query = query.where(Job.f_status == flt.status)
    total = query.count()
    rows = list(query.order_by(Job.f_create_time.desc(), Job.f_job_id.desc(), Job.f_role)
                .paginate(flt.page, flt.page_size).dicts())
    _add_positions(rows)
    now = int(time.time() * 1000)
    for row in rows:
        if row["f_start_time"] and not row["f_end_time"]:
            row["f_elapsed"] = now - row["f_start_time"]
    active = Job.select().where(Job.f_status.in_(UNFINISHED)).exists()
    return {"total": total, "page": flt.page, "page_size": flt.page_size, "jobs": rows, "has_unfinished": active}


def _add_positions(rows: list[dict]) -> None:
    """Waiting jobs tell their 1-based place in the queue (the one query only when one waits)."""
    if not any(r["f_status"] == str(JobStatus.WAITING) for r in rows):
        return
    order = [q.f_job_id for q in Queue.select(Queue.f_job_id)
             .where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id)]
    for row in rows:
        if row["f_status"] == str(JobStatus.WAITING) and row["f_job_id"] in order:
            row["f_queue_position"] = order.index(row["f_job_id"]) + 1


def log_files(settings: Settings, job_id: Any, role: str, party_id: Any, component: str = "") -> list[str]:
    """Names of the log files of the job (role and party) or of one of its tasks."""
    folder = _log_folder(settings, job_id, role, party_id, component)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix == ".log")


def read_log(settings: Settings, job_id: Any, role: str, party_id: Any, component: str, name: str,
             offset: int) -> dict:
    """Up to LOG_CHUNK bytes of a log from ``offset`` (a negative offset: the file's tail).

    Returns ``{"text", "offset", "size"}``, ``offset`` being where the next read starts, so a
    page tails a growing log by passing back what it got.
    """
    folder = _log_folder(settings, job_id, role, party_id, component)
    path = _confined(folder / _plain("file", name), folder)
    if path.suffix != ".log" or not path.is_file():
        return {"text": "", "offset": max(offset, 0), "size": 0}
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        start = max(size - LOG_CHUNK, 0) if offset < 0 else min(offset, size)
        f.seek(start)
        data = f.read(LOG_CHUNK)
    return {"text": data.decode("utf-8", errors="replace"), "offset": start + len(data), "size": size}


def _log_folder(settings: Settings, job_id: Any, role: str, party_id: Any, component: str) -> Path:
    """The log folder asked for, refused unless it is inside the job's log directory and this party's."""
    job_id = check_job_id(job_id)
    if str(party_id) not in {str(p) for p in settings.party_ids}:
        raise ArgumentError("party_id", "is not a party of this server")
    root = settings.job_log_dir(job_id).resolve()
    folder = root / _plain("role", role) / str(party_id)
    if component:
        folder = folder / _plain("component_name", component)
    return _confined(folder, root)


def _plain(field: str, value: Any) -> str:
    """``value`` as one path segment; ArgumentError if it names a parent or holds a separator."""
    text = str(value)
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\0" in text:
        raise ArgumentError(field, "must be a plain name")
    return text


def _confined(path: Path, root: Path) -> Path:
    """``path`` resolved (symlinks too); ArgumentError if that is outside ``root``."""
    resolved = path.resolve()
    if resolved != root.resolve() and root.resolve() not in resolved.parents:
        raise ArgumentError("log", "is outside the job's log directory")
    return resolved


def preview_table(tables: TableCatalogue, namespace: str, name: str) -> dict:
    """The first rows of a catalogue table with its header, schema and count."""
    from fate_flow.storage import TableNotFoundError

    tables.check_names(namespace, name)
    try:
        table = tables.storage.open(namespace, name)
    except TableNotFoundError:
        raise TableNotFound() from None
    rows: list[list] = []
    with table:
        delimiter = table.meta.delimiter or ","
        for batch in table.iter_batches(PREVIEW_ROWS):
            for key, value in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
                rows.append([key, *str(value).split(delimiter)] if value else [key])
            break
        schema = table.meta.schema or {}
        header = [schema.get("sid") or "id", *[f for f in str(schema.get("header") or "").split(",") if f]]
        return {"namespace": namespace, "name": name, "rows": rows[:PREVIEW_ROWS], "header": header,
                "schema": schema, "count": table.count(), "partitions": table.meta.partitions}
