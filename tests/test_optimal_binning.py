"""HeteroFeatureBinning's optimal method, against a plain central implementation written here.

The reference below knows nothing of the component: numpy quantiles for the initial buckets,
plain loops for the counts, and for the merges a scan of every adjacent pair at each step
(no heap) with the metric formulas of the spec; ks is a plain first-in first-out splitter. The
federated run (guest + 2 hosts, 512-bit Paillier) must give the same split points for the
guest's columns and, through the encrypted label sums and ``bucket_idx``, for the hosts'.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from fate_flow.components.hetero_binning.guest import HeteroFeatureBinningGuest
from fate_flow.components.hetero_binning.host import HeteroFeatureBinningHost
from tests.component_harness import close_contexts, read_back, read_breast_hetero, store
from tests.test_hetero_binning import GUEST, HOST, HOST2, make_ctx, plain_bins, plain_woe_iv, run_parties

CLASSES = {"guest": HeteroFeatureBinningGuest, "host": HeteroFeatureBinningHost}
INIT_BINS, BIN_NUM, MIN_PCT, MAX_PCT = 20, 6, 0.05, 0.8


@pytest.fixture(autouse=True, scope="module")
def _close_computing_sessions():
    yield
    close_contexts()


# ----------------------------------------------------------------------------- the central reference

def ref_quantile_points(x: np.ndarray, bins: int) -> np.ndarray:
    ordered = np.sort(x)
    return np.unique([ordered[math.ceil(k * len(x) / bins) - 1] for k in range(1, bins + 1)])


def ref_bucket_points(x: np.ndarray, bins: int) -> np.ndarray:
    low, high = x.min(), x.max()
    return np.unique([min(low + k * (high - low) / bins, high) for k in range(1, bins)] + [high])


def ref_score(metric, left, right, E, N, a=0.5):
    def iv(e, n):
        er, nr = ((e + a) / max(E, 1), (n + a) / max(N, 1)) if e == 0 or n == 0 else (e / E, n / N)
        return (er - nr) * np.log(er / nr)

    def gini(e, n):
        return 0.0 if e + n == 0 else 1 - (e / (e + n)) ** 2 - (n / (e + n)) ** 2

    merged = (left[0] + right[0], left[1] + right[1])
    if sum(merged) == 0:
        return -np.inf
    if metric == "iv":
        return iv(*left) + iv(*right) - iv(*merged)
    if metric == "gini":
        return gini(*merged) - gini(*left) - gini(*right)
    if merged[0] == 0 or merged[1] == 0:
        return -np.inf
    table = np.array([left, right], dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    cells = expected > 0
    return float(np.sum((table[cells] - expected[cells]) ** 2 / expected[cells]))


def ref_merge(metric, events, non_events, max_bin, rows, E, N, mixture=True):
    """Bottom-up merging by scanning all adjacent pairs each step; returns the kept bucket positions."""
    buckets = [[float(e), float(n), i] for i, (e, n) in enumerate(zip(events, non_events))]
    max_items, min_items = math.floor(MAX_PCT * rows), math.ceil(MIN_PCT * rows)
    lacks = lambda b: b[0] == 0 or b[1] == 0  # noqa: E731
    small = lambda b: b[0] + b[1] < min_items  # noqa: E731
    phases = ([(lacks, all), (lacks, any)] if mixture else []) + [(small, all), (small, any), (None, None)]
    for rule, combine in phases:
        goal = len(buckets) - max_bin if rule is None else sum(rule(b) for b in buckets)
        while goal > 0:
            pairs = [i for i in range(len(buckets) - 1)
                     if sum(buckets[i][:2]) + sum(buckets[i + 1][:2]) <= max_items
                     and (rule is None or combine((rule(buckets[i]), rule(buckets[i + 1]))))]
            if not pairs:
                break
            i = min(pairs, key=lambda i: (ref_score(metric, buckets[i][:2], buckets[i + 1][:2], E, N), i))
            left, right = buckets[i], buckets[i + 1]
            new = [left[0] + right[0], left[1] + right[1], right[2]]
            goal -= 1 if rule is None else rule(left) + rule(right) - rule(new)
            buckets[i:i + 2] = [new]
    return [b[2] for b in buckets]


def ref_ks(events, non_events, max_bin, rows, mixture=True):
    events, non_events = np.asarray(events, float), np.asarray(non_events, float)
    min_items = math.ceil(MIN_PCT * rows)
    cuts, queue = [], [(0, len(events) - 1)]
    while queue and len(cuts) < max_bin - 1:
        lo, hi = queue.pop(0)
        if hi <= lo:
            continue
        e, n = events[lo:hi + 1], non_events[lo:hi + 1]
        gaps = [abs(e[:k + 1].sum() / max(e.sum(), 1) - n[:k + 1].sum() / max(n.sum(), 1)) for k in range(len(e) - 1)]
        middle = (len(e) - 1) // 2
        k = int(np.argmax(gaps)) if max(gaps) > 0 else middle
        if min((e + n)[:k + 1].sum(), (e + n)[k + 1:].sum()) < min_items:
            k = middle
        sides = [(e[:k + 1].sum(), n[:k + 1].sum()), (e[k + 1:].sum(), n[k + 1:].sum())]
        if any(a + b < min_items or (mixture and (a == 0 or b == 0)) for a, b in sides):
            continue
        cuts.append(lo + k)
        halves = [(lo, lo + k), (lo + k + 1, hi)]
        if sum(sides[1]) > sum(sides[0]):
            halves.reverse()
        queue += halves
    return sorted(cuts or [(len(events) - 1) // 2]) + [len(events) - 1]


def ref_optimal_points(metric, x, y, max_bin, init="quantile", mixture=True):
    """(split points, event counts per final bin) of one column, all computed centrally."""
    points = ref_quantile_points(x, INIT_BINS) if init == "quantile" else ref_bucket_points(x, INIT_BINS)
    bins = plain_bins(x, points)
    events = [int(np.sum(y[bins == b] == 1)) for b in range(len(points))]
    non_events = [int(np.sum(bins == b)) - events[b] for b in range(len(points))]
    E, N = int(np.sum(y == 1)), int(np.sum(y != 1))
    if metric == "ks":
        kept = ref_ks(events, non_events, max_bin, len(x), mixture)
    else:
        kept = ref_merge(metric, events, non_events, max_bin, len(x), E, N, mixture)
    final = points[kept]
    return final, plain_woe_iv(plain_bins(x, final), y, len(final))[2]


# ----------------------------------------------------------------------------- the federated runs

def sparse(features: np.ndarray) -> np.ndarray:
    """Most values zero: everything under the column's 60th percentile."""
    return np.where(features < np.percentile(features, 60, axis=0), 0.0, features)


def through_svmlight(instances, tmp_path):
    """``instances`` with most values zero, written as svmlight rows ("label fid:value", zeros left out; a host's
    label is a dummy 0 as in FATE's sparse host files) and read back by DataIO's sparse reader."""
    from fate_flow.components.dataio import DataIO
    from tests.test_dataio import params, upload

    features = sparse(instances.features)
    labels = instances.labels if instances.labels is not None else np.zeros(len(instances))
    lines = [f"{i},{int(y)} " + " ".join(f"{j}:{float(v)!r}" for j, v in enumerate(row) if v != 0)
             for i, y, row in zip(instances.ids.to_pylist(), labels, features)]
    path = tmp_path / "svm.txt"
    path.write_text("\n".join(lines) + "\n")
    ctx = make_ctx("guest", GUEST, {"guest": [GUEST]}, None, "dataio_0")
    conf = {"input_format": "sparse", "delimitor": " ", "with_label": instances.labels is not None}
    out = read_back(DataIO(params(**conf)).run(ctx, {"data": {"data": upload(path, head=False)}}).data)
    out = out.align_to(instances.ids)  # the input's row order, so that guest and host rows line up
    assert np.array_equal(out.features[:, :features.shape[1]], features)
    return out


@pytest.fixture(scope="module")
def breast():
    guest, host = read_breast_hetero()
    return guest.select_features([0, 1, 2]), host.select_features([0, 1, 2]), host.select_features([3, 4])


def optimal_conf(metric, init="quantile", mixture=True, **extra):
    return {"method": "optimal", "bin_num": BIN_NUM, **extra,
            "optimal_binning_param": {"metric_method": metric, "min_bin_pct": MIN_PCT, "max_bin_pct": MAX_PCT,
                                      "init_bucket_method": init, "init_bin_nums": INIT_BINS, "mixture": mixture}}


def run_optimal(guest, hosts, conf):
    inputs = {"guest": {"data": {"data": store(guest, "g", partitions=3)}}}
    for i, host in enumerate(hosts):
        inputs[("host", i)] = {"data": {"data": store(host, f"h{i}", partitions=2)}}
    return run_parties("HeteroFeatureBinning", CLASSES, {"guest": conf, "host": conf}, inputs,
                       hosts=(HOST, HOST2)[:len(hosts)])


def results_of(runs, role, party):
    return runs[(role, party)]["output"].model["FeatureBinningParam"]["binning_result"]["binning_result"]


@pytest.mark.parametrize("layout", ["dense", "sparse"])
@pytest.mark.parametrize("metric", ["iv", "gini", "chi_square", "ks"])
def test_split_points_equal_the_central_reference_for_guest_and_two_hosts(breast, metric, layout, tmp_path_factory):
    guest, host1, host2 = breast
    if layout == "sparse":  # svmlight input read by DataIO (the header is the feature ids "0", "1", ...)
        guest, host1, host2 = (through_svmlight(t, tmp_path_factory.mktemp("svm")) for t in (guest, host1, host2))
    runs = run_optimal(guest, [host1, host2], optimal_conf(metric))
    y = guest.labels
    for j, name in enumerate(guest.header):
        points, events = ref_optimal_points(metric, guest.features[:, j], y, BIN_NUM)
        column = results_of(runs, "guest", GUEST)[name]
        assert np.allclose(column["split_points"], points), name
        assert column["event_count_array"] == events and len(points) <= BIN_NUM
    host_results = runs[("guest", GUEST)]["output"].model["FeatureBinningParam"]["host_results"]
    for i, (party, host) in enumerate(((HOST, host1), (HOST2, host2))):
        for j, name in enumerate(host.header):
            # the host's columns aim at init_bin_nums bins (FATE sends its overwritten bin_num)
            points, events = ref_optimal_points(metric, host.features[:, j], y, INIT_BINS)
            assert np.allclose(results_of(runs, "host", party)[name]["split_points"], points), (party, name)
            assert host_results[i]["binning_result"][f"host.{j}"]["event_count_array"] == events
        received = {name.rpartition(".")[2] for name, *_ in runs[("host", party)]["federation"].received}
        assert received == {"paillier_pubkey", "encrypted_label", "bucket_idx"}, "the host gets no plain label"
        idx = next(obj for name, *_, obj in runs[("host", party)]["federation"].received
                   if name.endswith("bucket_idx"))
        assert all(isinstance(p, int) for positions in idx.values() for p in positions)


def test_bucket_init_without_mixture_and_a_category_column(breast):
    guest, host1, _ = breast
    cat = np.round(guest.features[:, 2] / 200)
    guest = guest.with_features(np.column_stack([guest.features[:, :2], cat]), ["x0", "x1", "cat"])
    conf = optimal_conf("iv", init="bucket", mixture=False, category_names=["cat"],
                        transform_param={"transform_type": "woe"})
    host_conf = {**optimal_conf("gini"), "category_indexes": [1]}
    inputs = {"guest": {"data": {"data": store(guest, "g", partitions=2)}},
              ("host", 0): {"data": {"data": store(host1, "h0", partitions=2)}}}
    runs = run_parties("HeteroFeatureBinning", CLASSES, {"guest": conf, "host": host_conf}, inputs, hosts=(HOST,))
    guest_results = results_of(runs, "guest", GUEST)
    for j in (0, 1):
        points, _ = ref_optimal_points("iv", guest.features[:, j], guest.labels, BIN_NUM, init="bucket",
                                       mixture=False)
        assert np.allclose(guest_results[f"x{j}"]["split_points"], points)
    assert guest_results["cat"]["split_points"] == np.unique(cat).tolist(), "a category keeps a bin per value"
    host_results = results_of(runs, "host", HOST)
    assert host_results["x1"]["split_points"] == np.unique(host1.features[:, 1]).tolist()
    points, _ = ref_optimal_points("gini", host1.features[:, 0], guest.labels, INIT_BINS)
    assert np.allclose(host_results["x0"]["split_points"], points), "the guest follows the host's metric"
    # woe transform of the optimal bins on the guest
    out = read_back(runs[("guest", GUEST)]["output"].data)
    bins = plain_bins(guest.features[:, 0], np.array(guest_results["x0"]["split_points"]))
    assert np.allclose(out.features[:, 0], np.array(guest_results["x0"]["woe_array"])[bins])
    meta = runs[("guest", GUEST)]["output"].model["FeatureBinningMeta"]
    assert meta["method"] == "optimal" and meta["transform_param"]["transform_type"] == "woe"


def test_max_bin_pct_must_fit_in_bin_num(breast):
    conf = optimal_conf("iv")
    conf["optimal_binning_param"]["max_bin_pct"] = 0.1
    with pytest.raises(ValueError, match="max_bin_pct 0.1 needs at least 10 bins, more than bin_num 6"):
        run_optimal(breast[0], [breast[1]], conf)
