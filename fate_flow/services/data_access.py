"""Upload and download requests: validated here, then run as local jobs like any other."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from fate_flow.components.data_access.param import DROP_APPEND, DROP_REFUSE, DROP_REPLACE, UPLOAD_TMP_DIR
from fate_flow.db import DataView, Job, Task
from fate_flow.driver.job_submission import JobSubmitter
from fate_flow.driver.status import JOB_FINISHED, JobStatus, TaskStatus
from fate_flow.errors import ArgumentError, FlowError, RequiredArgumentsError, TableEngineNotSupported
from fate_flow.settings import Settings
from fate_flow.stores.table_catalogue import TableCatalogue
from fate_flow.utils import validate
from fate_flow.utils.paths import resolve_user_path

UPLOAD_REQUIRED = ("work_mode", "namespace", "table_name", "file", "head", "partition")
DOWNLOAD_REQUIRED = ("work_mode", "namespace", "table_name", "output_path")
# /v1/table/add and bind: the engines whose address is a file on this machine, which is read in
FILE_ENGINES = ("LOCALFS", "PATH", "STANDALONE", "LOCAL")
TABLE_ADD_REQUIRED = ("engine", "address", "namespace", "name")
TABLE_ADD_WAIT_S = 60  # a table add answers once the table is there (FATE's is synchronous), or says it is coming
ID_DELIMITERS = (",", "\t")  # what the upload reader splits on
FATE_DROP = {"yes": DROP_REPLACE, "no": DROP_REFUSE, "true": DROP_REPLACE, "false": DROP_REFUSE}  # FATE 1.7+ drop


def _int_field(conf: dict, field: str, default: Any = None) -> int:
    value = conf.get(field, default)
    try:
        if isinstance(value, bool) or value is None or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise ArgumentError(field, f"should be an integer, got {value!r}") from None


def _bool_field(conf: dict, field: str) -> bool:
    """A flag as FATE's clients send it: a JSON bool, 0/1, or their text (the SDK's query string)."""
    value = conf.get(field, False)
    text = str(value).strip().lower()
    if value is None or text in ("false", "0", "", "none"):
        return False
    if text in ("true", "1"):
        return True
    raise ArgumentError(field, f"should be true or false, got {value!r}")


def _required(conf: dict, fields: tuple[str, ...]) -> None:
    missing = [f for f in fields if conf.get(f) in (None, "")]
    if missing:
        raise RequiredArgumentsError(missing)


class DataAccess:
    """Turns upload/download requests into local jobs and answers upload history."""

    def __init__(self, settings: Settings, submitter: JobSubmitter, tables: TableCatalogue,
                 prewarm: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.submitter = submitter
        self.tables = tables
        self.prewarm = prewarm

    def expect_task(self) -> None:
        """Have the scheduler start a task process ahead: an upload's file is coming in."""
        self.prewarm()

    def upload_dir(self, job_id: str) -> Path:
        """Where a multipart upload of job ``job_id`` is streamed to (removed by the task)."""
        return self.settings.job_dir(job_id) / UPLOAD_TMP_DIR

    def submit_upload(self, conf: dict, job_id: str, received: Path | None) -> tuple[str, dict]:
        """Validate an upload and queue its job; ``received`` is the streamed multipart file."""
        try:
            if received is not None:
                conf = dict(conf, file=str(received))
            params = self._upload_params(conf, received is not None)
            data = self.submitter.submit_local("upload_0", "Upload", params, job_id)
        except BaseException:
            shutil.rmtree(self.upload_dir(job_id), ignore_errors=True)
            raise
        return job_id, {"table_name": params["table_name"], "namespace": params["namespace"], **data}

    def _upload_params(self, conf: dict, received: bool) -> dict:
        _required(conf, UPLOAD_REQUIRED)
        params = {"extend_sid": _bool_field(conf, "extend_sid"),  # fate-client 1.7+: generate ids for the rows
                  "auto_increasing_sid": _bool_field(conf, "auto_increasing_sid"),
                  "work_mode": _int_field(conf, "work_mode"), "head": _int_field(conf, "head"),
                  "partition": _int_field(conf, "partition"), "drop": _int_field(conf, "drop", DROP_REFUSE),
                  "namespace": conf["namespace"], "table_name": conf["table_name"],
                  "in_version": bool(conf.get("in_version")), "block_size": self.settings.data_access.block_size}
        if params["head"] not in (0, 1):
            raise ArgumentError("head", f"should be 0 or 1, got {params['head']}")
        if not 0 < params["partition"] < 1024:
            raise ArgumentError("partition", f"should be between 1 and 1023, got {params['partition']}")
        if params["drop"] not in (DROP_REFUSE, DROP_APPEND, DROP_REPLACE):
            raise ArgumentError("drop", f"should be 0 (append), 1 (replace) or 2, got {params['drop']}")
        self.tables.check_names(params["namespace"], params["table_name"])
        path = Path(conf["file"]) if received else resolve_user_path(self.settings, "file", str(conf["file"]))
        if not path.is_file():
            raise FlowError(f"file {conf['file']} does not exist on the server (use_local_data 0 reads "
                            f"a path on the server; without it the client sends the file)")
        if path.stat().st_size == 0:
            raise FlowError(f"file {conf['file']} is empty")
        params["file"] = str(path)
        self._check_drop(params)
        return params

    def _check_drop(self, params: dict) -> None:
        meta = self.tables.describe(params["namespace"], params["table_name"])
        if meta is not None and params["drop"] == DROP_REFUSE:
            raise FlowError(
                f"The data table already exists, table data count:{meta.count}."
                "If you still want to continue uploading, please add the parameter -drop. "
                "0 means not to delete and continue uploading, 1 means to upload again after deleting the table")

    def submit_table_add(self, conf: dict, job_id: str) -> tuple[str, dict]:
        """Validate a /v1/table/add or bind of a file on this machine and queue reading it in (an upload job)."""
        _required(conf, TABLE_ADD_REQUIRED)
        if str(conf["engine"]).upper() not in FILE_ENGINES:
            raise TableEngineNotSupported(conf["engine"], list(FILE_ENGINES))
        path = self._address_path(conf["address"])
        if not path.is_file():
            raise ArgumentError("address.path", f"{path} does not exist or is not a file on the server")
        delimiter = conf.get("id_delimiter") or ","
        if delimiter not in ID_DELIMITERS:
            raise ArgumentError("id_delimiter", f"should be ',' or a tab, got {delimiter!r}")
        drop = conf.get("drop", DROP_REFUSE)
        upload = {"work_mode": 0, "namespace": conf["namespace"], "table_name": conf["name"], "file": str(path),
                  "head": conf.get("head", 1), "partition": conf.get("partitions") or conf.get("partition") or 4,
                  "drop": FATE_DROP.get(str(drop).lower(), drop),
                  "extend_sid": conf.get("extend_sid"), "auto_increasing_sid": conf.get("auto_increasing_sid")}
        return self.submit_upload(upload, job_id, None)

    def _address_path(self, address: Any) -> Path:
        """The server path of a table address ``{"path": ...}`` or ``{"home": ..., "path": ...}`` (FATE's PATH/LOCALFS)."""
        if isinstance(address, str):
            try:
                address = json.loads(address)
            except ValueError:
                raise ArgumentError("address", "should be an object such as {\"path\": \"/data/x.csv\"}") from None
        if not isinstance(address, dict):
            raise ArgumentError("address", "should be an object such as {\"path\": \"/data/x.csv\"}")
        if address.get("path") in (None, ""):
            raise RequiredArgumentsError(["address.path"])
        for field in ("home", "path"):
            if address.get(field) is not None and not isinstance(address[field], str):
                raise ArgumentError(f"address.{field}", "should be a string")
        path = os.path.join(address["home"], address["path"]) if address.get("home") else address["path"]
        return resolve_user_path(self.settings, "address.path", path)

    def wait_local_job(self, job_id: str, timeout: float = TABLE_ADD_WAIT_S) -> str:
        """The status of a local job once it ends, or while it still runs after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = Job.get_or_none(Job.f_job_id == job_id, Job.f_role == "local")
            status = job.f_status if job else str(JobStatus.WAITING)
            if status in {str(s) for s in JOB_FINISHED} or time.monotonic() > deadline:
                return status
            time.sleep(0.1)

    def failure_reason(self, job_id: str) -> str:
        """Why a local job failed, as its task (else its job row) recorded it; empty when unknown."""
        for model in (Task, Job):
            row = model.get_or_none(model.f_job_id == job_id)
            if row is not None and row.f_status_reason:
                return row.f_status_reason
        return ""

    def submit_download(self, conf: dict, job_id: str) -> tuple[str, dict]:
        """Validate a download and queue its job."""
        _required(conf, DOWNLOAD_REQUIRED)
        self.tables.check_names(conf["namespace"], conf["table_name"])
        if not self.tables.exists(conf["namespace"], conf["table_name"]):
            raise FlowError(f"table {conf['namespace']}.{conf['table_name']} does not exist")
        output = resolve_user_path(self.settings, "output_path", str(conf["output_path"]))
        delimitor = conf.get("delimitor") or ","
        params = {"work_mode": _int_field(conf, "work_mode"), "namespace": conf["namespace"],
                  "table_name": conf["table_name"], "output_path": str(output), "delimitor": delimitor}
        return job_id, self.submitter.submit_local("download_0", "Download", params, job_id)

    def upload_history(self, job_id: str | None, limit: Any) -> list[dict]:
        """Successful uploads, newest first: ``[{job_id: {upload_info, notes, meta}}]``."""
        query = Task.select().where(Task.f_component_name == "upload_0", Task.f_status == str(TaskStatus.SUCCESS))
        if job_id:
            query = query.where(Task.f_job_id == str(job_id))
        query = query.order_by(Task.f_create_time.desc())
        count = validate.check_limit("limit", limit) if limit not in (None, "") else -1
        if count >= 0:  # -1: every upload
            query = query.limit(count)
        return [self._history_entry(task) for task in query]

    def _history_entry(self, task: Task) -> dict:
        job = Job.get_or_none(Job.f_job_id == task.f_job_id, Job.f_role == "local")
        view = DataView.get_or_none(DataView.f_job_id == task.f_job_id, DataView.f_component_name == "upload_0")
        conf = json.loads(job.f_runtime_conf) if job else {}
        upload = ((conf.get("role_parameters") or {}).get("local") or {}).get("upload_0") or {}
        info = {"table_name": view.f_table_name if view else None,
                "namespace": view.f_table_namespace if view else None,
                "partition": (upload.get("partition") or [None])[0],
                "upload_count": view.f_table_count_upload if view else None,
                "actual_count": view.f_table_count_actual if view else None}
        meta = self.tables.describe(info["namespace"], info["table_name"]) if view else None
        return {task.f_job_id: {"upload_info": info, "notes": job.f_description if job else "",
                                "meta": meta.schema if meta else {}}}

    def table_info(self, conf: dict) -> dict:
        """table_info: names derived when ``gen_table_info``; created empty when ``create``."""
        namespace, name = conf.get("namespace"), conf.get("table_name")
        if conf.get("gen_table_info") and not namespace:
            namespace = self._derived_namespace(conf)
        _required({"namespace": namespace, "table_name": name}, ("namespace", "table_name"))
        self.tables.check_names(namespace, name)
        if conf.get("create") and not self.tables.exists(namespace, name):
            self.tables.create_empty(namespace, name, _int_field(conf, "partition", 1))
        return self.tables.table_info(namespace, name)

    @staticmethod
    def _derived_namespace(conf: dict) -> str:
        from fate_flow.driver.dsl_parser import all_party_key

        local = conf.get("local") or {}
        if not isinstance(local, dict):
            raise ArgumentError("local", "should be an object with role and party_id")
        _required({"local.role": local.get("role"), "local.party_id": local.get("party_id"),
                   "data_type": conf.get("data_type")}, ("local.role", "local.party_id", "data_type"))
        roles = conf.get("role") if isinstance(conf.get("role"), dict) else {}
        return f"{local['role']}#{local['party_id']}#{all_party_key(roles)}#{conf['data_type']}"

    def delete_tables(self, conf: dict) -> list[dict]:
        """Delete by namespace/table_name, or every output table of the data views matching filters."""
        if conf.get("namespace") and conf.get("table_name"):
            self.tables.check_names(conf["namespace"], conf["table_name"])
            if self.tables.delete(conf["namespace"], conf["table_name"]):
                return [{"table_name": conf["table_name"], "namespace": conf["namespace"]}]
            return []
        filters = {k: conf[k] for k in ("job_id", "role", "party_id", "component_name") if conf.get(k) not in (None, "")}
        if "job_id" not in filters:
            raise RequiredArgumentsError(["namespace", "table_name"])
        return self.tables.delete_outputs(filters)
