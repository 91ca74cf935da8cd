"""Components and the federation layer load without any server, HTTP or database code."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IMPORTS = [
    "fate_flow.components",
    "fate_flow.federation",
    "fate_flow.federation.memory",
    "fate_flow.federation.standalone",
    "fate_flow.components.toy_example.param",
    "fate_flow.components.toy_example.transfer",
    "fate_flow.components.toy_example.secure_add_guest",
    "fate_flow.components.toy_example.secure_add_host",
]
FORBIDDEN = ["flask", "peewee", "requests", "fate_flow.db", "fate_flow.apps"]

SCRIPT = """
import importlib, json, sys
from fate_flow.components import get_spec
for name in sys.argv[1:]:
    importlib.import_module(name)
from fate_flow.components import modules
for module in modules():  # every registered component, for every role, and its parameters
    spec = get_spec(module)
    spec.param_type()
    for role in spec.roles:
        spec.program(role)
import fate_flow.computing, fate_flow.secureprotol, fate_flow.storage, fate_flow.driver.task_io  # noqa
print(json.dumps(sorted(sys.modules)))
"""


def test_components_import_no_server_http_or_database_modules():
    result = subprocess.run([sys.executable, "-c", SCRIPT, *IMPORTS], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": ROOT},
                            capture_output=True, text=True, timeout=60, check=True)
    loaded = set(json.loads(result.stdout))
    assert set(IMPORTS) <= loaded
    offenders = sorted(name for name in loaded
                       if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN))
    assert offenders == []
