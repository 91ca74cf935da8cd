"""The messages of HeteroSecureBoost (FATE's HeteroSecureBoostingTree / HeteroDecisionTree variable names).

What each carries (bytes, ints, floats, strings, lists, dicts and numeric arrays only):
  guest_ids_digest / host_ids_digest  one digest per partition of its sorted ids (both ways)
  tree_dim               guest -> hosts: {"tree_dim", "round_trees"}
  paillier_pubkey        guest -> hosts: ``PaillierPublicKey.to_bytes()`` (the guest holds the key)
  encrypted_grad_and_hess guest -> hosts, suffix (round, tree, partition): packed [[g, h]] of the
                         partition's rows (EncryptedArray bytes); suffix (round, tree) holds
                         {"field_bits", "value_bits"}
  tree_node_queue        guest -> hosts, suffix (round, tree, depth): {"nodes": [ids], "counts": [rows]}
  node_positions         guest -> hosts, suffix (round, tree, depth, partition): node id per row
  encrypted_splitinfo_host host -> guest, suffix (round, tree, depth): per node its compressed
                         [[left sums]] and [[missing sums]] (bytes) with their row counts
  federated_best_splitinfo_host guest -> host: [[node, candidate index, left id, right id, missing_dir]]
                         of the nodes that host won, and [[node, left, right]] of every split
  final_splitinfo_host   host -> guest: [[node, fid, bid]] of the nodes it won (bid a bin id)
  dispatch_node_host_result host -> guest, suffix (..., partition): positions after its splits
  tree                   guest -> hosts, suffix (round, tree): the tree's nodes, weights left out
  stop_flag              guest -> hosts, suffix (round,): {"stop", "best_round"}
  predict_finish_tag     guest -> hosts, suffix (step,): True when routing is done
  predict_data           guest -> host, suffix (step, partition): {"rows", "trees", "nodes"} at its nodes
  predict_data_by_host   host -> guest, suffix (step, partition): whether each goes left
"""
from fate_flow.federation.transfer import TransferVariables, Variable

_G, _H = ("guest",), ("host",)


class HeteroSecureBoostTransferVariable(TransferVariables):
    """HeteroSecureBoost's variables; see the module docstring."""

    guest_ids_digest = Variable("guest_ids_digest", src=_G, dst=_H)
    host_ids_digest = Variable("host_ids_digest", src=_H, dst=_G)
    tree_dim = Variable("tree_dim", src=_G, dst=_H)
    paillier_pubkey = Variable("paillier_pubkey", src=_G, dst=_H)
    encrypted_grad_and_hess = Variable("encrypted_grad_and_hess", src=_G, dst=_H)
    tree_node_queue = Variable("tree_node_queue", src=_G, dst=_H)
    node_positions = Variable("node_positions", src=_G, dst=_H)
    encrypted_splitinfo_host = Variable("encrypted_splitinfo_host", src=_H, dst=_G)
    federated_best_splitinfo_host = Variable("federated_best_splitinfo_host", src=_G, dst=_H)
    final_splitinfo_host = Variable("final_splitinfo_host", src=_H, dst=_G)
    dispatch_node_host_result = Variable("dispatch_node_host_result", src=_H, dst=_G)
    tree = Variable("tree", src=_G, dst=_H)
    stop_flag = Variable("stop_flag", src=_G, dst=_H)
    predict_finish_tag = Variable("predict_finish_tag", src=_G, dst=_H)
    predict_data = Variable("predict_data", src=_G, dst=_H)
    predict_data_by_host = Variable("predict_data_by_host", src=_H, dst=_G)
