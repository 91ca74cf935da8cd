"""FATE 1.5's model migration: a party's model copied under new party ids, a new model id and a unified version.

``/v1/model/migrate`` names the model's roles (``role``), the parties they become
(``migrate_role``, same roles and positions), the new initiator and the parties that migrate
their share (``execute_party``, by their old ids). The server asked checks the request, then
asks each execute party, itself included, through its ``/v1/model/migrate/do`` route (the
party-to-party calls, signing and routes of job create); each party migrates its own model,
and a party that fails or can not be reached is named in the answer. Each party's version
directory is copied through the
model archive (packed and unpacked as export/import do) to
``<role>#<new party id>#<new model id>/<unify_model_version>/``, then the party ids inside
are rewritten: the pipeline's runtime conf (roles, initiator, model id and version) and, in
the component models, ``party_id`` fields and FATE's ``<role>:<party>`` / ``<role>_<party>``
site names. The migrated model then loads and predicts as the new parties.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from fate_flow.driver.dsl_parser import gen_model_id
from fate_flow.errors import ArgumentError, FlowError, PartiesFailed, RequiredModelArgumentsError
from fate_flow.model_storage import archive as model_archive
from fate_flow.party.client import FederatedClient
from fate_flow.services.party_answers import per_party_answer
from fate_flow.settings import Settings
from fate_flow.stores.model_catalogue import PIPELINE, ModelCatalogue, ModelRef

MIGRATE_REQUIRED = ("job_parameters", "role", "migrate_role", "execute_party", "model_id", "model_version",
                    "unify_model_version", "migrate_initiator")
FEDERATED_MODES = ("SINGLE", "MULTIPLE")
MIGRATE_DO_PATH = "/v1/model/migrate/do"
MODEL_FILES = "variables/data"


def _roles(body: dict, field: str) -> dict[str, list[str]]:
    value = body.get(field)
    if not isinstance(value, dict) or not value or not all(isinstance(v, list) for v in value.values()):
        raise ArgumentError(field, "should be an object of role: [party ids]")
    roles = {str(role): [str(p) for p in parties] for role, parties in value.items()}
    for role, parties in roles.items():
        bad = [p for p in parties if not p.isdigit() or len(p) > 10]
        if bad:
            raise ArgumentError(f"{field}.{role}", f"party ids should be integers, got {', '.join(bad[:3])}")
    return roles


class MigrateRequest:
    """A checked migrate body: the party mapping, the new model id and version."""

    def __init__(self, body: dict) -> None:
        missing = [f for f in MIGRATE_REQUIRED if body.get(f) in (None, "", {}, [])]
        if missing:
            raise RequiredModelArgumentsError(missing)
        mode = (body["job_parameters"] or {}).get("federated_mode") if isinstance(body["job_parameters"], dict) \
            else None
        if mode is not None and str(mode).upper() not in FEDERATED_MODES:
            raise ArgumentError("job_parameters.federated_mode", f"should be one of {', '.join(FEDERATED_MODES)}")
        self.role, self.migrate_role = _roles(body, "role"), _roles(body, "migrate_role")
        self.execute_party = _roles(body, "execute_party")
        for role, parties in self.role.items():
            if len(self.migrate_role.get(role, [])) != len(parties):
                raise ArgumentError("migrate_role", f"should give {len(parties)} party id(s) for role {role} "
                                                    f"as role does, got {self.migrate_role.get(role, [])}")
        for role, parties in self.execute_party.items():
            unknown = [p for p in parties if p not in self.role.get(role, [])]
            if unknown:
                raise ArgumentError("execute_party", f"{role} {', '.join(unknown)} is not in role.{role}")
        initiator = body["migrate_initiator"]
        if not isinstance(initiator, dict) or str(initiator.get("party_id")) not in \
                self.migrate_role.get(str(initiator.get("role")), []):
            raise ArgumentError("migrate_initiator", "should be {role, party_id} of a party in migrate_role")
        self.initiator = {"role": str(initiator["role"]), "party_id": int(initiator["party_id"])}
        self.model_id, self.model_version = str(body["model_id"]), str(body["model_version"])
        self.new_version = str(body["unify_model_version"])
        self.new_model_id = gen_model_id({r: [int(p) for p in ps] for r, ps in self.migrate_role.items()})
        # every old party id of a role and the one it becomes
        self.mapping = {(role, old): new for role in self.role
                        for old, new in zip(self.role[role], self.migrate_role[role])}

    def new_party(self, role: str, party_id: str) -> str:
        return self.mapping[(role, party_id)]


class ModelMigrator:
    """Migrate: the fan-out to the execute parties, and each party's copy of its own model."""

    def __init__(self, settings: Settings, catalogue: ModelCatalogue, api: FederatedClient | None = None) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.api = api

    def migrate(self, body: dict) -> dict:
        """Ask every execute party to migrate its share; FATE's answer with per-party retcodes and ``detail``.

        Raises:
            ArgumentError / RequiredModelArgumentsError naming a bad field (no party is asked then);
            PartiesFailed (with the per-party answer as data): some party could not migrate.
        """
        request = MigrateRequest(body)
        if self.api is None:
            raise RuntimeError("a migrator without a party client can not migrate")
        parties = [(role, party) for role, ids in request.execute_party.items() for party in ids]
        answers = self.api.call_all(parties, lambda role, party_id: MIGRATE_DO_PATH,
                                    lambda role, party_id: dict(body, local={
                                        "role": role, "party_id": party_id,
                                        "migrate_party_id": request.new_party(role, party_id)}))
        data, failures = per_party_answer(answers)
        data.update(model_id=request.new_model_id, model_version=request.new_version)
        if failures:
            raise PartiesFailed("migrating model", failures, data=data)
        return data

    def migrate_party(self, body: dict) -> str:
        """``/v1/model/migrate/do``: copy this party's model to its migrated name; the message.

        Raises:
            ArgumentError naming a bad field; FlowError if the party is not here, has no such
            model or already has the migrated one.
        """
        request = MigrateRequest(body)
        local = body.get("local")
        if not isinstance(local, dict):
            raise ArgumentError("local", "is required: {role, party_id} of the party that migrates")
        role, party_id = str(local.get("role")), str(local.get("party_id"))
        if party_id not in request.execute_party.get(role, []):
            raise ArgumentError("local", f"{role} {party_id} is not in execute_party")
        if not self.settings.serves_party(party_id):
            raise FlowError(f"party {party_id} is not on this server: the route table sent its migrate here")
        source = ModelRef(role, party_id, request.model_id, request.model_version)
        target = ModelRef(role, request.new_party(role, party_id), request.new_model_id, request.new_version)
        source_dir, target_dir = self.catalogue.version_dir(source), self.catalogue.version_dir(target)
        if not source_dir.is_dir():
            raise FlowError(f"Can not found {source.label} model local cache")
        if target_dir.exists():
            raise FlowError(f"model {target.label} already exists")
        self._copy(source_dir, target_dir, target.label)
        try:
            _rewrite(target_dir, request, role)
        except BaseException:
            shutil.rmtree(target_dir, ignore_errors=True)
            raise
        self.catalogue.record(target)
        return f"migrated to {target.label}"

    def _copy(self, source: Path, target: Path, label: str) -> None:
        """Pack and unpack through the model archive, as an export followed by an import would."""
        temp = self.settings.work_dir / "temp" / f"migrate-{uuid.uuid4().hex}.zip"
        try:
            model_archive.pack_to_file(source, temp)
            limits = self.settings.model_store
            model_archive.unpack(temp, target, limits.import_max_bytes, label, limits.import_max_ratio)
        finally:
            temp.unlink(missing_ok=True)


def _rewrite(version_dir: Path, request: MigrateRequest, role: str) -> None:
    """The party ids, model id and version inside a copied version directory, as the migrated parties'."""
    pipeline_path = version_dir / PIPELINE
    pipeline = json.loads(pipeline_path.read_text(encoding="utf-8"))
    pipeline["model_id"], pipeline["model_version"] = request.new_model_id, request.new_version
    conf = pipeline.get("train_runtime_conf")
    if isinstance(conf, dict):
        pipeline["train_runtime_conf"] = _rewrite_conf(conf, request)
    _write(pipeline_path, pipeline)
    by_id = _party_ids(request, role)
    for folder, _, files in os.walk(version_dir / MODEL_FILES):
        for name in files:
            path = Path(folder) / name
            try:
                model = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue  # not a JSON model file: nothing of ours to rewrite
            changed = _rewrite_ids(model, request, by_id)
            if changed != model:
                _write(path, changed)


def _rewrite_conf(conf: dict, request: MigrateRequest) -> dict:
    conf = dict(conf, role={r: [int(p) for p in ps] for r, ps in request.migrate_role.items()},
                initiator=dict(request.initiator))
    params = conf.get("job_parameters")
    if isinstance(params, dict):
        params = dict(params)
        for section in (params, params.get("common")):
            if isinstance(section, dict):
                section.update(model_id=request.new_model_id, model_version=request.new_version)
        conf["job_parameters"] = params
    return conf


def _party_ids(request: MigrateRequest, own_role: str) -> dict[str, str]:
    """Old party id -> new one; where two roles share an old id, the migrating party's own role decides."""
    result: dict[str, str] = {}
    for (role, old), new in sorted(request.mapping.items(), key=lambda item: item[0][0] == own_role):
        result[old] = new
    return result


def _rewrite_ids(value: Any, request: MigrateRequest, by_id: dict[str, str]) -> Any:
    """``value`` with party ids replaced: ``party_id`` fields and ``<role>:<id>`` / ``<role>_<id>`` names."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "party_id" and str(item) in by_id:
                new = by_id[str(item)]
                out[key] = int(new) if isinstance(item, int) and not isinstance(item, bool) else new
            else:
                out[_rewrite_site(key, request)] = _rewrite_ids(item, request, by_id)
        return out
    if isinstance(value, list):
        return [_rewrite_ids(item, request, by_id) for item in value]
    if isinstance(value, str):
        return _rewrite_site(value, request)
    return value


def _rewrite_site(text: Any, request: MigrateRequest) -> Any:
    if not isinstance(text, str):
        return text
    for separator in (":", "_"):
        role, sep, party = text.partition(separator)
        if sep and (role, party) in request.mapping:
            return f"{role}{separator}{request.mapping[(role, party)]}"
    return text


def _write(path: Path, value: Any) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temp, path)
