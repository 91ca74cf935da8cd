"""The messages of HeteroFeatureBinning (FATE's ``HeteroFeatureBinningTransferVariable`` names).

What each carries (only bytes, strings and lists cross parties):
  paillier_pubkey    guest -> hosts: ``PaillierPublicKey.to_bytes()`` of a key made for this task
  encrypted_label    guest -> hosts: first {"pieces": k}, then pieces 0..k-1 (suffix (i,)) of at most
                     MESSAGE_ROWS rows of one partition each: {"ids": [id, ...], "event": [[y]],
                     "non_event": [[1-y]]} (EncryptedArray bytes, one value per id, in "ids" order)
  encrypted_bin_sum  host -> guest: {"encrypted_bin_sum": {anon_col: {"event": bytes,
                     "non_event": bytes}}, "category_names": [anon_col, ...], "bin_method": method}
                     with anon_col = "host.<index in the host header>" and one encrypted sum per bin;
                     with method optimal also "optimal_params": {metric_method, bin_num, mixture,
                     max_bin_pct, min_bin_pct}
  bucket_idx         guest -> a host binning optimally: {anon_col: [kept bucket positions]} (the
                     positions of the host's own quantile buckets whose right bounds stay)

The guest never receives a host feature value, name or split point: only the encrypted
per-bin sums of its own labels, under anonymous column names.
"""
from fate_flow.federation.transfer import TransferVariables, Variable


class HeteroFeatureBinningTransferVariable(TransferVariables):
    """HeteroFeatureBinning's variables; see the module docstring for what each one carries."""

    paillier_pubkey = Variable("paillier_pubkey", src=("guest",), dst=("host",))
    encrypted_label = Variable("encrypted_label", src=("guest",), dst=("host",))
    encrypted_bin_sum = Variable("encrypted_bin_sum", src=("host",), dst=("guest",))
    bucket_idx = Variable("bucket_idx", src=("guest",), dst=("host",))
