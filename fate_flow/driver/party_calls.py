"""The /v1/schedule paths and the calls the driver sends to every party of a job.

Every party, this server included in standalone, is reached through the federated client,
so the initiator has one code path whatever the deployment.
"""
from __future__ import annotations

from typing import Any, Iterable

from fate_flow.party.client import FederatedClient
from fate_flow.utils import ids
from fate_flow.utils.log import job_logger


def schedule_path(job_id: str, role: str, party_id: Any, action: str) -> str:
    """``/v1/schedule/<job>/<role>/<party>/<action>``: a party's job-level schedule route."""
    return f"/v1/schedule/{job_id}/{role}/{party_id}/{action}"


def task_path(job_id: str, component: str, role: str, party_id: Any, action: str) -> str:
    """``/v1/schedule/<job>/<component>/<task>/<role>/<party>/<action>``: a party's task route."""
    return f"/v1/schedule/{job_id}/{component}/{ids.task_id(job_id, component)}/{role}/{party_id}/{action}"


def sync_job_status(api: FederatedClient, job_id: str, parties: Iterable[tuple[str, str]], fields: dict) -> None:
    """Send a job status/field update to every party; a party that refuses is logged, not raised."""
    answers = api.call_all(parties, lambda r, p: schedule_path(job_id, r, p, "status"), fields)
    for (role, party_id), answer in answers.items():
        if answer.get("retcode") != 0:
            job_logger(job_id).warning("status sync to %s %s failed: %s", role, party_id, answer.get("retmsg"))


def call_every_party(api: FederatedClient, job_id: str, parties: Iterable[tuple[str, str]], action: str,
                     body: dict | None = None) -> dict[tuple[str, str], dict]:
    """Call the job-level schedule route ``action`` (kill, clean, pipeline/save, ...) on every party."""
    return api.call_all(parties, lambda r, p: schedule_path(job_id, r, p, action), body or {})
