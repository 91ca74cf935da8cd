"""DSL v2 and runtime conf v2 (FATE 1.5+): index keys, merges, checks and the predict DSL.

Pure functions over dicts, used by ``dsl_parser.DSLParserV2`` and by model deploy. A v2
conf keeps ``job_parameters.common`` / ``.role`` and ``component_parameters.common`` /
``.role``; a per-party section is keyed by position in ``role[<role>]``: ``"0"``,
``"0|1"`` or ``"all"``, applied in dict order, each a deep merge (the last match wins).
"""
from __future__ import annotations

import copy
import re
from typing import Any

from fate_flow.errors import ArgumentError, DSLError

V1_PARAMETER_SECTIONS = ("algorithm_parameters", "role_parameters")
DATA_KEYS = ("data", "train_data", "validate_data", "test_data")
# FATE's predict DSL reads what a component was trained on as its test data
PREDICT_DATA_KEYS = {"data": "data", "train_data": "test_data", "validate_data": "test_data",
                     "test_data": "test_data"}
READER = "Reader"
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_INDEX_KEY = re.compile(r"all|\d+(\|\d+)*")


def dsl_version(conf: Any) -> int:
    """The conf's ``dsl_version`` as an int (missing: 1); ArgumentError for anything else."""
    value = conf.get("dsl_version", 1) if isinstance(conf, dict) else 1
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ArgumentError("dsl_version", f"should be 1 or 2, got {value!r}") from None


def deep_merge(base: dict, over: dict) -> dict:
    """A copy of ``base`` with ``over`` merged in: dicts merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def index_key_matches(key: str, index: int) -> bool:
    """Whether a per-party key (``"all"``, ``"0"``, ``"0|2"``) selects position ``index``."""
    return key == "all" or str(index) in key.split("|")


def party_sections(by_key: dict, index: int) -> list[tuple[str, dict]]:
    """The (key, section) pairs of one role's per-party dict that select ``index``, in dict order."""
    return [(key, section) for key, section in (by_key or {}).items() if index_key_matches(key, index)]


def normalise_conf(conf: dict, server_work_mode: int | None = None, strict: bool = False) -> dict:
    """Check a v2 conf's sections and put ``job_parameters.common`` also flat on ``job_parameters``.

    The flat copy lets the server read ``job_parameters.work_mode`` (and the rest) as for a v1
    conf; ``common`` and ``role`` stay for v2 readers. Idempotent on an already normalised conf.
    ``strict`` (a submitted conf) refuses flat keys that ``common`` does not hold.

    Raises:
        ArgumentError: a v1 key in a v2 conf, a missing ``job_parameters.common``, a bad index key.
    """
    conf = copy.deepcopy(conf)
    conf["dsl_version"] = 2
    for key in V1_PARAMETER_SECTIONS:
        if key in conf:
            raise ArgumentError(key, "is a DSL v1 section, but the conf says dsl_version 2: set parameters "
                                     "under component_parameters.common and component_parameters.role.<role>."
                                     "<index>, or drop dsl_version to submit a v1 conf")
    conf["job_parameters"] = _flat_job_parameters(conf.get("job_parameters"), server_work_mode, strict)
    roles = conf.get("role") or {}
    _check_by_role(conf["job_parameters"].get("role"), "job_parameters.role", roles)
    component_parameters = conf.setdefault("component_parameters", {})
    if not isinstance(component_parameters, dict):
        raise ArgumentError("component_parameters", "should be a dict with common and role")
    unknown = [key for key in component_parameters if key not in ("common", "role")]
    if unknown:
        raise ArgumentError(f"component_parameters.{unknown[0]}", "is not a v2 section: use common or role")
    common = component_parameters.get("common") or {}
    if not isinstance(common, dict) or not all(isinstance(v, dict) for v in common.values()):
        raise ArgumentError("component_parameters.common", "should be a dict of component name -> parameters")
    _check_by_role(component_parameters.get("role"), "component_parameters.role", roles, per_component=True)
    return conf


def _flat_job_parameters(job_parameters: Any, server_work_mode: int | None, strict: bool) -> dict:
    if not isinstance(job_parameters, dict) or not isinstance(job_parameters.get("common"), dict):
        raise ArgumentError("job_parameters", "the configuration format for v2 version must be "
                                              "job_parameters:common (and optionally job_parameters:role)")
    common = job_parameters["common"]
    for key, value in job_parameters.items():
        if strict and key not in ("common", "role") and (key not in common or common[key] != value):
            raise ArgumentError(f"job_parameters.{key}", "is a DSL v1 key: a v2 conf keeps job parameters "
                                                         "under job_parameters.common")
    if "work_mode" not in common and server_work_mode is not None:
        common["work_mode"] = server_work_mode  # 1.7+ clients no longer send it
    flat = copy.deepcopy(common)
    flat.update(copy.deepcopy(job_parameters))
    return flat


def _check_by_role(by_role: Any, name: str, roles: dict, per_component: bool = False) -> None:
    """Refuse a malformed per-role section or an index key beyond the role's party count."""
    if by_role is None:
        return
    if not isinstance(by_role, dict):
        raise ArgumentError(name, "should be a dict of role -> {index key: parameters}")
    for role, by_key in by_role.items():
        if not isinstance(by_key, dict):
            raise ArgumentError(f"{name}.{role}", 'should be a dict keyed by party index ("0", "0|1", "all")')
        for key, section in by_key.items():
            where = f"{name}.{role}.{key}"
            if not isinstance(key, str) or not _INDEX_KEY.fullmatch(key):
                raise ArgumentError(where, 'is not a party index key: use "0", "0|1" or "all"')
            if not isinstance(section, dict):
                raise ArgumentError(where, "should be a dict")
            if per_component and not all(isinstance(v, dict) for v in section.values()):
                raise ArgumentError(where, "should be a dict of component name -> parameters")
            if role in roles and key != "all":
                beyond = [int(i) for i in key.split("|") if int(i) >= len(roles[role])]
                if beyond:
                    raise ArgumentError(where, f"index {beyond[0]} is beyond the {len(roles[role])} "
                                               f"{role} part{'y' if len(roles[role]) == 1 else 'ies'} of "
                                               f"role.{role} {roles[role]} (indexes start at 0)")


def party_job_parameters(conf: dict, role: str, party_id: Any) -> dict:
    """One party's job parameters: for v2, ``common`` deep-merged with its ``job_parameters.role`` sections."""
    params = conf.get("job_parameters") or {}
    if dsl_version(conf) != 2:
        return params
    party_ids = [str(p) for p in (conf.get("role") or {}).get(role, [])]
    merged = {k: v for k, v in params.items() if k not in ("common", "role")}
    if str(party_id) in party_ids:
        for _, section in party_sections((params.get("role") or {}).get(role), party_ids.index(str(party_id))):
            merged = deep_merge(merged, section)
    return merged


def without_cache(dsl: Any) -> Any:
    """The DSL without FATE 1.7+'s ``cache`` inputs and outputs (Intersection's id cache, unused here)."""
    if not isinstance(dsl, dict) or not isinstance(dsl.get("components"), dict):
        return dsl
    dsl = copy.deepcopy(dsl)
    for definition in dsl["components"].values():
        for section in ("input", "output"):
            if isinstance(definition, dict) and isinstance(definition.get(section), dict):
                definition[section].pop("cache", None)
    return dsl


def check_component_name(name: str) -> None:
    """v2 names: letters, digits, ``_`` and ``-``."""
    if not _NAME.fullmatch(name):
        raise DSLError(f"component name {name!r} is invalid: use letters, digits, _ and - only")


def check_inputs(name: str, definition: dict) -> None:
    """Refuse v1 inputs in a v2 DSL: ``args.*`` references and the ``eval_data`` key."""
    data = ((definition.get("input") or {}).get("data")) or {}
    if not isinstance(data, dict):
        return
    for key, refs in data.items():
        if key not in DATA_KEYS:
            raise DSLError(f"component {name}: input.data.{key} is not a DSL v2 data input "
                           f"(use {', '.join(DATA_KEYS)})")
        for ref in [refs] if isinstance(refs, str) else refs or []:
            if isinstance(ref, str) and ref.startswith("args."):
                raise DSLError(f"component {name}: input {ref} is a DSL v1 job input; DSL v2 reads tables "
                               f"through a Reader component (e.g. reader_0.data)")


# --------------------------------------------------------------------------- predict DSL (deploy)

def generate_predict_dsl(train_dsl: dict, cpn_list: list[str]) -> dict:
    """The inference DSL of the deployed components ``cpn_list`` of a v2 train DSL.

    Components keep their train order; a deployed component reads its own trained model
    (``pipeline.<cpn>.model``), train and validate inputs become ``test_data``, and a reference
    to a component left out is replaced by what that component read (its pass-through). A
    Reader is kept (output only) when it is listed.

    Raises:
        ArgumentError: a listed component is not in the train DSL.
    """
    components = (train_dsl or {}).get("components") or {}
    missing = [c for c in cpn_list if c not in components]
    if missing:
        raise ArgumentError("cpn_list", f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not "
                                        f"component(s) of the train DSL ({', '.join(components)})")
    chosen = set(cpn_list)
    predict: dict[str, dict] = {}
    for name, definition in components.items():
        if name not in chosen:
            continue
        if definition.get("module") == READER:
            predict[name] = {"module": READER, "output": {"data": list((definition.get("output") or {}).get("data")
                                                                       or ["data"])}}
            continue
        predict[name] = _predict_entry(name, definition, components, chosen)
    return {"components": predict}


def _predict_entry(name: str, definition: dict, components: dict, chosen: set[str]) -> dict:
    entry: dict[str, Any] = {"module": definition["module"]}
    output = definition.get("output") or {}
    inputs: dict[str, Any] = {}
    data = (definition.get("input") or {}).get("data") or {}
    mapped: dict[str, list[str]] = {}
    for key, refs in data.items():
        new_key = PREDICT_DATA_KEYS.get(key, key)
        if new_key in mapped:
            continue  # train and validate data both map to one test input: the first wins
        refs = [refs] if isinstance(refs, str) else list(refs)
        mapped[new_key] = [new for ref in refs for new in _predict_ref(ref, components, chosen)]
    if mapped:
        inputs["data"] = mapped
    if output.get("model"):
        inputs["model"] = [f"pipeline.{name}.{alias}" for alias in output["model"]]
    if inputs:
        entry["input"] = inputs
    if output.get("data"):
        entry["output"] = {"data": list(output["data"])}
    return entry


def _predict_ref(ref: str, components: dict, chosen: set[str], depth: int = 0) -> list[str]:
    up = ref.split(".")[0]
    if up in chosen or up not in components or components[up].get("module") == READER or depth > len(components):
        return [ref]
    data = ((components[up].get("input") or {}).get("data")) or {}
    for key in ("data", "train_data", "test_data", "validate_data"):
        if data.get(key):
            first = data[key] if isinstance(data[key], str) else data[key][0]
            return _predict_ref(first, components, chosen, depth + 1)
    return [ref]


def is_predict_dsl(dsl: Any) -> bool:
    """Whether a DSL reads trained models (``pipeline.<component>.<model>`` inputs): a predict DSL."""
    components = dsl.get("components") if isinstance(dsl, dict) else None
    for component in (components or {}).values() if isinstance(components, dict) else []:
        inputs = component.get("input") if isinstance(component, dict) else None
        refs = inputs.get("model") if isinstance(inputs, dict) else None
        if isinstance(refs, list) and any(isinstance(ref, str) and ref.startswith("pipeline.") for ref in refs):
            return True
    return False


def predict_conf_template(train_conf: dict, predict_dsl: dict, model_id: str, model_version: str) -> dict:
    """FATE's predict conf template: the train roles, a predict job, placeholders for every Reader table."""
    roles = train_conf.get("role") or {}
    common = {"job_type": "predict", "model_id": model_id, "model_version": model_version}
    work_mode = (train_conf.get("job_parameters") or {}).get("work_mode")
    if work_mode is not None:
        common["work_mode"] = work_mode
    readers = [name for name, c in (predict_dsl.get("components") or {}).items() if c.get("module") == READER]
    role_params: dict[str, dict] = {}
    for role in ("guest", "host"):
        for index in range(len(roles.get(role, []))):
            if readers:
                role_params.setdefault(role, {})[str(index)] = {
                    reader: {"table": {"name": f"name_to_be_filled_{index}",
                                       "namespace": f"namespace_to_be_filled_{index}"}} for reader in readers}
    return {"dsl_version": 2, "initiator": copy.deepcopy(train_conf.get("initiator")), "role": copy.deepcopy(roles),
            "job_parameters": {"common": common}, "component_parameters": {"role": role_params}}
