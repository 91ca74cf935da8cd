"""HeteroFeatureBinning on the guest: its own WOE/IV from its labels, and the hosts' through Paillier.

Protocol (skipped with ``local_only`` or without hosts): the guest makes a fresh key pair,
sends the public key and its labels encrypted as [[y]] and [[1-y]] (y = 1 for label 1,
else 0) with their ids to every host, in pieces of at most MESSAGE_ROWS rows; each host answers with the encrypted per-bin sums of
its columns under anonymous names; the guest decrypts them into event/non-event counts
and computes each host column's WOE and IV. Nothing goes back to the hosts.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pyarrow as pa

from fate_flow.components.hetero_binning.base import HeteroFeatureBinningBase, block_bins
from fate_flow.components.hetero_binning.optimal import (
    OptimalSettings, merged_counts, optimal_positions, unmet_constraints,
)
from fate_flow.components.hetero_binning.param import OPTIMAL_METRICS
from fate_flow.components.hetero_binning.transfer import HeteroFeatureBinningTransferVariable
from fate_flow.components.hetero_binning.woe import bin_offsets, event_counts, iv_param, split_by_column, woe_iv
from fate_flow.components.linear_model.partitioned import MESSAGE_ROWS, in_groups, run_with, worker_public_key
from fate_flow.computing.recipes import block_len
from fate_flow.secureprotol import DEFAULT_KEY_LENGTH, EncryptedArray, generate_keypair


class HeteroFeatureBinningGuest(HeteroFeatureBinningBase):
    """Guest side. ``key_length`` is the Paillier modulus size (FATE: a new 1024-bit key per
    task); tests may set a shorter one on the instance."""

    role = "guest"
    key_length = DEFAULT_KEY_LENGTH

    def fit(self, ctx, data, empty) -> None:
        """Bin the own columns, compute their WOE/IV, then the hosts' (unless local_only)."""
        check_labels(empty.labels, np.empty(0))  # no label column: refused before any pass
        check_labels(empty.labels, data.aggregate(_label_values, _unite_values))
        self.fit_split_points(data)
        counts = [len(points) for points in self.split_points_.values()]
        offsets = bin_offsets(counts)
        kernel = functools.partial(_block_event_counts, self.binned_positions(self.header_),
                                   list(self.split_points_.values()), counts)
        events, totals = data.aggregate(kernel, _add_pairs)
        events, non_events = split_by_column(events, offsets), split_by_column(totals - events, offsets)
        self.label_totals_ = _label_totals(events, non_events, data)
        if self.params.method == "optimal":
            events, non_events = self._optimize_own(ctx, events, non_events)
        factor = self.params.adjustment_factor
        self.bin_results_ = {
            name: iv_param(points, len(points), woe_iv(events[i], non_events[i], factor))
            for i, (name, points) in enumerate(self.split_points_.items())}
        self.host_results_ = []
        hosts = ctx.parties("host")
        if self.params.local_only or not hosts:
            return
        variables = HeteroFeatureBinningTransferVariable(ctx.federation)
        private_key, sums = self._exchange_with_hosts(ctx, variables, data)
        for i, (party, message) in enumerate(zip(hosts, sums)):
            columns, bucket_idx = self._host_columns(private_key, message, party)
            if bucket_idx is not None:  # the host bins optimally: it learns which of its buckets stay
                variables.bucket_idx.remote(bucket_idx, role="host", idx=i)
            self.host_results_.append({"binning_result": columns, "role": "host", "party_id": str(party)})

    def optimal_settings(self, metric: str, max_bin: int, mixture: bool, min_bin_pct: float,
                         max_bin_pct: float) -> OptimalSettings:
        """The settings of one party's optimal binning, with the guest's label totals."""
        total_events, total_non_events = self.label_totals_
        return OptimalSettings(metric=metric, max_bin=max_bin, min_bin_pct=min_bin_pct, max_bin_pct=max_bin_pct,
                               mixture=mixture, adjustment_factor=self.params.adjustment_factor,
                               total_events=total_events, total_non_events=total_non_events,
                               sample_count=self.rows_)

    def _optimize_own(self, ctx, events: list, non_events: list) -> tuple[list, list]:
        """Merge the own numeric columns' initial buckets; return the per-bin counts of every column."""
        o = self.params.optimal_binning_param
        settings = self.optimal_settings(o.metric_method, self.params.bin_num, o.mixture, o.min_bin_pct, o.max_bin_pct)
        events, non_events = list(events), list(non_events)
        for i, name in enumerate(self.split_points_):
            if name in self.category_cols_:
                continue
            positions = optimal_positions(events[i], non_events[i], settings)
            self.split_points_[name] = self.split_points_[name][positions]
            events[i], non_events[i] = merged_counts(events[i], non_events[i], positions)
            for problem in unmet_constraints(events[i], non_events[i], settings):
                ctx.logger.warning("optimal binning of column %s: %s", name, problem)
        ctx.logger.info("optimal binning (%s) of %d columns", o.metric_method,
                        len(self.split_points_) - len(self.category_cols_))
        return events, non_events

    def _exchange_with_hosts(self, ctx, variables, data) -> tuple:
        """Send the encrypted labels to every host, a piece at a time; return the private key and each host's
        answer.

        The pieces (at most MESSAGE_ROWS rows of one partition each) are encrypted on the engine's
        workers, a few partitions at a time, so the guest never holds the whole encrypted column.
        """
        public_key, private_key = generate_keypair(self.key_length)
        variables.paillier_pubkey.remote(public_key.to_bytes(), role="host")
        sizes = data.map_reduce(block_len)
        pieces = [math.ceil(size / MESSAGE_ROWS) for size in sizes]
        variables.encrypted_label.remote({"pieces": sum(pieces)}, role="host")
        kernel = functools.partial(_encrypted_label_pieces, public_key, MESSAGE_ROWS)
        sent = 0
        for group in in_groups(data, [p for p in range(data.partitions) if pieces[p]]):
            for messages in run_with(data, group, kernel):
                for message in messages:
                    variables.encrypted_label.remote(message, role="host", suffix=(sent,))
                    sent += 1
        ctx.logger.info("sent %d encrypted labels in %d pieces to %d host(s)", sum(sizes), sent,
                        len(ctx.parties("host")))
        return private_key, variables.encrypted_bin_sum.get(idx=-1)

    def _host_columns(self, key, message, party) -> tuple[dict, dict | None]:
        """Decrypt one host's per-bin sums into IVParam messages keyed by anonymous column name.

        When the host reports ``bin_method`` optimal, its numeric columns' buckets are merged with
        the host's ``optimal_params`` (FATE's asymmetric binning: the guest follows the host's
        method); the second value is then {column: kept bucket positions} for that host, else None.
        """
        sums = message.get("encrypted_bin_sum") if isinstance(message, dict) else None
        if not isinstance(sums, dict):
            raise ValueError(f"encrypted_bin_sum from host {party} should be a dict holding 'encrypted_bin_sum'")
        settings, category = None, set()
        if message.get("bin_method") == "optimal":
            settings = self._host_settings(message.get("optimal_params"), party)
            category = set(message.get("category_names") or [])
        results, bucket_idx = {}, {}
        for name, column in sums.items():
            if not isinstance(column, dict) or not {"event", "non_event"} <= set(column):
                raise ValueError(f"encrypted_bin_sum from host {party}: column {name!r} lacks event/non_event sums")
            events = key.decrypt_array(EncryptedArray.from_bytes(key.public_key, column["event"]))
            non_events = key.decrypt_array(EncryptedArray.from_bytes(key.public_key, column["non_event"]))
            if len(events) != len(non_events):
                raise ValueError(f"encrypted_bin_sum from host {party}: column {name!r} has "
                                 f"{len(events)} event and {len(non_events)} non-event sums")
            events, non_events = np.rint(events), np.rint(non_events)
            if settings is not None and name not in category:
                bucket_idx[name] = optimal_positions(events, non_events, settings)
                events, non_events = merged_counts(events, non_events, bucket_idx[name])
            stats = woe_iv(events, non_events, self.params.adjustment_factor)
            results[name] = iv_param([], len(events), stats)
        return results, (bucket_idx if settings is not None else None)

    def _host_settings(self, params, party) -> OptimalSettings:
        """The host's reported optimal_params as settings (its bin_num is its init_bin_nums, as in FATE)."""
        names = ("metric_method", "bin_num", "mixture", "min_bin_pct", "max_bin_pct")
        if not isinstance(params, dict) or not set(names) <= set(params):
            raise ValueError(f"encrypted_bin_sum from host {party}: optimal_params should hold {', '.join(names)}")
        metric, bin_num, mixture, low, high = (params[n] for n in names)
        if metric not in OPTIMAL_METRICS or not isinstance(bin_num, int) or bin_num < 1 \
                or not isinstance(mixture, bool) or not all(isinstance(v, (int, float)) for v in (low, high)):
            raise ValueError(f"encrypted_bin_sum from host {party}: bad optimal_params {params!r}")
        return self.optimal_settings(metric, bin_num, mixture, float(low), float(high))


def _label_totals(events: list, non_events: list, data) -> tuple[float, float]:
    """(E, N): the counts of label 1 and of the other label (every row is in some bin of a column)."""
    if events:
        return float(np.sum(events[0])), float(np.sum(non_events[0]))
    positives, rows = data.aggregate(_block_label_totals, _add_pairs)
    return float(positives), float(rows - positives)


def _block_label_totals(block) -> tuple[int, int]:
    return int(event_labels(block.labels).sum()), len(block)


def check_labels(labels, values: np.ndarray) -> None:
    """Refuse data without labels (``labels`` None) or with more than two label ``values``."""
    if labels is None:
        raise ValueError("HeteroFeatureBinning on the guest needs labelled data (DataIO with_label true)")
    if len(values) > 2:
        raise ValueError(f"HeteroFeatureBinning supports binary labels only, got {len(values)} label values")


def event_labels(labels) -> np.ndarray:
    """FATE's binary labels: 1 for label 1, 0 for the other value.

    Raises:
        ValueError: no labels, or more than two label values.
    """
    check_labels(labels, None if labels is None else np.unique(labels[~np.isnan(labels)]))
    return (labels == 1).astype(np.int64)


# ---- kernels (one partition each) ----------------------------------------------------------

def _label_values(block) -> np.ndarray:
    return np.unique(block.labels[~np.isnan(block.labels)])


def _unite_values(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.union1d(left, right)


def _block_event_counts(positions: list[int], split_points: list, counts: list[int], block) -> tuple:
    """(events, rows) per bin of every binned column, flat in column order."""
    bins = block_bins(positions, split_points, block)
    events, non_events = event_counts(bins, event_labels(block.labels), counts)
    events = np.concatenate(events) if events else np.zeros(0, np.int64)
    non_events = np.concatenate(non_events) if non_events else np.zeros(0, np.int64)
    return events, events + non_events


def _add_pairs(left: tuple, right: tuple) -> tuple:
    return left[0] + right[0], left[1] + right[1]


def _encrypted_label_pieces(public_key, message_rows: int, block, _unused) -> list[dict]:
    """One partition's encrypted_label messages: {"ids", "event": [[y]], "non_event": [[1-y]]} per piece."""
    public_key = worker_public_key(public_key)
    ids = block.ids.cast(pa.string())
    labels = event_labels(block.labels)
    messages = []
    for start in range(0, len(labels), message_rows):
        rows = slice(start, start + message_rows)
        messages.append({"ids": ids[rows].to_pylist(), "event": public_key.encrypt_array(labels[rows]).to_bytes(),
                         "non_event": public_key.encrypt_array(1 - labels[rows]).to_bytes()})
    return messages
