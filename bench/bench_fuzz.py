"""Fuzz the live server from its /openapi.json with more examples than CI runs, and print the figures.

    python bench/bench_fuzz.py [EXAMPLES]     (default 25 per operation and generation mode)

Runs tests/test_openapi.py's fuzz test with FUZZ_EXAMPLES set and no per-test timeout; it prints
the number of cases, the time, and the slowest operations.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    examples = sys.argv[1] if len(sys.argv) > 1 else "25"
    env = dict(os.environ, FUZZ_EXAMPLES=examples)
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-s", "--timeout", "0",
           "tests/test_openapi.py", "-k", "fuzz"]
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
