"""Server-side paths named by users: resolved as FATE does, confined to allowed directories."""
from __future__ import annotations

import os
from pathlib import Path

from fate_flow.errors import ArgumentError
from fate_flow.settings import Settings


def resolve_user_path(settings: Settings, field: str, value: str) -> Path:
    """Absolute, symlink-free path for ``value``; relative paths are relative to the work dir.

    Raises ArgumentError naming ``field`` and the rule when the path is outside the
    allowed directories (``data_access.allowed_dirs``, by default the work dir; a server
    listening on loopback only, with no allowed_dirs configured, accepts any path since
    its clients are on this machine).
    """
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ArgumentError(field, "must be a non-empty path")
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = settings.work_dir / path
    path = Path(os.path.realpath(path))
    allowed = allowed_dirs(settings)
    if allowed is None or any(path == d or d in path.parents for d in allowed):
        return path
    shown = ", ".join(str(d) for d in allowed)
    raise ArgumentError(field, f"{value} is outside the directories this server may use "
                               f"(data_access.allowed_dirs: {shown})")


def allowed_dirs(settings: Settings) -> list[Path] | None:
    """The confining directories, or None when any path is allowed."""
    configured = settings.data_access.allowed_dirs
    if not configured and settings.is_loopback_only:
        return None
    dirs = configured or (str(settings.work_dir),)
    return [Path(os.path.realpath(os.path.expanduser(d))) for d in dirs]
