"""Server-side paths: relative to the work dir, confined to it and data_access.allowed_dirs whatever the bind."""
from __future__ import annotations

import pytest

from fate_flow.errors import ArgumentError
from fate_flow.settings import apply_overrides, load_settings
from fate_flow.utils.paths import resolve_user_path


@pytest.fixture
def base(tmp_path):
    return load_settings(None, environ={}, work_dir=str(tmp_path / "work"), port=1)


def test_loopback_server_is_confined_too(base, tmp_path):
    assert base.is_loopback_only
    assert resolve_user_path(base, "file", "data/x.csv") == base.work_dir / "data/x.csv"
    for bad in ("/etc/passwd", "../outside.csv", "data/../../outside.csv", "~/x.csv"):
        with pytest.raises(ArgumentError) as err:
            resolve_user_path(base, "file", bad)
        assert "file" in str(err.value) and "allowed_dirs" in str(err.value)


def test_allowed_dirs_add_to_the_work_dir(base, tmp_path):
    extra = apply_overrides(base, data_access={"allowed_dirs": (str(tmp_path / "shared"), "relative")})
    assert resolve_user_path(extra, "file", str(tmp_path / "shared" / "x.csv")) == tmp_path / "shared" / "x.csv"
    assert resolve_user_path(extra, "file", "data/x.csv") == base.work_dir / "data/x.csv"
    assert resolve_user_path(extra, "file", str(base.work_dir / "relative" / "y")) == base.work_dir / "relative/y"
    with pytest.raises(ArgumentError):
        resolve_user_path(extra, "file", str(tmp_path / "other" / "x.csv"))


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


@pytest.mark.parametrize("value", ["", "   ", "a\0b", None, 5, "data/x\u202e.csv", "data/\u200b", "x" * 5000])
def test_unusable_values(base, value):
    with pytest.raises(ArgumentError):
        resolve_user_path(base, "file", value)
