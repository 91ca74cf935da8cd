"""Server-side paths: relative to the work dir, confined unless the server is loopback-only."""
from __future__ import annotations

import pytest

from fate_flow.errors import ArgumentError
from fate_flow.settings import apply_overrides, load_settings
from fate_flow.utils.paths import resolve_user_path


@pytest.fixture
def base(tmp_path):
    return load_settings(None, environ={}, work_dir=str(tmp_path / "work"), port=1)


def test_loopback_server_accepts_any_path(base, tmp_path):
    assert resolve_user_path(base, "file", "/etc/hostname").as_posix() == "/etc/hostname"
    assert resolve_user_path(base, "file", "data/x.csv") == base.work_dir / "data/x.csv"


def test_public_server_confines_to_work_dir(base):
    public = apply_overrides(base, host="0.0.0.0")
    assert resolve_user_path(public, "file", "data/x.csv") == public.work_dir / "data/x.csv"
    for bad in ("/etc/passwd", "../outside.csv", "data/../../outside.csv"):
        with pytest.raises(ArgumentError) as err:
            resolve_user_path(public, "output_path", bad)
        assert "output_path" in str(err.value) and "allowed_dirs" in str(err.value)


def test_symlinks_do_not_escape(base, tmp_path):
    public = apply_overrides(base, host="10.0.0.1")
    public.work_dir.mkdir(parents=True)
    (public.work_dir / "link").symlink_to("/etc")
    with pytest.raises(ArgumentError):
        resolve_user_path(public, "file", "link/passwd")


@pytest.mark.parametrize("value", ["", "   ", "a\0b", None, 5])
def test_unusable_values(base, value):
    with pytest.raises(ArgumentError):
        resolve_user_path(base, "file", value)
