"""Task metrics travel in batches: the batch route stores entries in order and refuses bad ones naming
them, and a task's tracker sends in the background, coalescing, and surfaces failures at flush."""
from __future__ import annotations

import argparse
import socket
import threading

import pytest

from fate_flow.driver.task_executor import HttpTracker
from fate_flow.stores import tracking

JOB = "202001010000000000002"
PREFIX = f"/v1/tracking/{JOB}/lr_0/{JOB}_lr_0/guest/9999"


def test_a_batch_is_stored_in_order_metas_replacing_earlier_ones(client):
    entries = [{"metric_namespace": "train", "metric_name": "loss", "metrics": [[0, 0.7], [1, 0.5]]},
               {"metric_namespace": "train", "metric_name": "loss", "metric_meta": {"metric_type": "LOSS"}},
               {"metric_namespace": "train", "metric_name": "loss", "metrics": [[2, 0.4]]},
               {"metric_namespace": "train", "metric_name": "loss", "metric_meta": {"metric_type": "LOSS", "Best": 0.4}}]
    answer = client.post(PREFIX + "/metric/batch_save", json={"entries": entries}).get_json()
    assert answer["retcode"] == 0, answer
    stored = tracking.read_metrics(JOB, "lr_0", "guest", "9999")["train"]["loss"]
    assert stored == {"data": [[0, 0.7], [1, 0.5], [2, 0.4]], "meta": {"metric_type": "LOSS", "Best": 0.4}}


@pytest.mark.parametrize("entries, field", [
    ("x", "entries"),
    ([{"metric_namespace": "train", "metric_name": "loss", "metrics": [[0, 1]]}, {"metric_name": "auc"}], "entries[1]"),
    ([{"metric_namespace": "train", "metric_name": "loss"}], "entries[0]"),
    ([{"metric_namespace": "t", "metric_name": "l", "metrics": [[0, 1]], "metric_meta": {}}], "entries[0]"),
    ([{"metric_namespace": "t", "metric_name": "l", "metrics": [[0, 1, 2]]}], "entries[0].metrics"),
    ([{"metric_namespace": "t", "metric_name": "l", "metric_meta": [1]}], "entries[0].metric_meta"),
])
def test_a_bad_entry_is_refused_naming_it_and_nothing_of_the_batch_is_stored(client, entries, field):
    answer = client.post(PREFIX + "/metric/batch_save", json={"entries": entries}).get_json()
    assert answer["retcode"] != 0 and field in answer["retmsg"], answer
    assert tracking.read_metrics(JOB, "lr_0", "guest", "9999") == {}


def tracker_for(address: str) -> HttpTracker:
    args = argparse.Namespace(job_server=address, job_id=JOB, component_name="lr_0", task_id=f"{JOB}_lr_0",
                              role="guest", party_id="9999")
    return HttpTracker(args, reporter=None)


def test_the_tracker_sends_in_the_background_and_coalesces_what_queued_meanwhile(flow_server):
    server = flow_server()
    tracker = tracker_for(server.address)
    for i in range(30):
        tracker.log_metric_data("train", "loss", [(i, 1.0 / (i + 1))])
    tracker.set_metric_meta("train", "loss", {"metric_type": "LOSS", "unit_name": "iters"})
    tracker.flush()
    assert stored_rows(server, "loss") == 32  # 30 points and the meta's two keys
    assert 1 <= tracker.requests_sent < 31, "what queued while a request was out went in the next one"


def stored_rows(server, name: str) -> int:
    import sqlite3

    with sqlite3.connect(server.database_url[len("sqlite:///"):]) as db:
        return db.execute("select count(*) from t_tracking_metric where f_metric_name = ?", (name,)).fetchone()[0]


def test_a_failure_to_store_is_raised_by_flush_and_by_the_next_metric(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def refuse():  # an HTTP server answering every request with a retcode that is not 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                body = b'{"retcode": 100, "retmsg": "database is locked"}'
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)

    threading.Thread(target=refuse, daemon=True).start()
    try:
        tracker = tracker_for("127.0.0.1:%d" % listener.getsockname()[1])
        tracker.log_metric_data("train", "loss", [(0, 0.5)])
        with pytest.raises(RuntimeError, match="database is locked"):
            tracker.flush()
        with pytest.raises(RuntimeError, match="database is locked"):
            tracker.log_metric_data("train", "loss", [(1, 0.4)])
    finally:
        listener.close()


def test_a_value_json_cannot_carry_fails_in_the_components_own_call():
    tracker = tracker_for("127.0.0.1:1")
    with pytest.raises(TypeError):
        tracker.log_metric_data("train", "loss", [(0, object())])
    tracker.flush()  # nothing was queued
