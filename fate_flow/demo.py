"""Three parties on this machine with one command: ``fate_flow_server.py demo [--dir D]``.

Starts a guest (9999), a host (10000) and an arbiter (10001) server in cluster mode, each on
its own 127.0.0.1 port with its own work dir, database and route table; party calls are signed
with per-party secrets and the user routes take app keys only (one key per party is made).
Then it uploads FATE's breast example data to the guest and the host, writes the hetero LR
example's DSL and conf for these three parties, prints the commands that run it, and waits.
Ctrl-C (or ``fate_flow_server.py demo stop --dir D`` from another shell) stops all three.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

GUEST, HOST, ARBITER = 9999, 10000, 10001
ROLES = {GUEST: "guest", HOST: "host", ARBITER: "arbiter"}
NAMESPACE = "fate_flow_test_breast_hetero"
UPLOADS = {GUEST: "breast_hetero_guest", HOST: "breast_hetero_host"}
PROJECT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT / "examples"
STATE_FILE = "demo.json"
READY_LINE = "demo ready"


def party_conf(party: int, port: int, routes: dict[str, str], secrets: dict[str, str], work_dir: Path,
               backend: str = "http", scheduler: dict | None = None) -> dict:
    """The service conf of one party of a local three-party cluster (JSON, which is valid YAML)."""
    own = str(party)
    return {"work_mode": 1, "party_id": [party],
            "fate_flow": {"host": "127.0.0.1", "http_port": port},
            "work_dir": str(work_dir),
            "routes": {p: a for p, a in routes.items() if p != own},
            "federation": {"backend": backend, "timeout": 120},
            "security": {"sign_requests": True, "secret": secrets[own],
                         "party_secrets": {p: s for p, s in secrets.items() if p != own}},
            "scheduler": dict(scheduler or {})}


def hetero_lr_job(max_iter: int = 3, seed: int | None = 1) -> tuple[dict, dict]:
    """FATE's fate_flow hetero LR example (DSL, conf) for guest 9999, host 10000 and arbiter 10001."""
    folder = EXAMPLES / "fate_flow"
    dsl = json.loads((folder / "test_hetero_lr_job_dsl.json").read_text(encoding="utf-8"))
    conf = json.loads((folder / "test_hetero_lr_job_conf.json").read_text(encoding="utf-8"))
    conf["job_parameters"]["work_mode"] = 1
    conf["initiator"] = {"role": "guest", "party_id": GUEST}
    conf["role"] = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    lr = conf["algorithm_parameters"]["hetero_lr_0"]
    lr["max_iter"] = max_iter
    if seed is not None:
        lr.setdefault("init_param", {})["random_seed"] = seed
    return dsl, conf


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fate_flow_server.py demo",
                                     description="three FATE-Flow parties (guest, host, arbiter) on this machine")
    parser.add_argument("action", nargs="?", choices=("start", "stop"), default="start",
                        help="start them and wait for Ctrl-C (the default), or stop a running demo")
    parser.add_argument("--dir", default="fate_flow_demo", help="where the parties' work dirs go (./fate_flow_demo)")
    parser.add_argument("--max-iter", type=int, default=3, help="hetero LR iterations of the example job (3)")
    return parser.parse_args(argv)


def demo_command(argv: list[str]) -> int:
    """``demo [start|stop] [--dir D]``: the process's exit code."""
    args = parse_args(argv)
    root = Path(args.dir).resolve()
    if args.action == "stop":
        return request_stop(root)
    if not (EXAMPLES / "data").is_dir():
        print(f"demo: the example data is not here ({EXAMPLES / 'data'}): run it from a source checkout",
              file=sys.stderr)
        return 1
    stop = threading.Event()
    demo = Demo(root, max_iter=args.max_iter, interrupted=stop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        demo.start()
        demo.upload_examples()
        print(demo.instructions(), flush=True)
        print(READY_LINE, flush=True)
        while not stop.wait(1.0):
            if demo.exited():
                print(f"demo: a party server exited, see {root}/party_*/server.out: stopping", file=sys.stderr)
                break
    except (RuntimeError, OSError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop()
    return 0


def request_stop(root: Path) -> int:
    """``demo stop``: ask the running demo to stop its parties, or stop them here if it is gone."""
    state = _read_state(root)
    if state is None:
        print(f"no demo runs in {root}")
        return 0
    pid = int(state["pid"])
    if _is_demo_process(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while _is_demo_process(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _is_demo_process(pid):
            print(f"stopped the demo in {root}")
            return 0
    return Demo.stop_parties(root)


class Demo:
    """The three party servers of a demo under ``root``."""

    def __init__(self, root: Path, max_iter: int = 3, interrupted: threading.Event | None = None) -> None:
        self.root = root
        self.max_iter = max_iter
        self.interrupted = interrupted or threading.Event()  # Ctrl-C while starting ends the waits
        self.procs: dict[int, subprocess.Popen] = {}
        self.parties: dict[int, dict[str, Any]] = {}

    # ---- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Write the confs, make one app key per party, start the servers and wait until they answer."""
        if _read_state(self.root) and _is_demo_process(int(_read_state(self.root)["pid"])):
            raise RuntimeError(f"a demo already runs in {self.root}: stop it first (demo stop --dir {self.root})")
        self.root.mkdir(parents=True, exist_ok=True)
        ports = {party: free_port() for party in ROLES}
        routes = {str(p): f"127.0.0.1:{port}" for p, port in ports.items()}
        secrets = {str(p): uuid.uuid4().hex for p in ROLES}
        for party in ROLES:
            work_dir = self.root / f"party_{party}"
            conf = party_conf(party, ports[party], routes, secrets, work_dir, scheduler={"detect_interval": 1})
            conf["security"]["client_authentication"] = True  # on, although the servers listen on loopback
            conf["data_access"] = {"allowed_dirs": [str(EXAMPLES / "data")]}
            work_dir.mkdir(parents=True, exist_ok=True)
            conf_path = work_dir / "service_conf.yaml"
            conf_path.write_text(json.dumps(conf, indent=2), encoding="utf-8")
            app_key, secret_key = _make_key(conf_path)
            self.parties[party] = {"role": ROLES[party], "address": routes[str(party)], "work_dir": str(work_dir),
                                   "conf": str(conf_path), "app_key": app_key, "secret_key": secret_key}
        self._write_state()
        for party, info in self.parties.items():
            self.procs[party] = _start_server(Path(info["conf"]), Path(info["work_dir"]))
        for party in self.parties:
            self._wait_answering(party)

    def exited(self) -> bool:
        """True if any party server has exited."""
        return any(proc.poll() is not None for proc in self.procs.values())

    def stop(self) -> None:
        """Warm-stop every party (running tasks get a few seconds), then forget the demo's state."""
        if self.parties:
            self.stop_parties(self.root)
        for proc in self.procs.values():  # one that never announced itself has no server.json to stop it by
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    @staticmethod
    def stop_parties(root: Path) -> int:
        """Stop the party servers of the demo in ``root`` with ``fate_flow_server.py stop``, all at once."""
        state = _read_state(root) or {"parties": {}}
        stops = [subprocess.Popen([sys.executable, "-m", "fate_flow.server", "stop", "--conf", info["conf"],
                                   "--timeout", "10"], env=_server_env())
                 for info in state["parties"].values()]
        codes = [stop.wait() for stop in stops]
        (root / STATE_FILE).unlink(missing_ok=True)
        return max(codes, default=0)

    def _write_state(self) -> None:
        path = self.root / STATE_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the demo's secret keys
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "parties": {str(p): i for p, i in self.parties.items()}}, f, indent=2)

    def _wait_answering(self, party: int, timeout: float = 60) -> None:
        def answers() -> bool:
            if self.procs[party].poll() is not None:
                raise RuntimeError(f"party {party} server exited: see {self.parties[party]['work_dir']}/server.out")
            try:
                return self.call(party, "/v1/version/get", {"module": "FATE"}).get("retcode") == 0
            except OSError:
                return False
        _wait(answers, timeout, f"party {party} server to answer", self.interrupted)

    # ---- calls as a user ------------------------------------------------------------

    def call(self, party: int, path: str, body: dict) -> dict:
        """POST ``body`` to the party's server, signed with its app key; the JSON answer."""
        import requests

        from fate_flow.utils.app_auth import AppKeyAuth

        info = self.parties[party]
        session = requests.Session()
        session.trust_env = False  # the servers are on this machine: never through an environment proxy
        auth = AppKeyAuth(info["app_key"], info["secret_key"])
        with session:
            return session.post(f"http://{info['address']}{path}", json=body, auth=auth, timeout=30).json()

    def upload_examples(self, timeout: float = 120) -> None:
        """Upload breast_hetero_guest to the guest and breast_hetero_host to the host, and wait for both."""
        jobs = {}
        for party, name in UPLOADS.items():
            answer = self.call(party, "/v1/data/upload", {
                "file": str(EXAMPLES / "data" / f"{name}.csv"), "head": 1, "partition": 4, "work_mode": 1,
                "namespace": NAMESPACE, "table_name": name, "use_local_data": 0, "drop": 1})
            if answer.get("retcode") != 0:
                raise RuntimeError(f"upload of {name} to party {party} failed: {answer.get('retmsg')}")
            jobs[party] = answer["jobId"]
        for party, job_id in jobs.items():
            status = _wait(lambda: self._final_status(party, job_id), timeout, f"upload job {job_id}",
                           self.interrupted)
            if status != "success":
                raise RuntimeError(f"upload job {job_id} on party {party} ended {status}")

    def _final_status(self, party: int, job_id: str) -> str | None:
        rows = self.call(party, "/v1/job/query", {"job_id": job_id}).get("data") or []
        status = rows[0]["f_status"] if rows else None
        return status if status in ("success", "failed", "canceled", "timeout") else None

    # ---- what the user runs next -------------------------------------------------------

    def instructions(self) -> str:
        """Where the parties are, and the commands that run the hetero LR example across them."""
        dsl, conf = hetero_lr_job(self.max_iter)
        dsl_path, conf_path = self.root / "hetero_lr_dsl.json", self.root / "hetero_lr_conf.json"
        dsl_path.write_text(json.dumps(dsl, indent=4), encoding="utf-8")
        conf_path.write_text(json.dumps(conf, indent=4), encoding="utf-8")
        guest = self.parties[GUEST]
        env = {"FATE_FLOW_SERVER": f"http://{guest['address']}", "FATE_FLOW_APP_KEY": guest["app_key"],
               "FATE_FLOW_SECRET_KEY": guest["secret_key"]}
        client = " ".join(shlex.quote(p) for p in _client_command())
        lines = ["", "FATE-Flow demo: three parties on this machine, in cluster mode"]
        lines += [f"  {info['role']:<8}{party:<7}http://{info['address']}   work dir {info['work_dir']}"
                  for party, info in self.parties.items()]
        lines += ["", "Run FATE's hetero LR example from the guest's side (the uploads are done):",
                  "  $ export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()),
                  f"  $ {client} -f submit_job -d {shlex.quote(str(dsl_path))} -c {shlex.quote(str(conf_path))}",
                  f"  $ {client} -f query_job -j JOB_ID -r guest",
                  f"  (each party's key is in {self.root / STATE_FILE}; the board of the guest is "
                  f"http://{guest['address']}/index.html, log in with its app key and secret key)",
                  "", f"Stop all three: Ctrl-C here, or fate_flow_server.py demo stop --dir {shlex.quote(str(self.root))}"]
        return "\n".join(lines)


def _client_command() -> list[str]:
    script = PROJECT / "fate_flow_client.py"
    return [sys.executable, str(script)] if script.is_file() else ["fate_flow_client"]


def _make_key(conf_path: Path) -> tuple[str, str]:
    """An app key on the party's database, made by ``fate_flow_server.py key create`` (as a user would)."""
    done = subprocess.run([sys.executable, "-m", "fate_flow.server", "key", "create", "--user", "demo",
                           "--description", "made by fate_flow_server.py demo", "--conf", str(conf_path)],
                          capture_output=True, text=True, timeout=60, env=_server_env())
    if done.returncode != 0:
        raise RuntimeError(f"key create failed: {done.stderr[-500:]}")
    made = json.loads(done.stdout)
    return made["app_key"], made["secret_key"]


def _start_server(conf_path: Path, work_dir: Path) -> subprocess.Popen:
    """One party's server, in a session of its own (the demo, not the terminal, stops it)."""
    with open(work_dir / "server.out", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "fate_flow.server", "--conf", str(conf_path)],
                                cwd=str(work_dir), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env=_server_env())


def _server_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT), path) if p))


def _read_state(root: Path) -> dict | None:
    try:
        return json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_demo_process(pid: int) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and "demo" in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _wait(predicate: Callable[[], Any], timeout: float, what: str, interrupted: threading.Event) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        if interrupted.wait(0.2):
            raise RuntimeError(f"interrupted while waiting for {what}")
