"""Files a job leaves on a party: its DSL and confs under jobs/<job_id>/, its model directory."""
from __future__ import annotations

import json
from typing import Any

from fate_flow.settings import Settings
from fate_flow.utils import ids

JOB_FILES = ("job_dsl.json", "job_runtime_conf.json", "train_runtime_conf.json", "pipeline_dsl.json")


def write_job_files(settings: Settings, job_id: str, dsl: dict, conf: dict, train_conf: dict) -> None:
    """Write FATE's job files (DSL, runtime conf, train conf, an empty pipeline DSL)."""
    job_dir = settings.job_dir(job_id)
    job_dir.mkdir(parents=True, exist_ok=True)
    for name, content in zip(JOB_FILES, (dsl, conf, train_conf, {})):
        (job_dir / name).write_text(json.dumps(content, indent=4), encoding="utf-8")


def create_model_dir(settings: Settings, role: str, party_id: Any, conf: dict) -> None:
    """Make the party's empty model version directory of a train job."""
    params = conf["job_parameters"]
    model_dir = settings.model_dir / ids.party_model_id(role, party_id, params["model_id"]) / params["model_version"]
    for sub in ("define/proto", "variables/index", "variables/data"):
        (model_dir / sub).mkdir(parents=True, exist_ok=True)
