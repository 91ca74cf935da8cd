"""One party's deployed components, rebuilt from its model files and run over a batch of rows.

The inference DSL saved with the model (``pipeline.json``) lists the components a predict job
runs. Online, they form a chain, and each component's spec says how it serves (its ``serving``
hook, ``fate_flow.components.online``): a feature reader first (DataIO), then feature
transforms, then one model. Components an online request skips (Intersection) pass through.
This module only composes the steps; the math is the components' own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from fate_flow.components import registry
from fate_flow.components.online import PASS_THROUGH, FeatureReader, FeatureTransform, OnlineModel
from fate_flow.computing import Instances
from fate_flow.utils.model_layout import load_component_model


@dataclass
class PartyPipeline:
    """A party's served model: how to read rows, transform them and score them.

    Attributes:
        role, party_id: the party whose model this is.
        reader: the first step (DataIO's reading of rows).
        transforms: the feature steps, in DSL order.
        scorer: the model.
        host_parties: the host party ids a hetero guest asks for their shares.
        guest_parties: the guest party ids of the training job (the only callers a host answers).
        feature_table: (namespace, name) of a hetero host's training input, its default feature source.
    """

    role: str
    party_id: str
    reader: FeatureReader
    transforms: list[FeatureTransform] = field(default_factory=list)
    scorer: OnlineModel | None = None
    host_parties: list[str] = field(default_factory=list)
    guest_parties: list[str] = field(default_factory=list)
    feature_table: tuple[str, str] | None = None

    @property
    def header(self) -> list[str]:
        """The feature names the reader reads (the guest's featureData keys)."""
        return list(self.reader.header)

    @property
    def is_hetero_guest(self) -> bool:
        return self.scorer.is_hetero and self.role == "guest"

    def read(self, ids: pa.Array, values: pa.Array, schema: dict) -> Instances:
        """Delimited rows whose columns ``schema["header"]`` names, as the model's features."""
        return self.reader.read(ids, values, schema)

    def read_feature_dicts(self, rows: list[dict]) -> Instances:
        """``{feature name: value}`` rows (absent features count as missing).

        Raises:
            ValueError naming a feature whose value is not a number or holds the delimiter.
        """
        return self.reader.read_feature_dicts(rows)

    def partial_scores(self, data: Instances) -> np.ndarray:
        """Every row through the transforms, then this party's share of its score.

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
        return self.scorer.share(data)

    def score(self, own: np.ndarray, host_shares: list[np.ndarray]) -> np.ndarray:
        """The final scores from this (guest) party's shares and the hosts'."""
        return self.scorer.score(own, host_shares)


def load_pipeline(root: Path, role: str, party_id: str) -> PartyPipeline:
    """Rebuild the served pipeline of a party's model version directory.

    Raises:
        ValueError naming the component, module or file that can not be served.
    """
    pipeline_file = Path(root) / "pipeline.json"
    if not pipeline_file.is_file():
        raise ValueError(f"{pipeline_file} is missing: the model has no pipeline")
    saved = json.loads(pipeline_file.read_text(encoding="utf-8"))
    components = (saved.get("inference_dsl") or {}).get("components") or {}
    hooks = {name: _serving_hook(name, entry.get("module")) for name, entry in components.items()}
    served = [name for name in _chain(components) if hooks[name] != PASS_THROUGH]
    steps = {name: _build_step(Path(root), name, components[name], hooks[name], role) for name in served}
    if not served or not isinstance(steps[served[0]], FeatureReader):
        raise ValueError(f"the inference DSL must start with DataIO (a feature reader) to be served online, "
                         f"got {served}")
    if not isinstance(steps[served[-1]], OnlineModel):
        raise ValueError(f"the inference DSL must end with a model (HeteroLR, HomoLR, ...) to be served online, "
                         f"got {served}")
    for name in served[1:-1]:
        if not isinstance(steps[name], FeatureTransform):
            raise ValueError(f"component {name}: only the last component may be a model "
                             f"({components[name]['module']})")
    pipeline = PartyPipeline(role=role, party_id=str(party_id), reader=steps[served[0]],
                             transforms=[steps[name] for name in served[1:-1]], scorer=steps[served[-1]])
    conf = saved.get("train_runtime_conf") or {}
    hosts = [str(p) for p in (conf.get("role") or {}).get("host", [])]
    pipeline.guest_parties = [str(p) for p in (conf.get("role") or {}).get("guest", [])]
    if pipeline.is_hetero_guest:
        pipeline.host_parties = hosts
        if hasattr(pipeline.scorer, "bind_hosts"):  # a model whose shares differ per host (trees) learns their order
            pipeline.scorer.bind_hosts(hosts)
    if role == "host" and pipeline.scorer.is_hetero:
        pipeline.feature_table = _host_feature_table(conf, saved.get("train_dsl") or {}, served[0],
                                                     hosts, str(party_id))
    return pipeline


def _serving_hook(name: str, module: Any) -> str:
    """The component's serving hook; ValueError when its module does not serve online."""
    spec = registry.get_spec(module) if isinstance(module, str) and registry.has_module(module) else None
    if spec is None or not spec.serving:
        raise ValueError(f"component {name} (module {module}) can not be served online; online inference "
                         f"supports {registry.served_modules()}")
    return spec.serving


def _build_step(root: Path, name: str, entry: dict, hook: str, role: str) -> Any:
    """The online step a component's hook builds from its saved model messages."""
    refs = (entry.get("input") or {}).get("model") or []
    if not refs:
        raise ValueError(f"component {name} has no model input in the inference DSL")
    component, alias = refs[0].split(".")[-2:]
    messages = load_component_model(root, component, alias)
    if not messages:
        raise ValueError(f"no model saved by {component} under {alias} in {root}")
    return registry.load_hook(hook)(messages, role, name)


def _chain(components: dict) -> list[str]:
    """The components in data order; ValueError unless they form one chain (no branches)."""
    upstream = {}
    for name, entry in components.items():
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
