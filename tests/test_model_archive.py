"""Model archives: export layout, and every way an import is refused leaving nothing behind."""
from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from fate_flow.errors import FlowError
from fate_flow.model_storage import archive as model_archive
from fate_flow.utils.model_layout import save_component_model

LIMIT = 1 << 20


def make_model(root: Path) -> Path:
    version = root / "guest#9999#arbiter-10000#guest-9999#host-10000#model" / "2020061220093456963141"
    save_component_model(version, "hetero_lr_0", "HeteroLR", "hetero_lr",
                         {"HeteroLogisticRegressionParam": {"weight": {"x0": 0.5}, "intercept": 0.1},
                          "HeteroLogisticRegressionMeta": {"penalty": "L2"}})
    (version / "pipeline.json").write_text(json.dumps({"model_id": "m", "model_version": "v"}))
    return version


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_nothing_left(cache: Path) -> None:
    """Not even the party directory (or a staging directory) stays in the model cache."""
    assert not cache.exists() or list(cache.iterdir()) == []


def zip_bytes(members: list[tuple[str, bytes]], mode: int | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.create_system = 3
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return out.getvalue()


def test_export_root_is_the_version_dir_without_dot_files(tmp_path):
    version = make_model(tmp_path / "cache")
    archive = model_archive.pack_to_file(version, tmp_path / "temp" / "m.zip")
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
    assert names == ["define/define_meta.yaml", "pipeline.json",
                     "variables/data/hetero_lr_0/hetero_lr/HeteroLogisticRegressionMeta",
                     "variables/data/hetero_lr_0/hetero_lr/HeteroLogisticRegressionParam"]
    assert (version / "define" / ".lock").exists(), "the lock file exists but is not exported"
    assert list((tmp_path / "temp").iterdir()) == [archive]


def test_round_trip_is_byte_identical(tmp_path):
    version = make_model(tmp_path / "a")
    archive = model_archive.pack_to_file(version, tmp_path / "m.zip")
    target = tmp_path / "b" / version.parent.name / version.name
    written = model_archive.unpack(archive, target, LIMIT, "m v")
    expected = {k: v for k, v in files_under(version).items() if not k.startswith("define/.")}
    assert files_under(target) == expected
    assert written == sum(len(v) for v in expected.values())
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no staging directory left"


def test_import_over_an_existing_model_is_refused_and_keeps_it(tmp_path):
    version = make_model(tmp_path / "a")
    archive = tmp_path / "other.zip"
    archive.write_bytes(zip_bytes([("pipeline.json", b"{}")]))
    before = files_under(version)
    with pytest.raises(FlowError, match="local cache already existed") as err:
        model_archive.unpack(archive, version, LIMIT, "m v")
    assert err.value.retcode == 100
    assert files_under(version) == before
    assert sorted(p.name for p in version.parent.iterdir()) == [version.name]


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/evil", "\\windows\\evil", "C:/evil",
                                  "a\\..\\..\\evil"])
def test_zip_slip_names_are_refused(tmp_path, name):
    archive = tmp_path / "slip.zip"
    archive.write_bytes(zip_bytes([("pipeline.json", b"{}"), (name, b"owned")]))
    target = tmp_path / "cache" / "guest#9999#m" / "v1"
    with pytest.raises(FlowError, match="absolute path or a '..' component"):
        model_archive.unpack(archive, target, LIMIT, "m v1")
    assert_nothing_left(tmp_path / "cache")
    assert not list(tmp_path.rglob("*evil*"))


def test_symlinks_and_special_files_are_refused(tmp_path):
    for mode, reason in ((stat.S_IFLNK | 0o777, "symbolic link"), (stat.S_IFIFO | 0o644, "not a regular file")):
        archive = tmp_path / "link.zip"
        archive.write_bytes(zip_bytes([("variables/data/x", b"/etc/passwd")], mode=mode))
        target = tmp_path / "cache" / "p" / "v"
        with pytest.raises(FlowError, match=reason):
            model_archive.unpack(archive, target, LIMIT, "p v")
        assert_nothing_left(tmp_path / "cache")


def test_declared_size_above_the_limit_is_refused_before_writing(tmp_path):
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(zip_bytes([("a", b"\0" * (LIMIT // 2)), ("b", b"\0" * (LIMIT // 2 + 1))]))
    assert archive.stat().st_size < 10_000, "it is a (small) zip bomb"
    with pytest.raises(FlowError, match="more than 1048576 bytes"):
        model_archive.unpack(archive, tmp_path / "cache" / "p" / "v", LIMIT, "p v")
    assert_nothing_left(tmp_path / "cache")


def test_lying_size_headers_are_caught(tmp_path):
    raw = bytearray(zip_bytes([("pipeline.json", b"{}"), ("big", b"\0" * (LIMIT * 2))]))
    # shrink the declared uncompressed size of "big" in its central directory entry to 10 bytes
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24:central + 28] = (10).to_bytes(4, "little")
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(raw))
    with pytest.raises(FlowError):
        model_archive.unpack(archive, tmp_path / "cache" / "p" / "v", LIMIT, "p v")
    assert_nothing_left(tmp_path / "cache")


def test_bytes_are_counted_while_copying():
    out = io.BytesIO()
    assert model_archive.copy_counted(io.BytesIO(b"x" * 100), out, 0, 150, "m") == 100
    with pytest.raises(FlowError, match="more than 150 bytes"):
        model_archive.copy_counted(io.BytesIO(b"x" * 100), out, 100, 150, "m")


@pytest.mark.parametrize("damage", ["truncated", "crc", "garbage", "empty"])
def test_corrupt_archives_are_refused(tmp_path, damage):
    version = make_model(tmp_path / "a")
    good = model_archive.pack_to_file(version, tmp_path / "good.zip").read_bytes()
    if damage == "truncated":
        data = good[:len(good) // 2]
    elif damage == "crc":  # one byte of a stored member changed: its CRC no longer matches
        stored = io.BytesIO()
        with zipfile.ZipFile(stored, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("pipeline.json", b"x" * 1000)
        data = stored.getvalue().replace(b"x" * 1000, b"x" * 999 + b"y")
    elif damage == "garbage":
        data = b"this is not a zip file at all"
    else:
        data = zip_bytes([])
    archive = tmp_path / "bad.zip"
    archive.write_bytes(data)
    target = tmp_path / "cache" / "p" / "v"
    with pytest.raises(FlowError, match="not a valid zip|holds no files"):
        model_archive.unpack(archive, target, LIMIT, "p v")
    assert_nothing_left(tmp_path / "cache")


def test_duplicate_members_are_refused(tmp_path):
    archive = tmp_path / "dup.zip"
    with pytest.warns(UserWarning):
        archive.write_bytes(zip_bytes([("pipeline.json", b"{}"), ("pipeline.json", b"[]")]))
    with pytest.raises(FlowError, match="member 'pipeline.json' appears twice"):
        model_archive.unpack(archive, tmp_path / "cache" / "p" / "v", LIMIT, "p v")
    assert_nothing_left(tmp_path / "cache")


def test_existing_party_directory_is_kept_on_refusal(tmp_path):
    other = make_model(tmp_path / "cache")
    archive = tmp_path / "slip.zip"
    archive.write_bytes(zip_bytes([("../x", b"")]))
    with pytest.raises(FlowError):
        model_archive.unpack(archive, other.parent / "v2", LIMIT, "p v2")
    assert [p.name for p in other.parent.iterdir()] == [other.name]


@pytest.mark.parametrize("value", ["", ".", "..", "a/b", "a\\b", ".hidden", "#x", "a b", "a\nb", "é", True, None,
                                   "x" * 201])
def test_model_names_must_be_one_safe_path_component(value):
    with pytest.raises(ValueError, match="model_id"):
        model_archive.check_model_name("model_id", value)


def test_model_names_of_fate_pass():
    for value in ("guest#9999#arbiter-10000#guest-9999#host-10000#model", "2020061220093456963141", 9999,
                  "local-0#model"):
        assert model_archive.check_model_name("model_id", value) == str(value)
