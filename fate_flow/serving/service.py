"""The serving side: load models (pulling them if needed), bind service ids, answer inferences.

A guest inference runs the guest's pipeline on the request's ``featureData`` rows, asks
every host party of the model for its share of the score (``HOST_SHARE_PATH`` on that
party's server, reached through the federated client as every party call is), adds the
shares and applies the sigmoid, as FATE-Serving does for hetero LR. A HomoLR model scores
on the guest alone.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from fate_flow.errors import (
    SUCCESS,
    ArgumentError,
    FederationError,
    HostAnswerError,
    HostFeatureNotFound,
    HostInvalidFeature,
    HostInvalidRequest,
    HostModelNotLoaded,
    HostUnreachable,
    InferenceArgumentError,
    InvalidFeature,
    ModelNotFound,
    NotFound,
    ServiceNotFound,
    ServingBindFailed,
    ServingError,
    ServingLoadFailed,
)
from fate_flow.serving.features import TableFeatureSource
from fate_flow.serving.pipeline import PartyPipeline, load_pipeline
from fate_flow.serving.registry import ModelKey, ServingRegistry
from fate_flow.settings import Settings
from fate_flow.utils import metrics
from fate_flow.utils.model_layout import save_component_model, version_dir

logger = logging.getLogger("fate_flow.serving")

HOST_SHARE_PATH = "/v1/serving/host/inference"
TRANSFER_PATH = "/v1/model/transfer"
# seconds the guest waits for a host's share; an online request must fail fast, not hang
HOST_TIMEOUT = 10.0
# rows one inference request (and one host share request) may carry
MAX_BATCH = 1000
_SAFE_PART = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass
class LoadedModel:
    """A model ready to answer: its pipeline, a host's feature source, and its registry entry."""

    key: ModelKey
    pipeline: PartyPipeline
    features: TableFeatureSource | None
    entry: dict


@dataclass
class Scores:
    """A guest inference: one score per row (None where a row failed), each failed row's error, and
    per row the model features the request left out (filled as the model was trained) and the
    request's features the model does not know (ignored)."""

    model: LoadedModel
    scores: list[float | None]
    errors: dict[int, ServingError]
    warnings: dict[int, dict[str, list[str]]] = field(default_factory=dict)


class ServingService:
    """This server's online serving: a registry of loaded models and the inference engine."""

    def __init__(self, settings: Settings, api: Any, storage_opener: Callable[[], Any]) -> None:
        self.settings = settings
        self.api = api
        self.storage_opener = storage_opener
        self.registry = ServingRegistry(settings.work_dir / "serving")
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pulled_dir(self) -> Path:
        """Models pulled from a FATE-Flow server by ``/v1/model/transfer`` live here."""
        return self.settings.work_dir / "serving" / "models"

    # ---- load and bind ---------------------------------------------------------------

    def load(self, key: ModelKey, transfer_address: str | None = None) -> dict:
        """Build and register a model from this server's cache, or pulled from ``transfer_address``.

        Nothing is recorded unless the model builds (and a host's feature table reads).

        Raises:
            ModelNotFound: no such model here and nowhere to pull it from.
            ServingLoadFailed: the model can not be pulled or served (the message says why).
        """
        root, pulled = self._local_root(key), False
        if root is None:
            if transfer_address is None:
                raise ModelNotFound(key.role, key.party_id, key.model_id, key.model_version)
            self._check_known_server(transfer_address)
            root, pulled = self._pull(key, transfer_address), True
        loaded = self._build(key, root, {})
        loaded.entry = self.registry.add_model(key, root if pulled else None)
        with self._lock:
            self._loaded[key.name] = loaded
        logger.info("loaded model %s (%s)", key.name, f"pulled from {transfer_address}" if pulled else "local")
        return loaded.entry

    def bind(self, service_id: Any, key: ModelKey) -> None:
        """Bind ``service_id`` to a model loaded here; ServingBindFailed if it is not loaded."""
        service_id = service_id_of(service_id)
        if self.registry.model(key) is None:
            raise ServingBindFailed(f"model {key.model_id} version {key.model_version} of {key.role} "
                                    f"{key.party_id} is not loaded on this serving: run load first")
        self.registry.bind(service_id, key)
        logger.info("service id %s bound to %s", service_id, key.name)

    # ---- inference -------------------------------------------------------------------

    def infer(self, service_id: str, features: list[dict], remotes: list[dict]) -> Scores:
        """Scores of the rows, timed per service id (only ids bound here get that far: the label stays bounded)."""
        began = time.perf_counter()
        scores = self._infer(service_id, features, remotes)
        metrics.inference_observed(str(service_id), time.perf_counter() - began)
        return scores

    def _infer(self, service_id: str, features: list[dict], remotes: list[dict]) -> Scores:
        """Scores of the rows (``featureData`` and ``sendToRemoteFeatureData`` per row).

        Raises:
            ServiceNotFound, InvalidFeature, HostUnreachable, HostAnswerError and the other
            ServingErrors for failures of the whole request; a host without the features of
            one row fails that row only (``Scores.errors``).
        """
        if not 0 < len(features) <= MAX_BATCH:
            raise InferenceArgumentError(f"an inference request carries 1 to {MAX_BATCH} rows, got {len(features)}")
        entry = self.registry.service(service_id)
        if entry is None:
            raise ServiceNotFound(service_id)
        model = self._built(ModelKey.from_dict(entry["key"]), entry)
        pipeline = model.pipeline
        if pipeline.feature_table is not None:
            raise InferenceArgumentError(f"service id {service_id} is bound to a hetero host model: inference "
                                         f"starts at the guest")
        if not any(name in row for row in features for name in pipeline.header):
            raise InvalidFeature(f"featureData holds none of the model's features {pipeline.header}")
        try:
            own = pipeline.partial_scores(pipeline.read_feature_dicts(features))
        except ValueError as exc:
            raise InvalidFeature(f"featureData: {exc}") from None
        errors: dict[int, ServingError] = {}
        host_shares = []
        for share, missing in self._host_shares(model, remotes):
            host_shares.append(np.where(np.isnan(share), 0.0, share))
            for row in missing:
                errors.setdefault(row, HostFeatureNotFound(missing[row], _describe(remotes[row])))
        probabilities = pipeline.score(own, host_shares)
        scores = [None if i in errors else float(p) for i, p in enumerate(probabilities)]
        return Scores(model, scores, errors, feature_warnings(pipeline.header, features))

    def host_share(self, key: ModelKey, remotes: Any, caller: str | None = None) -> dict:
        """A host's ``{"share": [share or None], "missing": [rows]}`` for the guest's remote feature ids.

        ``caller`` is the party a signed request proved to come from: only a guest of the
        model's training job (or this server itself) gets the host's partial scores.

        Raises:
            HostModelNotLoaded, HostInvalidRequest, HostInvalidFeature.
        """
        if not isinstance(remotes, list) or not 0 < len(remotes) <= MAX_BATCH:
            raise HostInvalidRequest(f"featureIdList must be a list of 1 to {MAX_BATCH} objects")
        entry = self.registry.model(key)
        if entry is None:
            raise HostModelNotLoaded(key.party_id, key.model_id, key.model_version)
        model = self._built(key, entry)
        if (caller is not None and caller not in model.pipeline.guest_parties
                and caller not in {str(p) for p in self.settings.party_ids}):
            raise HostInvalidRequest(f"party {caller} is not a guest of model {key.name}")
        source = model.features
        if source is None:
            raise HostInvalidRequest(f"model {key.name} is not a hetero host model")
        ids, values, missing = source.rows([source.feature_id(remote) for remote in remotes])
        shares_by_row: list[float | None] = [None] * len(remotes)
        if len(ids):
            try:
                shares = model.pipeline.partial_scores(model.pipeline.read(ids, values, source.schema))
            except ValueError as exc:
                raise HostInvalidFeature(f"host {key.party_id} features: {exc}") from None
            lacking = set(missing)
            found = [i for i in range(len(remotes)) if i not in lacking]
            for row, share in zip(found, shares):
                shares_by_row[row] = _share_value(share)
        return {"share": shares_by_row, "missing": missing}

    # ---- internals ---------------------------------------------------------------------

    def _host_shares(self, model: LoadedModel, remotes: list[dict]):
        """Yield (shares with NaN for rows the host lacks, {row: host party}) for every host party."""
        hosts = model.pipeline.host_parties
        if not hosts:
            return
        key = model.key
        body = {"role": "host", "model_id": key.model_id, "model_version": key.model_version,
                "guest_party_id": key.party_id, "featureIdList": remotes}
        if len(hosts) == 1:
            answers = [self._ask_host(hosts[0], body)]
        else:
            answers = list(self._host_pool().map(lambda party: self._ask_host(party, body), hosts))
        for party, data in zip(hosts, answers):
            yield _share_array(party, data, len(remotes))

    def _ask_host(self, party_id: str, body: dict) -> dict:
        try:
            answer = self.api.call("host", party_id, HOST_SHARE_PATH, dict(body, party_id=party_id),
                                   timeout=HOST_TIMEOUT)
        except FederationError as exc:
            raise HostUnreachable(party_id, exc.reason) from None
        if not isinstance(answer, dict) or answer.get("retcode") != SUCCESS:
            answer = answer if isinstance(answer, dict) else {}
            raise HostAnswerError(party_id, answer.get("retcode"), str(answer.get("retmsg", "no answer")))
        return dict(answer.get("data") or {}, party_id=party_id)

    def _host_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="serving-hosts")
            return self._pool

    def _built(self, key: ModelKey, entry: dict) -> LoadedModel:
        """The model of a registry entry; built on first use after a restart or a load by another process."""
        with self._lock:
            loaded = self._loaded.get(key.name)
        if loaded is not None and loaded.entry.get("loaded_at") == entry.get("loaded_at"):
            return loaded
        root = Path(entry["path"]) if entry.get("path") else self._local_root(key)
        if root is None:
            raise ServingLoadFailed(f"the files of model {key.name} are gone from this server")
        loaded = self._build(key, root, entry)
        with self._lock:
            self._loaded[key.name] = loaded
        return loaded

    def _build(self, key: ModelKey, root: Path, entry: dict) -> LoadedModel:
        try:
            pipeline = load_pipeline(root, key.role, key.party_id)
            features = self._feature_source(pipeline) if pipeline.feature_table else None
        except (ValueError, KeyError, TypeError) as exc:
            raise ServingLoadFailed(f"can not serve model {key.model_id} version {key.model_version} of "
                                    f"{key.role} {key.party_id}: {exc}") from None
        return LoadedModel(key, pipeline, features, entry)

    def _check_known_server(self, address: Any) -> None:
        """Pull models only from servers this one knows (itself, its routes, its servings), never
        from any address a request names."""
        if not isinstance(address, str) or ":" not in address:
            raise ArgumentError("transfer_address", "must be the host:port of a FATE-Flow server")
        known = {self.settings.address, *self.settings.routes.values(), *self.settings.servings}
        if host_port(address) not in {host_port(a) for a in known}:
            raise ArgumentError("transfer_address", f"{address} is not this server, a route or a serving of it")

    def _feature_source(self, pipeline: PartyPipeline) -> TableFeatureSource:
        from fate_flow.storage import TableNotFoundError

        namespace, name = pipeline.feature_table
        try:
            with self.storage_opener().open(namespace, name) as table:
                return TableFeatureSource(table)
        except TableNotFoundError:
            raise ValueError(f"the host's feature table {namespace}.{name} (its training input) is not on "
                             f"this server") from None

    def _local_root(self, key: ModelKey) -> Path | None:
        for base in (self.settings.model_dir, self.pulled_dir):
            root = version_dir(base, key.party_model_id, key.model_version)
            if (root / "pipeline.json").is_file():
                return root
        return None

    def _pull(self, key: ModelKey, address: str) -> Path:
        """Fetch a model from a FATE-Flow server's ``/v1/model/transfer`` into ``pulled_dir``."""
        try:
            answer = post_to(self.api, address, TRANSFER_PATH,
                             {"namespace": key.party_model_id, "name": key.model_version}, timeout=60)
        except ConnectionError as exc:
            raise ServingLoadFailed(f"can not pull model {key.name}: {exc}") from None
        if answer.get("retcode") != SUCCESS or not isinstance(answer.get("data"), dict):
            raise ServingLoadFailed(f"can not pull model {key.name} from {address}: "
                                    f"{answer.get('retcode')} {answer.get('retmsg', '')}")
        target = version_dir(self.pulled_dir, key.party_model_id, key.model_version)
        staging = self.pulled_dir / ".staging" / f"{key.model_version}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            write_transferred(staging, answer["data"])
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                staging.rename(target)
        except ValueError as exc:
            raise ServingLoadFailed(f"model {key.name} from {address} is malformed: {exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target


def feature_warnings(header: list[str], rows: list[dict]) -> dict[int, dict[str, list[str]]]:
    """Per row: ``missingFeatures`` (model features absent or null in the request, filled as the
    model was trained) and ``unknownFeatures`` (request keys the model does not read)."""
    known = set(header)
    warnings = {}
    for index, row in enumerate(rows):
        found = {"missingFeatures": [name for name in header if row.get(name) is None],
                 "unknownFeatures": sorted(str(name) for name in row if name not in known)}
        found = {key: names for key, names in found.items() if names}
        if found:
            warnings[index] = found
    return warnings


def host_port(address: str) -> str:
    """``host:port`` of an address that may carry a scheme or a trailing slash."""
    return address.replace("http://", "").rstrip("/")


def service_id_of(value: Any) -> str:
    """A service id as text; FATE's "no service id" (NotFound) when it is missing or not a string or number."""
    if value in (None, "") or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NotFound("no service id")
    return str(value)


def post_to(api: Any, address: str, path: str, body: dict, timeout: float) -> dict:
    """POST to a server of this party by address (signed as party calls are) and return its JSON answer.

    Raises:
        ConnectionError naming the address when it can not be reached or answers no JSON object.
    """
    import requests

    try:
        resp = api.send(address, path, body, timeout=timeout)
    except (requests.RequestException, ValueError) as exc:
        raise ConnectionError(f"{address} unreachable ({exc.__class__.__name__})") from None
    try:
        answer = resp.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ConnectionError(f"{address}{path} answered HTTP {resp.status_code} without a JSON object")
    return answer


def write_transferred(root: Path, files: dict) -> None:
    """Write a ``/v1/model/transfer`` answer as a model version directory (JSON files, no pickle).

    Raises:
        ValueError for a key or content that is not a model file of ours.
    """
    pipeline_text = _decode(files.get("pipeline.pipeline:Pipeline"), "pipeline.pipeline:Pipeline")
    pipeline = json.loads(pipeline_text)
    modules = {name: entry.get("module", "") for dsl in ("train_dsl", "inference_dsl")
               for name, entry in ((pipeline.get(dsl) or {}).get("components") or {}).items()}
    root.mkdir(parents=True, exist_ok=True)
    for key, content in files.items():
        if key == "pipeline.pipeline:Pipeline":
            continue
        location, _, model_name = key.partition(":")
        component, _, alias = location.partition(".")
        if not all(_SAFE_PART.match(part or "") for part in (component, alias, model_name)):
            raise ValueError(f"unexpected model file name {key!r}")
        message = json.loads(_decode(content, key))
        save_component_model(root, component, modules.get(component, ""), alias, {model_name: message})
    (root / "pipeline.json").write_text(pipeline_text, encoding="utf-8")


def _decode(content: Any, key: str) -> str:
    if not isinstance(content, str):
        raise ValueError(f"{key} is missing or not base64 text")
    try:
        return base64.b64decode(content, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"{key} is not base64 of UTF-8 text: {exc}") from None


def _share_array(party: str, data: dict, rows: int) -> tuple[np.ndarray, dict[int, str]]:
    """A host's shares as a float array (NaN where it lacks the row) and those rows.

    A share is one number per row (linear models) or one list of numbers per row (a tree model's
    decisions at the host's nodes): then the array has a row per request row."""
    shares = data.get("share")
    if not isinstance(shares, list) or len(shares) != rows:
        raise HostAnswerError(party, None, f"answered {type(shares).__name__} shares for {rows} rows")
    width = next((len(v) for v in shares if isinstance(v, list)), None)
    try:
        if width is None:
            share = np.array([np.nan if v is None else float(v) for v in shares], dtype=np.float64)
        else:
            share = np.array([[np.nan] * width if v is None else [float(x) for x in v] for v in shares],
                             dtype=np.float64)
    except (TypeError, ValueError):
        raise HostAnswerError(party, None, "answered shares that are not numbers") from None
    return share, {int(i): party for i, v in enumerate(shares) if v is None}


def _share_value(share) -> float | list[float]:
    """One row's share as JSON numbers: a float, or a list of floats for a row of several values."""
    values = np.asarray(share, dtype=np.float64)
    return float(values) if values.ndim == 0 else values.tolist()


def _describe(remote: Any) -> str:
    return json.dumps(remote, sort_keys=True) if isinstance(remote, dict) else repr(remote)
