"""What DataIO learns in fit and saves as its model, in FATE's DataIOMeta/DataIOParam field names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fate_flow.components.dataio.imputer import Replacement
from fate_flow.components.dataio.param import DEFAULT_MISSING_VALUES, DataIOParam


@dataclass
class FittedState:
    """The header, id column name and replace values a transform must reuse."""

    header: list[str]
    sid_name: str
    label_name: str | None = None
    missing: Replacement | None = None
    outlier: Replacement | None = None


def missing_values(params: DataIOParam) -> list:
    """The values read as missing: missing_impute, else FATE's default list."""
    return list(DEFAULT_MISSING_VALUES if params.missing_impute is None else params.missing_impute)


def outlier_values(params: DataIOParam) -> list:
    """The values read as outliers: outlier_impute, else (as FATE's Imputer does) the default missing list."""
    return list(DEFAULT_MISSING_VALUES if params.outlier_impute is None else params.outlier_impute)


def fills_missing(params: DataIOParam) -> bool:
    """Whether the read fills missing values: dense, and tag with values; FATE's sparse reader has no
    missing fill (nor outlier replacement) and saves both as disabled."""
    if params.input_format == "sparse":
        return False
    return params.missing_fill and (params.input_format == "dense" or params.tag_with_value)


def export_model(params: DataIOParam, state: FittedState | None) -> dict[str, Any]:
    """``{"DataIOMeta": {...}, "DataIOParam": {...}}``; ``state`` None (need_run false) leaves the param empty."""
    meta = {
        "input_format": params.input_format, "delimitor": params.delimitor, "data_type": params.data_type,
        "tag_with_value": params.tag_with_value, "tag_value_delimitor": params.tag_value_delimitor,
        "with_label": params.with_label, "label_name": params.label_name, "label_type": params.label_type,
        "output_format": params.output_format,
        "imputer_meta": {"is_imputer": fills_missing(params),
                         "strategy": params.missing_fill_method or "designated",
                         "missing_value": [str(v) for v in missing_values(params)]},
        "outlier_meta": {"is_outlier": params.outlier_replace and params.input_format == "dense",
                         "strategy": params.outlier_replace_method or "designated",
                         "outlier_value": [str(v) for v in outlier_values(params)]},
        "need_run": params.need_run,
        "exclusive_data_type": dict(params.exclusive_data_type or {}),
    }
    state = state or FittedState(header=[], sid_name="")
    param = {
        "header": list(state.header), "sid_name": state.sid_name, "label_name": state.label_name or "",
        "imputer_param": _replacement_param(state.header, state.missing, "missing_replace_value",
                                            "missing_value_ratio"),
        "outlier_param": _replacement_param(state.header, state.outlier, "outlier_replace_value",
                                            "outlier_value_ratio"),
    }
    return {"DataIOMeta": meta, "DataIOParam": param}


def _replacement_param(header: list[str], replacement: Replacement | None, values_key: str,
                       ratios_key: str) -> dict[str, dict]:
    if replacement is None:
        return {values_key: {}, ratios_key: {}}
    # FATE keeps replace values as strings (map<string, string>) and ratios as doubles
    return {values_key: {name: str(float(v)) for name, v in zip(header, replacement.values)},
            ratios_key: {name: float(r) for name, r in zip(header, replacement.ratios)}}


def load_model(messages: dict[str, Any], source: str) -> tuple[DataIOParam, FittedState]:
    """The parameters and state a DataIO model was fitted with; ValueError naming ``source`` if malformed."""
    meta, param = messages.get("DataIOMeta"), messages.get("DataIOParam")
    if not isinstance(meta, dict) or not isinstance(param, dict):
        raise ValueError(f"model of {source} has no DataIOMeta/DataIOParam: {sorted(messages)}")
    imputer, outlier = meta.get("imputer_meta") or {}, meta.get("outlier_meta") or {}
    params = DataIOParam().update({
        key: meta[key] for key in ("input_format", "delimitor", "data_type", "tag_with_value",
                                   "tag_value_delimitor", "with_label", "label_name", "label_type",
                                   "output_format", "need_run") if key in meta})
    params.update({"exclusive_data_type": meta.get("exclusive_data_type") or None,
                   "missing_fill": bool(imputer.get("is_imputer")), "missing_impute": imputer.get("missing_value"),
                   "missing_fill_method": imputer.get("strategy") or None,
                   "outlier_replace": bool(outlier.get("is_outlier")), "outlier_impute": outlier.get("outlier_value"),
                   "outlier_replace_method": outlier.get("strategy") or None})
    params.check()
    header = list(param.get("header") or [])
    state = FittedState(header=header, sid_name=param.get("sid_name") or "", label_name=param.get("label_name") or None,
                        missing=_load_replacement(param.get("imputer_param"), "missing_replace_value", header),
                        outlier=_load_replacement(param.get("outlier_param"), "outlier_replace_value", header))
    return params, state


def _load_replacement(message: dict | None, values_key: str, header: list[str]) -> Replacement | None:
    values = (message or {}).get(values_key) or {}
    if not values:
        return None
    missing = [name for name in header if name not in values]
    if missing:
        raise ValueError(f"the DataIO model has no {values_key} for columns {missing}")
    return Replacement(values=np.asarray([float(values[name]) for name in header], dtype=np.float64),
                       ratios=np.zeros(len(header)))
