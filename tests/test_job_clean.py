"""job/clean removes what FATE 1.4's removes (metrics, output tables, sessions) plus received upload files,
and its answer says what went."""
from __future__ import annotations

import pyarrow as pa
import pytest

from tests.test_job_lookups import JOB, MISSING, OTHER_JOB, make_job

NS = f"output_data_{JOB}_secure_add_0"


def services(app):
    from fate_flow.apps._services import EXTENSION

    return app.extensions[EXTENSION]


def write_table(app, namespace: str, name: str, job_id: str) -> None:
    from fate_flow.storage import TableMeta

    tables = services(app).tables
    writer = tables.storage.writer(namespace, name)
    writer.write_batch(pa.array(["1", "2"]), pa.array(["a", "b"]))
    tables.commit(writer, TableMeta(namespace=namespace, name=name, count=2), "create", job_id)


def record_output(job_id: str, component: str, role: str, party_id: str, namespace: str, name: str) -> None:
    from fate_flow.db import DataView

    DataView.create(f_job_id=job_id, f_task_id=f"{job_id}_{component}", f_role=role, f_party_id=party_id,
                    f_component_name=component, f_table_namespace=namespace, f_table_name=name)


@pytest.fixture
def ended_job(app):
    """A finished job with metrics, an output table, a table another job has rewritten since,
    a federation session left on disk and a received upload file."""
    from fate_flow.stores.tracking import MetricTracker

    make_job()
    settings = services(app).settings
    for role, party in (("guest", "9999"), ("host", "10000")):
        MetricTracker(JOB, "secure_add_0", f"{JOB}_secure_add_0", role, party).save_metric_data(
            "train", "sum", [["sum", 1.0], ["count", 2]])
    write_table(app, NS, "guest_9999_data", JOB)
    record_output(JOB, "secure_add_0", "guest", "9999", NS, "guest_9999_data")
    write_table(app, "experiment", "shared", OTHER_JOB)  # written by this job once, rewritten by another
    record_output(JOB, "secure_add_1", "guest", "9999", "experiment", "shared")
    (settings.federation_dir / f"{JOB}_secure_add_0").mkdir(parents=True)
    upload_tmp = settings.job_dir(JOB) / "fate_upload_tmp"
    upload_tmp.mkdir(parents=True)
    (upload_tmp / "data.csv").write_text("id,x\n")
    return settings


def test_clean_removes_metrics_outputs_and_sessions_and_says_so(client, app, ended_job):
    from fate_flow.db import DataView, StorageTableMeta, TrackingMetric

    answer = client.post("/v1/job/clean", json={"job_id": JOB}).get_json()
    assert answer["retcode"] == 0 and answer["retmsg"] == "success"
    removed = answer["data"]
    parties = (("guest", "9999"), ("host", "10000"))
    assert sorted((t["task_id"], t["role"], t["party_id"]) for t in removed["tasks"]) == sorted(
        (f"{JOB}_{c}", r, p) for c in ("secure_add_0", "secure_add_1") for r, p in parties)
    assert removed["metrics"] == 4
    assert removed["output_tables"] == [{"namespace": NS, "table_name": "guest_9999_data"}]
    assert removed["kept_tables"] == [{"namespace": "experiment", "table_name": "shared",
                                       "reason": f"rewritten by job {OTHER_JOB}"}]
    assert removed["federation_sessions"] == 1
    assert removed["temp_files"] == [f"jobs/{JOB}/fate_upload_tmp"]

    tables = services(app).tables
    assert not tables.exists(NS, "guest_9999_data")
    assert not StorageTableMeta.select().where(StorageTableMeta.f_namespace == NS).exists()
    assert tables.exists("experiment", "shared")
    assert TrackingMetric.select().where(TrackingMetric.f_job_id == JOB).count() == 0
    assert not (ended_job.federation_dir / f"{JOB}_secure_add_0").exists()
    assert not (ended_job.job_dir(JOB) / "fate_upload_tmp").exists()
    assert DataView.select().where(DataView.f_job_id == JOB).count() == 2, "the record of what the job produced stays"
    query = {"job_id": JOB, "component_name": "secure_add_0", "role": "guest", "party_id": 9999}
    assert client.post("/v1/tracking/component/metric/all", json=query).get_json() == {"retcode": 0,
                                                                                     "retmsg": "no data"}

    again = client.post("/v1/job/clean", json={"job_id": JOB}).get_json()["data"]
    assert (again["metrics"], again["output_tables"], again["federation_sessions"], again["temp_files"]) == (
        0, [], 0, [])


def test_clean_of_one_component_of_one_party(client, app, ended_job):
    from fate_flow.db import TrackingMetric

    answer = client.post("/v1/job/clean", json={"job_id": JOB, "component_name": "secure_add_0", "role": "host",
                                                "party_id": 10000}).get_json()
    assert answer["data"]["tasks"] == [{"task_id": f"{JOB}_secure_add_0", "role": "host", "party_id": "10000"}]
    assert answer["data"]["metrics"] == 2 and answer["data"]["output_tables"] == []
    assert TrackingMetric.select().where(TrackingMetric.f_role == "guest").count() == 2
    assert services(app).tables.exists(NS, "guest_9999_data")


def test_clean_names_what_is_missing_and_refuses_a_running_job(client, app):
    make_job()
    make_job(OTHER_JOB, status="running")
    clean = lambda **body: client.post("/v1/job/clean", json=body).get_json()  # noqa: E731
    assert clean(job_id=MISSING) == {"retcode": 101, "retmsg": f"job {MISSING} not found"}
    assert clean(job_id=JOB, component_name="nope")["retmsg"].startswith(f"job {JOB} has no component nope")
    assert clean(job_id=JOB, role="guest", party_id=1)["retmsg"].startswith(f"job {JOB} has no role guest party 1")
    assert clean(job_id=JOB, role="host", party_id=10001) == {
        "retcode": 100, "retmsg": f"no found task: job {JOB} has no task on this server for role host, "
                                  f"party_id 10001"}
    assert clean(job_id=OTHER_JOB) == {
        "retcode": 100, "retmsg": f"job {OTHER_JOB} is running on role guest party 9999: stop it before cleaning it"}
    assert clean(job_id=[JOB]) == {"retcode": 101, "retmsg": "job_id should be a string, not a list"}
