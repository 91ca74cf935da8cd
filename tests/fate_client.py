"""The real fate-client (flow CLI, flow_sdk, pipeline SDK) of a FATE release, in a virtualenv of its own.

fate-client pins frameworks that no longer install together (Flask 1.1, click 7, tensorflow), so it
is installed ``--no-deps`` with only what its CLI and SDK import. One virtualenv per version is
built once and kept under ``.cache/fate-client/<version>`` (``FATE_CLIENT_CACHE`` moves it), so
reruns start at once. The CLI and the SDK keep their server address in files inside their own
package; each test gets a copy of those packages (``FateClient.home``) that points at its server.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("FATE_CLIENT_CACHE") or ROOT / ".cache" / "fate-client")
# the releases the tests drive: 1.5.0 (its SDK deploys through /v1/job/dsl/generate), a later 1.5.x,
# a 1.6.x and the newest 1.x
VERSIONS = ("1.5.0", "1.5.3", "1.6.1", "1.11.3.post1")
_OLD_DEPS = ["click==7.1.2", "Flask==1.1.4", "Werkzeug<2", "Jinja2<3", "itsdangerous<2", "MarkupSafe<2.1",
             "requests", "requests-toolbelt<0.10", "urllib3<2", "ruamel.yaml<0.17", "loguru<0.6"]
# 1.7+ SDKs hand output data back as pandas frames
_NEW_DEPS = ["click==7.1.2", "requests", "requests-toolbelt<0.10", "urllib3<2", "ruamel.yaml<0.17", "loguru>=0.6",
             "pandas"]
_PACKAGES = ("flow_client", "flow_sdk", "pipeline")


class ClientUnavailable(Exception):
    """fate-client of that version could not be installed here (offline, no matching Python)."""


def client_python(version: str) -> Path:
    """The python of the cached virtualenv holding fate-client ``version`` (built on first use)."""
    target = CACHE / version
    python = target / "venv" / "bin" / "python"
    marker = target / "ready"
    wanted = " ".join([version, *_deps(version)])  # a changed dependency list rebuilds the virtualenv
    if marker.exists() and marker.read_text() == wanted:
        return python
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers build each version once
        if not marker.exists() or marker.read_text() != wanted:
            _build(target, version)
            marker.write_text(wanted)
    return python


def _build(target: Path, version: str) -> None:
    shutil.rmtree(target / "venv", ignore_errors=True)
    deps = _deps(version)
    steps = [[sys.executable, "-m", "venv", str(target / "venv")],
             [str(target / "venv/bin/python"), "-m", "pip", "install", "-q", "--no-deps", f"fate-client=={version}"],
             [str(target / "venv/bin/python"), "-m", "pip", "install", "-q", *deps]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise ClientUnavailable(f"fate-client {version}: {' '.join(step[2:5])} failed: {done.stderr[-500:]}")


def _deps(version: str) -> list[str]:
    return _OLD_DEPS if version.startswith(("1.5", "1.6")) else _NEW_DEPS


class FateClient:
    """One fate-client version pointed at one server: ``flow(...)`` runs the CLI, ``run(code)`` a script."""

    def __init__(self, version: str, address: str, home: Path) -> None:
        self.version = version
        self.python = client_python(version)
        self.home = Path(home)
        host, port = address.rsplit(":", 1)
        site = next((self.python.parent.parent / "lib").glob("python*/site-packages"))
        self.home.mkdir(parents=True, exist_ok=True)
        for package in _PACKAGES:
            shutil.rmtree(self.home / package, ignore_errors=True)
            shutil.copytree(site / package, self.home / package, ignore=shutil.ignore_patterns("__pycache__"))
        cli_host = host
        if host == "127.0.0.1" and "get_lan_ip()" in (self.home / "flow_client" / "flow.py").read_text():
            cli_host = "127.1"  # the 1.5.0 CLI swaps 127.0.0.1 for the LAN address; this spelling it keeps
        (self.home / "flow_client" / "settings.yaml").write_text(
            f"api_version: v1\nip: {cli_host}\nport: {port}\nserver_conf_path:\napp_key:\nsecret_key:\n")
        (self.home / "pipeline" / "config.yaml").write_text(
            f"ip: {host}\nport: {port}\nlog_directory: {self.home / 'logs'}\nconsole_display_log: false\n"
            f"system_setting:\n  role:\n")
        if version.startswith(("1.5", "1.6")):
            _stand_in_for_tensorflow(self.home)
        self.env = dict(os.environ, PYTHONPATH=str(self.home))
        for key in ("VIRTUAL_ENV", "PYTHONHOME"):
            self.env.pop(key, None)

    def flow(self, *args: str, timeout: float = 120) -> dict:
        """Run ``flow <args>`` and return the JSON it printed (``{"stdout": ...}`` if it printed none)."""
        code = "import sys; from flow_client.flow import flow_cli; sys.argv[0] = 'flow'; flow_cli()"
        done = subprocess.run([str(self.python), "-c", code, *args], capture_output=True, text=True,
                              cwd=str(self.home), env=self.env, timeout=timeout)
        out = done.stdout.strip()
        start = out.find("{")
        try:
            return json.loads(out[start:]) if start >= 0 else {"stdout": out, "stderr": done.stderr}
        except ValueError:
            return {"stdout": out, "stderr": done.stderr}

    def run(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a Python script with this client's packages (the pipeline SDK, flow_sdk)."""
        return subprocess.run([str(self.python), "-c", code], capture_output=True, text=True,
                              cwd=str(self.home), env=self.env, timeout=timeout)


def _stand_in_for_tensorflow(home: Path) -> None:
    """The 1.5/1.6 SDK imports ``tensorflow...base_layer`` at import time, for its neural-network components only.

    tensorflow 1.15/2.3 (what those releases pin) has no wheel for today's Python; an empty
    ``Layer`` class is all the import needs, and no test builds a neural network.
    """
    engine = home / "tensorflow" / "python" / "keras" / "engine"
    engine.mkdir(parents=True, exist_ok=True)
    for folder in (home / "tensorflow", home / "tensorflow/python", home / "tensorflow/python/keras", engine):
        (folder / "__init__.py").touch()
    (engine / "base_layer.py").write_text("class Layer:\n    pass\n")
