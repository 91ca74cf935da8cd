"""Path shim: FATE's scripts run ``python fate_flow/fate_flow_client.py``; run the real client.

The client lives at the project root (``../fate_flow_client.py``). When this package is
pip-installed without that file, the installed top-level ``fate_flow_client`` module runs
instead. Importing this module (``fate_flow.fate_flow_client``) does nothing.
"""
import os
import runpy
import sys


def run_client() -> None:
    """Run the top-level client as ``__main__`` with the project root first on sys.path."""
    here = os.path.dirname(os.path.realpath(__file__))
    root = os.path.dirname(here)
    script = os.path.join(root, "fate_flow_client.py")
    # This shim shares the client's module name, and fate_flow/ holds modules (settings,
    # errors, ...) that must not shadow anything the client imports: drop our directory.
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != here]
    if os.path.isfile(script):
        sys.path.insert(0, root)
        sys.argv[0] = script
        runpy.run_path(script, run_name="__main__")
        return
    import fate_flow_client  # the pip-installed top-level module
    sys.exit(fate_flow_client.main())


if __name__ == "__main__":
    run_client()
