"""Deploy (FATE 1.5+): a new model version holding the chosen components of a DSL v2 model.

A DSL v2 train job stores no predict DSL. Deploy copies the trained version of every party
this server keeps into a fresh version (a new job-id-like id), with the inference DSL made
from the chosen components (or the one the client sends); predict jobs then name that
version. The predict DSL and a predict conf template are read back from the copy.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fate_flow.driver import dsl_v2
from fate_flow.errors import ArgumentError, FlowError, ModelVersionNotFound
from fate_flow.settings import Settings
from fate_flow.stores.model_catalogue import PIPELINE, ModelCatalogue, check_name, read_pipeline
from fate_flow.utils import ids


class ModelDeployer:
    """Deploy, and the predict DSL / conf of a deployed version, for this server's parties."""

    def __init__(self, settings: Settings, models: ModelCatalogue) -> None:
        self.settings = settings
        self.models = models

    def deploy(self, model_id: str, model_version: str, cpn_list: Any = None, predict_dsl: Any = None) -> dict:
        """Copy the version of every local party into a new one with its inference DSL; FATE's answer.

        Raises:
            ModelVersionNotFound: no party here has the version. ArgumentError: bad cpn_list or predict_dsl.
        """
        parties = self._party_versions(model_id, model_version)
        train = read_pipeline(parties[0][2])
        if int(train.get("dsl_version") or 1) != 2:
            raise FlowError(f"model {model_id} version {model_version} was trained by a DSL v1 job: predict it "
                            f"with its own version (its predict DSL was deduced at training)")
        inference = self._inference_dsl(train, cpn_list, predict_dsl)
        new_version = ids.generate_job_id()
        answer: dict[str, Any] = {"model_id": model_id, "model_version": new_version, "detail": {}}
        for role, party_id, path in parties:
            self._copy_version(path, path.parent / new_version, inference, new_version)
            self.models.record_quietly(role, party_id, model_id, new_version)
            answer.setdefault(role, {})[party_id] = 0
            answer["detail"].setdefault(role, {})[party_id] = {"retcode": 0, "retmsg": "deploy model success"}
        return answer

    def predict_dsl(self, model_id: str, model_version: str) -> dict:
        """The inference DSL of a version; FlowError if it has none (a v2 model never deployed)."""
        pipeline = read_pipeline(self._party_versions(model_id, model_version)[0][2])
        dsl = pipeline.get("inference_dsl") or {}
        if not dsl.get("components"):
            raise FlowError(f"model {model_id} version {model_version} has not been deployed yet: deploy it "
                            f"first (flow model deploy)")
        return dsl

    def predict_conf(self, model_id: str, model_version: str) -> dict:
        """A predict conf for the version, its Reader tables left as placeholders."""
        pipeline = read_pipeline(self._party_versions(model_id, model_version)[0][2])
        return dsl_v2.predict_conf_template(pipeline.get("train_runtime_conf") or {},
                                            self.predict_dsl(model_id, model_version), model_id, model_version)

    @staticmethod
    def generate(train_dsl: Any, cpn_list: Any) -> dict:
        """``/v1/job/dsl/generate``: the inference DSL of ``cpn_list`` from a v2 train DSL (no model needed)."""
        if isinstance(train_dsl, str):
            try:
                train_dsl = json.loads(train_dsl)
            except ValueError:
                raise ArgumentError("train_dsl", "is not valid JSON") from None
        if not isinstance(train_dsl, dict) or not isinstance(train_dsl.get("components"), dict):
            raise ArgumentError("train_dsl", "should be a DSL: {\"components\": {...}}")
        return dsl_v2.generate_predict_dsl(train_dsl, components_list(cpn_list, train_dsl))

    def _party_versions(self, model_id: Any, model_version: Any) -> list[tuple[str, str, Path]]:
        model_id, model_version = check_name("model_id", model_id), check_name("model_version", model_version)
        found = []
        root = self.settings.model_dir
        for party_dir in sorted(root.iterdir()) if root.is_dir() else []:
            role, _, rest = party_dir.name.partition("#")
            party_id, _, party_model = rest.partition("#")
            version = party_dir / model_version
            if party_model == model_id and role != "local" and (version / PIPELINE).is_file():
                found.append((role, party_id, version))
        if not found:
            raise ModelVersionNotFound(model_id, model_version)
        found.sort(key=lambda item: item[0] != "guest")  # the guest's pipeline first, as FATE reads it
        return found

    @staticmethod
    def _inference_dsl(train: dict, cpn_list: Any, predict_dsl: Any) -> dict:
        if predict_dsl:
            if isinstance(predict_dsl, str):
                predict_dsl = json.loads(predict_dsl)
            if not isinstance(predict_dsl, dict) or not isinstance(predict_dsl.get("components"), dict):
                raise ArgumentError("predict_dsl", "should be a DSL: {\"components\": {...}}")
            _check_predict_dsl(predict_dsl, train)
            return predict_dsl
        train_dsl = train.get("train_dsl") or {}
        return dsl_v2.generate_predict_dsl(train_dsl, components_list(cpn_list, train_dsl, deployable_only=True))

    @staticmethod
    def _copy_version(source: Path, target: Path, inference: dict, new_version: str) -> None:
        staging = target.parent / f".{target.name}.deploying"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging, symlinks=False)
        pipeline = read_pipeline(staging)
        pipeline.update(inference_dsl=inference, model_version=new_version, parent_version=source.name,
                        deployed=True)
        (staging / PIPELINE).write_text(json.dumps(pipeline, indent=4), encoding="utf-8")
        staging.rename(target)


def components_list(cpn_list: Any, train_dsl: dict, deployable_only: bool = False) -> list[str]:
    """The components to deploy: a list or comma-separated text; by default every deployable one."""
    if isinstance(cpn_list, str):
        cpn_list = [c.strip() for c in cpn_list.split(",") if c.strip()]
    if cpn_list in (None, []):
        if not deployable_only:
            raise ArgumentError("cpn_list", "is required: the components to deploy")
        return [name for name, c in train_dsl.get("components", {}).items() if _deployable(c.get("module"))]
    if not isinstance(cpn_list, list) or not all(isinstance(c, str) for c in cpn_list):
        raise ArgumentError("cpn_list", "should be a list of component names")
    return cpn_list


def _deployable(module: Any) -> bool:
    from fate_flow.components import registry

    return isinstance(module, str) and registry.has_module(module) and registry.get_spec(module).need_deploy


def _check_predict_dsl(predict_dsl: dict, train: dict) -> None:
    """Model inputs of a given predict DSL must name components of the train DSL."""
    trained = (train.get("train_dsl") or {}).get("components") or {}
    for name, component in predict_dsl["components"].items():
        for ref in ((component or {}).get("input") or {}).get("model") or []:
            parts = str(ref).split(".")
            if len(parts) != 3 or parts[0] != "pipeline" or parts[1] not in trained:
                raise ArgumentError("predict_dsl", f"component {name}: model input {ref} is not "
                                                   f"pipeline.<trained component>.<model>")

