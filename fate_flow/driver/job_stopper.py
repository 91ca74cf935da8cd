"""Stop and clean on the initiator: cancel a queued job, kill a running one on every party, clean up.

A stop from any party is forwarded to the job's initiator, which syncs the end status to every
party first (so no new task starts), then asks each party to kill its tasks.
"""
from __future__ import annotations

import json
import logging
import shutil
from typing import Callable

from fate_flow.components.data_access.param import UPLOAD_TMP_DIR
from fate_flow.db import DataView, Job, Queue, StorageTableMeta, Task, TrackingMetric
from fate_flow.driver.job_queries import initiator_job, require_scope
from fate_flow.driver.party_calls import call_every_party, sync_job_status
from fate_flow.driver.status import JOB_FINISHED, JobStatus, QueueState
from fate_flow.errors import FlowError
from fate_flow.federation import release_task_session
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.stores.table_catalogue import TableCatalogue
from fate_flow.utils.log import job_logger

logger = logging.getLogger("fate_flow.job_stopper")


class JobStopper:
    """Stops jobs this server initiated and cleans what jobs leave behind."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None],
                 tables: TableCatalogue) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake
        self.tables = tables

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

    def clean_job(self, job_id: str, role: str | None = None, party_id: str | None = None,
                  component_name: str | None = None) -> dict:
        """Remove what the matching tasks of an ended job left on this server (job/clean); say what went.

        As FATE 1.4's job/clean: the tasks' tracked metrics, their output tables (those recorded in
        t_data_view, unless another job has rewritten the table since) and their federation
        sessions; beyond it, the files of an upload the job received. Logs, confs, data views,
        models and the job's rows stay.

        Raises:
            NotFound: naming the job, role/party or component that does not exist.
            FlowError: no task matches ("no found task"), or the job has not ended here.
        """
        require_scope(job_id, role, party_id, component_name)
        _refuse_unfinished(job_id)
        scope = {"f_job_id": job_id, "f_role": role, "f_party_id": party_id, "f_component_name": component_name}
        tasks = list(Task.select().where(*[getattr(Task, k) == v for k, v in scope.items() if v is not None]))
        if not tasks:
            given = ", ".join(f"{k[2:]} {v}" for k, v in scope.items() if v is not None and k != "f_job_id")
            raise FlowError(f"no found task: job {job_id} has no task on this server"
                            + (f" for {given}" if given else ""))
        removed = {"tasks": [], "metrics": 0, "output_tables": [], "kept_tables": [], "federation_sessions": 0,
                   "temp_files": []}
        for task in tasks:
            removed["tasks"].append({"task_id": task.f_task_id, "role": task.f_role, "party_id": task.f_party_id})
            removed["metrics"] += _delete_task_metrics(task)
            self._delete_task_outputs(task, removed)
            removed["federation_sessions"] += self._release_session(task)
        upload_tmp = self.settings.job_dir(job_id) / UPLOAD_TMP_DIR
        if upload_tmp.exists():
            shutil.rmtree(upload_tmp, ignore_errors=True)
            removed["temp_files"].append(str(upload_tmp.relative_to(self.settings.work_dir)))
        job_logger(job_id).info("cleaned: %s", removed)
        return removed

    def _delete_task_outputs(self, task: Task, removed: dict) -> None:
        """Destroy the task's output tables that are still the ones it wrote."""
        views = DataView.select().where(DataView.f_job_id == task.f_job_id, DataView.f_task_id == task.f_task_id,
                                        DataView.f_role == task.f_role, DataView.f_party_id == task.f_party_id)
        for view in views:
            if not view.f_table_name:
                continue
            table = {"namespace": view.f_table_namespace, "table_name": view.f_table_name}
            owner = StorageTableMeta.get_or_none(StorageTableMeta.f_namespace == view.f_table_namespace,
                                                 StorageTableMeta.f_name == view.f_table_name)
            if owner is not None and owner.f_job_id and owner.f_job_id != task.f_job_id:
                removed["kept_tables"].append(dict(table, reason=f"rewritten by job {owner.f_job_id}"))
            elif self.tables.delete(view.f_table_namespace, view.f_table_name):
                removed["output_tables"].append(table)

    def _release_session(self, task: Task) -> int:
        """Release the task's federation session; 1 if it still had messages on disk here."""
        had_messages = (self.settings.federation_dir / task.f_task_id).exists()
        release_task_session(self.settings.task_dir(task.f_job_id, task.f_role, task.f_party_id,
                                                    task.f_component_name) / "task_config.json")
        shutil.rmtree(self.settings.federation_dir / task.f_task_id, ignore_errors=True)
        return int(had_messages)


def _refuse_unfinished(job_id: str) -> None:
    """FlowError if a row of the job here has not ended: its tables may still be read."""
    running = Job.get_or_none(Job.f_job_id == job_id, Job.f_status.not_in([str(s) for s in JOB_FINISHED]))
    if running is not None:
        raise FlowError(f"job {job_id} is {running.f_status} on role {running.f_role} party {running.f_party_id}: "
                        f"stop it before cleaning it")


def _delete_task_metrics(task: Task) -> int:
    """Delete the task's metric data and metas (the job view, component "dag", stays); return how many rows."""
    return TrackingMetric.delete().where(
        TrackingMetric.f_job_id == task.f_job_id, TrackingMetric.f_role == task.f_role,
        TrackingMetric.f_party_id == task.f_party_id,
        TrackingMetric.f_component_name == task.f_component_name).execute()


def _answer_or_raise(answer: dict) -> str:
    if answer.get("retcode") != 0:
        error = FlowError(answer.get("retmsg", "failed"))
        error.retcode = answer.get("retcode", error.retcode)
        raise error
    return answer.get("retmsg", "success")
