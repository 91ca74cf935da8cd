"""The one place that imports torch for the NN modules, with an error that says how to install it."""
from __future__ import annotations

import importlib
from typing import Any

INSTALL_HINT = ("pip install -e '.[nn]' in the server's virtualenv (it pins torch==2.13.0, the CPU wheel; "
                "an unpinned 'pip install torch' pulls a multi-GB CUDA build)")


def require_torch(module: str) -> Any:
    """The torch module, or ImportError naming ``module`` and the install command.

    Imported through importlib so that simulating a missing torch (``sys.modules["torch"] = None``)
    takes this path too.
    """
    try:
        torch = importlib.import_module("torch")
    except ImportError as exc:
        raise ImportError(f"{module} runs on PyTorch, which is not installed on this party's server: "
                          f"{INSTALL_HINT}") from exc
    torch.set_num_threads(1)  # a task is one of many processes on the machine
    return torch
