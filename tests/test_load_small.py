"""A small run of bench/bench_load.py: 20 jobs submitted at once on MySQL start in FIFO order, never
more than ``max_concurrent_jobs`` at a time, and all succeed (the 1,000-job run is the benchmark)."""
from __future__ import annotations

import importlib.util

from tests.conftest import database_for
from tests.flow_server import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "bench_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_twenty_jobs_fifo_under_the_limit_on_mysql(tmp_path):
    with database_for("mysql", tmp_path) as url:
        figures = _bench().run_load(tmp_path / "server", jobs=20, limit=3, job="guest_sleep", database_url=url,
                                    timeout=240)
    assert figures["statuses"] == {"success": 20}, figures
    assert figures["fifo"], "jobs start in the order they were queued"
    assert 1 < figures["max_running"] <= 3, figures
