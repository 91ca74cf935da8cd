"""HeteroFeatureBinning on a host: its split points, and encrypted per-bin label sums for the guest.

The host never sees a label: it receives [[y]] and [[1-y]] with the guest's ids, keeps the
ids it also has, and for every binned column sums the ciphertexts of each bin. The sums are
one ``EncryptedArray.dot`` with a 0/1 bin-membership matrix (row i has a 1 in the column of
each bin it falls in), done in blocks of columns to bound memory. The guest gets only those
sums (obfuscated when serialised) under the names ``host.<index>``.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.hetero_binning.base import HeteroFeatureBinningBase, anonymous_name
from fate_flow.components.hetero_binning.transfer import HeteroFeatureBinningTransferVariable
from fate_flow.components.hetero_binning.woe import bin_offsets, split_by_column
from fate_flow.secureprotol import EncryptedArray, PaillierPublicKey

# Entries of one block of the membership matrix (int8): 16 MB whatever the data size.
MEMBERSHIP_BLOCK_ENTRIES = 1 << 24


class HeteroFeatureBinningHost(HeteroFeatureBinningBase):
    """Host side: fits split points; without ``local_only`` answers the guest's encrypted labels."""

    role = "host"

    def fit(self, ctx, data) -> None:
        """Bin the own columns; unless local_only, send the guest the encrypted sums per bin."""
        bins = self.fit_split_points(data)
        self.bin_results_ = self.own_results_from_split_points()
        if self.params.local_only:
            return
        variables = HeteroFeatureBinningTransferVariable(ctx.federation)
        public_key = PaillierPublicKey.from_bytes(variables.paillier_pubkey.get(idx=0))
        rows, event, non_event = self._received_labels(public_key, variables.encrypted_label.get(idx=0), data)
        counts = [len(points) for points in self.split_points_.values()]
        shared_bins = bins[rows]
        event_sums = bin_sums(event, shared_bins, counts)
        non_event_sums = bin_sums(non_event, shared_bins, counts)
        names = [anonymous_name("host", self.header_.index(name)) for name in self.split_points_]
        message = {"encrypted_bin_sum": {name: {"event": e.to_bytes(), "non_event": ne.to_bytes()}
                                         for name, e, ne in zip(names, event_sums, non_event_sums)},
                   "category_names": [anonymous_name("host", self.header_.index(name))
                                      for name in self.category_cols_],
                   "bin_method": self.params.method}
        variables.encrypted_bin_sum.remote(message, role="guest", idx=0)
        ctx.logger.info("sent encrypted bin sums of %d columns (%d shared rows) to the guest", len(names), len(rows))

    @staticmethod
    def _received_labels(public_key, message, data) -> tuple[np.ndarray, EncryptedArray, EncryptedArray]:
        """(host rows, [[y]], [[1-y]]) for the guest's ids the host also has, in the guest's order.

        Raises:
            ValueError: a malformed message, or no id in common.
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
        positions = pc.index_in(pa.array(ids, type=pa.string()), value_set=data.ids.cast(pa.string()))
        positions = positions.to_numpy(zero_copy_only=False)
        shared = ~np.isnan(positions) if positions.dtype.kind == "f" else np.ones(len(ids), dtype=bool)
        if not shared.any():
            raise ValueError("no id of the guest's labelled rows is in the host's data")
        rows = positions[shared].astype(np.int64)
        if shared.all():
            return rows, event, non_event
        return rows, event[shared], non_event[shared]


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
