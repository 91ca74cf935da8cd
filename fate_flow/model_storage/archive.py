"""A model version directory as a zip archive, and the safe way back into the model cache.

The archive's root is the contents of ``<party_model_id>/<model_version>/`` (``define/``,
``variables/``, ``pipeline.json``), as FATE's export writes it. Unpacking trusts nothing in
the archive: member names, file types and sizes are checked, bytes are counted while they
are written (headers can lie), and the model only appears under its final name once every
member is written and verified. Runs in the server and in store/restore task processes, so
it imports nothing of flask or the database.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from fate_flow.errors import FlowError
from fate_flow.utils.validate import show_value

logger = logging.getLogger("fate_flow.model")

COPY_CHUNK = 1 << 20
# a member, or a whole archive, may unpack to this many times its compressed size (zeros
# deflate about 1000:1; model files, text and numbers, about 10:1) ...
DEFAULT_MAX_RATIO = 100
# ... unless it unpacks to no more than this: small files of repeated text compress well
RATIO_FLOOR = 1 << 20
# errors zipfile and zlib raise on truncated, corrupt, encrypted or unsupported archives
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)
_DRIVE = re.compile(r"^[A-Za-z]:")
# role, party id, model id and version become path components, a Redis key and a header value
_MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.#@+=,:-]*", re.ASCII)
MAX_NAME = 200


def check_model_name(field: str, value: object) -> str:
    """``value`` as a string usable as one path component; ValueError naming ``field`` if not."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not _MODEL_NAME.fullmatch(text) or len(text) > MAX_NAME:
        raise ValueError(f"{field} {value!r} should be 1-{MAX_NAME} characters among letters, digits and "
                         f"_.#@+=,:- not starting with one of .#@+=,:-")
    return text


def pack(version_dir: Path, out: BinaryIO) -> int:
    """Write ``version_dir`` as a zip to ``out``; return the number of files.

    Dot files (locks, half-written temporaries) and symlinks are left out.
    """
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder, dirs, files in os.walk(version_dir):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d)))
            for name in sorted(files):
                path = Path(folder) / name
                if name.startswith(".") or path.is_symlink() or not path.is_file():
                    continue
                archive.write(path, path.relative_to(version_dir).as_posix())
                count += 1
    return count


def pack_to_file(version_dir: Path, target: Path) -> Path:
    """Zip ``version_dir`` into ``target`` (written beside it, then renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(partial, "wb") as out:
            pack(version_dir, out)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def unpack(archive: Path, target: Path, max_bytes: int, label: str, max_ratio: int = DEFAULT_MAX_RATIO) -> int:
    """Unpack ``archive`` as the model version directory ``target``; return the bytes written.

    ``label`` names the model in messages ("guest#9999#... 2020..."). Refuses (FlowError) an
    existing ``target``, unsafe member names (absolute, ``..``), links and special files,
    encrypted members, a declared or actual total above ``max_bytes``, a member or archive
    that unpacks to more than ``max_ratio`` times its compressed size (a zip bomb, even one
    within ``max_bytes``) and any corrupt or truncated archive; on refusal nothing is left:
    members are written into a temporary sibling directory that is renamed onto ``target``
    only when complete.
    """
    if target.exists():
        raise FlowError(f"Model {label} local cache already existed")
    parent = target.parent
    made_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.unpack-", dir=parent))
    try:
        written = _unpack_into(archive, staging, max_bytes, label, max_ratio)
        if target.exists():  # another import or restore won the race
            raise FlowError(f"Model {label} local cache already existed")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made_parent:
            _remove_if_empty(parent)
        raise
    logger.info("unpacked model %s: %s bytes into %s", label, written, target)
    return written


def _unpack_into(archive: Path, staging: Path, max_bytes: int, label: str, max_ratio: int) -> int:
    # the causes are logged, not answered: their text holds paths and library internals
    try:
        with zipfile.ZipFile(archive) as zf:
            members = checked_members(zf, max_bytes, label, max_ratio, archive.stat().st_size)
            written = 0
            for info, parts in members:
                written = _extract(zf, info, staging.joinpath(*parts), written, max_bytes, label)
            return written
    except FlowError:
        raise
    except _CORRUPT as exc:
        logger.warning("model archive of %s is not a valid zip: %r", label, exc)
        raise FlowError(f"model archive of {label} is not a valid zip file (truncated or corrupt?)") from exc
    except OSError as exc:
        logger.warning("model archive of %s could not be unpacked: %r", label, exc)
        raise FlowError(f"model archive of {label} could not be unpacked on the server (see its log)") from exc


def checked_members(zf: zipfile.ZipFile, max_bytes: int, label: str, max_ratio: int = DEFAULT_MAX_RATIO,
                    archive_size: int | None = None) -> list[tuple[zipfile.ZipInfo, list[str]]]:
    """``[(info, path parts)]`` of an archive whose names, types and declared sizes are acceptable.

    Declared sizes are good enough for the ratio: zipfile never yields more than a member's
    declared size nor reads more than its compressed size (and the copy counts bytes too).
    """
    members, declared = [], 0
    for info in zf.infolist():
        parts = safe_parts(info.filename)
        name = show_value(info.filename)  # escaped and cut short: names come from the sender
        if parts is None:
            raise FlowError(f"model archive of {label} refused: member {name} has an absolute path "
                            f"or a '..' component")
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
            raise FlowError(f"model archive of {label} refused: member {name} is {kind}")
        if info.flag_bits & 0x1:
            raise FlowError(f"model archive of {label} refused: member {name} is encrypted")
        declared += info.file_size
        if declared > max_bytes:
            raise _too_big(label, max_bytes)
        _check_ratio(f"member {name}", info.file_size, info.compress_size, max_ratio, label)
        if parts:
            members.append((info, parts))
    if archive_size is not None:
        _check_ratio("the archive", declared, archive_size, max_ratio, label)
    if not any(not info.is_dir() for info, _ in members):
        raise FlowError(f"model archive of {label} refused: it holds no files")
    return members


def _check_ratio(what: str, size: int, compressed: int, max_ratio: int, label: str) -> None:
    if size > RATIO_FLOOR and size > max_ratio * max(compressed, 1):
        raise FlowError(f"model archive of {label} refused: {what} unpacks to {size} bytes from {compressed}, "
                        f"more than {max_ratio} times as many (model_store.import_max_ratio)")


def safe_parts(name: str) -> list[str] | None:
    """Path components of a member name, or None when it is absolute or climbs out with ``..``."""
    if not name or "\0" in name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return None
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return parts


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, written: int, max_bytes: int,
             label: str) -> int:
    if info.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return written
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        out = open(dest, "xb")  # "x": a duplicate member is refused
    except FileExistsError:
        raise FlowError(f"model archive of {label} refused: member {show_value(info.filename)} "
                        f"appears twice") from None
    with zf.open(info) as src, out:
        return copy_counted(src, out, written, max_bytes, label)


def copy_counted(src: BinaryIO, out: BinaryIO, written: int, max_bytes: int, label: str) -> int:
    """Copy ``src`` to ``out``; refuse once the running total passes ``max_bytes``."""
    while True:
        chunk = src.read(COPY_CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > max_bytes:
            raise _too_big(label, max_bytes)
        out.write(chunk)


def _too_big(label: str, max_bytes: int) -> FlowError:
    # declared sizes are checked first, then bytes as written, since headers can lie
    return FlowError(f"model archive of {label} refused: it unpacks to more than {max_bytes} bytes "
                     f"(model_store.import_max_bytes)")


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
