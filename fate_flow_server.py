#!/usr/bin/env python3
"""Start a FATE-Flow server: ``python fate_flow_server.py [--conf F] [--host H] [--port P] [--work-dir D]``."""
import sys

from fate_flow.server import main

if __name__ == "__main__":
    sys.exit(main())
