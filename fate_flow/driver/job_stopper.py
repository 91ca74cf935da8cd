"""Stop and clean on the initiator: cancel a queued job, kill a running one on every party, clean up.

A stop from any party is forwarded to the job's initiator, which syncs the end status to every
party first (so no new task starts), then asks each party to kill its tasks.
"""
from __future__ import annotations

import json
import logging
import shutil
from typing import Callable

from fate_flow.db import Queue, Task, TrackingMetric
from fate_flow.driver.job_queries import initiator_job
from fate_flow.driver.party_calls import call_every_party, sync_job_status
from fate_flow.driver.status import JOB_FINISHED, JobStatus, QueueState
from fate_flow.errors import FlowError
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.utils.log import job_logger

logger = logging.getLogger("fate_flow.job_stopper")


class JobStopper:
    """Stops jobs this server initiated and cleans what jobs leave behind."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None]) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake

    def stop_job(self, job_id: str, end_status: JobStatus = JobStatus.CANCELED, reason: str = "") -> str:
        """Stop a job on every party from its initiator; return FATE's answer message."""
        job = initiator_job(job_id)
        if job.f_status in {str(s) for s in JOB_FINISHED}:
            raise FlowError(f"job {job_id} is already {job.f_status}, nothing to stop")
        log = job_logger(job_id)
        parties = all_parties(json.loads(job.f_roles))
        reason = reason or f"stopped: {end_status}"
        dequeued = Queue.update(f_is_waiting=QueueState.CANCELED).where(
            Queue.f_job_id == job_id, Queue.f_is_waiting == QueueState.WAITING).execute()
        sync_job_status(self.api, job_id, parties, {"f_status": str(end_status), "f_status_reason": reason})
        if dequeued:
            log.info("removed from the queue: %s", reason)
            call_every_party(self.api, job_id, parties, "clean")
            return "cancel job success"
        call_every_party(self.api, job_id, parties, "kill",
                         {"component_name": "", "timeout": end_status == JobStatus.TIMEOUT})
        log.info("stopped (%s): %s", end_status, reason)
        self.wake()
        return "kill job success"

    def forward_stop(self, job_id: str, operate: str | None = None) -> str:
        """Ask the job's initiator (this server or another) to stop it (job/stop)."""
        job = initiator_job(job_id)
        initiator = json.loads(job.f_runtime_conf)["initiator"]
        body = {"job_id": job_id, "operate": operate or ""}
        return _answer_or_raise(self.api.try_call(initiator["role"], initiator["party_id"], "/v1/job/stop/do", body))

    def clean_queue(self) -> list[dict]:
        """Cancel every job waiting in this server's queue."""
        waiting = list(Queue.select().where(Queue.f_is_waiting == QueueState.WAITING).order_by(Queue.id))
        if not waiting:
            raise FlowError("There are no jobs in the queue")
        canceled = []
        for row in waiting:
            try:
                self.stop_job(row.f_job_id, JobStatus.CANCELED, "canceled by clean_queue")
                canceled.append({"job_id": row.f_job_id})
            except FlowError as exc:
                logger.warning("clean_queue: %s", exc)
        return canceled

    def clean_job(self, filters: dict) -> None:
        """Delete the tracked metrics of the matching tasks (job/clean)."""
        tasks = list(Task.select().where(*[getattr(Task, f"f_{k}") == str(v) for k, v in filters.items()]))
        if not tasks:
            raise FlowError("no found task")
        for task in tasks:
            TrackingMetric.delete().where(
                TrackingMetric.f_job_id == task.f_job_id, TrackingMetric.f_role == task.f_role,
                TrackingMetric.f_party_id == task.f_party_id,
                TrackingMetric.f_component_name == task.f_component_name).execute()
            shutil.rmtree(self.settings.federation_dir / task.f_task_id, ignore_errors=True)


def _answer_or_raise(answer: dict) -> str:
    if answer.get("retcode") != 0:
        error = FlowError(answer.get("retmsg", "failed"))
        error.retcode = answer.get("retcode", error.retcode)
        raise error
    return answer.get("retmsg", "success")
