"""HeteroPearson over the memory federation (512-bit Paillier keys: the test is about the statistic):
the cross matrix equals numpy.corrcoef on the joined breast data within FATE's fixed-point error,
the local matrices exactly, and the model has FATE's layout."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from fate_flow.components import get_spec
from fate_flow.components.hetero_pearson import spdz
from fate_flow.components.hetero_pearson.pearson import HeteroPearson
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from tests.component_harness import RecordingFederation, close_contexts, read_breast_hetero, run_in_threads, store
from tests.test_data_modules import GUEST, HOST, PARTITIONS, ROLES, make_ctx

KEY_BITS = 512
TIMEOUT = 60.0
# FATE's 4 fractional digits, truncated: each z is off by < 1e-4, so a correlation by about that
CROSS_TOLERANCE = 2e-4
HOST_COLUMNS = [0, 3, 7, 12, 19]


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def run_pearson(guest, host, conf: dict, host_conf: dict | None = None) -> dict:
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, party, data in (("guest", GUEST, guest), ("host", HOST, host)):
        federation = RecordingFederation(task_id, role, party, ROLES, {"board": board, "timeout": TIMEOUT})
        params = get_spec("HeteroPearson").default_params().update(conf).update(
            host_conf if role == "host" and host_conf else {})
        params.check()
        component = HeteroPearson(params)
        component.key_length = KEY_BITS
        runs[role] = {"component": component, "ctx": make_ctx(role, federation), "federation": federation,
                      "inputs": {"data": {"data": store(data, f"{role}_{uuid.uuid4().hex[:6]}", PARTITIONS)}}}
    errors = run_in_threads(runs, TIMEOUT)
    if errors:
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    assert board.pending() == []
    return runs


@pytest.fixture(scope="module")
def pearson():
    guest, host = read_breast_hetero()
    # five host columns (chosen by name and index): the cost grows with m_guest x m_host
    return guest, host, run_pearson(guest, host, {"column_indexes": -1},
                                    {"column_indexes": [0, 7, 19], "column_names": ["x3", "x12"]})


def test_cross_correlation_matches_numpy(pearson):
    guest, host, runs = pearson
    host = host.align_to(guest.ids).select_features(HOST_COLUMNS)
    reference = np.corrcoef(np.hstack([guest.features, host.features]), rowvar=False)
    m_guest = guest.n_features
    for role in ("guest", "host"):
        param = runs[role]["output"].model["HeteroPearsonModelParam"]
        corr = np.array(param["corr"]).reshape(param["shapes"])
        assert param["shapes"] == [10, 5]
        np.testing.assert_allclose(corr, reference[:m_guest, m_guest:], atol=CROSS_TOLERANCE)
    own = {"guest": reference[:m_guest, :m_guest], "host": reference[m_guest:, m_guest:]}
    for role, expected in own.items():
        param = runs[role]["output"].model["HeteroPearsonModelParam"]
        np.testing.assert_allclose(np.array(param["local_corr"]).reshape(expected.shape), expected, atol=1e-12)


def test_model_layout_and_what_crosses(pearson):
    guest, host, runs = pearson
    guest_param = runs["guest"]["output"].model["HeteroPearsonModelParam"]
    assert runs["guest"]["output"].data is None
    assert runs["guest"]["output"].model["HeteroPearsonModelMeta"] == {"shapes": [10, 5]}
    assert guest_param["party"] == f"(guest,{GUEST})"
    assert guest_param["parties"] == [f"(guest,{GUEST})", f"(host,{HOST})"]
    assert guest_param["names"] == guest.header and guest_param["shape"] == 10
    assert guest_param["all_names"] == [{"names": guest.header}, {"names": [f"host_{HOST}_{i}" for i in range(5)]}]
    assert guest_param["anonymous_map"][0] == {"anonymous": f"guest_{GUEST}_0", "name": "x0"}
    host_param = runs["host"]["output"].model["HeteroPearsonModelParam"]
    assert host_param["names"] == [f"x{i}" for i in HOST_COLUMNS]
    assert host_param["all_names"][0] == {"names": [f"guest_{GUEST}_{i}" for i in range(10)]}
    # nothing the guest sends is its data: shares are uniform field elements, not the encoded z values
    sent = [obj for name, tag, *_, obj in runs["guest"]["federation"].sent if name.endswith(".share")]
    z = spdz.encode((guest.features - guest.features.mean(0)) / guest.features.std(0))
    assert sent and all(not np.isin(share, z).mean() > 0.01 for share in sent)
    names = {name.split(".")[-1] for name, *_ in runs["guest"]["federation"].sent}
    assert names == {"ids_digests", "share", "multiply_triplets_encrypted", "multiply_triplets_cross", "rescontruct"}


def test_local_only_and_column_choice():
    guest, host = read_breast_hetero()
    params = get_spec("HeteroPearson").default_params().update({"column_names": ["x3", "x1"], "cross_parties": False})
    params.check()
    ctx = make_ctx("guest")
    model = HeteroPearson(params).run(ctx, {"data": {"data": store(guest, "local_only", PARTITIONS)}}).model
    param = model["HeteroPearsonModelParam"]
    assert param["names"] == ["x1", "x3"] and "corr" not in param and model["HeteroPearsonModelMeta"]["shapes"] == [2]
    expected = np.corrcoef(guest.features[:, [1, 3]], rowvar=False)
    np.testing.assert_allclose(np.array(param["local_corr"]).reshape(2, 2), expected, atol=1e-12)


def test_param_checks():
    spec = get_spec("HeteroPearson")
    with pytest.raises(ValueError, match="needs columns"):
        spec.default_params().check()
    with pytest.raises(ValueError, match="need_run"):
        spec.default_params().update({"need_run": False, "column_indexes": -1}).check()


def test_fixed_point_share_arithmetic():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    ex, ey = spdz.encode(x), spdz.encode(y)
    np.testing.assert_allclose(spdz.decode(ex), np.trunc(x * 1e4) / 1e4)
    product = spdz.matmul_t(ex, ey)
    share1 = spdz.field_random(product.shape)
    share0 = spdz.sub(product, share1)
    total = spdz.add(spdz.truncate(share0, 0), spdz.truncate(share1, 1))
    np.testing.assert_allclose(spdz.decode(total), np.trunc(x * 1e4).T @ np.trunc(y * 1e4) / 1e8, atol=2e-4)


def test_packed_cross_term_is_a_t_b_with_the_mask_taken_off():
    """Several of a's columns ride in one ciphertext; every slot decrypts to its own sum plus its mask."""
    from fate_flow.secureprotol import generate_keypair

    public_key, private_key = generate_keypair(KEY_BITS)
    rows, m1, m2 = 37, 5, 3
    a, b = spdz.field_random((rows, m1)), spdz.field_random((rows, m2))
    width, slots = spdz.slot_layout(rows, public_key.n.bit_length())
    assert slots >= 2, "a 512-bit key holds at least two slots"
    ciphertexts = spdz.encrypt_matrix(public_key, a, width, slots)
    groups = -(-m1 // slots)
    assert len(ciphertexts) == rows * groups
    cross, rho = spdz.cross_term(public_key, ciphertexts, m1, b, width, slots)
    assert len(cross) == groups * m2
    plain = spdz.decrypt_cross(private_key, cross, m1, m2, width, slots)
    np.testing.assert_array_equal(spdz.sub(plain, rho), spdz.matmul_t(a, b))
    assert not np.array_equal(plain, spdz.matmul_t(a, b)), "the key holder sees the masked sums only"
    with pytest.raises(ValueError, match="does not fit"):
        spdz.cross_term(public_key, ciphertexts, m1, b, width - 2, slots)  # a slot too narrow could carry
    with pytest.raises(ValueError, match="does not fit"):
        spdz.cross_term(public_key, ciphertexts, m1, b, width * 2, slots)  # slots past the key's plaintexts
