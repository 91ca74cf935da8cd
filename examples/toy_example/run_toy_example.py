#!/usr/bin/env python3
"""Run the toy example (SecureAddExample) through the CLI and show the guest's result.

    python examples/toy_example/run_toy_example.py [GUEST_PARTY HOST_PARTY WORK_MODE]

Waits for the server (FATE_FLOW_SERVER or conf/service_conf.yaml) to answer, submits
the toy conf with the given parties, follows the job until it ends, then downloads its
logs and prints the guest's result lines. Exits 0 only if the job succeeded.
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLIENT = HERE.parent.parent / "fate_flow_client.py"


def flow(*args: str) -> dict:
    out = subprocess.run([sys.executable, str(CLIENT), *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def wait_for_server(seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while flow("-f", "query_job", "-j", "0").get("retmsg", "").startswith("Connection refused"):
        if time.time() > deadline:
            sys.exit("the FATE-Flow server does not answer; start it with: python fate_flow_server.py")
        time.sleep(0.3)


def main(guest: int = 10000, host: int = 10000, work_mode: int = 0) -> int:
    wait_for_server()
    conf = json.loads((HERE / "toy_example_conf.json").read_text())
    conf["initiator"]["party_id"] = guest
    conf["role"] = {"guest": [guest], "host": [host]}
    conf["job_parameters"]["work_mode"] = work_mode
    with tempfile.TemporaryDirectory() as tmp:
        conf_path = Path(tmp) / "toy_example_conf.json"
        conf_path.write_text(json.dumps(conf, indent=4))
        submit = flow("-f", "submit_job", "-c", str(conf_path), "-d", str(HERE / "toy_example_dsl.json"))
        if submit.get("retcode") != 0:
            print(json.dumps(submit, indent=4))
            return 1
        job_id = submit["jobId"]
        print(f"job {job_id} submitted")
        status = follow(job_id)
        logs = flow("-f", "job_log", "-j", job_id, "-o", tmp)
        level = "INFO" if status == "success" else "ERROR"
        log_file = Path(logs["directory"]) / "guest" / str(guest) / "secure_add_example_0" / f"{level}.log"
        for line in log_file.read_text().splitlines() if log_file.exists() else []:
            if level == "ERROR" or "secure_add_guest.py[line" in line:
                print(line)
    print(f"job {job_id} {status}")
    return 0 if status == "success" else 1


def follow(job_id: str, seconds: float = 100) -> str:
    deadline = time.time() + seconds
    while time.time() < deadline:
        rows = flow("-f", "query_job", "-j", job_id, "-r", "guest").get("data") or [{}]
        status = rows[0].get("f_status", "unknown")
        if status in ("success", "failed", "canceled", "timeout"):
            return status
        time.sleep(0.2)
    return "still running after %d s" % seconds


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:4])))
