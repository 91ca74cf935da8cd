"""Validate a job's DSL and runtime conf, and answer questions about its component DAG.

``validate_runtime_conf`` checks a submitted runtime conf; ``parse_job`` builds a parser
for the DSL version of the job (only FATE-Flow 1.4's DSL v1 exists) that validates the
DSL at construction and then answers: the topological component order, dependencies,
which parties run each component, each party's merged component parameters, the job
inputs of a party and the predict DSL deduced from a train DSL.

The parser reads the component registry only; it imports no HTTP or database code,
because task subprocesses build it too.
"""
from __future__ import annotations

import abc
import copy
import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from fate_flow.components import registry
from fate_flow.components.param import BaseParam
from fate_flow.driver import dsl_v2
from fate_flow.errors import ArgumentError, DSLError, FlowError, RequiredArgumentsError
from fate_flow.utils import validate

STANDALONE = 0
CLUSTER = 1
TRAIN = "train"
PREDICT = "predict"

_PARAMETER_SECTIONS = ("algorithm_parameters", "role_parameters")
_MODEL_INPUTS = ("model", "isometric_model")
_INPUT_SECTIONS = ("data",) + _MODEL_INPUTS
_OUTPUT_SECTIONS = ("data", "model")
_NAME_FORMAT = ("component's name should be format of name_index, index is start from 0 "
                "and be consecutive for same module")
_NAME_MODULE = ("component's name should be format of name_index, index is start from 0 "
                "and same modules should have the same name")
_NAME_INDEX = "index of component's name should be integer start from 0"
_LOOP = "component dependencies form loop, please check"

# job_parameters keys whose type FATE-Flow relies on: key -> (accepted types, wording).
_JOB_PARAMETER_TYPES = {
    "work_mode": ((int,), "should be an integer"),
    "timeout": ((int, float), "should be a number"),
    "processors_per_node": ((int,), "should be an integer"),
    "backend": ((int,), "should be an integer"),
    "align_task_input_data_partition": ((bool,), "should be true or false"),
    "save_as_task_input_data": ((bool,), "should be true or false"),
    "assistant_role": ((list,), "should be a list of roles"),
    "spark_submit_config": ((dict,), "should be a dict"),
    "spark_run": ((dict,), "should be a dict of spark.* settings"),
    "computing_partitions": ((int,), "should be an integer"),
    "task_cores": ((int,), "should be an integer"),
    "job_type": ((str,), "should be train or predict"),
}
# job_parameters.backend: FATE's computing backends, and the one this server runs jobs on
_BACKENDS = {0: "eggroll", 1: "spark"}
_SUPPORTED_BACKENDS = (0, 1)
_MAX_PARTY_ID = 10 ** 18
# numeric job_parameters that may not be negative (timeout 0: the server's default)
_NON_NEGATIVE = ("timeout", "processors_per_node", "backend")


# --------------------------------------------------------------------------- runtime conf

def validate_runtime_conf(conf: dict, server_work_mode: int) -> dict:
    """Check a submitted runtime conf as FATE's submit does and return a normalised copy.

    Party ids become ints; unknown top-level keys (the client's ``function``, ``config``,
    ``dsl``, ``local``...) are kept.

    Raises:
        RequiredArgumentsError: ``initiator``, ``job_parameters``, ``role`` or one of their
            required fields is missing.
        ArgumentError: a field has the wrong type or value, or asks for what this server can
            not honour (a backend other than 0); the message names it.
        FlowError: the job's work mode is not the server's.
        DSLError: the initiator is not one of the job's parties.
    """
    _require(_as_dict(conf, "job_runtime_conf"), ("initiator", "job_parameters", "role"))
    if dsl_v2.dsl_version(conf) == 2:
        conf = dsl_v2.normalise_conf(conf, server_work_mode, strict=True)
    conf = normalise_runtime_conf(conf)
    _require(conf["initiator"], ("role", "party_id"), "initiator.")
    _require(conf["job_parameters"], ("work_mode",), "job_parameters.")
    _check_work_mode(conf["job_parameters"]["work_mode"], server_work_mode)
    _check_backend(conf["job_parameters"])
    _check_job_type(conf["job_parameters"])
    _check_initiator_is_party(conf)
    return conf


def normalise_runtime_conf(conf: dict) -> dict:
    """Return a copy of ``conf`` with checked section types and int party ids.

    Unlike ``validate_runtime_conf`` this needs only ``role`` and knows nothing of the
    server; the parser uses it on stored or user-given confs.
    """
    conf = copy.deepcopy(_as_dict(conf, "job_runtime_conf"))
    _require(conf, ("role",))
    conf["role"] = _normalise_roles(conf["role"])
    if "initiator" in conf:
        conf["initiator"] = _normalise_initiator(conf["initiator"])
    if "job_parameters" in conf:
        _check_job_parameter_types(conf["job_parameters"])
    if "local" in conf:
        _as_dict(conf["local"], "local")
    _check_algorithm_parameters(conf.get("algorithm_parameters", {}))
    _check_role_parameters(conf.get("role_parameters", {}), conf["role"])
    return conf


def all_party_key(roles: dict) -> str:
    """FATE's key of a role dict: ``arbiter-10000#guest-9999#host-10000``, or ``all`` if empty.

    Party ids are compared as ints (as after submit), so ``"9999"`` sorts before ``10000``.
    """
    if not roles:
        return "all"
    parts = []
    for role in sorted(roles):
        if not isinstance(roles[role], list):
            raise ArgumentError(f"role.{role}", "should be a list of party ids")
        ids = sorted({_to_party_id(pid, f"role.{role}") for pid in roles[role]})
        parts.append(f"{role}-" + "_".join(str(pid) for pid in ids))
    return "#".join(parts)


def gen_model_id(roles: dict) -> str:
    """The model id of a train job: ``all_party_key(roles) + "#model"``."""
    return all_party_key(roles) + "#model"


def job_mode(runtime_conf: dict) -> str:
    """The parser mode of a job: ``"predict"`` if ``job_parameters.job_type`` says so, else ``"train"``."""
    job_parameters = _as_dict(runtime_conf, "job_runtime_conf").get("job_parameters") or {}
    return PREDICT if job_parameters.get("job_type") == PREDICT else TRAIN


def _as_dict(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise ArgumentError(name, "should be a dict")
    return value


def _require(section: dict, keys: tuple[str, ...], prefix: str = "") -> None:
    missing = [prefix + key for key in keys if key not in section]
    if missing:
        raise RequiredArgumentsError(missing)


def _to_party_id(value: Any, name: str) -> int:
    """Return ``value`` as an int party id (ints and digit strings), else ArgumentError."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_PARTY_ID:
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii() and len(value) < 20:
        return int(value.strip())
    raise ArgumentError(name, f"should be an integer party id, got {validate.show_value(value)}")


def _normalise_roles(roles: Any) -> dict[str, list[int]]:
    if not isinstance(roles, dict) or not roles:
        raise ArgumentError("role", "should be a non-empty dict of role -> party id list")
    normalised = {}
    for role, party_ids in roles.items():
        validate.check_text("role", role)
        if not isinstance(party_ids, list) or not party_ids:
            raise ArgumentError(f"role.{role}", "should be a non-empty list of party ids")
        ids = [_to_party_id(pid, f"role.{role}[{i}]") for i, pid in enumerate(party_ids)]
        if len(set(ids)) != len(ids):
            raise ArgumentError(f"role.{role}", f"lists a party id twice: {ids}")
        normalised[role] = ids
    return normalised


def _normalise_initiator(initiator: Any) -> dict:
    initiator = _as_dict(initiator, "initiator")
    if "role" in initiator and not isinstance(initiator["role"], str):
        raise ArgumentError("initiator.role", "should be a role name")
    if "role" in initiator:
        validate.check_text("initiator.role", initiator["role"])
    if "party_id" in initiator:
        initiator["party_id"] = _to_party_id(initiator["party_id"], "initiator.party_id")
    return initiator


def _check_job_parameter_types(job_parameters: Any) -> None:
    _as_dict(job_parameters, "job_parameters")
    for key, (types, wording) in _JOB_PARAMETER_TYPES.items():
        if key not in job_parameters:
            continue
        value = job_parameters[key]
        is_bool_as_number = isinstance(value, bool) and bool not in types
        if is_bool_as_number or not isinstance(value, types):
            raise ArgumentError(f"job_parameters.{key}", f"{wording}, got {validate.show_value(value)}")
        if key in _NON_NEGATIVE and not (0 <= value < math.inf):
            raise ArgumentError(f"job_parameters.{key}", f"should be 0 or more, got {value!r}")
    for key in ("model_id", "model_version"):  # path components of the model directory
        if job_parameters.get(key) not in (None, ""):
            validate.check_text(f"job_parameters.{key}", job_parameters[key])


def _check_work_mode(work_mode: int, server_work_mode: int) -> None:
    if work_mode not in (STANDALONE, CLUSTER):
        raise ArgumentError("job_parameters.work_mode", f"should be 0 or 1, got {work_mode!r}")
    if work_mode == server_work_mode:
        return
    if server_work_mode == STANDALONE:
        raise FlowError("server run on standalone can not support cluster mode job")
    raise FlowError("server run on cluster can not support standalone mode job "
                    f"(job_parameters.work_mode is {work_mode})")


def _check_backend(job_parameters: dict) -> None:
    """Refuse a backend this server does not run (absent means 0, as in FATE 1.4)."""
    backend = job_parameters.get("backend", 0)
    for key in ("computing_partitions", "task_cores"):
        value = job_parameters.get(key)
        if value is not None and not 1 <= value <= 65536:
            raise ArgumentError(f"job_parameters.{key}", f"should be between 1 and 65536, got {value}")
    if backend == 1:
        from fate_flow.computing.engine import SPARK_INSTALL_HINT, spark_installed

        if not spark_installed():
            raise ArgumentError("job_parameters.backend", f"is 1 (spark), but pyspark is not installed on this "
                                f"server: {SPARK_INSTALL_HINT}")
    if backend in _SUPPORTED_BACKENDS:
        return
    known = f" ({_BACKENDS[backend]})" if backend in _BACKENDS else ""
    raise ArgumentError("job_parameters.backend",
                        f"is {backend}{known}, which this server can not honour: it computes on its local "
                        f"engine (backend 0, in place of {_BACKENDS[0]}) or on Spark (backend 1)")


def _check_job_type(job_parameters: dict) -> None:
    job_type = job_parameters.get("job_type", TRAIN)
    if job_type not in (TRAIN, PREDICT):
        raise ArgumentError("job_parameters.job_type",
                            f"should be train or predict, got {validate.show_value(job_type)}")
    if job_type == PREDICT:
        for key in ("model_id", "model_version"):
            if not job_parameters.get(key):
                raise ArgumentError(f"job_parameters.{key}", "is required for a predict job")


def _check_initiator_is_party(conf: dict) -> None:
    role, party_id = conf["initiator"]["role"], conf["initiator"]["party_id"]
    if role not in conf["role"]:
        raise DSLError(f"the initiator is {role} {party_id}, but the job has no {role}: role names "
                       f"{', '.join(conf['role'])}; the initiator must be one of the job's parties")
    if party_id not in conf["role"][role]:
        raise DSLError(f"the initiator is {role} {party_id}, but {party_id} is not one of the job's {role} "
                       f"parties (role.{role} is {conf['role'][role]}); the initiator must be one of them")


def _check_algorithm_parameters(parameters: Any) -> None:
    _as_dict(parameters, "algorithm_parameters")
    for name, values in parameters.items():
        _as_dict(values, f"algorithm_parameters.{name}")


def _check_role_parameters(parameters: Any, roles: dict[str, list[int]]) -> None:
    _as_dict(parameters, "role_parameters")
    for role, sections in parameters.items():
        _as_dict(sections, f"role_parameters.{role}")
        for name, values in sections.items():
            _as_dict(values, f"role_parameters.{role}.{name}")
        # Parameters of a role that is not in the job are ignored, as FATE does.
        if role in roles and "args" in sections:
            _check_args(sections["args"], f"role_parameters.{role}.args", len(roles[role]))


def _check_args(args: dict, name: str, party_count: int) -> None:
    data = _as_dict(args.get("data", {}), f"{name}.data")
    for key, tables in data.items():
        field_name = f"{name}.data.{key}"
        if not isinstance(tables, list) or len(tables) != party_count:
            raise ArgumentError(field_name, f"should be a list with one table per party ({party_count})")
        for i, table in enumerate(tables):
            if not isinstance(table, dict) or "name" not in table or "namespace" not in table:
                raise ArgumentError(f"{field_name}[{i}]", "should be a dict with name and namespace")


# --------------------------------------------------------------------------- parser interface

def parse_job(dsl: dict, runtime_conf: dict, train_runtime_conf: dict | None = None,
              mode: str = TRAIN, max_components: int | None = None) -> "DSLParser":
    """Validate ``dsl`` against ``runtime_conf`` and return the parser of its DSL version.

    Args:
        dsl: the job DSL (for a predict job, the stored inference DSL).
        runtime_conf: the job's runtime conf (``dsl_version`` picks the parser, default 1).
        train_runtime_conf: the training job's runtime conf; required when ``mode`` is predict.
        mode: ``"train"`` or ``"predict"``.
        max_components: refuse a DSL of more components (``scheduler.max_job_components``,
            given where a DSL comes in: submit, a party's create, dag/dependency); None: no cap.

    Raises:
        DSLError, ArgumentError, RequiredArgumentsError: naming the component or field.
    """
    version = dsl_v2.dsl_version(_as_dict(runtime_conf, "job_runtime_conf"))
    parser_class = _PARSERS.get(version)
    if parser_class is None:
        raise ArgumentError("dsl_version", f"{version!r} is not supported (supported: {sorted(_PARSERS)})")
    return parser_class(dsl, runtime_conf, train_runtime_conf, mode, max_components)


class DSLParser(abc.ABC):
    """What the scheduler, the routes and the task executor ask of a parsed job.

    One subclass per DSL version implements the abstract methods; the answers built from
    them (parties, the dependency answer, up-front validation) live here.
    """

    version: int
    mode: str

    @abc.abstractmethod
    def component_list(self) -> list[str]:
        """Component names in the order FATE runs them (topological)."""

    @abc.abstractmethod
    def dependencies(self) -> dict[str, list[dict[str, str]]]:
        """``{name: [{"component_name": up, "type": "data"|"model"}]}`` for components with inputs."""

    @abc.abstractmethod
    def upstream(self, name: str) -> list[str]:
        """Components that ``name`` reads data or models from."""

    @abc.abstractmethod
    def downstream(self, name: str) -> list[str]:
        """Components that read data or models from ``name``."""

    @abc.abstractmethod
    def module(self, name: str) -> str:
        """The DSL module of component ``name``."""

    @abc.abstractmethod
    def component_input(self, name: str) -> dict:
        """A copy of the component's DSL ``input`` section (``{}`` if absent)."""

    @abc.abstractmethod
    def component_output(self, name: str) -> dict:
        """A copy of the component's DSL ``output`` section (``{}`` if absent)."""

    @abc.abstractmethod
    def roles(self) -> dict[str, list[int]]:
        """Role -> party ids whose component parameters the job resolves."""

    @abc.abstractmethod
    def runs_on(self, name: str, role: str) -> bool:
        """Whether the module of component ``name`` has an implementation for ``role``."""

    @abc.abstractmethod
    def need_run(self, name: str, role: str, party_id: int | str) -> bool:
        """Whether the party runs a task for component ``name``."""

    @abc.abstractmethod
    def component_parameters(self, name: str, role: str, party_id: int | str) -> dict:
        """FATE's component_parameters dict of the party for component ``name``."""

    @abc.abstractmethod
    def check_params(self, name: str, role: str, party_id: int | str) -> BaseParam:
        """Build the party's param object for ``name``, run its ``check`` and return it."""

    @abc.abstractmethod
    def job_args(self, role: str, party_id: int | str) -> dict:
        """The party's job inputs: ``{"data": {key: {"name", "namespace"}}}`` or ``{}``."""

    @abc.abstractmethod
    def args_keys(self, name: str) -> list[str]:
        """The job input keys (``args.<key>``) component ``name`` reads."""

    @abc.abstractmethod
    def check_required_roles(self) -> None:
        """Raise DSLError if a module can not run without a role the job does not have."""

    @abc.abstractmethod
    def check_parameter_names(self) -> list[str]:
        """Raise ArgumentError for unknown parameter names; return warnings for retired ones."""

    @abc.abstractmethod
    def ignored_sections(self) -> list[str]:
        """Warnings naming the conf's parameter sections that no task reads."""

    @abc.abstractmethod
    def check_inputs(self, name: str, role: str, party_id: int | str) -> None:
        """Raise ArgumentError if the party lacks a job input that component ``name`` reads."""

    @abc.abstractmethod
    def predict_dsl(self, role: str) -> dict:
        """The inference DSL deduced from a train DSL, with ``role``'s CodePath keys."""

    def parties(self, name: str) -> list[tuple[str, int]]:
        """The (role, party_id) pairs that run a task for component ``name``, in conf order."""
        return [(role, party_id)
                for role, party_ids in self.roles().items() if self.runs_on(name, role)
                for party_id in party_ids if self.need_run(name, role, party_id)]

    def dependency_answer(self, role: str, party_id: int | str) -> dict:
        """The ``data`` of ``/v1/pipeline/dag/dependency`` for one party."""
        party_id = _to_party_id(party_id, "party_id")
        if role not in self.roles():
            raise ArgumentError("role", f"{role} is unknown, can not extract component dependency")
        if party_id not in self.roles()[role]:
            raise ArgumentError("party_id", f"{party_id} is unknown, can not extract component dependency")
        names = self.component_list()
        return {
            "component_list": names,
            "dependencies": self.dependencies(),
            "component_module": {name: self.module(name) for name in names},
            "component_need_run": {name: self.need_run(name, role, party_id) for name in names},
        }

    def validate_all_parameters(self) -> list[str]:
        """Check what a job needs before it is created; return the warnings for its submitter.

        The roles each module needs, the parameter names of every party (train jobs; a
        predict job runs with its training job's parameters, checked when it was submitted),
        then the values and job inputs of every running party (those whose ``need_run`` is
        false never run the component and are skipped).

        Returns:
            What the conf sets that no task reads (see ``ignored_sections``), and retired
            parameter names FATE's own confs still set; each a sentence naming the field.
        Raises:
            DSLError, ArgumentError: naming the component, role, party and parameter.
        """
        self.check_required_roles()
        warnings = self.ignored_sections()
        if self.mode == TRAIN:
            warnings += self.check_parameter_names()
        for name in self.component_list():
            for role, party_id in self.parties(name):
                self.check_params(name, role, party_id)
                self.check_inputs(name, role, party_id)
        return warnings

    def input_tables(self) -> list[tuple[str, int, str, dict]]:
        """``(role, party_id, key, {"name", "namespace"})`` of each job input a running task reads, once each."""
        found: dict[tuple[str, int, str], dict] = {}
        for name in self.component_list():
            keys = self.args_keys(name)
            if not keys:
                continue
            for role, party_id in self.parties(name):
                given = self.job_args(role, party_id).get("data", {})
                for key in keys:
                    if key in given:
                        found.setdefault((role, party_id, key), given[key])
        return [(role, party_id, key, table) for (role, party_id, key), table in found.items()]


# --------------------------------------------------------------------------- DSL v1: structure

@dataclass
class _Component:
    """One DSL v1 component and its links, filled while parsing."""

    name: str
    module: str
    definition: dict
    upstream: list[str] = field(default_factory=list)
    downstream: list[str] = field(default_factory=list)
    data_upstream: set[str] = field(default_factory=set)
    model_upstream: set[str] = field(default_factory=set)
    model_source: str | None = None
    args_keys: list[str] = field(default_factory=list)

    @property
    def input(self) -> dict:
        return self.definition.get("input") or {}

    @property
    def output(self) -> dict:
        return self.definition.get("output") or {}

    def link_upstream(self, up: "_Component", kind: str) -> None:
        """Record that this component reads ``kind`` ("data"/"model") from ``up``."""
        if up.name not in self.upstream:
            self.upstream.append(up.name)
        if self.name not in up.downstream:
            up.downstream.append(self.name)
        (self.data_upstream if kind == "data" else self.model_upstream).add(up.name)


def _read_components(dsl: Any, max_components: int | None = None) -> dict[str, _Component]:
    if not isinstance(dsl, dict):
        raise DSLError("dsl should be a dict with components")
    definitions = dsl.get("components")
    if not definitions:
        raise DSLError("there are no components in dsl, please have a check!")
    if not isinstance(definitions, dict):
        raise DSLError("components of dsl should be a dict of component name -> definition")
    if max_components is not None and len(definitions) > max_components:
        raise DSLError(f"dsl has {len(definitions)} components, more than the {max_components} this server "
                       f"accepts (scheduler.max_job_components)")
    for name in definitions:
        validate.check_text("component name", name)
    return {name: _read_component(name, definition) for name, definition in definitions.items()}


def _read_component(name: str, definition: Any) -> _Component:
    if not isinstance(definition, dict):
        raise DSLError(f"component {name}: definition should be a dict")
    module = definition.get("module")
    if module is None:
        raise DSLError(f"component {name}: module is required")
    if not isinstance(module, str) or not registry.has_module(module):
        raise DSLError(f"component {name}: unknown module {validate.show_text(module)}{_module_hint(module)}")
    if "need_deploy" in definition and not isinstance(definition["need_deploy"], bool):
        raise DSLError(f"component {name}: need_deploy should be true or false")
    definition = copy.deepcopy(definition)
    if "input" in definition:
        definition["input"] = _read_input(name, definition["input"])
    if "output" in definition:
        definition["output"] = _read_section(name, "output", definition["output"], _OUTPUT_SECTIONS)
        for key in _OUTPUT_SECTIONS:
            _check_names_list(name, f"output.{key}", definition["output"].get(key, []))
    return _Component(name, module, definition)


def _module_hint(module: Any) -> str:
    """``" (did you mean HeteroLR?)"``, or the list of modules when none is close."""
    matches = _close_matches(module, registry.modules()) if isinstance(module, str) else []
    if matches:
        return f" (did you mean {' or '.join(matches)}?)"
    return f"; the modules this server runs are {', '.join(registry.modules())}"


def _close_matches(word: str, candidates: list[str], cutoff: float = 0.6) -> list[str]:
    """Candidates close to ``word``, best first, compared without case."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), by_lower, n=3, cutoff=cutoff)]


def _did_you_mean(word: str, candidates: list[str]) -> str:
    matches = _close_matches(word, candidates)
    return f" (did you mean {' or '.join(matches)}?)" if matches else ""


def _read_section(name: str, section: str, value: Any, keys: tuple[str, ...]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DSLError(f"component {name}: {section} should be a dict")
    unknown = [key for key in value if key not in keys]
    if unknown:
        raise DSLError(f"component {name}: unknown {section} section {unknown[0]}, "
                       f"expected one of {', '.join(keys)}")
    return value


def _read_input(name: str, value: Any) -> dict:
    inputs = _read_section(name, "input", value, _INPUT_SECTIONS)
    data = inputs.get("data", {})
    if not isinstance(data, dict):
        raise DSLError(f"component {name}: input.data should be a dict of data key -> reference list")
    for key, refs in data.items():
        # A predict DSL may hold a bare "args.eval_data" string (a FATE deduction quirk).
        if isinstance(refs, str):
            data[key] = refs = [refs]
        _check_names_list(name, f"input.data.{key}", refs)
    for key in _MODEL_INPUTS:
        _check_names_list(name, f"input.{key}", inputs.get(key, []))
    return inputs


def _check_names_list(name: str, section: str, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DSLError(f"component {name}: {section} should be a list of strings")


def _check_component_names(components: dict[str, _Component]) -> None:
    """FATE's train-mode rule: ``<prefix>_<index>``, one module per prefix, indexes 0..n-1."""
    prefixes: dict[str, tuple[str, list[int]]] = {}
    for name, component in components.items():
        prefix, index = _split_name(name)
        module, indexes = prefixes.setdefault(prefix, (component.module, []))
        if module != component.module:
            raise DSLError(f"{_NAME_MODULE}: {name} is {component.module} but {prefix}_* is {module}")
        indexes.append(index)
    for prefix, (_, indexes) in prefixes.items():
        if sorted(indexes) != list(range(len(indexes))):
            raise DSLError(f"{_NAME_FORMAT}: {prefix} has indexes {sorted(indexes)}")


def _split_name(name: str) -> tuple[str, int]:
    if "_" not in name:
        raise DSLError(f"{_NAME_FORMAT}: {name}")
    prefix, index = name.rsplit("_", 1)
    if not (index.isascii() and index.isdigit()):
        raise DSLError(f"{_NAME_INDEX}: {name}")
    return prefix, int(index)


def _link_references(components: dict[str, _Component], mode: str) -> None:
    """Resolve every input reference into upstream/downstream links (models first, as FATE)."""
    for component in components.values():
        for key in _MODEL_INPUTS:
            for ref in component.input.get(key, []):
                _link_model(component, key, ref, components, mode)
        for refs in component.input.get("data", {}).values():
            for ref in refs:
                _link_data(component, ref, components)


def _link_data(component: _Component, ref: str, components: dict[str, _Component]) -> None:
    parts = ref.split(".")
    if parts[0] == "args" and len(parts) == 2 and parts[1]:
        component.args_keys.append(parts[1])
        return
    up = _referenced(component, ref, parts, components)
    if parts[1] not in up.output.get("data", []):
        raise DSLError(f"component {component.name}: unknown module input {ref}, "
                       f"{up.name} has no output data {parts[1]} ({_outputs_of(up, 'data')})")
    component.link_upstream(up, "data")


def _link_model(component: _Component, key: str, ref: str,
                components: dict[str, _Component], mode: str) -> None:
    parts = ref.split(".")
    if mode == PREDICT and parts[0] == "pipeline" and len(parts) == 3 and all(parts):
        # The model comes from the stored training pipeline, not from a task of this job.
        if parts[1] not in components:
            raise DSLError(f"component {component.name}: unknown module input {ref}")
        return
    up = _referenced(component, ref, parts, components)
    if parts[1] not in up.output.get("model", []):
        raise DSLError(f"component {component.name}: unknown module input {ref}, "
                       f"{up.name} has no output model {parts[1]} ({_outputs_of(up, 'model')})")
    component.link_upstream(up, "model")
    if key == "model":
        component.model_source = up.name


def _outputs_of(component: _Component, kind: str) -> str:
    """What ``component`` declares under ``output.<kind>``, said for an error message."""
    aliases = component.output.get(kind, [])
    if not aliases:
        return f"it declares no output {kind}"
    return f"its output {kind}: {', '.join(aliases)}"


def _referenced(component: _Component, ref: str, parts: list[str],
                components: dict[str, _Component]) -> _Component:
    if len(parts) != 2 or not all(parts):
        raise DSLError(f"component {component.name}: unknown module input {ref} "
                       "(a reference is <component>.<output alias> or args.<key>)")
    if parts[0] not in components:
        raise DSLError(f"component {component.name}: unknown module input {ref}, the DSL has no "
                       f"component {parts[0]}{_did_you_mean(parts[0], list(components))}")
    return components[parts[0]]


def _topological_order(components: dict[str, _Component]) -> list[str]:
    """FATE's order: Kahn's algorithm over DSL order with a stack (last ready runs first)."""
    in_degree = {name: len(component.upstream) for name, component in components.items()}
    stack = [name for name, degree in in_degree.items() if degree == 0]
    order = []
    while stack:
        name = stack.pop()
        order.append(name)
        for down in components[name].downstream:
            in_degree[down] -= 1
            if in_degree[down] == 0:
                stack.append(down)
    if len(order) < len(components):
        looped = _names_on_loops(components, set(components) - set(order))
        raise DSLError(f"{_LOOP}: {', '.join(looped)}")
    return order


def _names_on_loops(components: dict[str, _Component], left: set[str]) -> list[str]:
    """Drop, from the unsorted components, those that only hang below a loop."""
    pruned = True
    while pruned:
        dangling = {name for name in left if not set(components[name].downstream) & left}
        left -= dangling
        pruned = bool(dangling)
    return [name for name in components if name in left]


def _check_args_available(components: dict[str, _Component], conf: dict) -> None:
    provided = set()
    for role in conf["role"]:
        args = conf.get("role_parameters", {}).get(role, {}).get("args", {})
        provided.update(args.get("data", {}))
    for component in components.values():
        for key in component.args_keys:
            if key not in provided:
                raise DSLError(f"component {component.name}: input args.{key} is not in "
                               "role_parameters.<role>.args.data of any role of the runtime conf")


# --------------------------------------------------------------------------- DSL v1: predict DSL

def _is_deployed(component: _Component) -> bool:
    if "need_deploy" in component.definition:
        return component.definition["need_deploy"]
    return registry.get_spec(component.module).need_deploy


def _deduce_predict_dsl(components: dict[str, _Component], order: list[str]) -> dict:
    """FATE's inference DSL: deployed components read their pipeline model and eval data.

    A non-deployed component that outputs data is skipped, and readers of its output are
    pointed at what it read (its pass-through).
    """
    predict: dict[str, dict] = {}
    passthrough: dict[str, list[str]] = {}
    for name in order:
        component = components[name]
        if _is_deployed(component):
            predict[name] = _predict_component(component, components, passthrough)
        elif component.output.get("data") and component.input.get("data"):
            passthrough[name] = _passthrough_of(component, components, passthrough)
    return {"components": predict}


def _predict_component(component: _Component, components: dict[str, _Component],
                       passthrough: dict[str, list[str]]) -> dict:
    definition = component.definition
    entry: dict[str, Any] = {"module": component.module}
    output = definition.get("output", {})
    if "model" in output:
        entry["input"] = {"model": [f"pipeline.{component.name}.{alias}" for alias in output["model"]]}
    if "data" in output:
        entry["output"] = {"data": list(output["data"])}
    if "input" in definition:
        entry.setdefault("input", {})
        if "data" in definition["input"]:
            entry["input"]["data"] = _predict_data_input(component, components, passthrough)
    return entry


def _predict_data_input(component: _Component, components: dict[str, _Component],
                        passthrough: dict[str, list[str]]) -> dict:
    """Map train data inputs to eval inputs; only the first of data/train_data/eval_data counts."""
    data = component.input["data"]

    def mapped(ref: str) -> list[str]:
        return _predict_refs(component, ref, components, passthrough)

    if "data" in data:
        # FATE replaces the whole list when one reference is a pass-through; extending
        # gives the same result for the usual single reference and keeps the others.
        return {"data": [new for ref in data["data"] for new in mapped(ref)]}
    for key in ("train_data", "eval_data"):
        if key in data and data[key]:
            ref = data[key][0]
            if _is_args(ref) and key == "eval_data":
                return {"eval_data": "args.eval_data"}  # FATE writes a bare string here
            return {"eval_data": mapped(ref)}
    return {}


def _predict_refs(component: _Component, ref: str, components: dict[str, _Component],
                  passthrough: dict[str, list[str]]) -> list[str]:
    if _is_args(ref):
        return ["args.eval_data"]
    up = ref.split(".")[0]
    if _is_deployed(components[up]):
        return [ref]
    if up not in passthrough:
        raise DSLError(f"component {component.name}: can not deduce the predict input from {ref}, "
                       f"{up} is not deployed and reads no data")
    return list(passthrough[up])


def _passthrough_of(component: _Component, components: dict[str, _Component],
                    passthrough: dict[str, list[str]]) -> list[str]:
    data = component.input["data"]
    key = next((k for k in ("train_data", "eval_data", "data") if data.get(k)), None)
    if key is None:
        return []
    # FATE passes a raw "args.train_data" through; the predict job only has eval_data.
    return _predict_refs(component, data[key][0], components, passthrough)


def _is_args(ref: str) -> bool:
    return ref.split(".")[0] == "args"


# --------------------------------------------------------------------------- DSL v1: parameters

@dataclass(frozen=True)
class _UnknownName:
    """A conf key that is no parameter: where it is and the param object it was looked up in."""

    path: str  # e.g. role_parameters.guest.hetero_lr_0.init_param.init_mehtod
    name: str  # the key's path inside its component section: init_param.init_mehtod
    param: BaseParam  # the object that has no such parameter (init_param's InitParam)


def _select_values(param: BaseParam, values: dict, name: str, party_index: int | None = None,
                   unknown: list[_UnknownName] | None = None, inner: str = "") -> dict:
    """Keep the values that are parameters of ``param``; pick element ``party_index`` of leaves.

    Nested param objects recurse. A per-party list shorter than the party index leaves
    the parameter alone, as FATE does. Keys that are no parameter are dropped (as FATE
    does) and, when ``unknown`` is given, recorded in it; ``inner`` is the path of
    ``param`` inside the component's parameters.
    """
    selected = {}
    for key, value in values.items():
        if not param.is_parameter(key):
            if unknown is not None:
                unknown.append(_UnknownName(f"{name}.{key}", inner + key, param))
            continue
        current = getattr(param, key)
        if isinstance(current, BaseParam) and isinstance(value, dict):
            selected[key] = _select_values(current, value, f"{name}.{key}", party_index, unknown, f"{inner}{key}.")
            continue
        if party_index is not None:
            if not isinstance(value, list):
                raise ArgumentError(f"{name}.{key}", "should be a list with one value per party")
            if party_index >= len(value):
                continue
            value = value[party_index]
        if isinstance(current, BaseParam):
            if not isinstance(value, dict):
                raise ArgumentError(f"{name}.{key}", "should be a dict of parameters")
            # one party's whole nested dict: its own values are not per-party lists
            value = _select_values(current, value, f"{name}.{key}", None, unknown, f"{inner}{key}.")
        selected[key] = value
    return selected


def _unknown_message(item: _UnknownName, component: str, spec: registry.ComponentSpec, role: str,
                     party_id: int) -> str:
    """Why one unknown name is refused (after its conf path): the component, the parties, a hint."""
    common = item.path.startswith(("algorithm_parameters.", "component_parameters.common."))
    where = "every party" if common else f"role {role} party {party_id}"
    leaf = item.name.rsplit(".", 1)[-1]
    outer = item.name[:-len(leaf)]  # "init_param." for a nested name
    similar = [outer + name for name in item.param.similar_names(leaf)]
    if similar:
        hint = f"did you mean {' or '.join(similar)}?"
    else:
        hint = f"the parameters there are {', '.join(item.param.parameter_names())}"
    return f"is not a parameter of {spec.module} (component {component}, {where}): {hint}"


def _retired_warning(item: _UnknownName, spec: registry.ComponentSpec) -> str:
    replacement = spec.retired_params[item.name]
    instead = f"; set {replacement} instead" if replacement else ""
    return (f"{item.path} is ignored: {item.name} is an older FATE's parameter name that FATE 1.4's "
            f"{spec.module} ignores too{instead}")


def _unique(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))


def _new_param(name: str, spec: registry.ComponentSpec) -> BaseParam:
    try:
        return spec.default_params()
    except (ImportError, AttributeError) as exc:
        raise DSLError(f"component {name}: can not load parameter class {spec.param_class}: {exc}") from exc


def _party_index(roles: dict[str, list[int]], role: str, party_id: int) -> int | None:
    party_ids = roles.get(role, [])
    return party_ids.index(party_id) if party_id in party_ids else None


class DSLParserV1(DSLParser):
    """FATE-Flow 1.4's DSL v1: validated at construction, queried afterwards."""

    version = 1
    _sections = _PARAMETER_SECTIONS

    def __init__(self, dsl: dict, runtime_conf: dict, train_runtime_conf: dict | None = None,
                 mode: str = TRAIN, max_components: int | None = None) -> None:
        if mode not in (TRAIN, PREDICT):
            raise ArgumentError("mode", f"should be train or predict, got {mode!r}")
        self.mode = mode
        self.runtime_conf = normalise_runtime_conf(runtime_conf)
        self.train_runtime_conf = self._read_train_conf(train_runtime_conf)
        self._components = _read_components(dsl, max_components)
        readers = [name for name, c in self._components.items() if c.module == dsl_v2.READER]
        if readers:
            raise DSLError(f"component {readers[0]}: Reader component can only be set in dsl_version 2 "
                           f"(add \"dsl_version\": 2 to the runtime conf, or read tables with args.<key>)")
        if mode == TRAIN:
            _check_component_names(self._components)
        _link_references(self._components, mode)
        self._order = _topological_order(self._components)
        _check_args_available(self._components, self.runtime_conf)
        self._predict_dsl = _deduce_predict_dsl(self._components, self._order) if mode == TRAIN else None

    def _read_train_conf(self, train_runtime_conf: dict | None) -> dict:
        if self.mode == TRAIN:
            return {}
        if not train_runtime_conf:
            raise DSLError("a predict job needs the runtime conf of its training job")
        return normalise_runtime_conf(train_runtime_conf)

    @property
    def _param_conf(self) -> dict:
        # A predict job runs with the parameters it was trained with.
        return self.train_runtime_conf if self.mode == PREDICT else self.runtime_conf

    def _component(self, name: str) -> _Component:
        if name not in self._components:
            raise ArgumentError("component_name", f"{name} is not a component of the job")
        return self._components[name]

    def _param_source(self, name: str) -> _Component:
        """The component whose parameters ``name`` uses: the end of its model-input chain."""
        component = self._component(name)
        while component.model_source is not None:
            component = self._components[component.model_source]
        return component

    def component_list(self) -> list[str]:
        """Component names in the order FATE runs them (topological)."""
        return list(self._order)

    def dependencies(self) -> dict[str, list[dict[str, str]]]:
        """``{name: [{"component_name": up, "type": "data"|"model"}]}`` for components with inputs."""
        answer = {}
        for name, component in self._components.items():
            links = []
            for up in component.upstream:
                if up in component.data_upstream:
                    links.append({"component_name": up, "type": "data"})
                if up in component.model_upstream:
                    links.append({"component_name": up, "type": "model"})
            if links:
                answer[name] = links
        return answer

    def upstream(self, name: str) -> list[str]:
        """Components that ``name`` reads data or models from."""
        return list(self._component(name).upstream)

    def downstream(self, name: str) -> list[str]:
        """Components that read data or models from ``name``."""
        return list(self._component(name).downstream)

    def module(self, name: str) -> str:
        """The DSL module of component ``name``."""
        return self._component(name).module

    def component_input(self, name: str) -> dict:
        """A copy of the component's DSL ``input`` section (``{}`` if absent)."""
        return copy.deepcopy(self._component(name).input)

    def component_output(self, name: str) -> dict:
        """A copy of the component's DSL ``output`` section (``{}`` if absent)."""
        return copy.deepcopy(self._component(name).output)

    def roles(self) -> dict[str, list[int]]:
        """Role -> party ids whose component parameters the job resolves."""
        return copy.deepcopy(self._param_conf["role"])

    def runs_on(self, name: str, role: str) -> bool:
        """Whether the module of component ``name`` has an implementation for ``role``."""
        return role in registry.get_spec(self._param_source(name).module).roles

    def need_run(self, name: str, role: str, party_id: int | str) -> bool:
        """Whether the party runs a task for ``name`` (role supported, a party, need_run not false)."""
        party_id = _to_party_id(party_id, "party_id")
        index = _party_index(self._param_conf["role"], role, party_id)
        if index is None or not self.runs_on(name, role):
            return False
        param = self._build_param(self._param_source(name), role, index)
        return getattr(param, "need_run", True) is not False

    def component_parameters(self, name: str, role: str, party_id: int | str) -> dict:
        """FATE's component_parameters dict of the party for component ``name``."""
        source, index, party_id = self._locate(name, role, party_id)
        spec = registry.get_spec(source.module)
        parameters = {spec.param_name(): self._build_param(source, role, index).to_dict()}
        for key, value in self._param_conf.items():
            if key not in self._sections:
                parameters[key] = copy.deepcopy(value)
        local = dict(parameters.get("local") or {})
        local.update(role=role, party_id=party_id)
        parameters["local"] = local
        parameters["CodePath"] = spec.code_path(role)
        parameters["module"] = spec.module
        return parameters

    def check_params(self, name: str, role: str, party_id: int | str) -> BaseParam:
        """Build the party's param object for ``name``, run its ``check`` and return it.

        Raises:
            DSLError: ``check`` refused a value; the message names component, role and party.
        """
        source, index, party_id = self._locate(name, role, party_id)
        param = self._build_param(source, role, index)
        try:
            param.check()
        except (ValueError, TypeError) as exc:
            raise DSLError(f"component {name} ({self.module(name)}) role {role} party {party_id}: "
                           f"parameter check failed: {exc}") from exc
        return param

    def _locate(self, name: str, role: str, party_id: int | str) -> tuple[_Component, int, int]:
        """Return (parameter source, party index, int party id), refusing non-running roles."""
        party_id = _to_party_id(party_id, "party_id")
        index = _party_index(self._param_conf["role"], role, party_id)
        if index is None:
            raise ArgumentError("party_id", f"{role} {party_id} is not a party of the job")
        if not self.runs_on(name, role):
            raise DSLError(f"component {name}: module {self.module(name)} does not run on role {role}")
        return self._param_source(name), index, party_id

    def _build_param(self, source: _Component, role: str, index: int,
                     unknown: list[_UnknownName] | None = None) -> BaseParam:
        """Defaults, then algorithm_parameters (whole), then the party's role_parameters.

        Keys that are no parameter are dropped, and recorded in ``unknown`` when given.
        """
        param = _new_param(source.name, registry.get_spec(source.module))
        conf = self._param_conf
        common = conf.get("algorithm_parameters", {}).get(source.name)
        if common:
            param.update(_select_values(param, common, f"algorithm_parameters.{source.name}", None, unknown))
        own = conf.get("role_parameters", {}).get(role, {}).get(source.name)
        if own:
            param.update(_select_values(param, own, f"role_parameters.{role}.{source.name}", index, unknown))
        return param

    # ---- submit-time checks (validate_all_parameters)

    def check_required_roles(self) -> None:
        """Refuse a component whose module can not work without a role the job does not have."""
        roles = self.roles()
        for name in self.component_list():
            spec = registry.get_spec(self.module(name))
            missing = sorted(spec.required_roles - set(roles))
            if missing:
                raise DSLError(f"component {name} ({spec.module}) can not run without "
                               f"{' and '.join(f'a party of role {role}' for role in missing)}, and the job's "
                               f"role has only {', '.join(roles)}: add {', '.join(missing)} to role")

    def check_parameter_names(self) -> list[str]:
        """Refuse parameter names that no module reads; return warnings for the retired ones.

        Every party of every role that runs a component is checked (need_run false too), in
        each component section of algorithm_parameters and role_parameters.

        Raises:
            ArgumentError: naming each unknown parameter with its component, role and party,
                and the parameters it may be a misspelling of.
        """
        warnings: list[str] = []
        problems: dict[str, str] = {}  # conf path -> message, first party found
        for name in self.component_list():
            component = self._component(name)
            if component.model_source is not None:
                continue  # runs with its model source's parameters (see ignored_sections)
            spec = registry.get_spec(component.module)
            for role, party_ids in self.roles().items():
                if not self.runs_on(name, role):
                    continue
                for index, party_id in enumerate(party_ids):
                    unknown: list[_UnknownName] = []
                    self._build_param(component, role, index, unknown)
                    for item in unknown:
                        if item.name in spec.retired_params:
                            warnings.append(_retired_warning(item, spec))
                        elif item.path not in problems:
                            problems[item.path] = _unknown_message(item, name, spec, role, party_id)
        if problems:
            first, *others = problems
            also = "".join(f"; also {path} {problems[path]}" for path in others)
            raise ArgumentError(first, problems[first] + also)
        return _unique(warnings)

    def ignored_sections(self) -> list[str]:
        """Warnings for the parameter sections of the conf that no task reads.

        FATE silently ignores them: a section named after no component of the DSL (FATE's
        hetero LR example sets ``intersect_0`` for a DSL naming ``intersection_0``), a role
        the job does not have, a role the module does not run on, a component that takes its
        parameters from the component whose model it reads, and, in a predict job, every
        component section (it runs with its training job's parameters).
        """
        warnings = []
        conf = self.runtime_conf
        for name in conf.get("algorithm_parameters", {}):
            reason = self._ignored_because(name)
            if reason:
                warnings.append(f"algorithm_parameters.{name} is ignored: {reason}")
        for role, sections in conf.get("role_parameters", {}).items():
            if role not in conf["role"]:
                warnings.append(f"role_parameters.{role} is ignored: the job has no {role} "
                                f"(role names {', '.join(conf['role'])})")
                continue
            for name in sections:
                if name == "args":
                    continue
                reason = self._ignored_because(name, role)
                if reason:
                    warnings.append(f"role_parameters.{role}.{name} is ignored: {reason}")
        return warnings

    def _ignored_because(self, name: str, role: str | None = None) -> str | None:
        if self.mode == PREDICT:
            return "a predict job runs with the parameters of its training job"
        if name not in self._components:
            return f"the DSL has no component {name}{_did_you_mean(name, list(self._components))}"
        component = self._components[name]
        if component.model_source is not None:
            return (f"{name} runs with the parameters of {self._param_source(name).name}, "
                    f"whose model it reads")
        if role is not None and not self.runs_on(name, role):
            return f"{component.module} does not run on role {role}"
        return None

    def job_args(self, role: str, party_id: int | str) -> dict:
        """The party's job inputs: ``{"data": {key: {"name", "namespace"}}}`` or ``{}``."""
        party_id = _to_party_id(party_id, "party_id")
        index = _party_index(self.runtime_conf["role"], role, party_id)
        if index is None:
            raise ArgumentError("party_id", f"{role} {party_id} is not a party of the job")
        args = self.runtime_conf.get("role_parameters", {}).get(role, {}).get("args", {})
        data = args.get("data")
        if not data:
            return {}
        return {"data": {key: copy.deepcopy(tables[index]) for key, tables in data.items()}}

    def args_keys(self, name: str) -> list[str]:
        """The job input keys (``args.<key>``) component ``name`` reads."""
        return list(dict.fromkeys(self._component(name).args_keys))

    def input_table_field(self, role: str, party_id: int, key: str) -> str:
        """The conf field that names the party's input table ``key`` (for error messages)."""
        return f"role_parameters.{role}.args.data.{key}[{self.runtime_conf['role'][role].index(party_id)}]"

    def check_inputs(self, name: str, role: str, party_id: int | str) -> None:
        """Raise ArgumentError if the party lacks a job input that component ``name`` reads."""
        given = self.job_args(role, party_id).get("data", {})
        for key in self._component(name).args_keys:
            if key not in given:
                raise ArgumentError(f"role_parameters.{role}.args.data.{key}",
                                    f"is required: component {name} reads args.{key} on {role} {party_id}")

    def predict_dsl(self, role: str) -> dict:
        """The inference DSL deduced from the train DSL, with ``role``'s CodePath keys."""
        if self._predict_dsl is None:
            raise DSLError("the predict DSL is only deduced for train jobs")
        predict = copy.deepcopy(self._predict_dsl)
        for name, entry in predict["components"].items():
            if role in self._param_conf["role"] and self.runs_on(name, role):
                entry["CodePath"] = registry.get_spec(self._param_source(name).module).code_path(role)
        return predict


class DSLParserV2(DSLParserV1):
    """FATE 1.5+'s DSL v2: Reader components, ``component_parameters`` keyed by party index.

    The DAG, references, parameter objects and checks are v1's; what differs is where a
    party's parameters come from (``common``, then each matching index key of its role,
    deep-merged in order), that tables are read by Readers, and that a train job's predict
    DSL is made by deploy rather than deduced.
    """

    version = 2
    _sections = ("component_parameters",)

    def __init__(self, dsl: dict, runtime_conf: dict, train_runtime_conf: dict | None = None,
                 mode: str = TRAIN, max_components: int | None = None) -> None:
        if mode not in (TRAIN, PREDICT):
            raise ArgumentError("mode", f"should be train or predict, got {mode!r}")
        self.mode = mode
        self.runtime_conf = normalise_runtime_conf(dsl_v2.normalise_conf(_as_dict(runtime_conf, "job_runtime_conf")))
        self.train_runtime_conf = self._read_train_conf(train_runtime_conf)
        dsl = dsl_v2.without_cache(dsl)
        if isinstance(dsl, dict) and isinstance(dsl.get("components"), dict):
            for name, definition in dsl["components"].items():
                dsl_v2.check_component_name(name)
                if isinstance(definition, dict):
                    dsl_v2.check_inputs(name, definition)
        self._components = _read_components(dsl, max_components)
        _link_references(self._components, mode)
        self._order = _topological_order(self._components)
        self._predict_dsl = None
        self._merged_conf = self._merge_confs()

    def _read_train_conf(self, train_runtime_conf: dict | None) -> dict:
        if self.mode == TRAIN:
            return {}
        if not train_runtime_conf:
            raise DSLError("a predict job needs the runtime conf of its training job")
        if dsl_v2.dsl_version(train_runtime_conf) != 2:
            raise DSLError("a DSL v2 predict job needs a model trained by a DSL v2 job")
        return normalise_runtime_conf(dsl_v2.normalise_conf(train_runtime_conf))

    def _merge_confs(self) -> dict:
        """Predict jobs: the train conf's component parameters under the predict conf's (FATE's merge)."""
        if self.mode == TRAIN:
            return self.runtime_conf
        merged = copy.deepcopy(self.runtime_conf)
        merged["component_parameters"] = dsl_v2.deep_merge(self.train_runtime_conf.get("component_parameters") or {},
                                                           self.runtime_conf.get("component_parameters") or {})
        return merged

    @property
    def _param_conf(self) -> dict:
        return self._merged_conf

    def _build_param(self, source: _Component, role: str, index: int,
                     unknown: list[_UnknownName] | None = None) -> BaseParam:
        """Defaults, then ``component_parameters.common`` deep-merged with each index key of the party's role.

        The sections are merged as dicts first (FATE's merge: a later section changes only the
        keys it sets, nested dicts included); each is checked for unknown names on its own, so
        that a refusal names the section it came from.
        """
        spec = registry.get_spec(source.module)
        param = _new_param(source.name, spec)
        sections = self._param_conf.get("component_parameters") or {}
        found = [(f"component_parameters.common.{source.name}", (sections.get("common") or {}).get(source.name))]
        by_key = (sections.get("role") or {}).get(role) or {}
        found += [(f"component_parameters.role.{role}.{key}.{source.name}", section.get(source.name))
                  for key, section in dsl_v2.party_sections(by_key, index)]
        merged: dict = {}
        for path, values in found:
            if values:
                if unknown is not None:
                    _select_values(_new_param(source.name, spec), values, path, None, unknown)
                merged = dsl_v2.deep_merge(merged, values)
        if merged:
            param.update(_select_values(param, merged, f"component_parameters.{role}.{index}.{source.name}"))
        return param

    def dependencies(self) -> dict[str, list[dict]]:
        """FATE 1.6's v2 answer: the input key as ``type`` and ``up_output_info`` [kind, output index]."""
        answer: dict[str, list[dict]] = {}
        for name, component in self._components.items():
            links = []
            for key, refs in (component.input.get("data") or {}).items():
                for ref in refs:
                    links.append(self._link(ref, key, "data"))
            for key in _MODEL_INPUTS:
                for ref in component.input.get(key, []):
                    if not ref.startswith("pipeline."):
                        links.append(self._link(ref, "model", "model"))
            if links:
                answer[name] = links
        return answer

    def _link(self, ref: str, key: str, kind: str) -> dict:
        up, _, alias = ref.partition(".")
        outputs = self._components[up].output.get(kind, [])
        return {"component_name": up, "type": key,
                "up_output_info": [kind, outputs.index(alias) if alias in outputs else 0]}

    def ignored_sections(self) -> list[str]:
        """Warnings for component sections of the conf that no task reads (unknown name, role or module)."""
        if self.mode == PREDICT:
            return []
        warnings = []
        sections = self.runtime_conf.get("component_parameters") or {}
        for name in sections.get("common") or {}:
            reason = self._ignored_because(name)
            if reason:
                warnings.append(f"component_parameters.common.{name} is ignored: {reason}")
        for role, by_key in (sections.get("role") or {}).items():
            if role not in self.runtime_conf["role"]:
                warnings.append(f"component_parameters.role.{role} is ignored: the job has no {role} "
                                f"(role names {', '.join(self.runtime_conf['role'])})")
                continue
            for key, section in by_key.items():
                for name in section:
                    reason = self._ignored_because(name, role)
                    if reason:
                        warnings.append(f"component_parameters.role.{role}.{key}.{name} is ignored: {reason}")
        return warnings

    def _reader_table(self, name: str, role: str, party_id: int) -> dict | None:
        index = _party_index(self._param_conf["role"], role, party_id)
        if index is None or not self.runs_on(name, role):
            return None
        return getattr(self._build_param(self._component(name), role, index), "table", None) or None

    def job_args(self, role: str, party_id: int | str) -> dict:
        """The tables the party's Readers read: ``{"data": {reader_name: {"name", "namespace"}}}`` or ``{}``."""
        party_id = _to_party_id(party_id, "party_id")
        if _party_index(self._param_conf["role"], role, party_id) is None:
            raise ArgumentError("party_id", f"{role} {party_id} is not a party of the job")
        tables = {}
        for name, component in self._components.items():
            if component.module == dsl_v2.READER:
                table = self._reader_table(name, role, party_id)
                if isinstance(table, dict):
                    tables[name] = copy.deepcopy(table)
        return {"data": tables} if tables else {}

    def args_keys(self, name: str) -> list[str]:
        """A Reader reads the table its parameters name (keyed by its own name); others read none."""
        return [name] if self._component(name).module == dsl_v2.READER else []

    def input_table_field(self, role: str, party_id: int, key: str) -> str:
        """The conf field naming the table Reader ``key`` reads for the party."""
        index = self._param_conf["role"][role].index(party_id)
        return f"component_parameters.role.{role}.{index}.{key}.table"

    def check_inputs(self, name: str, role: str, party_id: int | str) -> None:
        """Refuse a Reader that names no table for a party that runs it."""
        if self._component(name).module != dsl_v2.READER:
            return
        party_id = _to_party_id(party_id, "party_id")
        if not self._reader_table(name, role, party_id):
            raise ArgumentError(self.input_table_field(role, party_id, name),
                                f"is required: Reader {name} of {role} {party_id} names no table "
                                f"({{\"name\": ..., \"namespace\": ...}})")

    def predict_dsl(self, role: str) -> dict:
        """A v2 train job has no predict DSL until it is deployed (``/v1/model/deploy``): empty."""
        return {}


_PARSERS: dict[int, type[DSLParser]] = {1: DSLParserV1, 2: DSLParserV2}
