"""The messages of Intersection's two protocols (FATE's transfer classes, same names)."""
from fate_flow.federation.transfer import TransferVariables, Variable


class RsaIntersectTransferVariable(TransferVariables):
    """RSA blind-signature intersection.

    rsa_pubkey: the host's {"e", "n"}; intersect_host_ids_process: the host's doubly hashed
    signed ids; intersect_guest_ids: the guest's blinded hashes; intersect_guest_ids_process:
    their signatures, in the order received; intersect_ids: the guest's hashed signatures of
    the common ids, in this host's key.
    """

    rsa_pubkey = Variable("rsa_pubkey", src=("host",), dst=("guest",))
    intersect_host_ids_process = Variable("intersect_host_ids_process", src=("host",), dst=("guest",))
    intersect_guest_ids = Variable("intersect_guest_ids", src=("guest",), dst=("host",))
    intersect_guest_ids_process = Variable("intersect_guest_ids_process", src=("host",), dst=("guest",))
    intersect_ids = Variable("intersect_ids", src=("guest",), dst=("host",))
    # intersect_cache_param.use_cache: the guest's {table_name, namespace} of its copy (None: no copy),
    # and the host's answer {version_match, version, namespace}
    cache_version_info = Variable("cache_version_info", src=("guest",), dst=("host",))
    cache_version_match_info = Variable("cache_version_match_info", src=("host",), dst=("guest",))


class RawIntersectTransferVariable(TransferVariables):
    """Raw intersection: ids (or their encodings) in clear.

    send_ids_*: the sender's ids to the joiner; intersect_ids_*: the joiner's common ids back;
    sync_intersect_ids_multi_hosts: with join_role host and several hosts, the common ids of
    all hosts, from the guest to every host.
    """

    send_ids_host = Variable("send_ids_host", src=("host",), dst=("guest",))
    send_ids_guest = Variable("send_ids_guest", src=("guest",), dst=("host",))
    intersect_ids_host = Variable("intersect_ids_host", src=("host",), dst=("guest",))
    intersect_ids_guest = Variable("intersect_ids_guest", src=("guest",), dst=("host",))
    sync_intersect_ids_multi_hosts = Variable("sync_intersect_ids_multi_hosts", src=("guest",), dst=("host",))
