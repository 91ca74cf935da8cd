"""HeteroFeatureBinning on a host: its split points, and encrypted per-bin label sums for the guest.

The host never sees a label: it receives [[y]] and [[1-y]] with the guest's ids, keeps the
ids it also has, and for every binned column sums the ciphertexts of each bin. The sums are
one ``EncryptedArray.dot`` with a 0/1 bin-membership matrix (row i has a 1 in the column of
each bin it falls in), done in blocks of columns to bound memory. The guest gets only those
sums (obfuscated when serialised) under the names ``host.<index>``.

The sums are computed per partition: the guest's ciphertexts are cut by the partition of
their id (the host's table is partitioned by id hash, so partition p holds exactly the
host's rows of those ids), each partition's kernel sums its own rows' ciphertexts, and the
partial sums add up homomorphically here. The decrypted counts are the same as from one
sum over the whole table.
"""
from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.hetero_binning.base import HeteroFeatureBinningBase, anonymous_name, block_bins
from fate_flow.components.hetero_binning.transfer import HeteroFeatureBinningTransferVariable
from fate_flow.components.hetero_binning.woe import bin_offsets, split_by_column
from fate_flow.components.linear_model.partitioned import in_groups, run_with
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey
from fate_flow.storage.partitioner import partition_of

# Entries of one block of the membership matrix (int8): 16 MB whatever the data size.
MEMBERSHIP_BLOCK_ENTRIES = 1 << 24


class HeteroFeatureBinningHost(HeteroFeatureBinningBase):
    """Host side: fits split points; without ``local_only`` answers the guest's encrypted labels."""

    role = "host"

    def fit(self, ctx, data, empty) -> None:
        """Bin the own columns; unless local_only, send the guest the encrypted sums per bin."""
        self.fit_split_points(data)
        self.bin_results_ = self.own_results_from_split_points()
        if self.params.local_only:
            return
        variables = HeteroFeatureBinningTransferVariable(ctx.federation)
        key_bytes = variables.paillier_pubkey.get(idx=0)
        public_key = PaillierPublicKey.from_bytes(key_bytes)
        counts = [len(points) for points in self.split_points_.values()]
        kernel = functools.partial(_partition_bin_sums, key_bytes, self.binned_positions(self.header_),
                                   list(self.split_points_.values()), counts)
        shared, event_sums, non_event_sums = 0, None, None
        for group in in_groups(data, list(range(_piece_count(variables.encrypted_label.get(idx=0))))):
            partitions, labels = [], []
            for k in group:
                ids, event, non_event = _received_labels(public_key, variables.encrypted_label.get(idx=0, suffix=(k,)))
                for partition, part in _labels_by_partition(ids, event, non_event, data.partitions):
                    partitions.append(partition)
                    labels.append(part)
            partials = [part for part in run_with(data, partitions, kernel, labels) if part is not None]
            if partials:  # added as they come: the host holds one group's ciphertexts at a time
                shared += sum(part[0] for part in partials)
                event_sums = _add_encrypted(public_key, [part[1] for part in partials], event_sums)
                non_event_sums = _add_encrypted(public_key, [part[2] for part in partials], non_event_sums)
        if not shared:
            raise ValueError("no id of the guest's labelled rows is in the host's data")
        names = [anonymous_name("host", self.header_.index(name)) for name in self.split_points_]
        message = {"encrypted_bin_sum": {name: {"event": e.to_bytes(), "non_event": ne.to_bytes()}
                                         for name, e, ne in zip(names, event_sums, non_event_sums)},
                   "category_names": [anonymous_name("host", self.header_.index(name))
                                      for name in self.category_cols_],
                   "bin_method": self.params.method}
        if self.params.method == "optimal":
            o = self.params.optimal_binning_param
            # FATE's host sends its overwritten bin_num (= init_bin_nums) as the bin count aimed at
            message["optimal_params"] = {"metric_method": o.metric_method, "bin_num": o.init_bin_nums,
                                         "mixture": o.mixture, "max_bin_pct": o.max_bin_pct,
                                         "min_bin_pct": o.min_bin_pct}
        variables.encrypted_bin_sum.remote(message, role="guest", idx=0)
        ctx.logger.info("sent encrypted bin sums of %d columns (%d shared rows) to the guest", len(names), shared)
        if self.params.method == "optimal":
            self._keep_optimal_buckets(variables.bucket_idx.get(idx=0), dict(zip(names, self.split_points_)))

    def _keep_optimal_buckets(self, bucket_idx, columns: dict[str, str]) -> None:
        """Replace each numeric column's split points by those of the buckets the guest kept.

        Raises:
            ValueError: a malformed bucket_idx (unknown column, positions out of range or not ascending).
        """
        if not isinstance(bucket_idx, dict):
            raise ValueError(f"bucket_idx from the guest should be a dict, got {type(bucket_idx).__name__}")
        for anonymous, positions in bucket_idx.items():
            name = columns.get(anonymous)
            points = self.split_points_.get(name) if name is not None else None
            if points is None or name in self.category_cols_:
                raise ValueError(f"bucket_idx from the guest names column {anonymous!r} this host did not bin optimally")
            kept = np.asarray(positions, dtype=np.int64) if isinstance(positions, list) and positions else None
            if kept is None or kept[0] < 0 or kept[-1] != len(points) - 1 or np.any(np.diff(kept) <= 0):
                raise ValueError(f"bucket_idx from the guest: bad bucket positions for column {anonymous!r}")
            self.split_points_[name] = points[kept]
        self.bin_results_ = self.own_results_from_split_points()


def _received_labels(public_key, message) -> tuple[pa.Array, EncryptedArray, EncryptedArray]:
    """(the guest's ids, [[y]], [[1-y]]) of the encrypted_label message.

    Raises:
        ValueError: a malformed message.
    """
    if not isinstance(message, dict) or not {"ids", "event", "non_event"} <= set(message):
        raise ValueError("encrypted_label from the guest should hold ids, event and non_event")
    ids = message["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("encrypted_label from the guest: ids should be a list of strings")
    event = EncryptedArray.from_bytes(public_key, message["event"])
    non_event = EncryptedArray.from_bytes(public_key, message["non_event"])
    if not len(event) == len(non_event) == len(ids):
        raise ValueError(f"encrypted_label from the guest holds {len(ids)} ids, {len(event)} event and "
                         f"{len(non_event)} non-event values")
    return pa.array(ids, type=pa.string()), event, non_event


def _piece_count(message) -> int:
    """The number of encrypted_label pieces the guest announced."""
    pieces = message.get("pieces") if isinstance(message, dict) else None
    if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 0:
        raise ValueError(f"encrypted_label from the guest should first announce its pieces, got {message!r}")
    return pieces


def _labels_by_partition(ids: pa.Array, event: EncryptedArray, non_event: EncryptedArray,
                         partitions: int) -> list[tuple[int, tuple]]:
    """(partition, its labels) of a piece of the guest's labels cut by the partition of their id: partition
    p of the host's table holds exactly the ids that hash to p, so each partition gets only its own
    ciphertexts. They stay in this party (its workers, its scratch files), hence serialised without
    obfuscation. Partitions without an id of the piece are left out."""
    where = partition_of(ids, partitions)
    blocks = []
    for p in np.unique(where):
        rows = np.flatnonzero(where == p)
        blocks.append((int(p), (ids.take(pa.array(rows, type=pa.int64())), event[rows].to_bytes(be_secure=False),
                                non_event[rows].to_bytes(be_secure=False))))
    return blocks


def _partition_bin_sums(key_bytes: bytes, positions: list[int], split_points: list, counts: list[int],
                        block, labels: tuple):
    """(shared rows, [[event]] sums, [[non-event]] sums per column) of one partition, or None when it
    shares no id with the guest (a kernel: ``block`` the host's Instances, ``labels`` the guest's)."""
    ids, event_bytes, non_event_bytes = labels
    if not len(ids) or not len(block):
        return None
    found = pc.index_in(ids, value_set=block.ids.cast(pa.string())).to_numpy(zero_copy_only=False)
    shared = ~np.isnan(found) if found.dtype.kind == "f" else np.ones(len(ids), dtype=bool)
    if not shared.any():
        return None
    public_key = PaillierPublicKey.from_bytes(key_bytes)
    event = EncryptedArray.from_bytes(public_key, event_bytes)[shared]
    non_event = EncryptedArray.from_bytes(public_key, non_event_bytes)[shared]
    bins = block_bins(positions, split_points, block)[found[shared].astype(np.int64)]
    return (int(shared.sum()), [s.to_bytes(be_secure=False) for s in bin_sums(event, bins, counts)],
            [s.to_bytes(be_secure=False) for s in bin_sums(non_event, bins, counts)])


def _add_encrypted(public_key, partials: list[list[bytes]], totals: list[EncryptedArray] | None
                   ) -> list[EncryptedArray]:
    """Per column, ``totals`` (if any) plus the sum of every partition's encrypted bin sums."""
    columns = [[EncryptedArray.from_bytes(public_key, data) for data in column] for column in zip(*partials)]
    sums = [functools.reduce(lambda a, b: a + b, column) for column in columns]
    return sums if totals is None else [total + part for total, part in zip(totals, sums)]


def bin_sums(encrypted: EncryptedArray, bins: np.ndarray, bin_counts: list[int]) -> list[EncryptedArray]:
    """Encrypted sum of ``encrypted`` over each bin of each column: one EncryptedArray per column.

    Args:
        encrypted: one ciphertext per row.
        bins: (rows x columns) bin of every value.
        bin_counts: the number of bins of each column.
    """
    n_rows, n_cols = bins.shape
    per_block = max(1, MEMBERSHIP_BLOCK_ENTRIES // max(1, n_rows * max(bin_counts, default=1)))
    sums = []
    for start in range(0, n_cols, per_block):
        stop = min(n_cols, start + per_block)
        offsets = bin_offsets(bin_counts[start:stop])
        membership = np.zeros((n_rows, int(offsets[-1])), dtype=np.int8)
        membership[np.arange(n_rows)[:, None], bins[:, start:stop] + offsets[:-1][None, :]] = 1
        sums.extend(split_by_column(encrypted.dot(membership), offsets))
    return sums
