"""Server-side paths named by users: resolved as FATE does, confined to allowed directories."""
from __future__ import annotations

import os
from pathlib import Path

from fate_flow.errors import ArgumentError
from fate_flow.settings import Settings
from fate_flow.utils import validate


def resolve_user_path(settings: Settings, field: str, value: str) -> Path:
    """Absolute, symlink-free path for ``value``; relative paths are relative to the work dir.

    Raises ArgumentError naming ``field`` and the rule when the path is outside the
    allowed directories: the work dir and ``data_access.allowed_dirs``, whatever address
    the server listens on (a loopback bind says where clients are, not what they may read).
    """
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ArgumentError(field, "must be a non-empty path")
    validate.check_text(field, value, path_safe=False, max_length=4096)
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = settings.work_dir / path
    path = Path(os.path.realpath(path))
    allowed = allowed_dirs(settings)
    if any(path == d or d in path.parents for d in allowed):
        return path
    shown = ", ".join(str(d) for d in allowed)
    raise ArgumentError(field, f"{validate.show_text(value)} is outside the directories this server may use "
                               f"(the work dir and data_access.allowed_dirs: {shown})")


def allowed_dirs(settings: Settings) -> list[Path]:
    """The confining directories: the work dir, then ``data_access.allowed_dirs`` (relative to the work dir)."""
    dirs = [str(settings.work_dir), *settings.data_access.allowed_dirs]
    return [Path(os.path.realpath(settings.work_dir / os.path.expanduser(d))) for d in dirs]
