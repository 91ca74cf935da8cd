"""Submission on the initiator: validate a job, create it on every party, queue it.

Everything that can be checked is checked before anything is written: the runtime conf
(work mode, backend, initiator), routes, the DSL (modules, references, loops, the roles each
module needs), every party's parameter names and values, and in standalone mode the input
tables. A party that refuses the create cancels the job on the parties already created.
What the conf sets that no task reads is accepted, as FATE does, and reported as warnings
in the answer and the job's log.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from fate_flow.db import Queue, StorageTableMeta, now_ms
from fate_flow.driver import dsl_parser
from fate_flow.driver.job_files import write_job_files
from fate_flow.driver.party_calls import schedule_path, sync_job_status
from fate_flow.driver.status import JobStatus, QueueState
from fate_flow.errors import ArgumentError, FlowError
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.settings import Settings
from fate_flow.utils import ids
from fate_flow.utils.log import job_logger

LOCAL_INITIATOR = {"role": "local", "party_id": 0}


class JobSubmitter:
    """Turns a (DSL, runtime conf) into a queued job on every party; ``wake`` nudges the scheduler."""

    def __init__(self, settings: Settings, api: FederatedClient, wake: Callable[[], None]) -> None:
        self.settings = settings
        self.api = api
        self.wake = wake

    def submit(self, dsl: Any, runtime_conf: Any, job_id: str | None = None) -> tuple[str, dict]:
        """Validate, create the job on every party, queue it; return (job_id, answer data).

        The answer has ``warnings`` (a list of sentences) when the conf sets something no
        task reads.
        """
        conf = dsl_parser.validate_runtime_conf(runtime_conf, self.settings.work_mode)
        self._check_routes(conf["role"])
        job_id = job_id or ids.generate_job_id()
        params = conf["job_parameters"]
        train_conf: dict = {}
        mode = "predict" if params.get("job_type", "train") == "predict" else "train"
        if mode == "predict":
            dsl, train_conf = self._trained_pipeline(conf)
        else:
            params["model_id"] = dsl_parser.gen_model_id(conf["role"])
            params["model_version"] = job_id
        parser = dsl_parser.parse_job(dsl, conf, train_conf or None, mode=mode,
                                      max_components=self.settings.scheduler.max_job_components)
        warnings = parser.validate_all_parameters()
        if conf["job_parameters"]["work_mode"] == dsl_parser.STANDALONE:
            self._check_input_tables(parser, conf["role"])
        write_job_files(self.settings, job_id, dsl, conf, train_conf)
        self._create_on_parties(job_id, dsl, conf, train_conf)
        self._enqueue(job_id, conf["initiator"])
        logger = job_logger(job_id)
        logger.info("submitted by initiator %s", conf["initiator"])
        for warning in warnings:
            logger.warning("submit warning: %s", warning)
        answer = self._submit_answer(job_id, conf)
        if warnings:
            answer["warnings"] = warnings
        return job_id, answer

    def submit_local(self, component: str, module: str, params: dict, job_id: str) -> dict:
        """Queue a one-component job of this server alone (role local, party 0): upload, store, ...

        ``params`` are the component's parameters; the answer carries no model_info.
        """
        conf = {"initiator": dict(LOCAL_INITIATOR), "role": {"local": [0]},
                "job_parameters": {"work_mode": params.get("work_mode", self.settings.work_mode)},
                "role_parameters": {"local": {component: {k: [v] for k, v in params.items()}}}}
        _, data = self.submit({"components": {component: {"module": module}}}, conf, job_id=job_id)
        data.pop("model_info", None)
        return data

    def _check_routes(self, roles: dict) -> None:
        """Refuse a job naming a party this server can't reach (cluster mode: no route)."""
        for role, party_id in all_parties(roles):
            try:
                self.api.address_of(party_id)
            except FlowError:
                raise FlowError(f"role {role} party {party_id} has no route: add it to routes in this "
                                f"server's service_conf.yaml") from None

    @staticmethod
    def _check_input_tables(parser: dsl_parser.DSLParser, roles: dict) -> None:
        """Standalone: this server holds every party's tables, so each input a task reads must exist here.

        (In cluster mode each party checks its own tables when the job is created there.)
        """
        for role, party_id, key, table in parser.input_tables():
            namespace, name = table.get("namespace"), table.get("name")
            if not StorageTableMeta.select().where(StorageTableMeta.f_namespace == namespace,
                                                   StorageTableMeta.f_name == name).exists():
                field = f"role_parameters.{role}.args.data.{key}[{roles[role].index(party_id)}]"
                raise ArgumentError(field, f"names table {namespace}.{name} for {role} {party_id}, which does not "
                                           f"exist on this server (a standalone server holds every party's "
                                           f"tables): upload it first")

    def _trained_pipeline(self, conf: dict) -> tuple[dict, dict]:
        """The initiator's stored predict DSL and train runtime conf of ``model_id``/``model_version``."""
        params, initiator = conf["job_parameters"], conf["initiator"]
        party_model = ids.party_model_id(initiator["role"], initiator["party_id"], params["model_id"])
        path = self.settings.model_dir / party_model / str(params["model_version"]) / "pipeline.json"
        if not path.is_file():
            raise FlowError(f"model {params['model_id']} version {params['model_version']} has no pipeline for "
                            f"role {initiator['role']} party {initiator['party_id']}: was it trained (or imported) here?")
        pipeline = json.loads(path.read_text(encoding="utf-8"))
        return pipeline["inference_dsl"], pipeline["train_runtime_conf"]

    def _create_on_parties(self, job_id: str, dsl: dict, conf: dict, train_conf: dict) -> None:
        initiator = conf["initiator"]
        row = {"f_job_id": job_id, "f_roles": json.dumps(conf["role"]), "f_work_mode": conf["job_parameters"]["work_mode"],
               "f_initiator_party_id": str(initiator["party_id"]), "f_dsl": json.dumps(dsl),
               "f_runtime_conf": json.dumps(conf), "f_train_runtime_conf": json.dumps(train_conf),
               "f_status": str(JobStatus.WAITING), "f_progress": 0, "f_create_time": now_ms()}
        created = []
        for role, party_id in all_parties(conf["role"]):
            body = dict(row, f_role=role, f_party_id=party_id,
                        f_is_initiator=int(role == initiator["role"] and party_id == str(initiator["party_id"])))
            answer = self.api.try_call(role, party_id, schedule_path(job_id, role, party_id, "create"), body)
            if answer.get("retcode") != 0:
                sync_job_status(self.api, job_id, created, {"f_status": str(JobStatus.CANCELED),
                                                            "f_status_reason": "creation failed on another party"})
                raise FlowError(f"an error occurred while creating the job: role {role} party_id {party_id}\n"
                                f"{answer.get('retmsg', '')}")
            created.append((role, party_id))

    def _enqueue(self, job_id: str, initiator: dict) -> None:
        event = {"job_id": job_id, "initiator_role": initiator["role"], "initiator_party_id": initiator["party_id"]}
        Queue.create(f_job_id=job_id, f_event=json.dumps(event), f_is_waiting=QueueState.WAITING)
        self.wake()

    def _submit_answer(self, job_id: str, conf: dict) -> dict:
        initiator = conf["initiator"]
        job_dir = self.settings.job_dir(job_id)
        return {
            "job_dsl_path": str(job_dir / "job_dsl.json"),
            "job_runtime_conf_path": str(job_dir / "job_runtime_conf.json"),
            "model_info": {"model_id": conf["job_parameters"]["model_id"],
                           "model_version": conf["job_parameters"]["model_version"]},
            "board_url": (f"http://{self.settings.board_address}/index.html#/dashboard"
                          f"?job_id={job_id}&role={initiator['role']}&party_id={initiator['party_id']}"),
            "logs_directory": str(self.settings.job_log_dir(job_id)),
        }
