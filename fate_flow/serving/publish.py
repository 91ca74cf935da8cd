"""FATE-Flow's /v1/model/load, load/do and bind: from the initiator to every party, then to its servings.

A party's servings are the ``servings`` of the request, else ``servings`` of the service
conf, else this very server (which then serves the model itself, no FATE-Serving needed).
A serving that is another server gets ``/v1/serving/load`` (it pulls the model from this
server's ``/v1/model/transfer``) or ``/v1/serving/bind``. Servings are this party's own
machines, not other parties, so they are called directly rather than through the route table.
"""
from __future__ import annotations

import logging
from typing import Any

from fate_flow.errors import (GENERIC_ERROR, NOT_FOUND, SUCCESS, ArgumentError, FederationError, FlowError,
                              ModelNotFound, ServingBindFailed, ServingLoadFailed)
from fate_flow.party.client import all_parties
from fate_flow.serving.registry import ModelKey
from fate_flow.services.party_answers import per_party_answer
from fate_flow.serving.service import ServingService, host_port, post_to, service_id_of
from fate_flow.settings import Settings
from fate_flow.model_storage.archive import check_model_name
from fate_flow.utils import ids
from fate_flow.utils.model_layout import version_dir

logger = logging.getLogger("fate_flow.serving")

LOAD_DO_PATH = "/v1/model/load/do"
SERVING_LOAD_PATH = "/v1/serving/load"
SERVING_BIND_PATH = "/v1/serving/bind"
# seconds a serving may take to pull and build a model (a host reads its feature table)
SERVING_TIMEOUT = 300.0


class ModelPublisher:
    """Loads and binds models at servings on behalf of a party's users."""

    def __init__(self, settings: Settings, api: Any, serving: ServingService) -> None:
        self.settings = settings
        self.api = api
        self.serving = serving

    def load(self, conf: dict) -> tuple[str, int, str, dict]:
        """Ask every party except the arbiter to load the model; (job id, retcode, retmsg, data).

        ``data`` is FATE's ``{role: {party: retcode}, "detail": {role: {party: {retcode, retmsg}}}}``,
        with every party kept (FATE 1.4 keeps only the last party of each role in detail).
        """
        model_names(conf)  # checked before any party is called
        parties = [(role, party) for role, party in all_parties(_roles(conf)) if role != "arbiter"]
        if not parties:
            raise ArgumentError("role", "names no guest or host party to load the model on")
        job_id = ids.generate_job_id()
        data, failures = per_party_answer({
            (role, party_id): self._call_party(role, party_id, dict(conf, local={"role": role, "party_id": party_id}))
            for role, party_id in parties})
        logger.info("load %s: %s", job_id, data["detail"])
        return job_id, (NOT_FOUND if failures else SUCCESS), ("failed" if failures else "success"), data

    def load_do(self, conf: dict) -> None:
        """Load this party's model at each of its servings.

        Raises:
            ModelNotFound before anything is done when this party has no such model;
            ServingLoadFailed naming the serving that failed.
        """
        key = model_key(conf, "local")
        root = version_dir(self.settings.model_dir, key.party_model_id, key.model_version)
        if not (root / "pipeline.json").is_file():
            raise ModelNotFound(key.role, key.party_id, key.model_id, key.model_version)
        for serving in self.servings(conf):
            if self.is_self(serving):
                self.serving.load(key)
            else:
                body = dict(key.to_dict(), transfer_address=self.settings.address)
                self._call_serving(serving, SERVING_LOAD_PATH, body, ServingLoadFailed)

    def bind(self, conf: dict) -> str:
        """Bind ``service_id`` to the initiator's model at its servings; FATE's answer message."""
        service_id = service_id_of(conf.get("service_id"))
        key = model_key(conf, "initiator")
        for serving in self.servings(conf):
            if self.is_self(serving):
                self.serving.bind(service_id, key)
            else:
                body = dict(key.to_dict(), service_id=service_id)
                self._call_serving(serving, SERVING_BIND_PATH, body, ServingBindFailed)
        return f"service id is {service_id}"

    def servings(self, conf: dict) -> list[str]:
        """``host:port`` of the servings: the request's, else the conf's, else this server."""
        given = conf.get("servings")
        if given in (None, "", []):
            return list(self.settings.servings) or [self.settings.address]
        if not isinstance(given, list) or not all(isinstance(s, str) and ":" in s for s in given):
            raise ArgumentError("servings", "must be a list of host:port strings")
        return [host_port(s) for s in given]

    def is_self(self, serving: str) -> bool:
        """True if ``serving`` is this server's own address."""
        host, _, port = serving.rpartition(":")
        if port != str(self.settings.port):
            return False
        names = {self.settings.host}
        if self.settings.host in ("0.0.0.0", "") or self.settings.is_loopback_only:
            names |= {"127.0.0.1", "localhost"}
        # another name of this machine is not recognised: it is then called over HTTP, which
        # finds the model in its own cache and loads it the same way
        return host in names

    def _call_party(self, role: str, party_id: Any, body: dict) -> dict:
        try:
            answer = self.api.call(role, party_id, LOAD_DO_PATH, body, timeout=SERVING_TIMEOUT)
        except FederationError as exc:
            return {"retcode": exc.retcode, "retmsg": exc.retmsg}
        return answer if isinstance(answer, dict) else {"retcode": GENERIC_ERROR, "retmsg": "answer is not an object"}

    def _call_serving(self, serving: str, path: str, body: dict, error: type[FlowError]) -> None:
        try:
            answer = post_to(self.api, serving, path, body, timeout=SERVING_TIMEOUT)
        except ConnectionError as exc:
            raise error(f"serving {exc}") from None
        if answer.get("retcode") != SUCCESS:
            raise error(f"serving {serving}: {answer.get('retmsg', '')} (retcode {answer.get('retcode')})")


def model_key(conf: dict, party_field: str) -> ModelKey:
    """The model of the party ``conf[party_field]`` ({role, party_id}) that job_parameters names.

    Raises:
        ArgumentError naming the missing or invalid field.
    """
    model_id, model_version = model_names(conf)
    party = conf.get(party_field)
    if not isinstance(party, dict):
        raise ArgumentError(party_field, "is required: {role, party_id}")
    role, party_id = _party(party.get("role"), party.get("party_id"), party_field)
    return ModelKey(role, party_id, model_id, model_version)


def model_names(conf: dict) -> tuple[str, str]:
    """(model_id, model_version) of ``conf["job_parameters"]``; ArgumentError naming the field."""
    params = conf.get("job_parameters")
    if not isinstance(params, dict):
        raise ArgumentError("job_parameters", "is required: {model_id, model_version}")
    return (_model_name(params.get("model_id"), "job_parameters.model_id"),
            _model_name(params.get("model_version"), "job_parameters.model_version"))


def serving_key(body: dict) -> ModelKey:
    """The model a ``/v1/serving/*`` body names at its top level: role, party_id, model_id, model_version."""
    role, party_id = _party(body.get("role"), body.get("party_id"), "role and party_id")
    return ModelKey(role, party_id, _model_name(body.get("model_id"), "model_id"),
                    _model_name(body.get("model_version"), "model_version"))


def _model_name(value: Any, field: str) -> str:
    if value in (None, ""):
        raise ArgumentError(field)
    try:
        return check_model_name(field, value)  # it becomes a path component
    except ValueError as exc:
        raise ArgumentError(field, f"is invalid: {exc}") from None


def _party(role: Any, party_id: Any, field: str) -> tuple[str, str]:
    if role in (None, "") or party_id in (None, ""):
        raise ArgumentError(field, "is required: {role, party_id}")
    if not str(role).isidentifier() or not str(party_id).isdigit():
        raise ArgumentError(field, f"is invalid: role {role!r}, party_id {party_id!r}")
    return str(role), str(party_id)


def _roles(conf: dict) -> dict[str, list]:
    roles = conf.get("role")
    if not isinstance(roles, dict) or not all(isinstance(v, list) for v in roles.values()):
        raise ArgumentError("role", "is required: {role: [party ids]}")
    return roles
