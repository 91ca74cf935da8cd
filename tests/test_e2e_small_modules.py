"""FATE 1.4's example confs of HeteroPearson, Union and LocalBaseline, and a FederatedSample conf in FATE's
format, submitted unchanged through the original client to one real server, with their results checked."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.flow_server import ROOT, FlowServer

FEDERATEDML = ROOT / "examples" / "federatedml-1.x-examples"
DATA = ROOT / "examples" / "data"
PARTY = 10000

pytestmark = pytest.mark.xdist_group("small_modules")
# the id cache of RSA intersection lives in a Redis database of its own here: the server's setting
# reaches the tasks (test_rsa_intersection_cache_uses_the_server_s_redis)
ID_CACHE_DB = 7
ID_CACHE_REDIS = f"redis://127.0.0.1:6379/{ID_CACHE_DB}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = FlowServer(tmp_path_factory.mktemp("small_modules") / "server",
                        conf={"federation": {"timeout": 300}, "id_cache": {"redis": ID_CACHE_REDIS}}).start()
    for name in ("breast_hetero_guest", "breast_hetero_host", "vehicle_scale_hetero_guest", "vehicle_scale_hetero_host"):
        answer = server.post("/v1/data/upload", {
            "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 4, "work_mode": 0,
            "namespace": "experiment", "table_name": name, "use_local_data": 0})
        assert server.wait_job(answer["jobId"], timeout=120)["f_status"] == "success"
    yield server
    server.stop()


def submit(server: FlowServer, conf, dsl) -> tuple[str, dict]:
    """Submit with the original client as a user would; (job id, final job row)."""
    answer = server.client("-f", "submit_job", "-c", str(conf), "-d", str(dsl))
    assert answer["retcode"] == 0, answer
    return answer["jobId"], server.wait_job(answer["jobId"], timeout=300)


def component_query(server, what: str, job_id: str, component: str, role: str = "guest") -> dict:
    return server.post(f"/v1/tracking/component/{what}", {"job_id": job_id, "component_name": component,
                                                          "role": role, "party_id": PARTY})


def breast_columns() -> tuple[np.ndarray, np.ndarray]:
    guest = np.loadtxt(DATA / "breast_hetero_guest.csv", delimiter=",", skiprows=1)
    host = np.loadtxt(DATA / "breast_hetero_host.csv", delimiter=",", skiprows=1)
    host = host[np.argsort(host[:, 0])][np.searchsorted(np.sort(host[:, 0]), guest[:, 0])]
    return guest[:, 2:], host[:, 1:]


def test_hetero_pearson_example(server):
    folder = FEDERATEDML / "hetero_pearson"
    job_id, job = submit(server, folder / "test_conf.json", folder / "test_dsl.json")
    assert job["f_status"] == "success", job["f_status_reason"]
    guest, host = breast_columns()
    reference = np.corrcoef(np.hstack([guest, host]), rowvar=False)[:10, 10:]
    for role in ("guest", "host"):
        model = component_query(server, "output/model", job_id, "pearson_0", role)["data"]
        assert model["shapes"] == [10, 20]
        np.testing.assert_allclose(np.reshape(model["corr"], (10, 20)), reference, atol=2e-4)
    metrics = component_query(server, "metric/all", job_id, "pearson_0")
    assert metrics["retcode"] == 0


def test_union_example(server):
    folder = FEDERATEDML / "union"
    job_id, job = submit(server, folder / "test_union_job_conf.json", folder / "test_union_job_dsl.json")
    assert job["f_status"] == "success", job["f_status_reason"]
    for role in ("guest", "host"):
        metrics = component_query(server, "metric/all", job_id, "union_0", role)["data"]
        counts = dict(metrics["train"]["union"]["data"])
        assert counts == {"intersection_0": 569, "intersection_1": 569, "Total": 569}  # FATE: first row of an id wins
        data = component_query(server, "output/data", job_id, "union_0", role)
        assert data["meta"]["total"] == 569


def test_federated_sample_conf(server):
    folder = FEDERATEDML / "federated_sample"
    job_id, job = submit(server, folder / "test_federated_sample_job_conf.json",
                         folder / "test_federated_sample_job_dsl.json")
    assert job["f_status"] == "success", job["f_status_reason"]
    labels = np.loadtxt(DATA / "breast_hetero_guest.csv", delimiter=",", skiprows=1)[:, 1]
    expected = {0: max(1, int(0.15 * np.sum(labels == 0))), 1: int(np.sum(labels == 1))}
    metrics = component_query(server, "metric/all", job_id, "federated_sample_0")["data"]
    assert dict(metrics["sample_count"]["stratified"]["data"]) == {str(k): v for k, v in expected.items()} or \
        dict(metrics["sample_count"]["stratified"]["data"]) == expected
    for role in ("guest", "host"):
        data = component_query(server, "output/data", job_id, "federated_sample_0", role)
        assert data["meta"]["total"] == sum(expected.values())


def test_local_baseline_example(server):
    folder = FEDERATEDML / "local_baseline"
    job_id, job = submit(server, folder / "test_local_baseline_job_conf.json",
                         folder / "test_local_baseline_job_dsl.json")
    assert job["f_status"] == "success", job["f_status_reason"]
    model = component_query(server, "output/model", job_id, "local_baseline_0")["data"]
    assert model["need_one_vs_rest"] is True
    assert model["one_vs_rest_result"]["one_vs_rest_classes"] == ["0", "1", "2", "3"]
    summary = component_query(server, "metric/all", job_id, "evaluation_1")["data"]
    accuracy = dict(summary["train"]["local_baseline_0"]["data"])["accuracy"]
    assert 0.5 < accuracy <= 1.0, summary  # 5 lbfgs iterations of one-vs-rest on vehicle
    # the example's federated branch: HeteroLR one-vs-rest, 30 iterations (0.59 seen; chance is about 0.25)
    summary = component_query(server, "metric/all", job_id, "evaluation_0")["data"]
    assert dict(summary["train"]["hetero_lr_0"]["data"])["accuracy"] > 0.5, summary


def test_rsa_intersection_cache_uses_the_server_s_redis(server, tmp_path):
    """FATE's RSA intersection example with ``use_cache``: the tasks keep the id library in the Redis
    the server's ``id_cache.redis`` names, and a second job reads it back."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(ID_CACHE_REDIS)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"no Redis at {ID_CACHE_REDIS}: {exc}")
    id_type = f"e2e-{tmp_path.name}"
    folder = FEDERATEDML / "intersect"
    conf = json.loads((folder / "test_intersect_job_rsa_conf.json").read_text())
    conf["algorithm_parameters"]["intersect_0"]["intersect_cache_param"] = {"use_cache": True, "id_type": id_type}
    (tmp_path / "conf.json").write_text(json.dumps(conf))
    try:
        for _ in range(2):
            job_id, job = submit(server, tmp_path / "conf.json", folder / "test_intersect_job_dsl.json")
            assert job["f_status"] == "success", job["f_status_reason"]
            assert client.get(f"fate_flow:id_cache:host:{PARTY}:id_library_cache#{PARTY}#{PARTY}#{id_type}"
                              "#sha256#Za:version"), "the host's version is in the configured Redis database"
        log = server.work_dir / "logs" / job_id / "host" / str(PARTY) / "intersect_0" / "INFO.log"
        assert "reusing version" in log.read_text(), "the second job read the cache back"
    finally:
        keys = list(client.scan_iter(match=f"*{id_type}*"))
        if keys:
            client.delete(*keys)
