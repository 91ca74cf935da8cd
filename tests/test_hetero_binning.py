"""HeteroFeatureBinning: split points, WOE/IV, the guest and host over the memory federation with
512-bit keys, what crosses the party boundary, transforms and the model.

The inputs are the breast hetero tables stored as DataIO leaves them (guest: y + x0..x9, host:
x0..x19). Expected values are computed here directly with numpy from the CSV files.
"""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.hetero_binning import split_points as sp
from fate_flow.components.hetero_binning.guest import HeteroFeatureBinningGuest
from fate_flow.components.hetero_binning.host import HeteroFeatureBinningHost, bin_sums
from fate_flow.components.hetero_binning.woe import woe_iv
from fate_flow.computing import Instances
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from fate_flow.secureprotol import generate_keypair
from tests.component_harness import (
    RecordingFederation, close_contexts, quiet_logger, read_back, read_breast_hetero, rows_by_id, run_in_threads,
    store, tracked,
)

GUEST, HOST, HOST2 = 9999, 10000, 10001
KEY_BITS = 512
TIMEOUT = 10.0


# ----------------------------------------------------------------------------- helpers

@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


def make_ctx(role: str, party: int, roles: dict, federation, component: str = "hetero_feature_binning_0"):
    return tracked(ComponentContext(job_id="job", task_id=getattr(federation, "session_id", "task"),
                                    component_name=component, role=role, party_id=party, roles=roles,
                                    federation=federation, tracker=None, logger=quiet_logger(role)))


def binning_params(**conf):
    """Parameters as the DSL parser assembles them: class defaults, FATE's default conf, then ``conf``."""
    params = get_spec("HeteroFeatureBinning").default_params().update(conf)
    params.check()
    return params


def run_parties(module: str, classes: dict, conf: dict, inputs: dict, hosts=(HOST,), roles=None,
                key_bits: int = KEY_BITS) -> dict:
    """Run the guest and hosts of ``module`` in threads over one MemoryBoard.

    ``classes`` maps role -> class; ``inputs`` maps "guest", "host" or ("host", i) to the
    party's inputs. Returns {(role, party): {"output", "component", "federation"}}; re-raises
    the first error and checks that every message sent was received.
    """
    roles = roles or {"guest": [GUEST], "host": list(hosts)}
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    parties = [("guest", GUEST, inputs["guest"])] if "guest" in roles else []
    parties += [("host", party, inputs.get(("host", i), inputs.get("host"))) for i, party in enumerate(roles["host"])]
    for role, party, party_inputs in parties:
        federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": TIMEOUT})
        params = get_spec(module).default_params().update(conf.get(role, conf.get("all", {})))
        component = classes[role](params)
        component.key_length = key_bits
        runs[(role, party)] = {"component": component, "federation": federation, "inputs": party_inputs,
                               "ctx": make_ctx(role, party, roles, federation)}

    errors = run_in_threads(runs, TIMEOUT)
    if errors:  # the cause, rather than the other party's wait for a message never sent
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    assert board.pending() == [], "a message was sent but never received"
    return runs


BINNING_CLASSES = {"guest": HeteroFeatureBinningGuest, "host": HeteroFeatureBinningHost}


def run_binning(guest: Instances, host: Instances, conf: dict | None = None, hosts=(HOST,),
                host_conf: dict | None = None, host_partitions: int = 4) -> dict:
    """Run binning on guest and host(s); ``conf`` for both (algorithm_parameters), ``host_conf`` for hosts."""
    inputs = {"guest": {"data": {"data": store(guest, "g", partitions=4)}},
              "host": {"data": {"data": store(host, "h", partitions=host_partitions)}}}
    confs = {"guest": conf or {}, "host": {**(conf or {}), **(host_conf or {})}}
    return run_parties("HeteroFeatureBinning", BINNING_CLASSES, confs, inputs, hosts=hosts)


def plain_bins(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    """FATE's get_bin_num written as a plain loop over bins: the first i with v <= sp[i], else the last."""
    bins = np.full(len(x), len(points) - 1)
    for i in reversed(range(len(points))):
        bins[x <= points[i]] = i
    return bins


def plain_woe_iv(bins: np.ndarray, y: np.ndarray, n_bins: int, factor: float = 0.5) -> tuple[list, float, list]:
    """WOE per bin, IV and event counts computed directly from FATE's formula."""
    events = np.array([np.sum(y[bins == b] == 1) for b in range(n_bins)], dtype=float)
    non_events = np.array([np.sum(y[bins == b] != 1) for b in range(n_bins)], dtype=float)
    total_e, total_n = events.sum() or 1, non_events.sum() or 1
    woe, iv = [], 0.0
    for e, ne in zip(events, non_events):
        if e == 0 or ne == 0:
            er, nr = (e + factor) / total_e, (ne + factor) / total_n
        else:
            er, nr = e / total_e, ne / total_n
        woe.append(np.log(er / nr))
        iv += (er - nr) * woe[-1]
    return woe, iv, events.astype(int).tolist()


@pytest.fixture(scope="module")
def breast():
    return read_breast_hetero()


@pytest.fixture(scope="module")
def default_run(breast):
    """One federated run with FATE's effective defaults (quantile, 10 bins, bin_num transform)."""
    return run_binning(*breast)


def model_of(runs, role, party=None):
    party = party or (GUEST if role == "guest" else HOST)
    return runs[(role, party)]["output"].model


# ----------------------------------------------------------------------------- parameters

def test_defaults_are_fates_effective_ones():
    params = binning_params().to_dict()
    assert "cols" not in params, "default_runtime_conf's cols is not an attribute and is dropped"
    assert params == {
        "method": "quantile", "compress_thres": 10000, "head_size": 10000, "error": 0.001, "bin_num": 10,
        "bin_indexes": -1, "bin_names": None, "adjustment_factor": 0.5, "category_indexes": None,
        "category_names": None, "local_only": False,
        "transform_param": {"transform_cols": -1, "transform_names": None, "transform_type": "bin_num"},
        "optimal_binning_param": {"metric_method": "iv", "min_bin_pct": 0.05, "max_bin_pct": 1.0,
                                  "init_bin_nums": 1000, "mixture": True, "init_bucket_method": "quantile",
                                  "max_bin": None, "adjustment_factor": None},
        "need_run": True}
    spec = get_spec("HeteroFeatureBinning")
    assert spec.param_name() == "FeatureBinningParam" and spec.roles == {"guest", "host"}
    assert binning_params(method="Bucket").method == "bucket"


@pytest.mark.parametrize("conf, name", [
    ({"method": "kmeans"}, "method"), ({"bin_num": 0}, "bin_num"), ({"error": 2}, "error"),
    ({"compress_thres": -1}, "compress_thres"), ({"adjustment_factor": 1.5}, "adjustment_factor"),
    ({"bin_indexes": "all"}, "bin_indexes"), ({"bin_names": "x0"}, "bin_names"),
    ({"category_indexes": -1}, "category_indexes"), ({"local_only": "no"}, "local_only"),
    ({"transform_param": {"transform_type": "onehot"}}, "transform_param.transform_type"),
    ({"transform_param": {"transform_cols": [-2]}}, "transform_param.transform_cols"),
    ({"optimal_binning_param": {"metric_method": "auc"}}, "optimal_binning_param.metric_method"),
    ({"optimal_binning_param": {"init_bucket_method": "kmeans"}}, "optimal_binning_param.init_bucket_method"),
    ({"optimal_binning_param": {"min_bin_pct": 0.5, "max_bin_pct": 0.4}}, "optimal_binning_param.min_bin_pct"),
    ({"optimal_binning_param": {"mixture": "yes"}}, "optimal_binning_param.mixture"),
])
def test_bad_parameters_are_named(conf, name):
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        binning_params(**conf)


# ----------------------------------------------------------------------------- split points

def test_quantile_split_points_are_exact_ranks_within_the_error_of_numpy_quantile(breast):
    guest, host = breast
    x = np.hstack([guest.features, host.features])
    n, error = x.shape[0], 0.001
    points = sp.quantile_split_points(x, 10)
    for j, column_points in enumerate(points):
        column, ordered = x[:, j], np.sort(x[:, j])
        wanted = np.quantile(column, np.arange(1, 11) / 10, method="inverted_cdf")
        assert np.array_equal(column_points, np.unique(wanted)), f"column {j}"
        assert column_points[-1] == column.max()
        for k in range(1, 11):
            rank = -(-k * n // 10)  # ours sits at rank ceil(p n), exactly
            assert np.mean(column <= ordered[rank - 1]) >= k / 10 > np.mean(column < ordered[rank - 1])
            # numpy's interpolated quantile lies within one rank of ours: within error * n + 1 ranks
            slack = int(error * n) + 1
            linear = np.quantile(column, k / 10)
            assert ordered[max(rank - 1 - slack, 0)] <= linear <= ordered[min(rank - 1 + slack, n - 1)]


def test_quantile_ranks_are_integer_exact_and_ties_make_fewer_bins():
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 7.0], [5.0, 7.0]])
    first, second = sp.quantile_split_points(x, 5)
    assert first.tolist() == [1, 2, 3, 4, 5]
    assert second.tolist() == [5, 7], "duplicate split points are dropped"
    with_nan = np.array([[np.nan], [1.0], [2.0], [3.0], [4.0]])
    assert sp.quantile_split_points(with_nan, 2)[0].tolist() == [2.0, 4.0], "NaN is left out of the ranks"
    with pytest.raises(ValueError, match="column x9 has no value"):
        sp.quantile_split_points(np.full((3, 1), np.nan), 2, ["x9"])


def test_bucket_split_points_are_exact_equal_widths(breast):
    x = breast[1].features
    for j, points in enumerate(sp.bucket_split_points(x, 10)):
        low, high = x[:, j].min(), x[:, j].max()
        expected = [low + (high - low) / 10 * k for k in range(1, 10)] + [high]
        assert points.tolist() == expected
    assert sp.bucket_split_points(np.array([[3.0], [3.0]]), 4)[0].tolist() == [3.0]


def test_bin_index_is_the_first_split_point_at_or_above_the_value():
    points = [np.array([1.0, 2.0, 4.0])]
    x = np.array([[0.5], [1.0], [1.5], [2.0], [3.9], [4.0], [9.0], [np.nan]])
    assert sp.bin_indexes(x, points)[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 2, 2]
    assert sp.category_split_points(np.array([[3.0], [1.0], [3.0], [2.0]]))[0].tolist() == [1, 2, 3]


def test_woe_and_iv_follow_fates_formula_with_the_adjustment_factor():
    stats = woe_iv(np.array([0, 3, 5]), np.array([4, 2, 1]), 0.5)
    total_e, total_n = 8, 7
    rates = [((0 + .5) / total_e, (4 + .5) / total_n), (3 / total_e, 2 / total_n), (5 / total_e, 1 / total_n)]
    woe = [np.log(e / n) for e, n in rates]
    assert np.allclose(stats["woe_array"], woe)
    assert np.isclose(stats["iv"], sum((e - n) * w for (e, n), w in zip(rates, woe)))
    assert stats["event_count_array"] == [0, 3, 5] and stats["non_event_count_array"] == [4, 2, 1]
    assert np.allclose(stats["event_rate_array"], [r[0] for r in rates]) and stats["is_woe_monotonic"] is True
    empty = woe_iv(np.zeros(2), np.zeros(2), 0.5)
    assert np.allclose(empty["woe_array"], 0) and empty["iv"] == 0.0, "zero totals count as 1"


def test_encrypted_bin_sums_equal_plain_counts():
    public_key, private_key = generate_keypair(KEY_BITS)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 50)
    bins = np.column_stack([rng.integers(0, 4, 50), rng.integers(0, 2, 50)])
    sums = bin_sums(public_key.encrypt_array(y), bins, [5, 2])  # bin 4 of column 0 stays empty
    for j, (column_sums, n_bins) in enumerate(zip(sums, [5, 2])):
        expected = [int(y[bins[:, j] == b].sum()) for b in range(n_bins)]
        assert private_key.decrypt_array(column_sums).tolist() == expected


# ----------------------------------------------------------------------------- federated runs

def test_guest_iv_equals_a_direct_numpy_computation(breast, default_run):
    guest = breast[0]
    results = model_of(default_run, "guest")["FeatureBinningParam"]["binning_result"]
    assert results["role"] == "guest" and results["party_id"] == str(GUEST)
    assert list(results["binning_result"]) == guest.header
    for j, name in enumerate(guest.header):
        column = results["binning_result"][name]
        points = np.array(column["split_points"])
        woe, iv, events = plain_woe_iv(plain_bins(guest.features[:, j], points), guest.labels, len(points))
        assert column["bin_nums"] == len(points) and column["event_count_array"] == events
        assert np.allclose(column["woe_array"], woe) and np.isclose(column["iv"], iv), name
        assert column["bin_anonymous"] == [f"bin_{i}" for i in range(len(points))]


def test_host_iv_through_encryption_equals_the_plaintext_computation(breast, default_run):
    guest, host = breast
    host_model = model_of(default_run, "host")["FeatureBinningParam"]
    guest_model = model_of(default_run, "guest")["FeatureBinningParam"]
    [host_result] = guest_model["host_results"]
    assert host_result["role"] == "host" and host_result["party_id"] == str(HOST)
    assert list(host_result["binning_result"]) == [f"host.{j}" for j in range(20)]
    own = host_model["binning_result"]["binning_result"]
    for j, name in enumerate(host.header):
        points = np.array(own[name]["split_points"])  # the host's, never sent to the guest
        woe, iv, events = plain_woe_iv(plain_bins(host.features[:, j], points), guest.labels, len(points))
        seen = host_result["binning_result"][f"host.{j}"]
        assert seen["event_count_array"] == events and seen["bin_nums"] == len(points)
        assert np.allclose(seen["woe_array"], woe) and np.isclose(seen["iv"], iv), name
        assert seen["split_points"] == []
    assert host_model["host_results"] == [] and all(r["iv"] == 0.0 for r in own.values())


def test_what_crosses_the_boundary(breast, default_run):
    guest, host = breast
    guest_fed = default_run[("guest", GUEST)]["federation"]
    host_fed = default_run[("host", HOST)]["federation"]
    # the guest receives one message: encrypted per-bin sums under anonymous names
    [(name, _, src, _, message)] = guest_fed.received
    assert name == "HeteroFeatureBinningTransferVariable.encrypted_bin_sum" and src == "host"
    assert set(message) == {"encrypted_bin_sum", "category_names", "bin_method"}
    assert message["category_names"] == [] and message["bin_method"] == "quantile"
    for anon, column in message["encrypted_bin_sum"].items():
        assert anon.startswith("host.") and set(column) == {"event", "non_event"}
        assert all(isinstance(v, bytes) for v in column.values())
    host_values = {float(v) for v in np.unique(host.features)}
    assert not host_values & set(_numbers_in(message)), "no host value crosses in plain"
    # the host receives a public key and ciphertexts with the ids; no label in plain
    names = [r[0].split(".")[1] for r in host_fed.received]
    pieces = host_fed.received[1][4]["pieces"]
    assert names == ["paillier_pubkey"] + ["encrypted_label"] * (1 + pieces) and pieces >= 1
    ids = []
    for _, _, _, _, labels in host_fed.received[2:]:
        assert set(labels) == {"ids", "event", "non_event"}
        assert all(isinstance(labels[k], bytes) for k in ("event", "non_event"))
        ids.extend(labels["ids"])
    assert sorted(ids) == sorted(guest.ids.to_pylist())
    assert [s[0].split(".")[1] for s in guest_fed.sent] == ["paillier_pubkey"] + ["encrypted_label"] * (1 + pieces)


def test_encrypted_labels_go_in_pieces_of_bounded_rows(breast, monkeypatch):
    """Each piece holds at most MESSAGE_ROWS rows of one partition; the host (partitioned otherwise) sums the
    same counts."""
    monkeypatch.setattr("fate_flow.components.hetero_binning.guest.MESSAGE_ROWS", 100)
    guest, host = breast
    run = run_binning(guest, host, {"bin_num": 10}, host_partitions=3)
    received = run[("host", HOST)]["federation"].received
    sizes = [len(message["ids"]) for _, _, _, _, message in received[2:]]
    assert max(sizes) <= 100 and sum(sizes) == len(guest) and len(sizes) >= 6
    reference = run_binning(guest, host, {"bin_num": 10})
    assert model_of(run, "guest")["FeatureBinningParam"]["host_results"] == \
        model_of(reference, "guest")["FeatureBinningParam"]["host_results"]


def _numbers_in(obj):
    if isinstance(obj, dict):
        for value in obj.values():
            yield from _numbers_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _numbers_in(value)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield float(obj)


def test_bin_num_transform_and_the_model_meta(breast, default_run):
    for role, data in zip(("guest", "host"), breast):
        output = default_run[(role, GUEST if role == "guest" else HOST)]["output"]
        out = read_back(output.data)
        results = output.model["FeatureBinningParam"]["binning_result"]["binning_result"]
        assert out.header == data.header and out.ids.to_pylist() == data.ids.to_pylist()
        for j, name in enumerate(data.header):
            assert np.array_equal(out.features[:, j], plain_bins(data.features[:, j],
                                                                 np.array(results[name]["split_points"])))
        if role == "guest":
            assert np.array_equal(out.labels, data.labels)
        meta = output.model["FeatureBinningMeta"]
        assert meta["cols"] == data.header and meta["method"] == "quantile" and meta["need_run"] is True
        assert meta["transform_param"] == {"transform_cols": list(range(len(data.header))), "transform_type": "bin_num"}
        assert output.model["FeatureBinningParam"]["header"] == data.header


def test_woe_transform_on_the_guest_leaves_the_host_unchanged(breast):
    guest, host = breast
    runs = run_binning(guest, host, {"transform_param": {"transform_type": "woe"}, "bin_num": 5})
    out = read_back(runs[("guest", GUEST)]["output"].data)
    results = model_of(runs, "guest")["FeatureBinningParam"]["binning_result"]["binning_result"]
    for j, name in enumerate(guest.header):
        bins = plain_bins(guest.features[:, j], np.array(results[name]["split_points"]))
        assert np.allclose(out.features[:, j], np.array(results[name]["woe_array"])[bins]), name
        assert results[name]["bin_nums"] <= 5
    host_out = read_back(runs[("host", HOST)]["output"].data)
    assert np.array_equal(host_out.features, host.features), "the host has no WOE"


def test_bucket_method_bin_subsets_and_transform_columns(breast):
    guest, host = breast
    conf = {"method": "bucket", "bin_indexes": [0, 2], "bin_names": ["x5"],
            "transform_param": {"transform_cols": [2], "transform_type": "bin_num"}}
    runs = run_binning(guest, host, conf)
    guest_model = model_of(runs, "guest")
    assert guest_model["FeatureBinningMeta"]["cols"] == ["x0", "x2", "x5"]
    [host_result] = guest_model["FeatureBinningParam"]["host_results"]
    assert list(host_result["binning_result"]) == ["host.0", "host.2", "host.5"]
    for j in (0, 2, 5):
        points = sp.bucket_split_points(host.features[:, [j]], 10)[0]
        _, iv, _ = plain_woe_iv(plain_bins(host.features[:, j], points), guest.labels, len(points))
        assert np.isclose(host_result["binning_result"][f"host.{j}"]["iv"], iv)
    out = read_back(runs[("guest", GUEST)]["output"].data)
    changed = [j for j in range(10) if not np.array_equal(out.features[:, j], guest.features[:, j])]
    assert changed == [2], "only transform column 2 is replaced"


def test_category_columns_get_one_bin_per_value(breast):
    guest, host = breast
    guest = guest.with_features(np.column_stack([guest.features[:, :2], np.round(guest.features[:, 2] / 50)]),
                                ["x0", "x1", "cat"])
    host = host.select_features([0, 1])
    runs = run_binning(guest, host, {"category_names": ["cat"], "transform_param": {"transform_type": None}},
                       host_conf={"category_names": None})
    column = model_of(runs, "guest")["FeatureBinningParam"]["binning_result"]["binning_result"]["cat"]
    values = np.unique(guest.features[:, 2])
    assert column["split_points"] == values.tolist()
    assert column["event_count_array"] == [int(np.sum(guest.labels[guest.features[:, 2] == v])) for v in values]
    out = read_back(runs[("guest", GUEST)]["output"].data)
    assert np.array_equal(out.features, guest.features), "transform_type None leaves the data"


def test_local_only_exchanges_nothing(breast):
    runs = run_binning(*breast, {"local_only": True})
    assert all(not run["federation"].sent and not run["federation"].received for run in runs.values())
    guest_model = model_of(runs, "guest")
    assert guest_model["FeatureBinningParam"]["host_results"] == []
    assert guest_model["FeatureBinningMeta"]["local_only"] is True
    assert guest_model["FeatureBinningParam"]["binning_result"]["binning_result"]["x0"]["iv"] > 0


def test_two_hosts_get_one_result_each(breast):
    guest, host = breast
    runs = run_binning(guest, host.select_features([0, 1, 2]), {"bin_num": 4}, hosts=(HOST, HOST2))
    results = model_of(runs, "guest")["FeatureBinningParam"]["host_results"]
    assert [r["party_id"] for r in results] == [str(HOST), str(HOST2)]
    assert results[0]["binning_result"] == results[1]["binning_result"]


def test_host_uses_only_the_ids_it_shares_with_the_guest(breast):
    guest, host = breast
    kept = np.arange(len(host)) % 3 != 0
    runs = run_binning(guest, host.take(kept), {"bin_num": 4, "bin_indexes": [0]})
    seen = model_of(runs, "guest")["FeatureBinningParam"]["host_results"][0]["binning_result"]["host.0"]
    points = np.array(model_of(runs, "host")["FeatureBinningParam"]["binning_result"]["binning_result"]["x0"]
                      ["split_points"])
    bins = plain_bins(host.features[kept, 0], points)
    _, iv, events = plain_woe_iv(bins, guest.labels[kept], len(points))
    assert seen["event_count_array"] == events and np.isclose(seen["iv"], iv)


# ----------------------------------------------------------------------------- other modes and errors

def run_alone(cls, table, conf=None, model=None, role="guest", party=GUEST):
    inputs = {"data": {"data": table}, "model": {"hetero_feature_binning_0": model} if model else {}}
    ctx = make_ctx(role, party, {"guest": [GUEST], "host": [HOST]}, None)
    return cls(binning_params(**(conf or {}))).run(ctx, inputs)


def test_a_model_input_transforms_without_the_other_party(breast, default_run):
    for role, cls, data in (("guest", HeteroFeatureBinningGuest, breast[0]), ("host", HeteroFeatureBinningHost,
                                                                                breast[1])):
        model = model_of(default_run, role)
        output = run_alone(cls, store(data, role), {"bin_num": 3}, model=model, role=role,
                           party=GUEST if role == "guest" else HOST)
        fitted = default_run[(role, GUEST if role == "guest" else HOST)]["output"].data
        assert rows_by_id(output.data) == rows_by_id(fitted)
        assert output.model == model


def test_need_run_false_passes_the_table_through(breast):
    table = store(breast[0])
    output = run_alone(HeteroFeatureBinningGuest, table, {"need_run": False})
    assert output.data is table and output.model["FeatureBinningMeta"]["need_run"] is False


def test_unsupported_inputs_are_refused(breast):
    guest = breast[0]
    with pytest.raises(ValueError, match="binary labels only"):
        run_alone(HeteroFeatureBinningGuest, store(_three_classes(guest)), {"local_only": True})
    with pytest.raises(ValueError, match="max_bin_pct 0.25 needs at least 4 bins, more than bin_num 3"):
        run_alone(HeteroFeatureBinningGuest, store(guest), {"method": "optimal", "bin_num": 3,
                                                            "optimal_binning_param": {"max_bin_pct": 0.25}})
    with pytest.raises(ValueError, match="bin_names: column 'nope' is not in the header"):
        run_alone(HeteroFeatureBinningGuest, store(guest), {"bin_names": ["nope"], "local_only": True})
    with pytest.raises(ValueError, match="needs labelled data"):
        run_alone(HeteroFeatureBinningGuest, store(breast[1]), {"local_only": True})
    with pytest.raises(ValueError, match="transform_param: column 'x3' is not a binned column"):
        run_alone(HeteroFeatureBinningGuest, store(guest), {"bin_indexes": [0], "local_only": True,
                                                            "transform_param": {"transform_cols": [3]}})


def _three_classes(instances: Instances) -> Instances:
    from dataclasses import replace

    return replace(instances, labels=np.arange(len(instances)) % 3.0)
