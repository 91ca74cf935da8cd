"""HeteroFeatureSelection on a host: local filters on its data; the guest decides its IV filters.

For an IV filter the host sends the anonymous names ("host.<index in its binning model's
header>") of its still-selectable columns, receives the names the guest keeps and maps them
back to its own. Columns the binning model did not see are not sent and stay selected. The
host exchanges for every IV filter, whatever its ``local_only`` (as FATE's host does), so
that a guest-side ``local_only`` cannot leave it waiting.
"""
from __future__ import annotations

from fate_flow.components.hetero_binning.base import anonymous_name
from fate_flow.components.hetero_selection.base import (
    HeteroFeatureSelectionBase, binning_header, filter_result, reported_problem,
)


class HeteroFeatureSelectionHost(HeteroFeatureSelectionBase):
    """Host side of HeteroFeatureSelection."""

    role = "host"

    def report_problem(self, ctx, variables, index, problem) -> None:
        """Send the guest the problem in place of the first IV filter's columns, so it stops at once too."""
        variables.host_select_cols.remote({"error": problem}, role="guest", idx=0, suffix=(str(index),))

    def iv_filter(self, ctx, variables, index, method, current, binning_model):
        """Send the selectable columns by anonymous name; keep those the guest sends back."""
        header = binning_header(binning_model)
        encoded = {anonymous_name("host", header.index(name)): name for name in current if name in header}
        variables.host_select_cols.remote(list(encoded), role="guest", idx=0, suffix=(str(index),))
        left = variables.result_left_cols.get(idx=0, suffix=(str(index),))
        reported_problem(left, "guest", ctx.parties("guest")[0])
        if not isinstance(left, list) or any(name not in encoded for name in left):
            raise ValueError(f"result_left_cols from the guest should list some of the names sent, got {left!r}")
        kept = {encoded[name] for name in left} | {name for name in current if name not in header}
        return filter_result(method, current, kept), kept
