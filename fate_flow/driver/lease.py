"""Leases in the shared database: which server schedules the party's jobs, and which servers are alive.

Several servers of one party may share one MySQL database (high availability). Exactly one
of them, the holder of the ``scheduler`` lease, admits queued jobs, advances their DAGs and
runs the party-wide chores; every server serves HTTP and runs the task processes it was asked
to run. Each server also holds a heartbeat lease ``server:<address>``: while it renews it,
its tasks are alive (they die with it, see ``watchdog.py``); when it lapses, the leader fails
the tasks that server ran, naming it.

A lease is a row with an expiry on the database's clock. It is taken or renewed by a
compare-and-set UPDATE on the holder and expiry last read, so two servers can never both
believe they took it, whatever machines they run on and whatever their clocks say.

Why a row and not MySQL's named locks (``GET_LOCK``): a named lock belongs to one
connection. Losing that connection (a MariaDB restart, a ``KILL``, the pool recycling it, a
network blip) silently drops the lock while the old holder goes on scheduling, and a peer
whose TCP connection hangs half-open keeps the lock until the server's ``wait_timeout``
(8 hours by default). A lease row survives a database restart, states its own expiry, lets
the holder know when it must stop acting (its renewal is older than the duration), and works
through the pooled, reconnecting connections every other query uses. The price is the
failover time: a dead leader is replaced within ``lease_duration`` seconds, not at once.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable

import psutil
from peewee import MySQLDatabase

from fate_flow.db import DB, now_ms
from fate_flow.db.models import ServerLease
from fate_flow.driver.launcher import process_matches

logger = logging.getLogger("fate_flow.lease")

SCHEDULER_LEASE = "scheduler"


def scheduler_lease_name(party_ids) -> str:
    """The scheduler lease of the servers answering for ``party_ids`` (parties sharing a database by
    mistake still get one scheduler each): ``scheduler:9999,10000``."""
    return f"{SCHEDULER_LEASE}:{','.join(str(p) for p in sorted(int(p) for p in party_ids))}"


def server_lease_name(address: str) -> str:
    """The heartbeat lease of the server reachable at ``address``."""
    return f"server:{address}"


def database_now_ms() -> int:
    """Now in ms on the database's clock when it has one (MySQL), else this machine's."""
    if isinstance(DB.obj, MySQLDatabase):
        row = DB.execute_sql("SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)").fetchone()
        return int(row[0])
    return now_ms()


def instance_id() -> str:
    """This process's holder name: ``<hostname>/<pid>/<process create time ms>``."""
    created = int(psutil.Process().create_time() * 1000)
    return f"{socket.gethostname()}/{os.getpid()}/{created}"


def is_dead_local_holder(holder: str) -> bool:
    """True if ``holder`` names a process of this machine that is gone (a predecessor killed with -9)."""
    try:
        host, pid, created = holder.rsplit("/", 2)
        return host == socket.gethostname() and not process_matches(int(pid), int(created))
    except ValueError:
        return False


def try_take(name: str, holder: str, address: str, duration_ms: int) -> bool:
    """Take or renew lease ``name`` for ``holder``; True if it is ``holder``'s for ``duration_ms`` more.

    It is taken when free, expired, already ``holder``'s, or held by this server's own
    predecessor (same address, a dead process of this machine: a restart after kill -9 need
    not wait for the expiry). A dead holder at another address is waited out, since two
    machines may share a hostname and a pid means nothing on another machine.
    """
    now = database_now_ms()
    row = ServerLease.get_or_none(ServerLease.f_name == name)
    if row is None:
        ServerLease.insert(f_name=name, f_holder=holder, f_address=address, f_expire_time=now + duration_ms,
                           f_acquire_time=now, f_create_time=now, f_update_time=now).on_conflict_ignore().execute()
        row = ServerLease.get_or_none(ServerLease.f_name == name)
        return row is not None and row.f_holder == holder
    predecessor = row.f_address == address and is_dead_local_holder(row.f_holder)
    if row.f_holder != holder and row.f_expire_time >= now and not predecessor:
        return False
    acquired = row.f_acquire_time if row.f_holder == holder else now
    changed = ServerLease.update(f_holder=holder, f_address=address, f_expire_time=now + duration_ms,
                                 f_acquire_time=acquired, f_update_time=now).where(
        ServerLease.f_name == name, ServerLease.f_holder == row.f_holder,
        ServerLease.f_expire_time == row.f_expire_time).execute()
    return changed == 1


def give_up(name: str, holder: str) -> None:
    """Let lease ``name`` expire now if ``holder`` has it, so a peer takes it without waiting."""
    ServerLease.update(f_expire_time=0, f_update_time=now_ms()).where(
        ServerLease.f_name == name, ServerLease.f_holder == holder).execute()


def expired_servers(addresses: set[str]) -> dict[str, int]:
    """Of ``addresses``, those whose server heartbeat lease exists and lapsed -> ms since it lapsed.

    An address with no heartbeat row is not a server of this database (another party's): left out.
    """
    if not addresses:
        return {}
    now = database_now_ms()
    rows = ServerLease.select().where(ServerLease.f_name.in_([server_lease_name(a) for a in addresses]))
    return {row.f_address: now - row.f_expire_time for row in rows if row.f_expire_time < now}


class SoleLease:
    """No lease: the one server of a work dir's SQLite database always leads (the behaviour before HA)."""

    holder = "sole"
    is_leader = True
    holds_address = True

    def start(self, on_change: Callable[[], None]) -> None:
        """Nothing to keep."""

    def resign(self) -> None:
        """Nothing to give up."""

    def close(self) -> None:
        """Nothing to release."""


class LeaseKeeper:
    """Keeps this server's heartbeat and, when it can, the scheduler lease; renews both from a thread.

    ``is_leader`` turns False as soon as the last successful renewal is older than the lease
    duration, before any peer may take it over (this machine's monotonic clock counts from
    before the database read the renewal's time).
    """

    def __init__(self, address: str, duration: float, interval: float, name: str = SCHEDULER_LEASE) -> None:
        if not 0 < interval < duration:
            raise ValueError(f"scheduler.lease_renew_interval ({interval}) should be above 0 and below "
                             f"scheduler.lease_duration ({duration})")
        self.address = address
        self.name = name
        self.duration = duration
        self.interval = interval
        self.holder = instance_id()
        self._leader_until = 0.0
        self._server_until = 0.0
        self._resigned = False
        self._stop = threading.Event()
        self._on_change: Callable[[], None] = lambda: None
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        """True while this server's scheduler lease is surely still valid."""
        return time.monotonic() < self._leader_until

    @property
    def holds_address(self) -> bool:
        """True while this server's heartbeat is renewed (no other live process claims its address)."""
        return time.monotonic() < self._server_until

    def start(self, on_change: Callable[[], None]) -> None:
        """Renew once now (a lone server leads at once), then from a daemon thread; ``on_change`` on a change."""
        self._on_change = on_change
        self.renew_once()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.renew_once()

    def renew_once(self) -> None:
        """Renew the heartbeat, then the scheduler lease; a database error only costs this renewal."""
        was = (self.is_leader, self.holds_address)
        started = time.monotonic()
        duration_ms = int(self.duration * 1000)
        try:
            with DB.connection_context():
                if try_take(server_lease_name(self.address), self.holder, self.address, duration_ms):
                    self._server_until = started + self.duration
                if self.holds_address and not self._resigned and not self._stop.is_set():
                    if try_take(self.name, self.holder, self.address, duration_ms):
                        self._leader_until = started + self.duration
                    else:
                        self._leader_until = 0.0
        except Exception as exc:  # the database is away: keep what has not expired, try again later
            logger.warning("lease renewal failed (%s): %s", type(exc).__name__, exc)
        now = (self.is_leader, self.holds_address)
        if now != was:
            self._log_change(was, now)
            self._on_change()

    def _log_change(self, was: tuple[bool, bool], now: tuple[bool, bool]) -> None:
        if now[0] != was[0]:
            logger.warning("%s the scheduler lease (%s at %s)", "took" if now[0] else "lost", self.holder,
                           self.address)
        if now[1] != was[1]:
            logger.warning("%s the heartbeat of %s", "holding" if now[1] else "lost", self.address)

    def resign(self) -> None:
        """Stop leading and hand the scheduler lease over now (a warm stop); the heartbeat stays."""
        self._resigned = True
        self._leader_until = 0.0
        self._release(self.name)

    def close(self) -> None:
        """Stop renewing and release both leases (the server is going away, its tasks have ended)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval + 5)
        self._leader_until = self._server_until = 0.0
        self._release(self.name)
        self._release(server_lease_name(self.address))

    def _release(self, name: str) -> None:
        try:
            with DB.connection_context():
                give_up(name, self.holder)
        except Exception as exc:
            logger.warning("releasing lease %s failed: %s", name, exc)
