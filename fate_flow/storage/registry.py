"""Storage engines by name, so that configuration (not code) picks one."""
from __future__ import annotations

from pathlib import Path

from fate_flow.storage.base import TableStorage
from fate_flow.storage.local import LocalStorage
from fate_flow.storage.memory import MemoryStorage

_ENGINES: dict[str, type[TableStorage]] = {}


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
    return cls(Path(root) if root is not None else None)


register_engine("local", LocalStorage)
register_engine("memory", MemoryStorage)
