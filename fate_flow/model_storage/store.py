"""Where /v1/model/store puts model archives and /v1/model/restore reads them: MySQL or Redis.

MySQL: table ``t_machine_learning_model`` on the model store's own database, one row per
slice of the zip (raw bytes in a LONGBLOB, never pickled or base64-encoded), all rows of a
model written in one transaction. Redis: one key ``FATEFlow:PipelinedModel:{party model
id}:{version}`` holding the zip. Both refuse to overwrite a stored model unless
``force_update``. Used by the server (checks before a job is submitted) and by the store
and restore task processes; the flow database is never touched.
"""
from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, unquote, urlparse

from peewee import (BigIntegerField, BlobField, CharField, CompositeKey, IntegerField, IntegrityError, Model,
                    MySQLDatabase, PeeweeException)
from pymysql import MySQLError

from fate_flow.errors import FlowError
from fate_flow.settings import ModelStoreSettings

logger = logging.getLogger("fate_flow.model")

# bytes of an INSERT besides the slice itself (SQL text, other columns)
PACKET_HEADROOM = 64 << 10
REDIS_KEY = "FATEFlow:PipelinedModel:{party_model_id}:{model_version}"
STORAGES = ("mysql", "redis")


def store_address(settings: ModelStoreSettings, override: Mapping[str, Any] | None = None) -> dict:
    """The FATE-style store address: a request's ``store_address`` or the configured store."""
    if override:
        if not isinstance(override, Mapping):
            raise FlowError("store_address must be an object such as {\"storage\": \"redis\", \"host\": ...}")
        address = dict(override)
        address.setdefault("storage", settings.storage)
        address.setdefault("slice_size", settings.slice_size)
    elif settings.storage == "redis":
        address = {"storage": "redis", "host": settings.redis_host, "port": settings.redis_port,
                   "db": settings.redis_db, "password": settings.redis_password, "ex": settings.redis_ex}
    else:
        address = {"storage": settings.storage, "url": settings.url, "slice_size": settings.slice_size}
    if address["storage"] not in STORAGES:
        raise _unsupported(address["storage"])
    return address


def open_store(address: Mapping[str, Any]) -> "MySQLModelStore | RedisModelStore":
    """The store an address names (nothing is connected until it is used)."""
    if address.get("storage") == "redis":
        return RedisModelStore(address)
    if address.get("storage") == "mysql":
        return MySQLModelStore(address)
    raise _unsupported(address.get("storage"))


def _unsupported(storage: Any) -> FlowError:
    return FlowError(f"model store storage {storage!r} is not supported (use mysql or redis)")


def describe(address: Mapping[str, Any]) -> str:
    """A store address for messages, without its password."""
    if address.get("storage") == "redis":
        return f"redis {address.get('host', '127.0.0.1')}:{address.get('port', 6379)}/{address.get('db', 0)}"
    url = urlparse(_mysql_url(address))
    return f"mysql {url.hostname}:{url.port or 3306}/{url.path.lstrip('/')}"


# ---- MySQL ---------------------------------------------------------------------------------

class LongBlobField(BlobField):
    field_type = "LONGBLOB"


class _SliceColumns(Model):
    f_party_model_id = CharField(max_length=500)
    f_model_version = CharField(max_length=100)
    f_slice_index = IntegerField()
    f_slice_count = IntegerField()
    # bytes of the whole archive (every slice carries it, so a missing slice is noticed)
    f_size = BigIntegerField()
    f_content = LongBlobField()
    f_create_time = BigIntegerField()
    f_update_time = BigIntegerField()


def _slice_model(database: MySQLDatabase) -> type[Model]:
    """The slice table bound to one store's database (a class per store: nothing global is rebound)."""
    meta = type("Meta", (), {"database": database, "table_name": "t_machine_learning_model",
                             "primary_key": CompositeKey("f_party_model_id", "f_model_version", "f_slice_index")})
    return type("MachineLearningModel", (_SliceColumns,), {"Meta": meta, "__module__": __name__})


def _mysql_url(address: Mapping[str, Any]) -> str:
    if address.get("url"):
        return str(address["url"])
    user = quote(str(address.get("user") or "root"), safe="")
    password = quote(str(address.get("password") or ""), safe="")
    return (f"mysql://{user}:{password}@{address.get('host', '127.0.0.1')}:{address.get('port', 3306)}/"
            f"{address.get('name') or address.get('database') or 'model_center'}")


class MySQLModelStore:
    """Model archives as slices of ``slice_size`` bytes in ``t_machine_learning_model``.

    A slice is capped at what the server takes in one statement (``max_allowed_packet``).
    """

    def __init__(self, address: Mapping[str, Any]) -> None:
        self.address = dict(address)
        self.url = urlparse(_mysql_url(address))
        self.name = self.url.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_$]{1,64}", self.name):
            raise FlowError(f"model store database name {self.name!r} should be 1-64 letters, digits, _ or $")
        self.slice_size = int(address.get("slice_size") or 8 << 20)
        if self.slice_size < 1:
            raise FlowError(f"model store slice_size should be positive, got {self.slice_size}")
        # the server login, shared by the peewee database and the CREATE DATABASE connection
        self._login = {"host": self.url.hostname or "127.0.0.1", "port": self.url.port or 3306,
                       "user": unquote(self.url.username or "root"), "password": unquote(self.url.password or "")}
        self.database = MySQLDatabase(self.name, charset="utf8mb4", **self._login)
        self.slices = _slice_model(self.database)
        self.row_bytes = self.slice_size
        self._ready = False

    @contextmanager
    def _session(self, atomic: bool = False):
        """A connection (and a transaction); database errors become FlowErrors naming the store."""
        try:
            self._prepare()
        except (PeeweeException, MySQLError, OSError) as exc:
            raise FlowError(f"model store {describe(self.address)} is unreachable: {exc}") from exc
        try:
            with self.database.connection_context():
                if not atomic:
                    yield
                    return
                with self.database.atomic():
                    yield
        except (PeeweeException, MySQLError, OSError) as exc:
            raise FlowError(f"model store {describe(self.address)} failed: {exc}") from exc

    def _prepare(self) -> None:
        if not self._ready:
            try:
                self._create_database()
            except MySQLError as exc:  # no CREATE privilege: the database must exist already
                logger.debug("model store %s: database not created: %s", describe(self.address), exc)
            with self.database.connection_context():
                self.database.create_tables([self.slices], safe=True)
                packet = int(self.database.execute_sql("SELECT @@max_allowed_packet").fetchone()[0])
            # the driver sends bytes as hex (twice their size); one row must fit in one statement
            self.row_bytes = min(self.slice_size, max(1, (packet - PACKET_HEADROOM) // 2))
            if self.row_bytes < self.slice_size:
                logger.info("model store %s: rows of %s bytes (max_allowed_packet %s), not slice_size %s",
                            describe(self.address), self.row_bytes, packet, self.slice_size)
            self._ready = True

    def _create_database(self) -> None:
        import pymysql

        conn = pymysql.connect(**self._login)
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{self.name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()

    def _model(self, party_model_id: str, model_version: str) -> tuple:
        """The WHERE terms that pick every slice of one model."""
        return (self.slices.f_party_model_id == party_model_id, self.slices.f_model_version == model_version)

    def _rows(self, party_model_id: str, model_version: str):
        return self.slices.select().where(*self._model(party_model_id, model_version))

    def exists(self, party_model_id: str, model_version: str) -> bool:
        """True if the model version has slices in the store."""
        with self._session():
            return self._rows(party_model_id, model_version).exists()

    def put(self, party_model_id: str, model_version: str, archive: Path, force_update: bool = False) -> int:
        """Store the zip at ``archive``; return the number of slices. One transaction."""
        size = archive.stat().st_size
        now = int(time.time() * 1000)
        with self._session(atomic=True):
            count = max(1, -(-size // self.row_bytes))
            if self._rows(party_model_id, model_version).exists():
                if not force_update:
                    raise already_stored(party_model_id, model_version, self.address)
                self.slices.delete().where(*self._model(party_model_id, model_version)).execute()
            try:
                with open(archive, "rb") as src:
                    for index in range(count):
                        self.slices.insert(f_party_model_id=party_model_id, f_model_version=model_version,
                                           f_slice_index=index, f_slice_count=count, f_size=size,
                                           f_content=src.read(self.row_bytes),
                                           f_create_time=now, f_update_time=now).execute()
            except IntegrityError as exc:  # a concurrent store of the same model
                raise already_stored(party_model_id, model_version, self.address) from exc
        logger.info("stored model %s %s in %s: %s bytes, %s slices", party_model_id, model_version,
                    describe(self.address), size, count)
        return count

    def get(self, party_model_id: str, model_version: str, out: Path) -> bool:
        """Write the stored zip to ``out``; False when the model was never stored."""
        with self._session():
            keys = list(self._rows(party_model_id, model_version)
                        .select(self.slices.f_slice_index, self.slices.f_slice_count, self.slices.f_size)
                        .order_by(self.slices.f_slice_index).tuples())
            if not keys:
                return False
            indexes = [k[0] for k in keys]
            if indexes != list(range(keys[0][1])) or len({(k[1], k[2]) for k in keys}) != 1:
                raise FlowError(f"stored model {party_model_id} {model_version} in {describe(self.address)} is "
                                f"incomplete: slices {indexes} of {keys[0][1]}")
            written = 0
            with open(out, "wb") as dst:
                for index in indexes:  # one slice in memory at a time
                    row = self._rows(party_model_id, model_version).where(
                        self.slices.f_slice_index == index).select(self.slices.f_content).get()
                    dst.write(row.f_content)
                    written += len(row.f_content)
        if written != keys[0][2]:
            raise FlowError(f"stored model {party_model_id} {model_version} in {describe(self.address)} has "
                            f"{written} bytes, its rows say {keys[0][2]}")
        return True

    def delete(self, party_model_id: str, model_version: str) -> int:
        """Delete the model version's slices; how many rows went."""
        with self._session():
            return self.slices.delete().where(*self._model(party_model_id, model_version)).execute()


# ---- Redis ---------------------------------------------------------------------------------

class RedisModelStore:
    """Model archives as one Redis string each; ``ex`` seconds of life when positive."""

    def __init__(self, address: Mapping[str, Any]) -> None:
        import redis

        self.address = dict(address)
        self.ex = int(address.get("ex") or 0)
        self.client = redis.Redis(host=address.get("host", "127.0.0.1"), port=int(address.get("port", 6379)),
                                  db=int(address.get("db", 0)), password=address.get("password") or None,
                                  socket_connect_timeout=5, socket_timeout=60)
        self._errors = (redis.RedisError, OSError)

    @staticmethod
    def key(party_model_id: str, model_version: str) -> str:
        """The Redis key of a model version."""
        return REDIS_KEY.format(party_model_id=party_model_id, model_version=model_version)

    def _call(self, method: str, *args, **kwargs):
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except self._errors as exc:
            raise FlowError(f"model store {describe(self.address)} is unreachable: {exc}") from exc

    def exists(self, party_model_id: str, model_version: str) -> bool:
        """True if the model version is in Redis."""
        return bool(self._call("exists", self.key(party_model_id, model_version)))

    def put(self, party_model_id: str, model_version: str, archive: Path, force_update: bool = False) -> int:
        """Store the archive under the model's key (refused if it exists, unless ``force_update``); 1 slice."""
        data = archive.read_bytes()
        stored = self._call("set", self.key(party_model_id, model_version), data, nx=not force_update,
                            ex=self.ex if self.ex > 0 else None)
        if not stored:
            raise already_stored(party_model_id, model_version, self.address)
        logger.info("stored model %s %s in %s: %s bytes", party_model_id, model_version,
                    describe(self.address), len(data))
        return 1

    def get(self, party_model_id: str, model_version: str, out: Path) -> bool:
        """Write the stored archive to ``out``; False if the model is not stored."""
        data = self._call("get", self.key(party_model_id, model_version))
        if data is None:
            return False
        out.write_bytes(data)
        return True

    def delete(self, party_model_id: str, model_version: str) -> int:
        """Delete the model version; how many keys went."""
        return int(self._call("delete", self.key(party_model_id, model_version)))


def already_stored(party_model_id: str, model_version: str, address: Mapping[str, Any]) -> FlowError:
    """FATE's error for a store of a model that is stored already."""
    return FlowError(f"Model {party_model_id} {model_version} is already stored in {describe(address)}; "
                     f"set force_update to replace it")


def never_stored(party_model_id: str, model_version: str, address: Mapping[str, Any]) -> FlowError:
    """FATE's error for a restore of a model that was never stored."""
    return FlowError(f"Model {party_model_id} {model_version} was never stored in {describe(address)}, "
                     f"it can not be restored")
