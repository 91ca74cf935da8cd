"""HeteroFeatureSelection on the guest: local filters on its data, and the IV filters for every party.

For an IV filter (suffix = the filter's position) each host sends the anonymous names of
its still-selectable columns; the guest judges them with the hosts' IVs from the binning
model's ``host_results`` (unless the filter is ``local_only``, which keeps them all) and
sends each host the names it keeps. Columns without an IV in the binning model (not
binned) are kept unjudged. Each party keeps at least one column per filter.
"""
from __future__ import annotations

from fate_flow.components.hetero_selection import filters
from fate_flow.components.hetero_selection.base import (
    HeteroFeatureSelectionBase, binning_param, filter_result, left_cols, own_ivs, reported_problem,
)


class HeteroFeatureSelectionGuest(HeteroFeatureSelectionBase):
    """Guest side; ``host_col_names_`` holds each host's anonymous columns as first sent."""

    role = "guest"

    def fit(self, ctx, data, binning_model) -> None:
        """Check the per-host settings before any message, then run the filters (see the base)."""
        thresholds = self.params.iv_value_param.host_thresholds
        hosts = ctx.parties("host")
        if "iv_value_thres" in self.params.filter_methods and thresholds is not None and len(thresholds) != len(hosts):
            raise ValueError(f"iv_value_param.host_thresholds has {len(thresholds)} values for "
                             f"{len(hosts)} hosts; the length should match the host party number")
        super().fit(ctx, data, binning_model)

    def iv_filter(self, ctx, variables, index, method, current, binning_model):
        """Judge the own and (unless local_only) the hosts' columns by IV; tell each host its result."""
        hosts = ctx.parties("host")
        host_names = self._host_select_cols(variables, index, hosts) if hosts else []
        own = own_ivs(binning_model, current)
        local_only = self._filter_param(method).local_only
        host_ivs = [{} if local_only else host_iv_values(ctx, binning_model, i, party, names)
                    for i, (party, names) in enumerate(zip(hosts, host_names))]
        passed = self._apply_rule(method, [own] + host_ivs, len(hosts))
        own_kept = _with_unjudged(own, passed[0], current)
        result = filter_result(method, current, own_kept, own)
        for i, names in enumerate(host_names):
            kept = set(names) if local_only else _with_unjudged(host_ivs[i], passed[i + 1], names)
            variables.result_left_cols.remote([n for n in names if n in kept], role="host", idx=i,
                                              suffix=(str(index),))
            result["host_feature_values"].append({"feature_values": host_ivs[i]})
            result["host_left_cols"].append(left_cols(names, kept))
        return result, own_kept

    def report_problem(self, ctx, variables, index, problem) -> None:
        """Take every host's first IV-filter message, then send each the problem instead of its result."""
        variables.host_select_cols.get(idx=-1, suffix=(str(index),))
        variables.result_left_cols.remote({"error": problem}, role="host", idx=-1, suffix=(str(index),))

    def _host_select_cols(self, variables, index: int, hosts: list) -> list[list[str]]:
        received = variables.host_select_cols.get(idx=-1, suffix=(str(index),))
        for party, names in zip(hosts, received):
            if isinstance(names, dict) and "error" in names:
                # a host stops: free the others before raising its reason here
                others = [i for i, other in enumerate(received) if not (isinstance(other, dict) and "error" in other)]
                for i in others:
                    variables.result_left_cols.remote({"error": f"host {party} stopped: {names['error']}"},
                                                      role="host", idx=i, suffix=(str(index),))
                reported_problem(names, "host", party)
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"host_select_cols from host {party} should be a list of column names")
        if not self.host_col_names_:
            self.host_col_names_ = [{"col_names": list(names), "party_id": str(party)}
                                    for party, names in zip(hosts, received)]
        return received

    def _filter_param(self, method: str):
        p = self.params
        return {"iv_value_thres": p.iv_value_param, "iv_percentile": p.iv_percentile_param,
                "iv_top_k": p.iv_top_k_param}[method]

    def _apply_rule(self, method: str, ivs: list[dict], n_hosts: int) -> list[set]:
        p = self.params
        if method == "iv_percentile":
            return filters.iv_percentile(ivs, p.iv_percentile_param.percentile_threshold)
        if method == "iv_top_k":
            return filters.iv_top_k(ivs, p.iv_top_k_param.k)
        value = p.iv_value_param
        host_thresholds = value.host_thresholds or [value.value_threshold] * n_hosts
        return filters.iv_thresholds(ivs, [value.value_threshold, *host_thresholds])


def host_iv_values(ctx, binning_model: dict, index: int, party, names: list[str]) -> dict:
    """{anonymous column: IV} of host ``party`` (the binning model's host_results) for ``names``."""
    results = binning_param(binning_model).get("host_results") or []
    entry = next((r for r in results if str(r.get("party_id")) == str(party)), None)
    if entry is None and index < len(results):
        entry = results[index]
    if entry is None:
        ctx.logger.warning("the binning model has no result of host %s: its columns are kept unjudged", party)
        return {}
    columns = entry.get("binning_result") or {}
    return {name: float(columns[name]["iv"]) for name in names if name in columns}


def _with_unjudged(ivs: dict, passed: set, names: list[str]) -> set:
    """The passed columns plus those without an IV; the best IV alone if that leaves none."""
    kept = set(passed) | {name for name in names if name not in ivs}
    return filters.keep_best(ivs, kept, pick_high=True)
