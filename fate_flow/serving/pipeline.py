"""One party's deployed components, rebuilt from its model files and run over a batch of rows.

The inference DSL saved with the model (``pipeline.json``) lists the components a predict job
runs. Online, they form a chain: DataIO first (dense input, read by header names with the
trained missing/outlier replacement), then feature transforms (FeatureScale, OneHotEncoder,
HeteroFeatureBinning, HeteroFeatureSelection), then one linear model (HeteroLR or HomoLR).
Intersection is skipped: an online request names its ids itself. Every step is the
component's own math (the pure functions it shares), applied to whole arrays at once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from fate_flow.computing import Instances

SKIPPED_MODULES = frozenset({"Intersection"})
LINEAR_MODULES = frozenset({"HeteroLR", "HomoLR"})
TRANSFORM_MODULES = frozenset({"FeatureScale", "OneHotEncoder", "HeteroFeatureBinning", "HeteroFeatureSelection"})
SERVED_MODULES = frozenset({"DataIO"}) | TRANSFORM_MODULES | LINEAR_MODULES


@dataclass
class LinearScorer:
    """The linear part of a party's score: ``x . coef + intercept`` over the model's header."""

    module: str
    header: list[str]
    coef: np.ndarray
    intercept: float

    def partial(self, data: Instances) -> np.ndarray:
        """This party's share of the score of every row (no sigmoid)."""
        from fate_flow.components.linear_model.common import select_model_features

        return select_model_features(data, self.header).features @ self.coef + self.intercept


@dataclass
class PartyPipeline:
    """A party's served model: how to read rows, transform them and score them.

    Attributes:
        role, party_id: the party whose model this is.
        dataio_params, dataio_state: DataIO's saved parameters and fitted state.
        transforms: the feature steps, in DSL order.
        scorer: the linear model.
        host_parties: the host party ids a hetero guest asks for their shares.
        guest_parties: the guest party ids of the training job (the only callers a host answers).
        feature_table: (namespace, name) of a hetero host's training input, its default feature source.
    """

    role: str
    party_id: str
    dataio_params: Any
    dataio_state: Any
    transforms: list[Callable[[Instances], Instances]] = field(default_factory=list)
    scorer: LinearScorer | None = None
    host_parties: list[str] = field(default_factory=list)
    guest_parties: list[str] = field(default_factory=list)
    feature_table: tuple[str, str] | None = None

    @property
    def header(self) -> list[str]:
        """The feature names DataIO reads (the guest's featureData keys)."""
        return list(self.dataio_state.header)

    @property
    def is_hetero_guest(self) -> bool:
        return self.scorer.module == "HeteroLR" and self.role == "guest"

    def read(self, ids: pa.Array, values: pa.Array, schema: dict) -> Instances:
        """DataIO's transform of delimited rows whose columns ``schema["header"]`` names."""
        from fate_flow.components.dataio.dense import read_dense

        instances, _ = read_dense(ids, values, schema, self.dataio_params, self.dataio_state)
        return instances

    def read_feature_dicts(self, rows: list[dict]) -> Instances:
        """DataIO's transform of ``{feature name: value}`` rows (absent features count as missing).

        Raises:
            ValueError naming a feature whose value is not a number or holds the delimiter.
        """
        delimiter = self.dataio_params.delimitor
        header = self.header
        lines = [delimiter.join(_cell(row.get(name), name, delimiter) for name in header) for row in rows]
        ids = pa.array([str(i) for i in range(len(rows))], type=pa.string())
        schema = {"header": delimiter.join(header), "sid": self.dataio_state.sid_name or "id"}
        return self.read(ids, pa.array(lines, type=pa.string()), schema)

    def partial_scores(self, data: Instances) -> np.ndarray:
        """Every row through the transforms, then this party's linear share of its score.

        Raises:
            ValueError naming the features still missing (NaN) when the model does not fill them,
            or infinite.
        """
        for transform in self.transforms:
            data = transform(data)
        for problem, flags in (("missing and the model does not fill missing values", np.isnan(data.features)),
                               ("infinite", np.isinf(data.features))):
            if flags.any():
                names = [name for name, bad in zip(data.header, flags.any(axis=0)) if bad]
                raise ValueError(f"features {names} are {problem}")
        return self.scorer.partial(data)


def load_pipeline(root: Path, role: str, party_id: str) -> PartyPipeline:
    """Rebuild the served pipeline of a party's model version directory.

    Raises:
        ValueError naming the component, module or file that can not be served.
    """
    from fate_flow.utils.model_layout import load_component_model

    pipeline_file = Path(root) / "pipeline.json"
    if not pipeline_file.is_file():
        raise ValueError(f"{pipeline_file} is missing: the model has no pipeline")
    saved = json.loads(pipeline_file.read_text(encoding="utf-8"))
    components = (saved.get("inference_dsl") or {}).get("components") or {}
    chain = _chain(components)
    served = [name for name in chain if components[name]["module"] not in SKIPPED_MODULES]
    if not served or components[served[0]]["module"] != "DataIO":
        raise ValueError(f"the inference DSL must start with DataIO to be served online, got {served}")
    if components[served[-1]]["module"] not in LINEAR_MODULES:
        raise ValueError(f"the inference DSL must end with HeteroLR or HomoLR to be served online, got {served}")

    def messages(name: str) -> dict:
        refs = (components[name].get("input") or {}).get("model") or []
        if not refs:
            raise ValueError(f"component {name} has no model input in the inference DSL")
        component, alias = refs[0].split(".")[-2:]
        found = load_component_model(Path(root), component, alias)
        if not found:
            raise ValueError(f"no model saved by {component} under {alias} in {root}")
        return found

    params, state = _dataio(messages(served[0]), served[0])
    pipeline = PartyPipeline(role=role, party_id=str(party_id), dataio_params=params, dataio_state=state)
    for name in served[1:-1]:
        module = components[name]["module"]
        if module in LINEAR_MODULES:
            raise ValueError(f"component {name}: only the last component may be a model ({module})")
        pipeline.transforms.append(_transform(module, role, messages(name)))
    pipeline.scorer = _scorer(components[served[-1]]["module"], role, messages(served[-1]))
    conf = saved.get("train_runtime_conf") or {}
    hosts = [str(p) for p in (conf.get("role") or {}).get("host", [])]
    pipeline.guest_parties = [str(p) for p in (conf.get("role") or {}).get("guest", [])]
    if pipeline.is_hetero_guest:
        pipeline.host_parties = hosts
    if role == "host" and pipeline.scorer.module == "HeteroLR":
        pipeline.feature_table = _host_feature_table(conf, saved.get("train_dsl") or {}, served[0],
                                                     hosts, str(party_id))
    return pipeline


def _chain(components: dict) -> list[str]:
    """The components in data order; ValueError unless they form one chain (no branches)."""
    upstream = {}
    for name, entry in components.items():
        module = entry.get("module")
        if module not in SERVED_MODULES | SKIPPED_MODULES:
            raise ValueError(f"component {name} (module {module}) can not be served online; "
                             f"online inference supports {sorted(SERVED_MODULES)}")
        refs = []
        for value in ((entry.get("input") or {}).get("data") or {}).values():
            refs.extend([value] if isinstance(value, str) else value)
        sources = {ref.split(".")[0] for ref in refs} - {"args"}
        if len(sources) > 1:
            raise ValueError(f"component {name} reads several inputs {sorted(sources)}: only a chain can be served")
        upstream[name] = next(iter(sources), None)
    heads = [name for name, up in upstream.items() if up is None]
    if len(heads) != 1:
        raise ValueError(f"the inference DSL has {len(heads)} components reading the input data: {heads}")
    chain = heads
    while True:
        following = [name for name, up in upstream.items() if up == chain[-1]]
        if len(following) > 1:
            raise ValueError(f"components {following} all read {chain[-1]}: only a chain can be served")
        if not following:
            break
        chain.append(following[0])
    if len(chain) != len(components):
        raise ValueError(f"components {sorted(set(components) - set(chain))} are not in the data chain")
    return chain


def _dataio(messages: dict, name: str) -> tuple[Any, Any]:
    from fate_flow.components.dataio.state import load_model

    params, state = load_model(messages, name)
    if not params.need_run or params.input_format != "dense":
        raise ValueError(f"component {name}: online inference reads dense input with DataIO need_run true, "
                         f"got input_format {params.input_format!r}, need_run {params.need_run}")
    if not state.header:
        raise ValueError(f"component {name}: the DataIO model has no header")
    return params, state


def _transform(module: str, role: str, model: dict) -> Callable[[Instances], Instances]:
    """The transform a saved feature model applies, as a function of Instances."""
    if module == "FeatureScale":
        from fate_flow.components.feature.scale import scale_columns

        meta, columns = model["ScaleMeta"], model["ScaleParam"]["col_scale_param"]
        return lambda data: scale_columns(data, columns, meta["method"], meta["with_mean"], meta["with_std"])
    if module == "OneHotEncoder":
        from fate_flow.components.feature.one_hot import one_hot_columns

        col_map = model["OneHotParam"]["col_map"]
        return lambda data: one_hot_columns(data, col_map)
    if module == "HeteroFeatureBinning":
        from fate_flow.components.hetero_binning.base import read_model, transform_columns

        b = read_model(model)
        return lambda data: transform_columns(data, role, b["header"], b["split_points"], b["transform_cols"],
                                              b["transform_type"], b["results"])
    from fate_flow.components.hetero_selection.base import apply_selection_model

    return lambda data: apply_selection_model(model, data)


def _scorer(module: str, role: str, messages: dict) -> LinearScorer:
    """Weights of a saved HeteroLR/HomoLR model, read by the component's own ``load_model``."""
    from fate_flow.components import registry

    spec = registry.get_spec(module)
    if role not in spec.programs or role == "arbiter":
        raise ValueError(f"{module} has no {role} side to serve")
    component = spec.program(role)(spec.default_params())
    component.load_model(messages)
    if component.weights_ is None or not component.header_:
        raise ValueError(f"the {module} model of the {role} has no weights")
    # HomoLR names it fit_intercept_, HeteroLR fits_intercept (always False on a host)
    intercept_fitted = getattr(component, "fit_intercept_", getattr(component, "fits_intercept", False))
    width = len(component.header_)
    intercept = float(component.weights_[width]) if intercept_fitted else 0.0
    return LinearScorer(module, list(component.header_), np.asarray(component.weights_[:width]), intercept)


def _host_feature_table(conf: dict, train_dsl: dict, first: str, hosts: list[str],
                        party_id: str) -> tuple[str, str]:
    """(namespace, name) of the table the host's first component read in training."""
    if party_id not in hosts:
        raise ValueError(f"host {party_id} is not a host of the train runtime conf ({hosts})")
    tables = (((conf.get("role_parameters") or {}).get("host") or {}).get("args") or {}).get("data") or {}
    key = _train_args_key(train_dsl, first) or ("train_data" if "train_data" in tables else None)
    key = key or next(iter(tables), None)
    entries = tables.get(key) or []
    index = hosts.index(party_id)
    if index >= len(entries) or not entries[index].get("namespace") or not entries[index].get("name"):
        raise ValueError(f"the train runtime conf names no args.{key} table for host {party_id}")
    return str(entries[index]["namespace"]), str(entries[index]["name"])


def _train_args_key(train_dsl: dict, component: str) -> str | None:
    """The ``args.<key>`` the component read in the train DSL (e.g. ``train_data``)."""
    data = ((train_dsl.get("components") or {}).get(component, {}).get("input") or {}).get("data") or {}
    for refs in data.values():
        for ref in [refs] if isinstance(refs, str) else refs:
            if ref.startswith("args."):
                return ref.split(".", 1)[1]
    return None


def _cell(value: Any, name: str, delimiter: str) -> str:
    """One featureData value as DataIO text: numbers exactly (repr), None as missing."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise ValueError(f"feature {name!r} must be a number, got {value!r}")
    text = repr(value) if isinstance(value, float) else str(value)
    if delimiter in text:
        raise ValueError(f"feature {name!r} holds the delimiter {delimiter!r}: {text!r}")
    return text
