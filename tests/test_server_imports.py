"""An idle server keeps the heavy libraries out of memory: they load with the first job or model."""
from __future__ import annotations

import subprocess
import sys

from tests.flow_server import ROOT

HEAVY = ("numpy", "pyarrow", "gmpy2", "pika", "redis", "sklearn", "torch")


def test_building_the_app_loads_no_numeric_or_broker_library():
    code = ("import sys; from fate_flow.app import create_app; from fate_flow.apps import BLUEPRINTS; "
            "import fate_flow.server, fate_flow.driver.scheduler; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"loaded at start: {out.stdout.strip()}"
