"""Embedded table storage: FATE's upload line format, staged commits, atomic replace, download."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import fate_flow.storage.local as local_module
from fate_flow.storage import (LocalStorage, MemoryStorage, StorageError, TableMeta, TableNotFoundError, TableStorage,
                               UploadFormatError, check_name, iter_line_batches, open_storage, read_ahead,
                               register_engine, write_delimited)

# FATE's example file (spec 12.3): the repo's copy, else the shared reference tree.
REPO_BREAST = Path(__file__).resolve().parents[1] / "examples" / "data" / "breast_hetero_guest.csv"
BREAST = REPO_BREAST if REPO_BREAST.exists() else Path("/work/shared/fate-reference/data/breast_hetero_guest.csv")
ENGINES = ["local", "memory"]


@pytest.fixture(params=ENGINES)
def storage(request, tmp_path) -> TableStorage:
    return open_storage(request.param, tmp_path / "store")


@pytest.fixture
def local(tmp_path) -> LocalStorage:
    return open_storage("local", tmp_path / "store")


def write_file(tmp_path: Path, content: bytes | str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def upload(storage: TableStorage, path: Path, name: str = "t", mode: str = "create", head: bool = True,
           block_size: int = 8 << 20, partitions: int = 1) -> TableMeta:
    """What the upload task does: stream batches into a writer, then commit with the header as schema."""
    lines = iter_line_batches(path, block_size=block_size, head=head)
    writer = storage.writer("ns", name, partitions)
    for ids, values in lines:
        writer.write_batch(ids, values)
    return storage.commit(writer, TableMeta("ns", name, partitions=partitions, schema=lines.header), mode)


def rows_of(storage: TableStorage, name: str = "t") -> list[tuple[str, str]]:
    with storage.open("ns", name) as table:
        return [(row["id"], row["value"]) for batch in table.iter_batches() for row in batch.to_pylist()]


def parse_all(path: Path, block_size: int, head: bool = True) -> tuple[dict, list[tuple[str, str]], int]:
    lines = iter_line_batches(path, block_size=block_size, head=head)
    rows = [pair for ids, values in lines for pair in zip(ids.to_pylist(), values.to_pylist())]
    return lines.header, rows, lines.lines_read


def oracle(text: str, head: bool) -> tuple[dict, list[tuple[str, str]]]:
    """FATE's rule written the slow, obvious way: the reference for the vectorised parser."""
    lines = [line.removesuffix("\r").replace("\t", ",") for line in text.split("\n")]
    lines = [line for line in lines if line]
    header = {}
    if head:
        fields = lines.pop(0).split(",")
        header = {"header": ",".join(fields[1:]).strip(), "sid": fields[0]}
    return header, [tuple(line.split(",", 1)) if "," in line else (line, "") for line in lines]


TRICKY = ("id,y,x0\r\n"
          "\n"
          "1,0,é中文\r\n"
          "2\t1\t0.5\n"
          ",empty id\n"
          "lonely\n"
          "3," + "9" * 3000 + "\n"
          "\r\n"
          "4,a,b,c,d\n"
          "5,last line without newline")


# -- parsing: FATE's line format -------------------------------------------------------------------

def test_breast_file_header_and_rows():
    header, rows, count = parse_all(BREAST, 8 << 20)
    assert header == {"header": "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9", "sid": "id"}
    assert count == len(rows) == 569
    assert rows[0] == ("133", "1,0.254879,-1.046633,0.209656,0.074214,-0.441366,-0.377645,-0.485934,0.347072,"
                              "-0.287570,-0.733474")


@pytest.mark.parametrize("head", [True, False])
def test_tricky_text_matches_the_oracle_for_every_block_size(tmp_path, head):
    path = write_file(tmp_path, TRICKY)
    expected = oracle(TRICKY, head)
    longest = max(len(line) for line in TRICKY.encode().split(b"\n"))
    for block_size in (1, 7, 64, longest, longest + 1, 8 << 20):
        header, rows, count = parse_all(path, block_size, head)
        assert (header, rows) == expected, block_size
        assert count == len(rows)


def test_random_lines_match_the_oracle_with_long_ids_and_ragged_rows(tmp_path, monkeypatch):
    """Ids from empty to longer than the first-comma probe, any field count, CR/LF, tabs."""
    import random

    import fate_flow.storage.csv_lines as csv_lines

    rng = random.Random(11)
    lines = ["id,a,b"]
    for _ in range(3000):
        ident = "".join(rng.choice("0123456789ab") for _ in range(rng.choice([0, 1, 3, 7, 23, 24, 25, 40])))
        fields = [str(rng.randint(0, 999)) for _ in range(rng.choice([0, 1, 2, 2, 2, 5]))]
        sep = rng.choice([",", ",", ",", "\t"])
        lines.append(ident + "".join(sep + f for f in fields) + rng.choice(["", "", "\r"]))
    text = "\n".join(lines) + "\n"
    path = write_file(tmp_path, text)
    expected = oracle(text, True)
    expected_ragged = sum(1 for line in text.split("\n")[1:]
                          if line.rstrip("\r") and len(line.rstrip("\r").replace("\t", ",").split(",")) != 3)
    variants = [False, True] if hasattr(csv_lines.np, "bitwise_count") else [False]
    for without_popcount in variants:
        if without_popcount:
            monkeypatch.delattr(csv_lines.np, "bitwise_count")
        for block_size in (97, 4096, 8 << 20):
            lines_read = iter_line_batches(path, block_size=block_size)
            rows = [pair for ids, values in lines_read for pair in zip(ids.to_pylist(), values.to_pylist())]
            assert (lines_read.header, rows) == expected, block_size
            assert lines_read.ragged_rows == expected_ragged, (block_size, without_popcount)


def test_breast_file_parses_identically_with_tiny_blocks():
    reference = parse_all(BREAST, 8 << 20)
    longest = max(len(line) for line in BREAST.read_bytes().split(b"\n"))
    for block_size in (64, longest + 1, longest - 40):
        assert parse_all(BREAST, block_size) == reference, block_size


def test_crlf_tabs_and_lines_without_comma(tmp_path):
    path = write_file(tmp_path, "id\ty\tx0\r\n1\t0\t1.5\r\nbare\r\n2,1,2.5\r\n")
    header, rows, _ = parse_all(path, 8 << 20)
    assert header == {"header": "y,x0", "sid": "id"}
    assert rows == [("1", "0,1.5"), ("bare", ""), ("2", "1,2.5")]


def test_head_false_keeps_the_first_line_as_data(tmp_path):
    path = write_file(tmp_path, "1,2019010533:1,2019011092:3\n2,2019010533:2\n")
    lines = iter_line_batches(path, head=False)
    assert lines.header == {}
    assert [pair for ids, values in lines for pair in zip(ids.to_pylist(), values.to_pylist())] == [
        ("1", "2019010533:1,2019011092:3"), ("2", "2019010533:2")]
    assert lines.lines_read == 2 and lines.ragged_rows == 0


def test_counters_and_ragged_rows(tmp_path):
    content = "id,a,b\n\n1,2,3\n2,3\n3,4,5,6\n4,5,6\n"
    path = write_file(tmp_path, content)
    lines = iter_line_batches(path, block_size=8)
    assert sum(len(ids) for ids, _ in lines) == 4
    assert (lines.lines_read, lines.bytes_read, lines.file_size) == (4, len(content), len(content))
    assert (lines.ragged_rows, lines.first_ragged_line) == (2, 4)


def test_utf8_bom_is_not_part_of_the_first_field(tmp_path):
    path = write_file(tmp_path, b"\xef\xbb\xbfid,x\n1,2\n")
    assert parse_all(path, 8 << 20)[0] == {"header": "x", "sid": "id"}


@pytest.mark.parametrize("block_size", [4, 8 << 20])
def test_invalid_utf8_names_its_line(tmp_path, block_size):
    path = write_file(tmp_path, b"id,x\n1,a\n2,\xff\xfe\n3,b\n")
    with pytest.raises(UploadFormatError, match=r"line 3\b.*UTF-8"):
        parse_all(path, block_size)


@pytest.mark.parametrize("block_size", [4, 8 << 20])
def test_nul_byte_names_its_line(tmp_path, block_size):
    path = write_file(tmp_path, b"id,x\n1,a\n2,\x00\x01\x02b\n3,b\n")
    with pytest.raises(UploadFormatError, match=r"line 3\b.*NUL"):
        parse_all(path, block_size)


@pytest.mark.parametrize("content", ["", "\n\n\r\n", "id,x,y\n", "id,x,y\n\n\n"])
def test_empty_file_or_only_a_header_is_refused_up_front(tmp_path, content):
    path = write_file(tmp_path, content)
    with pytest.raises(UploadFormatError, match="is empty"):
        iter_line_batches(path, block_size=2)


# -- storage: commit modes, duplicates, snapshots --------------------------------------------------

def test_breast_round_trip_is_byte_for_byte(storage, tmp_path):
    meta = upload(storage, BREAST, block_size=4096)
    assert (meta.count, meta.partitions, meta.engine) == (569, 1, storage.engine)
    assert meta.schema == {"header": "y,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9", "sid": "id"}
    assert meta.create_time > 0
    with storage.open("ns", "t") as table:
        assert table.count() == 569 and table.meta == meta
        assert table.read_ids()[:2].to_pylist() == ["133", "273"]
        out = tmp_path / "out.csv"
        done = []
        assert write_delimited(table, out, progress=done.append) == 569
    assert done[-1] == 569
    assert out.read_bytes() == BREAST.read_bytes().split(b"\n", 1)[1]


def test_duplicates_keep_the_last_value_in_order_of_last_occurrence(storage, tmp_path):
    path = write_file(tmp_path, "id,v\n1,a\n2,b\n1,c\n3,d\n2,e\n")
    meta = upload(storage, path, block_size=8)
    assert meta.count == 3
    assert rows_of(storage) == [("1", "c"), ("3", "d"), ("2", "e")]


def test_create_refuses_an_existing_table(storage, tmp_path):
    upload(storage, write_file(tmp_path, "id,v\n1,a\n"))
    with pytest.raises(StorageError, match=r"ns\.t"):
        upload(storage, write_file(tmp_path, "id,v\n9,z\n", "other.csv"))
    assert rows_of(storage) == [("1", "a")]


def test_replace_swaps_and_open_snapshots_keep_reading_the_old_rows(storage, tmp_path):
    upload(storage, write_file(tmp_path, "id,v\n1,a\n2,b\n"))
    with storage.open("ns", "t") as before:
        meta = upload(storage, write_file(tmp_path, "id,w\n3,c\n", "new.csv"), mode="replace")
        assert before.count() == 2 and before.read_ids().to_pylist() == ["1", "2"]
    assert meta.count == 1 and meta.schema["header"] == "w"
    assert rows_of(storage) == [("3", "c")]
    assert storage.open("ns", "t").meta.schema["header"] == "w"


def test_replace_of_a_missing_table_creates_it(storage, tmp_path):
    assert upload(storage, write_file(tmp_path, "id,v\n1,a\n"), mode="replace").count == 1
    assert storage.exists("ns", "t")


@pytest.mark.parametrize("engine", ENGINES)
def test_failure_before_the_swap_leaves_the_old_table(tmp_path, monkeypatch, engine):
    storage = open_storage(engine, tmp_path / "store")
    upload(storage, write_file(tmp_path, "id,v\n1,a\n2,b\n"))

    def broken(*args):
        raise RuntimeError("disk on fire")
    module = sys.modules[type(storage).__module__]
    for name in ("last_occurrence_rows", "_rows_to_keep"):  # the duplicate check, just before the swap
        if hasattr(module, name):
            monkeypatch.setattr(module, name, broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        upload(storage, write_file(tmp_path, "id,v\n3,c\n", "new.csv"), mode="replace")
    assert rows_of(storage) == [("1", "a"), ("2", "b")]


def test_local_rename_failure_leaves_the_old_table_and_no_staging(local, tmp_path, monkeypatch):
    upload(local, write_file(tmp_path, "id,v\n1,a\n"))

    def refuse(src, dst):
        raise OSError("rename refused")
    monkeypatch.setattr(local_module.os, "replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        upload(local, write_file(tmp_path, "id,v\n3,c\n", "new.csv"), mode="replace")
    monkeypatch.undo()
    assert rows_of(local) == [("1", "a")]
    assert list((local.root / ".staging").iterdir()) == []


def test_local_crash_between_data_swap_and_meta_rename_keeps_meta_matching_data(local, tmp_path, monkeypatch):
    upload(local, write_file(tmp_path, "id,v\n1,a\n"))
    real_replace = os.replace

    def crash_on_meta_rename(src, dst):
        if str(dst).endswith("meta.json"):
            raise OSError("power cut")
        return real_replace(src, dst)
    monkeypatch.setattr(local_module.os, "replace", crash_on_meta_rename)
    with pytest.raises(OSError, match="power cut"):
        upload(local, write_file(tmp_path, "id,w\n2,b\n3,c\n", "new.csv"), mode="replace")
    monkeypatch.undo()
    with local.open("ns", "t") as table:  # the new data is in place: its meta comes from the pending file
        assert (table.count(), table.meta.schema["header"]) == (2, "w")
    assert local.read_meta("ns", "t").count == 2  # meta.json is stale while a pending meta is there
    upload(local, write_file(tmp_path, "id,x\n4,d\n", "third.csv"), mode="replace")
    assert sorted(p.name for p in (local.root / "ns" / "t").iterdir()) == ["data.parquet", "meta.json"]
    assert rows_of(local) == [("4", "d")]


def test_readers_racing_replaces_always_see_matching_meta_and_rows(local):
    def version(rows: int) -> None:
        writer = local.writer("ns", "t")
        ids = pa.array([str(i) for i in range(rows)])
        writer.write_batch(ids, ids)
        local.commit(writer, TableMeta("ns", "t", schema={"header": f"h{rows}"}), "replace")
    version(1)
    seen = set()

    def read(_) -> None:
        for _ in range(40):
            with local.open("ns", "t") as table:
                rows = len(table.read_ids())
                assert table.meta.schema["header"] == f"h{rows}" and table.count() == rows
                seen.add(rows)
    with ThreadPoolExecutor(3) as pool:
        readers = pool.map(read, range(2))
        for rows in range(2, 40):
            version(rows)
        list(readers)
    assert len(seen) > 1


def test_append_puts_new_rows_after_old_ones_and_resolves_duplicates(storage, tmp_path):
    upload(storage, write_file(tmp_path, "id,v\n1,a\n2,b\n"))
    meta = upload(storage, write_file(tmp_path, "id,v\n2,c\n3,d\n", "more.csv"), mode="append")
    assert meta.count == 3
    assert rows_of(storage) == [("1", "a"), ("2", "c"), ("3", "d")]


def test_append_to_a_missing_table_creates_it(storage, tmp_path):
    assert upload(storage, write_file(tmp_path, "id,v\n1,a\n"), mode="append").count == 1


def test_concurrent_appends_are_serialised(local):
    def append(worker: int) -> None:
        writer = local.writer("ns", "t")
        ids = pa.array([f"{worker}-{i}" for i in range(200)])
        writer.write_batch(ids, ids)
        local.commit(writer, TableMeta("ns", "t"), "append")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(append, range(8)))
    with local.open("ns", "t") as table:
        assert table.count() == len(set(table.read_ids().to_pylist())) == 1600


def stage_in_another_process(root: Path, rows: int) -> str:
    """Write and close a staged table in a child process, as a task does; return its staging id."""
    code = ("import sys, pyarrow as pa; from fate_flow.storage import open_storage; "
            "w = open_storage('local', sys.argv[1]).writer('ns', 't'); "
            f"ids = pa.array([str(i % 7) for i in range({rows})]); w.write_batch(ids, ids); "
            "w.close(); print(w.staging_id)")
    result = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_a_closed_writer_is_committed_from_another_process(local):
    staging_id = stage_in_another_process(local.root, 20)
    writer = local.resume_writer("ns", "t", staging_id)
    assert writer.rows_written == 20 and writer.is_closed
    meta = local.commit(writer, TableMeta("ns", "t", schema={"header": "x", "sid": "id"}), "create")
    assert meta.count == 7
    assert rows_of(local) == [(str(i), str(i)) for i in (6, 0, 1, 2, 3, 4, 5)]
    with pytest.raises(StorageError, match=staging_id):
        local.resume_writer("ns", "t", staging_id)


def test_resume_writer_refuses_unknown_foreign_or_unclosed_staging(storage):
    writer = storage.writer("ns", "t")
    writer.write_batch(pa.array(["1"]), pa.array(["a"]))
    with pytest.raises(StorageError):
        storage.resume_writer("ns", "t", writer.staging_id)  # still open
    writer.close()
    with pytest.raises(StorageError):
        storage.resume_writer("ns", "other", writer.staging_id)
    with pytest.raises(StorageError):
        storage.resume_writer("ns", "t", "w-unknown")
    resumed = storage.resume_writer("ns", "t", writer.staging_id)
    assert storage.commit(resumed, TableMeta("ns", "t"), "create").count == 1


def test_a_commit_without_rows_makes_an_empty_table(storage):
    meta = storage.commit(storage.writer("ns", "t"), TableMeta("ns", "t"), "create")
    with storage.open("ns", "t") as table:
        assert meta.count == table.count() == 0
        assert list(table.iter_batches()) == [] and len(table.read_ids()) == 0


def test_delete(storage, tmp_path):
    upload(storage, write_file(tmp_path, "id,v\n1,a\n"))
    assert storage.delete("ns", "t") is True
    assert storage.exists("ns", "t") is False
    assert storage.delete("ns", "t") is False
    with pytest.raises(TableNotFoundError, match=r"ns\.t"):
        storage.open("ns", "t")


def test_abort_removes_staging_and_closes_the_writer(storage, tmp_path):
    writer = storage.writer("ns", "t")
    writer.write_batch(pa.array(["1"]), pa.array(["a"]))
    assert writer.rows_written == 1
    storage.abort(writer)
    storage.abort(writer)
    with pytest.raises(StorageError, match="closed"):
        writer.write_batch(pa.array(["2"]), pa.array(["b"]))
    assert not storage.exists("ns", "t")
    if isinstance(storage, LocalStorage):
        assert list((storage.root / ".staging").iterdir()) == []


def test_commit_checks_mode_and_meta_and_always_consumes_the_writer(storage):
    writer = storage.writer("ns", "t")
    with pytest.raises(ValueError, match="length"):
        writer.write_batch(pa.array(["1", "2"]), pa.array(["a"]))
    with pytest.raises(ValueError, match="mode"):
        storage.commit(writer, TableMeta("ns", "t"), "upsert")
    with pytest.raises(StorageError, match="already committed or aborted"):
        storage.commit(writer, TableMeta("ns", "t"), "create")
    with pytest.raises(ValueError, match="other"):
        storage.commit(storage.writer("ns", "t"), TableMeta("ns", "other"), "create")
    assert not storage.exists("ns", "t")


def test_iter_batches_respects_batch_rows(storage):
    writer = storage.writer("ns", "t")
    ids = pa.array(np.arange(1000)).cast(pa.string())
    writer.write_batch(ids, pc.binary_join_element_wise(ids, "v", ""))
    storage.commit(writer, TableMeta("ns", "t"), "create")
    with storage.open("ns", "t") as table:
        sizes = [batch.num_rows for batch in table.iter_batches(batch_rows=300)]
        assert max(sizes) <= 300 and sum(sizes) == 1000
        assert table.read_ids().equals(ids)


def test_local_layout_and_meta_json(local, tmp_path):
    meta = upload(local, BREAST)
    table_dir = local.root / "ns" / "t"
    assert sorted(p.name for p in table_dir.iterdir()) == ["data.parquet", "meta.json"]
    assert TableMeta.from_dict(json.loads((table_dir / "meta.json").read_text())) == meta
    assert TableMeta.from_dict(meta.to_dict()) == meta


# -- download -------------------------------------------------------------------------------------

def test_download_with_tab_delimiter_and_bare_ids(storage, tmp_path):
    upload(storage, write_file(tmp_path, "1,a,b\nbare\n2,c\n"), head=False)
    out = tmp_path / "out.tsv"
    with storage.open("ns", "t") as table:
        assert write_delimited(table, out, delimiter="\t") == 3
    assert out.read_text() == "1\ta,b\nbare\n2\tc\n"


def test_failed_download_leaves_no_file(storage, tmp_path):
    upload(storage, write_file(tmp_path, "id,v\n1,a\n"))
    out = tmp_path / "out.csv"

    def cancel(rows):
        raise KeyboardInterrupt
    with storage.open("ns", "t") as table, pytest.raises(KeyboardInterrupt):
        write_delimited(table, out, progress=cancel)
    assert list(tmp_path.glob("out.csv*")) == []


# -- names, registry, isolation -------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", "a\0b", ".", "..", ".staging", "x" * 201])
def test_check_name_rejects_unsafe_names(storage, bad):
    with pytest.raises(ValueError, match="namespace"):
        check_name("namespace", bad)
    with pytest.raises(ValueError, match="table_name"):
        storage.writer("ns", bad)
    with pytest.raises(ValueError, match="namespace"):
        storage.open(bad, "t")


def test_check_name_accepts_fate_names():
    for name in ("fate_flow_test_breast_hetero", "breast_hetero_guest", "guest-9999.v1", "x" * 200, "a b"):
        assert check_name("table_name", name) == name


def test_registry(tmp_path):
    with pytest.raises(ValueError, match="unknown storage engine 'hdfs'.*local"):
        open_storage("hdfs")
    with pytest.raises(ValueError, match="root"):
        open_storage("local")

    class Tagged(MemoryStorage):
        engine = "tagged"
    register_engine("tagged", Tagged)
    assert isinstance(open_storage("tagged"), Tagged)


def test_storage_imports_no_server_modules():
    code = ("import sys, fate_flow.storage; "
            "print([m for m in sys.modules if m.split('.')[0] in ('flask', 'peewee', 'requests') "
            "or m.startswith(('fate_flow.db', 'fate_flow.apps'))])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- memory ---------------------------------------------------------------------------------------

def generate_csv(path: Path, rows: int, columns: int, chunk: int = 50_000) -> None:
    """A header plus ``rows`` lines of an integer id and ``columns`` floats, written vectorised."""
    rng = np.random.default_rng(7)
    with open(path, "wb") as out:
        out.write(",".join(["id"] + [f"x{i}" for i in range(columns)]).encode() + b"\n")
        for start in range(0, rows, chunk):
            count = min(chunk, rows - start)
            ids = pa.array(np.arange(start, start + count)).cast(pa.string())
            floats = [pc.cast(pa.array(rng.random(count).round(6)), pa.string()) for _ in range(columns)]
            lines = pc.binary_join_element_wise(pc.binary_join_element_wise(ids, *floats, ","), "", "\n")
            out.write(pc.binary_join(pa.array([lines], pa.list_(pa.string())), "")[0].as_buffer())


def traced_peak(run) -> tuple[object, int]:
    """``run()`` and the peak of Python-heap memory it used (numpy buffers included)."""
    tracemalloc.start()
    try:
        return run(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("ahead", [False, True], ids=["serial", "read_ahead"])
def test_upload_memory_is_bounded_by_the_block_not_the_file(local, tmp_path, ahead):
    path = tmp_path / "big.csv"
    generate_csv(path, 300_000, 10)
    size = path.stat().st_size
    assert size > 25 << 20
    block = 1 << 20
    upload(local, write_file(tmp_path, "id,v\n1,a\n"), name="warm-up")  # modules load on first use: not traced

    rows, parse_peak = traced_peak(lambda: sum(len(ids) for ids, _ in iter_line_batches(path, block_size=block)))
    assert rows == 300_000
    assert parse_peak < 8 * block, parse_peak  # a few block-sized temporaries, whatever the file size

    arrow_base, arrow_peak = pa.total_allocated_bytes(), 0

    def upload_big():
        nonlocal arrow_peak
        lines = iter_line_batches(path, block_size=block)
        writer = local.writer("ns", "big")
        for ids, values in read_ahead(lines) if ahead else lines:
            writer.write_batch(ids, values)
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - arrow_base)
        return local.commit(writer, TableMeta("ns", "big", schema=lines.header), "create")
    meta, upload_peak = traced_peak(upload_big)
    assert meta.count == 300_000
    # Measured about 6 and 2.3 blocks, read ahead or not; the file is 28 blocks. (Commit then
    # reads the ids, not the values, back into Arrow's pool to deduplicate them: memory in
    # ids, not in bytes.)
    assert upload_peak < 8 * block, upload_peak
    assert arrow_peak < 4 * block, arrow_peak


def test_read_ahead_gives_every_item_in_order_and_raises_the_source_error():
    assert list(read_ahead(iter(range(1000)), depth=2)) == list(range(1000))

    def failing():
        yield 1
        raise UploadFormatError("f.csv", "is not valid UTF-8 text", 7)
    got = []
    with pytest.raises(UploadFormatError, match="line 7"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1]


def test_read_ahead_stopped_early_closes_the_source(tmp_path):
    path = tmp_path / "big.csv"
    generate_csv(path, 20_000, 3)
    lines = iter_line_batches(path, block_size=4096)
    ahead = read_ahead(lines)
    next(ahead)
    ahead.close()  # what a caller's break or error does
    assert lines._file.closed
    assert all(t.name != "read-ahead" for t in threading.enumerate())


def test_last_occurrences_of_integer_and_mixed_ids():
    from fate_flow.storage.base import last_occurrence_rows

    assert last_occurrence_rows(pa.array(["3", "1", "2"])) is None
    assert list(last_occurrence_rows(pa.array(["3", "1", "3", "2", "1"]))) == [2, 3, 4]
    # "07" and "7" are different ids: not the integer path
    assert last_occurrence_rows(pa.array(["7", "07", "-7"])) is None
    assert list(last_occurrence_rows(pa.array(["7", "07", "7"]))) == [1, 2]
    chunked = pa.chunked_array([pa.array(["10", "20"]), pa.array(["10"])])
    assert list(last_occurrence_rows(chunked)) == [1, 2]


def test_read_meta_answers_from_the_meta_file_alone(storage, tmp_path):
    with pytest.raises(TableNotFoundError):
        storage.read_meta("ns", "t")
    upload(storage, write_file(tmp_path, "id,v\n1,a\n2,b\n"))
    meta = storage.read_meta("ns", "t")
    assert (meta.count, meta.schema, meta.partitions) == (2, {"header": "v", "sid": "id"}, 1)
    storage.delete("ns", "t")
    with pytest.raises(TableNotFoundError):
        storage.read_meta("ns", "t")


def test_storage_package_loads_no_numpy_or_pyarrow_until_rows_are_touched(tmp_path):
    code = ("import sys; import fate_flow.storage as s; st = s.open_storage('local', sys.argv[1]); "
            "st.exists('ns', 't'); s.check_name('namespace', 'ns'); s.TableMeta('ns', 't'); "
            "print(','.join(m for m in ('numpy', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


def test_canonical_integers_agree_with_the_pattern():
    """Read from the string buffers with numpy; the reference is the regular expression it replaced."""
    import random
    import re

    from fate_flow.storage.base import canonical_integers

    pattern = re.compile(r"^(0|-?[1-9][0-9]{0,17})$")
    cases = [["0"], ["-0"], ["00"], ["7", "07"], ["-"], [""], ["+7"], ["1e3"], ["123456789012345678"],
             ["1234567890123456789"], ["-123456789012345678"], ["9", "10", "-5", "0"], [" 1"], ["12a"], []]
    rng = random.Random(7)
    for _ in range(500):
        cases.append(["".join(rng.choice("0123456789-+ a") for _ in range(rng.randint(0, 5)))
                      for _ in range(rng.randint(1, 4))])
        cases.append([str(rng.randint(-10 ** 18 + 1, 10 ** 18 - 1)) for _ in range(3)])
    for ids in cases:
        expected = [int(x) for x in ids] if all(pattern.match(x) for x in ids) else None
        got = canonical_integers(pa.array(ids, pa.string()))
        assert (None if got is None else got.tolist()) == expected, ids
    sliced = pa.array(["x", "5", "6", "-7"]).slice(1)
    assert canonical_integers(sliced).tolist() == [5, 6, -7]
    assert canonical_integers(pa.chunked_array([sliced.slice(0, 2), pa.array(["8"])])).tolist() == [5, 6, 8]
    assert canonical_integers(pa.array(["5", "12"], pa.large_string())).tolist() == [5, 12]
    assert canonical_integers(pa.array(["1", None])) is None
