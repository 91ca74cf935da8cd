"""Storage engines by name, so that configuration (not code) picks one."""
from __future__ import annotations

import importlib
from pathlib import Path

from fate_flow.storage.base import TableStorage
from fate_flow.storage.local import LocalStorage

# name -> class, or "module:Class" of a built-in engine imported when first opened
_ENGINES: dict[str, type[TableStorage] | str] = {}


def register_engine(name: str, cls: type[TableStorage]) -> None:
    """Make ``open_storage(name, root)`` build ``cls(root)``; a later registration wins."""
    if not (isinstance(cls, type) and issubclass(cls, TableStorage)):
        raise TypeError(f"{cls!r} is not a TableStorage subclass")
    _ENGINES[name] = cls


def open_storage(engine: str, root: Path | str | None = None) -> TableStorage:
    """Return a new storage of the named engine rooted at ``root``.

    Raises:
        ValueError for an unknown engine (the message lists the known ones), or when
        the engine needs a root and none is given.
    """
    try:
        cls = _ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown storage engine {engine!r}; known: {', '.join(sorted(_ENGINES))}") from None
    if isinstance(cls, str):
        module, _, name = cls.partition(":")
        cls = _ENGINES[engine] = getattr(importlib.import_module(module), name)
    return cls(Path(root) if root is not None else None)


register_engine("local", LocalStorage)
_ENGINES["memory"] = "fate_flow.storage.memory:MemoryStorage"  # pyarrow at import: loaded when used
