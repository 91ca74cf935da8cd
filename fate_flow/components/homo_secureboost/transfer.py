"""The messages of HomoSecureboost (names after FATE's homo boosting blocks and HomoDecisionTreeTransferVariable).

Clients are the guest(s) then the hosts, in runtime-conf order. Everything a client sends the arbiter
about its rows is masked (``homo_lr.secure_aggregation``): the arbiter learns only sums over clients.
  dh_ciphertext / dh_ciphertext_bc  the pairwise key agreement, relayed by the arbiter
  local_labels        client -> arbiter: its sorted distinct labels (classification)
  label_mapping       arbiter -> clients: the sorted union of the labels
  split_points        client -> arbiter: masked fixed-point quantiles, bin_num per feature
  averaged_points     arbiter -> clients: their unweighted mean over clients
  valid_features      arbiter -> clients, suffix (round, tree): the features the tree may split on
  histograms          client -> arbiter, suffix (round, tree, depth): masked (g, h, count) per (node, feature, bin)
                      of the root and of every left child (the arbiter derives right children)
  best_split_points   arbiter -> clients, suffix (round, tree, depth): [[node, fid, bid, missing_dir, left, right]]
  tree                arbiter -> clients, suffix (round, tree): the nodes with their leaf weights
  loss                client -> arbiter, suffix (round,): masked [loss * n, n]
  stop_flag           arbiter -> clients, suffix (round,): bool
"""
from fate_flow.federation.transfer import TransferVariables, Variable

CLIENTS = ("guest", "host")
_A = ("arbiter",)


class HomoSecureBoostTransferVariable(TransferVariables):
    """HomoSecureboost's variables; see the module docstring."""

    dh_ciphertext = Variable("dh_ciphertext", src=CLIENTS, dst=_A)
    dh_ciphertext_bc = Variable("dh_ciphertext_bc", src=_A, dst=CLIENTS)
    local_labels = Variable("local_labels", src=CLIENTS, dst=_A)
    label_mapping = Variable("label_mapping", src=_A, dst=CLIENTS)
    split_points = Variable("split_points", src=CLIENTS, dst=_A)
    averaged_points = Variable("averaged_points", src=_A, dst=CLIENTS)
    valid_features = Variable("valid_features", src=_A, dst=CLIENTS)
    histograms = Variable("histograms", src=CLIENTS, dst=_A)
    best_split_points = Variable("best_split_points", src=_A, dst=CLIENTS)
    tree = Variable("tree", src=_A, dst=CLIENTS)
    loss = Variable("loss", src=CLIENTS, dst=_A)
    stop_flag = Variable("stop_flag", src=_A, dst=CLIENTS)
