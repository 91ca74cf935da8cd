"""The leases of ``driver/lease.py`` on both databases: taken once, renewed by their holder, taken over
only after they lapse (or from this server's own dead predecessor), handed over at once when given up."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import database_for



@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def database_url(request, tmp_path_factory):
    """One database per backend for the module (creating tables on MySQL takes seconds)."""
    with database_for(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture
def db(database_url):
    """The lease table alone, empty."""
    from fate_flow.db import DB, init_db
    from fate_flow.db.models import ServerLease
    from fate_flow.settings import DatabaseSettings

    init_db(DatabaseSettings(url=database_url), create_tables=False)
    with DB.connection_context():
        DB.create_tables([ServerLease], safe=True)
        ServerLease.delete().execute()
        yield DB
    if hasattr(DB.obj, "close_all"):
        DB.obj.close_all()


def _dead_holder() -> str:
    """The holder name of a process of this machine that has ended."""
    import socket

    import psutil

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    created = int(psutil.Process(proc.pid).create_time() * 1000)
    proc.wait()
    return f"{socket.gethostname()}/{proc.pid}/{created}"


def test_one_holder_at_a_time_until_it_lapses(db):
    from fate_flow.driver.lease import try_take

    assert try_take("scheduler", "a", "10.0.0.1:9380", 300)
    assert not try_take("scheduler", "b", "10.0.0.2:9380", 300), "held and not expired"
    assert try_take("scheduler", "a", "10.0.0.1:9380", 300), "the holder renews"
    time.sleep(0.4)
    assert try_take("scheduler", "b", "10.0.0.2:9380", 300), "lapsed: another takes it"
    assert not try_take("scheduler", "a", "10.0.0.1:9380", 300), "the old holder does not get it back"


def test_give_up_hands_over_at_once(db):
    from fate_flow.driver.lease import give_up, try_take

    assert try_take("scheduler", "a", "10.0.0.1:9380", 60_000)
    give_up("scheduler", "b")  # not b's: nothing happens
    assert not try_take("scheduler", "b", "10.0.0.2:9380", 60_000)
    give_up("scheduler", "a")
    assert try_take("scheduler", "b", "10.0.0.2:9380", 60_000)


def test_a_dead_predecessor_at_the_same_address_is_not_waited_for(db):
    from fate_flow.driver.lease import try_take

    dead = _dead_holder()
    assert try_take("server:10.0.0.1:9380", dead, "10.0.0.1:9380", 60_000)
    assert not try_take("server:10.0.0.1:9380", "someone-else", "10.0.0.2:9380", 60_000), \
        "a dead holder at another address is waited out (a pid means nothing on another machine)"
    assert try_take("server:10.0.0.1:9380", "restarted", "10.0.0.1:9380", 60_000)


def test_expired_servers_names_only_lapsed_heartbeats_of_this_database(db):
    from fate_flow.driver.lease import expired_servers, server_lease_name, try_take

    assert try_take(server_lease_name("10.0.0.1:9380"), "a", "10.0.0.1:9380", 100)
    assert try_take(server_lease_name("10.0.0.2:9380"), "b", "10.0.0.2:9380", 60_000)
    time.sleep(0.2)
    lapsed = expired_servers({"10.0.0.1:9380", "10.0.0.2:9380", "10.9.9.9:9380"})
    assert set(lapsed) == {"10.0.0.1:9380"} and lapsed["10.0.0.1:9380"] >= 0


def test_keeper_leads_then_resigns(db):
    from fate_flow.driver.lease import LeaseKeeper, try_take

    keeper = LeaseKeeper("10.0.0.1:9380", duration=5, interval=1)
    keeper.renew_once()
    assert keeper.holds_address and keeper.is_leader
    other = LeaseKeeper("10.0.0.2:9380", duration=5, interval=1)
    other.holder = "another process"  # one keeper per process: the holder names the process
    other.renew_once()
    assert other.holds_address and not other.is_leader
    keeper.resign()
    assert not keeper.is_leader
    other.renew_once()
    assert other.is_leader
    assert not try_take("scheduler", keeper.holder, "10.0.0.1:9380", 5000)
    from fate_flow.driver.lease import scheduler_lease_name

    assert scheduler_lease_name([10000, "9999"]) == "scheduler:9999,10000"
    with pytest.raises(ValueError, match="lease_renew_interval"):
        LeaseKeeper("x:1", duration=2, interval=3)


def test_the_lease_is_on_with_mysql_only_unless_told(tmp_path):
    """SQLite keeps one server per database and no lease (the scheduler leads alone, as before)."""
    from fate_flow.root import build_scheduler, build_services
    from fate_flow.driver.lease import SoleLease
    from fate_flow.driver.work_dir_lock import WorkDirLock
    from fate_flow.settings import apply_overrides, load_settings

    base = load_settings(work_dir=tmp_path)
    sqlite = apply_overrides(base, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    mysql = apply_overrides(base, database_url="mysql://root@127.0.0.1:3306/x")
    assert not sqlite.uses_lease and mysql.uses_lease
    assert apply_overrides(sqlite, scheduler={"high_availability": True}).uses_lease
    assert not apply_overrides(mysql, scheduler={"high_availability": "false"}).uses_lease
    lock = WorkDirLock(sqlite.run_dir)
    scheduler = build_scheduler(build_services(sqlite), lock)
    try:
        assert isinstance(scheduler.lease, SoleLease) and scheduler.lease.is_leader
    finally:
        scheduler.waker.close()
        lock.release()
