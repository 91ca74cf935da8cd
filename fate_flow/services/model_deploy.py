"""Deploy (FATE 1.5+): a new model version holding the chosen components of a DSL v2 model.

A DSL v2 train job stores no predict DSL. Deploy makes a fresh version (a new job-id-like id)
on every party of the model, with the inference DSL made from the chosen components (or the
one the client sends); predict jobs then name that version. The server asked (the
initiator's, as a rule) works out the inference DSL from its own copy of the pipeline and the
new version id, then asks each party of the train conf (guest, hosts, arbiter), itself
included, through its ``/v1/model/deploy/do`` route: the same party-to-party calls, signing
and routes as job create. Each party copies its own version; a party that fails or can not
be reached is named in the answer, the others keep their copy. The predict DSL and a predict
conf template are read back from the copy.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fate_flow.driver import dsl_v2
from fate_flow.errors import ArgumentError, FlowError, ModelNotFound, ModelVersionNotFound, PartiesFailed
from fate_flow.party.client import FederatedClient, all_parties
from fate_flow.services.party_answers import per_party_answer
from fate_flow.settings import Settings
from fate_flow.stores.model_catalogue import PIPELINE, ModelCatalogue, ModelRef, check_name, read_pipeline
from fate_flow.utils import ids

DEPLOY_DO_PATH = "/v1/model/deploy/do"
# the roles that hold a share of a model (FATE deploys on these, never on "local")
MODEL_ROLES = ("guest", "host", "arbiter")


class ModelDeployer:
    """Deploy, and the predict DSL / conf of a deployed version, for this server's parties."""

    def __init__(self, settings: Settings, models: ModelCatalogue, api: FederatedClient | None = None) -> None:
        self.settings = settings
        self.models = models
        self.api = api

    def deploy(self, model_id: str, model_version: str, cpn_list: Any = None, predict_dsl: Any = None) -> dict:
        """Make the new version on every party of the model; FATE's answer with per-party retcodes.

        Raises:
            ModelVersionNotFound: no party here has the version. ArgumentError: bad cpn_list or predict_dsl.
            PartiesFailed (with the per-party answer as data): some party could not make its copy.
        """
        train = read_pipeline(self._source_version(model_id, model_version))
        if int(train.get("dsl_version") or 1) != 2:
            raise FlowError(f"model {model_id} version {model_version} was trained by a DSL v1 job: predict it "
                            f"with its own version (its predict DSL was deduced at training)")
        inference = self._inference_dsl(train, cpn_list, predict_dsl)
        parties = model_parties(train)
        if not parties:
            raise FlowError(f"model {model_id} version {model_version}: its train conf names no guest, host "
                            f"or arbiter party to deploy on")
        if self.api is None:
            raise RuntimeError("a deployer without a party client can not deploy")
        body = {"model_id": model_id, "model_version": model_version, "child_model_version": ids.generate_job_id(),
                "predict_dsl": inference}
        answers = self.api.call_all(parties, lambda role, party_id: DEPLOY_DO_PATH,
                                    lambda role, party_id: dict(body, local={"role": role, "party_id": party_id}))
        data, failures = per_party_answer(answers)
        data.update(model_id=model_id, model_version=body["child_model_version"])
        if failures:
            raise PartiesFailed("deploy", failures, data=data)
        return data

    def deploy_party(self, body: dict) -> str:
        """``/v1/model/deploy/do``: copy this party's version into the new one; FATE's message.

        Raises:
            ArgumentError naming a bad field; ModelNotFound if this party has no such version;
            FlowError if the party is not on this server or the new version exists already.
        """
        role, party_id = _local_party(body)
        if role not in MODEL_ROLES or not self.settings.serves_party(party_id):
            raise FlowError(f"role {role} party {party_id} is not on this server")
        model_id, model_version = check_name("model_id", body.get("model_id")), \
            check_name("model_version", body.get("model_version"))
        new_version = check_name("child_model_version", body.get("child_model_version"))
        source = self.models.version_dir(ModelRef(role, party_id, model_id, model_version))
        if not (source / PIPELINE).is_file():
            raise ModelNotFound(role, party_id, model_id, model_version)
        inference = _dsl_of("predict_dsl", body.get("predict_dsl"))
        _check_predict_dsl(inference, read_pipeline(source))
        target = source.parent / new_version
        if target.exists():
            raise FlowError(f"model {model_id} version {new_version} exists already for role {role} "
                            f"party {party_id}")
        self._copy_version(source, target, inference, new_version)
        self.models.record_quietly(role, party_id, model_id, new_version)
        return "deploy model success"

    def predict_dsl(self, model_id: str, model_version: str) -> dict:
        """The inference DSL of a version; FlowError if it has none (a v2 model never deployed)."""
        pipeline = read_pipeline(self._source_version(model_id, model_version))
        dsl = pipeline.get("inference_dsl") or {}
        if not dsl.get("components"):
            raise FlowError(f"model {model_id} version {model_version} has not been deployed yet: deploy it "
                            f"first (flow model deploy)")
        return dsl

    def predict_conf(self, model_id: str, model_version: str) -> dict:
        """A predict conf for the version, its Reader tables left as placeholders."""
        pipeline = read_pipeline(self._source_version(model_id, model_version))
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

    def _source_version(self, model_id: Any, model_version: Any) -> Path:
        """The version directory whose pipeline this server reads: the model's initiator's if it is here."""
        model_id, model_version = check_name("model_id", model_id), check_name("model_version", model_version)
        found = []
        root = self.settings.model_dir
        for party_dir in sorted(root.iterdir()) if root.is_dir() else []:
            role, _, rest = party_dir.name.partition("#")
            party_id, _, party_model = rest.partition("#")
            version = party_dir / model_version
            if party_model == model_id and role in MODEL_ROLES and (version / PIPELINE).is_file():
                found.append((role, party_id, version))
        if not found:
            raise ModelVersionNotFound(model_id, model_version)

        def rank(item: tuple[str, str, Path]) -> tuple[bool, bool]:
            initiator = (read_pipeline(item[2]).get("train_runtime_conf") or {}).get("initiator") or {}
            is_initiator = (item[0], item[1]) == (str(initiator.get("role")), str(initiator.get("party_id")))
            return not is_initiator, item[0] != "guest"  # the initiator's, else a guest's, as FATE reads it

        return min(found, key=rank)[2]

    @staticmethod
    def _inference_dsl(train: dict, cpn_list: Any, predict_dsl: Any) -> dict:
        if predict_dsl:
            predict_dsl = _dsl_of("predict_dsl", predict_dsl)
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


def model_parties(pipeline: dict) -> list[tuple[str, str]]:
    """(role, party_id) of every guest, host and arbiter in a pipeline's train conf, in conf order."""
    roles = (pipeline.get("train_runtime_conf") or {}).get("role") or {}
    if not isinstance(roles, dict):
        return []
    return all_parties({r: p for r, p in roles.items() if r in MODEL_ROLES and isinstance(p, list)})


def _local_party(body: dict) -> tuple[str, str]:
    """The ``local`` {role, party_id} of a party call: the party that is asked to act."""
    local = body.get("local")
    if not isinstance(local, dict) or local.get("role") in (None, "") or local.get("party_id") in (None, ""):
        raise ArgumentError("local", "is required: {role, party_id} of the party that acts")
    role, party_id = str(local["role"]), str(local["party_id"])
    if not party_id.isdigit() or len(party_id) > 10:
        raise ArgumentError("local.party_id", f"should be an integer, got {party_id!r}")
    return check_name("local.role", role), party_id


def _dsl_of(field: str, value: Any) -> dict:
    """A DSL given as an object or as JSON text; ArgumentError naming ``field`` otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ArgumentError(field, "is not valid JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("components"), dict):
        raise ArgumentError(field, "should be a DSL: {\"components\": {...}}")
    return value


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

