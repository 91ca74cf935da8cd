"""Model store backends (MariaDB slices, Redis) and the ModelStore/ModelRestore programs."""
from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest

from fate_flow.components.base import ComponentContext
from fate_flow.components.model_store.param import ModelRestoreParam, ModelStoreParam
from fate_flow.components.model_store.programs import ModelRestore, ModelStore
from fate_flow.errors import FlowError
from fate_flow.model_storage import store as model_store
from fate_flow.settings import ModelStoreSettings
from tests.flow_server import drop_mysql_database, unique_mysql_url

REDIS_DB = 5  # a database of its own: keys are still removed one by one afterwards


def redis_address() -> dict:
    import redis

    try:
        redis.Redis(socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError):
        pytest.skip("no Redis reachable on 127.0.0.1:6379")
    return {"storage": "redis", "host": "127.0.0.1", "port": 6379, "db": REDIS_DB, "password": "", "ex": 0}


@pytest.fixture(params=["mysql", "redis"])
def address(request):
    if request.param == "redis":
        yield redis_address()
        return
    url = unique_mysql_url()
    if url is None:
        pytest.skip("no MySQL/MariaDB reachable on 127.0.0.1:3306")
    yield {"storage": "mysql", "url": url, "slice_size": 1000}
    drop_mysql_database(url)


@pytest.fixture
def names(address):
    """A party model id of its own per test, deleted from the store afterwards."""
    party_model_id = f"guest#9999#test-{uuid.uuid4().hex[:8]}#model"
    yield party_model_id, "20261127000000000001"
    model_store.open_store(address).delete(party_model_id, "20261127000000000001")


def archive_of(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_store_and_get_are_byte_identical_across_many_slices(address, names, tmp_path):
    store = model_store.open_store(address)
    source = archive_of(tmp_path / "model.zip", 10_500)  # 11 slices of 1000 bytes in MySQL
    assert not store.exists(*names)
    slices = store.put(*names, source)
    assert slices == (11 if address["storage"] == "mysql" else 1)
    assert store.exists(*names)
    assert store.get(*names, tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == source.read_bytes()


def test_store_of_a_stored_model_needs_force_update(address, names, tmp_path):
    store = model_store.open_store(address)
    store.put(*names, archive_of(tmp_path / "v1.zip", 2500))
    with pytest.raises(FlowError, match="already stored in .*set force_update"):
        store.put(*names, archive_of(tmp_path / "v2.zip", 700))
    store.get(*names, tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == (tmp_path / "v1.zip").read_bytes(), "the first one stays"
    store.put(*names, tmp_path / "v2.zip", force_update=True)  # fewer slices than before: none left over
    store.get(*names, tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == (tmp_path / "v2.zip").read_bytes()


def test_get_of_a_model_never_stored(address, names, tmp_path):
    assert model_store.open_store(address).get(*names, tmp_path / "out.zip") is False
    assert not (tmp_path / "out.zip").exists()


def test_mysql_rows_are_raw_bytes_in_one_table(tmp_path):
    url = unique_mysql_url()
    if url is None:
        pytest.skip("no MySQL/MariaDB reachable")
    try:
        store = model_store.MySQLModelStore({"storage": "mysql", "url": url, "slice_size": 4})
        store.put("guest#1#m", "v", archive_of(tmp_path / "a.zip", 10))
        with store.database.connection_context():
            rows = list(store.slices.select().order_by(store.slices.f_slice_index).dicts())
            kind = store.database.execute_sql("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE "
                                              "TABLE_NAME='t_machine_learning_model' AND COLUMN_NAME='f_content' "
                                              "AND TABLE_SCHEMA=DATABASE()").fetchone()[0]
        assert kind == "longblob"
        assert [(r["f_slice_index"], r["f_slice_count"], r["f_size"]) for r in rows] == [(0, 3, 10), (1, 3, 10),
                                                                                        (2, 3, 10)]
        assert b"".join(bytes(r["f_content"]) for r in rows) == (tmp_path / "a.zip").read_bytes()
        # a lost slice is noticed, not restored as a shorter archive
        with store.database.connection_context():
            store.slices.delete().where(store.slices.f_slice_index == 1).execute()
        with pytest.raises(FlowError, match="incomplete"):
            store.get("guest#1#m", "v", tmp_path / "b.zip")
    finally:
        drop_mysql_database(url)


def test_mysql_default_slices_fit_the_servers_packet_limit(tmp_path):
    """8 MiB slices go as hex (16 MiB) through the driver: rows are capped to what the server takes."""
    url = unique_mysql_url()
    if url is None:
        pytest.skip("no MySQL/MariaDB reachable")
    try:
        store = model_store.MySQLModelStore({"storage": "mysql", "url": url})  # default 8 MiB slices
        source = archive_of(tmp_path / "a.zip", 9 << 20)
        slices = store.put("guest#1#m", "v", source)
        assert slices >= 2 and store.row_bytes <= store.slice_size == 8 << 20
        assert store.get("guest#1#m", "v", tmp_path / "b.zip")
        assert (tmp_path / "b.zip").read_bytes() == source.read_bytes()
    finally:
        drop_mysql_database(url)


def test_redis_key_and_expiry(tmp_path):
    address = dict(redis_address(), ex=100)
    store = model_store.open_store(address)
    name = f"host#10000#test-{uuid.uuid4().hex[:8]}#model"
    try:
        store.put(name, "v1", archive_of(tmp_path / "a.zip", 50))
        assert store.key(name, "v1") == f"FATEFlow:PipelinedModel:{name}:v1"
        assert 0 < store.client.ttl(store.key(name, "v1")) <= 100
        assert store.client.get(store.key(name, "v1")) == (tmp_path / "a.zip").read_bytes()
    finally:
        store.delete(name, "v1")


def test_unreachable_store_is_a_clear_error(tmp_path):
    for address in ({"storage": "redis", "host": "127.0.0.1", "port": 1, "db": 0},
                    {"storage": "mysql", "url": "mysql://root@127.0.0.1:1/x"}):
        with pytest.raises(FlowError, match="is unreachable"):
            model_store.open_store(address).exists("a#1#m", "v")


def test_store_address_from_settings_and_request():
    settings = ModelStoreSettings(url="mysql://u:secret@db:3307/models", slice_size=123)
    assert model_store.store_address(settings) == {"storage": "mysql", "url": "mysql://u:secret@db:3307/models",
                                                   "slice_size": 123}
    redis = ModelStoreSettings(storage="redis", redis_host="r", redis_port=7, redis_db=2, redis_ex=9)
    assert model_store.store_address(redis) == {"storage": "redis", "host": "r", "port": 7, "db": 2,
                                                "password": "", "ex": 9}
    fate_style = {"storage": "mysql", "name": "model_center", "host": "h", "port": 3306, "user": "root",
                  "password": "p@ss"}
    address = model_store.store_address(settings, fate_style)
    assert address["slice_size"] == 123
    assert model_store.describe(address) == "mysql h:3306/model_center"
    assert "p@ss" not in model_store.describe(address)
    with pytest.raises(FlowError, match="not supported"):
        model_store.store_address(settings, {"storage": "hdfs"})
    with pytest.raises(FlowError, match="database name"):
        model_store.open_store({"storage": "mysql", "url": "mysql://root@127.0.0.1/x`; DROP DATABASE y; --"})


# ---- the task programs ---------------------------------------------------------------------

class NoTracker:
    def log_metric_data(self, *a): ...
    def set_metric_meta(self, *a): ...
    def set_progress(self, *a): ...


def run_program(program, param_class, conf: dict) -> None:
    params = param_class().update(conf)
    params.check()
    ctx = ComponentContext(job_id="j", task_id="j_store_0", component_name="store_0", role="local", party_id=0,
                           roles={"local": [0]}, federation=None, tracker=NoTracker(),
                           logger=logging.getLogger("test"))
    program(params).run(ctx, {"data": {}})


def test_programs_store_then_restore_a_model_directory(address, names, tmp_path):
    party_model_id, version = names
    model_dir = tmp_path / "model_local_cache"
    source = model_dir / party_model_id / version
    (source / "variables" / "data" / "hetero_lr_0" / "hetero_lr").mkdir(parents=True)
    (source / "variables" / "data" / "hetero_lr_0" / "hetero_lr" / "Param").write_bytes(os.urandom(5000))
    (source / "pipeline.json").write_text('{"model_id": "m"}')
    files = {p.relative_to(source): p.read_bytes() for p in source.rglob("*") if p.is_file()}
    conf = {"model_id": party_model_id, "model_version": version, "store_address": address,
            "model_dir": str(model_dir), "temp_dir": str(tmp_path / "temp")}
    run_program(ModelStore, ModelStoreParam, conf)
    with pytest.raises(FlowError, match="already stored"):
        run_program(ModelStore, ModelStoreParam, conf)
    run_program(ModelStore, ModelStoreParam, dict(conf, force_update=True))
    with pytest.raises(FileExistsError, match="local cache already existed"):
        run_program(ModelRestore, ModelRestoreParam, conf)
    os.rename(source, tmp_path / "moved")
    run_program(ModelRestore, ModelRestoreParam, conf)
    assert {p.relative_to(source): p.read_bytes() for p in source.rglob("*") if p.is_file()} == files
    assert list((tmp_path / "temp").iterdir()) == [], "the task's temporary zips are removed"


def test_restore_program_of_a_model_never_stored(address, names, tmp_path):
    party_model_id, version = names
    conf = {"model_id": party_model_id, "model_version": version, "store_address": address,
            "model_dir": str(tmp_path / "cache"), "temp_dir": str(tmp_path / "temp")}
    with pytest.raises(FlowError, match="was never stored"):
        run_program(ModelRestore, ModelRestoreParam, conf)
    assert not (tmp_path / "cache").exists() and list((tmp_path / "temp").iterdir()) == []


def test_restore_program_refuses_a_stored_archive_that_climbs_out(address, names, tmp_path):
    import zipfile

    party_model_id, version = names
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped", b"x")
    model_store.open_store(address).put(party_model_id, version, evil)
    conf = {"model_id": party_model_id, "model_version": version, "store_address": address,
            "model_dir": str(tmp_path / "cache"), "temp_dir": str(tmp_path / "temp")}
    with pytest.raises(FlowError, match="'..' component"):
        run_program(ModelRestore, ModelRestoreParam, conf)
    assert not list(tmp_path.rglob("escaped"))
    assert list((tmp_path / "cache").iterdir()) == []


def test_params_refuse_path_like_names(tmp_path):
    params = ModelStoreParam().update({"model_id": "../../etc", "model_version": "v",
                                       "store_address": {"storage": "redis"}, "model_dir": "m", "temp_dir": "t"})
    with pytest.raises(ValueError, match="model_id"):
        params.check()
