"""Three real servers, one per party (guest 9999, host 10000, arbiter 10001), in cluster mode.

Each has its own work dir (database, tables, models, logs) and reaches the others only through
its route table; party calls are signed with per-party secrets. One party can be put on
MariaDB. Used by the cluster end-to-end tests and the cluster benchmark.
"""
from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path

from tests.flow_server import ROOT, FlowServer, drop_mysql_database, mysql_admin

GUEST, HOST, ARBITER = 9999, 10000, 10001
ROLES = {GUEST: "guest", HOST: "host", ARBITER: "arbiter"}
DATA = ROOT / "examples" / "data"
FATE_FLOW_EXAMPLES = ROOT / "examples" / "fate_flow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """Start, use and stop the three party servers."""

    def __init__(self, root: Path, backend: str = "http", mysql_url: str | None = None,
                 mysql_party: int = HOST, scheduler: dict | None = None, env: dict | None = None) -> None:
        self.root = Path(root)
        self.mysql_url = mysql_url
        ports = {party: free_port() for party in ROLES}
        self.routes = {str(party): f"127.0.0.1:{port}" for party, port in ports.items()}
        self.secrets = {str(party): uuid.uuid4().hex for party in ROLES}
        sched = {"party_poll_interval": 1, "party_timeout": 10, **(scheduler or {})}
        self.servers: dict[int, FlowServer] = {}
        for party, port in ports.items():
            conf = {"work_mode": 1, "party_id": [party],
                    "fate_flow": {"host": "127.0.0.1", "http_port": port},
                    "routes": {p: a for p, a in self.routes.items() if p != str(party)},
                    "federation": {"backend": backend, "timeout": 120},
                    "security": {"sign_requests": True, "secret": self.secrets[str(party)],
                                 "party_secrets": {p: s for p, s in self.secrets.items() if p != str(party)}},
                    "scheduler": sched}
            database = mysql_url if party == mysql_party else None
            self.servers[party] = FlowServer(self.root / f"party_{party}", database_url=database, conf=conf, env=env)

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
        dsl = json.loads((FATE_FLOW_EXAMPLES / "test_hetero_lr_job_dsl.json").read_text())
        conf = json.loads((FATE_FLOW_EXAMPLES / "test_hetero_lr_job_conf.json").read_text())
        conf["job_parameters"]["work_mode"] = 1
        conf["initiator"] = {"role": "guest", "party_id": GUEST}
        conf["role"] = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
        lr = conf["algorithm_parameters"]["hetero_lr_0"]
        lr["max_iter"] = max_iter
        if seed is not None:
            lr["init_param"]["random_seed"] = seed
        return dsl, conf

    def auc(self, job_id: str, party: int = GUEST) -> float:
        answer = self.servers[party].post("/v1/tracking/component/metric/all", {
            "job_id": job_id, "component_name": "evaluation_0", "role": ROLES[party], "party_id": party})
        assert answer["retcode"] == 0, answer
        return dict(answer["data"]["train"]["hetero_lr_0"]["data"])["auc"]
