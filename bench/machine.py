"""What every benchmark prints about where it ran: CPU, cores, Python, code commit, load, date."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """``git`` commit of the tree measured, ``+dirty`` when the server code has local changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "fate_flow", "fate_flow_server.py",
                                "fate_flow_client.py"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit or "unknown") + ("+dirty" if dirty else "")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(**extra: Any) -> dict:
    """The machine and code of this run, plus ``extra`` (library versions, free memory, ...)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "code": code_version(), "load": load_average(),
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), **extra}


def describe_machine() -> str:
    """The machine lines a benchmark prints first."""
    info = machine()
    return (f"date      {info['date']}\nmachine   {info['cpu']}, {info['cores']} cores, Python {info['python']}\n"
            f"code      {info['code']}\nload      {info['load']} (1/5/15 min) before the run")
