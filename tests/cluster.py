"""Three real servers, one per party (guest 9999, host 10000, arbiter 10001), in cluster mode.

The confs and the job are the product's (``fate_flow.demo``, which ``fate_flow_server.py demo`` runs);
these servers are the tests' FlowServers, on a database of the test's choice.

Each has its own work dir (database, tables, models, logs) and reaches the others only through
its route table; party calls are signed with per-party secrets. One party can be put on
MariaDB. Used by the cluster end-to-end tests and the cluster benchmark.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from fate_flow.demo import ARBITER, GUEST, HOST, ROLES, free_port, hetero_lr_job, party_conf
from tests.flow_server import ROOT, FlowServer, drop_mysql_database, mysql_admin

__all__ = ["ARBITER", "GUEST", "HOST", "ROLES", "DATA", "Cluster", "free_port"]
DATA = ROOT / "examples" / "data"


class Cluster:
    """Start, use and stop the three party servers."""

    def __init__(self, root: Path, backend: str = "http", mysql_url: str | None = None,
                 mysql_party: int = HOST, scheduler: dict | None = None, env: dict | None = None,
                 aliases: dict[int, int] | None = None) -> None:
        """``aliases``: a second party id each server also plays (party -> alias), routed like its first."""
        self.root = Path(root)
        self.mysql_url = mysql_url
        self.aliases = dict(aliases or {})
        ports = {party: free_port() for party in ROLES}
        self.routes = {str(party): f"127.0.0.1:{port}" for party, port in ports.items()}
        self.routes.update({str(alias): self.routes[str(party)] for party, alias in self.aliases.items()})
        self.secrets = {str(party): uuid.uuid4().hex for party in ROLES}
        # a task of an alias signs as the alias, with its server's secret
        self.secrets.update({str(alias): self.secrets[str(party)] for party, alias in self.aliases.items()})
        sched = {"party_poll_interval": 1, "party_timeout": 10, **(scheduler or {})}
        self.servers: dict[int, FlowServer] = {}
        for party, port in ports.items():
            work_dir = self.root / f"party_{party}"
            conf = party_conf(party, port, self.routes, self.secrets, work_dir, backend=backend, scheduler=sched)
            if party in self.aliases:
                conf["party_id"].append(self.aliases[party])
                conf["routes"].pop(str(self.aliases[party]), None)
                conf["security"]["party_secrets"].pop(str(self.aliases[party]), None)
            del conf["work_dir"]  # FlowServer writes its own, with the database it picks
            database = mysql_url if party == mysql_party else None
            self.servers[party] = FlowServer(work_dir, database_url=database, conf=conf, env=env)

    def start(self) -> "Cluster":
        if self.mysql_url:
            mysql_admin(f"CREATE DATABASE IF NOT EXISTS `{self.mysql_url.rsplit('/', 1)[1]}`")
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.mysql_url:
            drop_mysql_database(self.mysql_url)

    def __getitem__(self, party: int) -> FlowServer:
        return self.servers[party]

    # ---- the standard job -------------------------------------------------------------

    def upload_breast(self, namespace: str = "fate_flow_test_breast_hetero") -> None:
        """breast_hetero_guest on the guest's server and breast_hetero_host on the host's."""
        for party, name in ((GUEST, "breast_hetero_guest"), (HOST, "breast_hetero_host")):
            server = self.servers[party]
            answer = server.post("/v1/data/upload", {
                "file": str(DATA / f"{name}.csv"), "head": 1, "partition": 4, "work_mode": 1,
                "namespace": namespace, "table_name": name, "use_local_data": 0, "drop": 1})
            assert answer["retcode"] == 0, answer
            assert server.wait_job(answer["jobId"], timeout=60)["f_status"] == "success"

    @staticmethod
    def hetero_lr_job(max_iter: int = 5, seed: int | None = 1) -> tuple[dict, dict]:
        """FATE's fate_flow hetero LR example (DSL + conf) with the three parties of this cluster."""
        return hetero_lr_job(max_iter, seed)

    def auc(self, job_id: str, party: int = GUEST) -> float:
        answer = self.servers[party].post("/v1/tracking/component/metric/all", {
            "job_id": job_id, "component_name": "evaluation_0", "role": ROLES[party], "party_id": party})
        assert answer["retcode"] == 0, answer
        return dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"]
