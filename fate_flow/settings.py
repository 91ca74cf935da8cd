"""Server settings: one frozen object built once in ``main()`` and passed down.

Nothing here runs at import time. ``load_settings`` reads a service_conf.yaml
(ruamel.yaml), applies command-line overrides and resolves every path against the
work directory, so several parties' servers can run side by side on one machine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

DEFAULT_CONF_PATH = Path(__file__).resolve().parent.parent / "conf" / "service_conf.yaml"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the server's tables live: ``sqlite:///path`` or ``mysql://user:pw@host:port/db``."""

    url: str
    max_connections: int = 32
    stale_timeout: int = 30

    @property
    def engine(self) -> str:
        return self.url.split(":", 1)[0]


@dataclass(frozen=True)
class SchedulerSettings:
    max_concurrent_jobs: int = 5
    job_timeout: int = 604800
    detect_interval: float = 2.0
    kill_grace: float = 3.0
    # cluster mode: seconds without a status report before the initiator asks a party itself,
    # and seconds a party may stay unreachable before its jobs fail
    party_poll_interval: float = 5.0
    party_timeout: float = 60.0
    # a job DSL with more components is refused (real pipelines have a few dozen)
    max_job_components: int = 1000
    # several servers of one party on one MySQL database: one holds the scheduler lease, the
    # others serve HTTP and run the tasks sent to them. auto: on with MySQL, off with SQLite
    high_availability: Any = "auto"
    # seconds a lease lasts unless renewed (a dead leader is replaced after at most this long),
    # and seconds between renewals (a fraction of the duration, so a slow pass does not lose it)
    lease_duration: float = 15.0
    lease_renew_interval: float = 3.0


@dataclass(frozen=True)
class FederationSettings:
    backend: str = "standalone"
    timeout: float = 600.0
    # rabbitmq backend: the broker (amqp://user:password@host:port/vhost)
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    # http backend: bytes per message chunk sent to the destination party's server
    chunk_size: int = 4 << 20


@dataclass(frozen=True)
class ModelStoreSettings:
    """Where /v1/model/store puts models and /v1/model/restore reads them."""

    # mysql | redis
    storage: str = "mysql"
    # mysql://user:password@host:port/name (the model table is created there)
    url: str = "mysql://root:@127.0.0.1:3306/test"
    # bytes per row of the MySQL model table; bigger models take several rows
    slice_size: int = 8 << 20
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0
    redis_password: str = ""
    # seconds a model lives in Redis (0: no expiry)
    redis_ex: int = 0
    # an imported model archive may not unpack to more bytes than this
    import_max_bytes: int = 1 << 30
    # nor may it, or one of its members over 1 MiB, unpack to more than this many times its
    # compressed size (a zip bomb within import_max_bytes); model files compress about 10:1
    import_max_ratio: int = 100


@dataclass(frozen=True)
class SecuritySettings:
    """Signed party-to-party calls and privileges (cluster mode)."""

    # sign outgoing party calls and refuse unsigned/bad/replayed/stale incoming ones
    sign_requests: bool = False
    # this party's own secret, used to sign the calls it sends
    secret: str = ""
    # party id -> that party's secret, to check calls it sends here
    party_secrets: Mapping[str, str] = field(default_factory=dict)
    # seconds a signed request stays valid (clock skew + transit)
    max_age: float = 300.0
    # enforce /v1/permission privileges on incoming schedule calls
    use_permission: bool = False
    # app-key signatures on the user routes (/v1/job, /v1/data, ...): None (the default) turns
    # them on unless the server listens on loopback only; true/false force them on/off
    client_authentication: bool | None = None


@dataclass(frozen=True)
class DashboardSettings:
    """Who may open the dashboard when the server listens beyond loopback (fateboard section)."""

    # user name -> werkzeug password hash (``python -m fate_flow.dashboard.hash_password``)
    users: Mapping[str, str] = field(default_factory=dict)
    # tokens accepted as ``?token=`` or ``Authorization: Bearer``, for scripts and kiosks
    tokens: tuple[str, ...] = ()
    # key signing the login cookie; empty: one made once per work dir (shared by gunicorn workers)
    secret_key: str = ""


@dataclass(frozen=True)
class DataAccessSettings:
    """Where user-named server paths may point, and how uploads are read."""

    # directories server-side paths (use_local_data files, download output_path) may be in
    # besides the work dir, whatever the bind address; relative ones are relative to the work dir
    allowed_dirs: tuple[str, ...] = ()
    # bytes of the file read at a time by an upload task: its memory budget
    block_size: int = 8 << 20
    storage_engine: str = "local"


@dataclass(frozen=True)
class ComputingSettings:
    """How tasks compute when their job does not say (FATE's job_parameters override it per job)."""

    # local (a process pool per task) | spark (a Spark session per task); backend 1 picks spark per job
    engine: str = "local"
    # partitions of tables components make (intersection's output and on); computing_partitions per job
    partitions: int = 4
    # worker processes (local) or executor cores asked for (spark) per task; task_cores per job
    cores: int = 2
    # spark: master URL (local[*], spark://host:7077, yarn, k8s://...) and spark.* session settings
    spark_master: str = "local[*]"
    spark_conf: Mapping[str, Any] = field(default_factory=dict)


# where RSA intersection's id cache lives unless the conf's ``id_cache.redis`` says otherwise
DEFAULT_ID_CACHE_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Settings:
    """Everything a server (and the tasks it launches) needs to know."""

    work_mode: int
    party_ids: tuple[int, ...]
    host: str
    port: int
    work_dir: Path
    database: DatabaseSettings
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    data_access: DataAccessSettings = field(default_factory=DataAccessSettings)
    computing: ComputingSettings = field(default_factory=ComputingSettings)
    # where board_url points; empty/0: this server, which serves the dashboard itself
    fateboard_host: str = ""
    fateboard_port: int = 0
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    routes: Mapping[str, str] = field(default_factory=dict)
    conf_path: Path | None = None
    task_python: str = ""
    model_store: ModelStoreSettings = field(default_factory=ModelStoreSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    # serving endpoints (host:port) for /v1/model/load and bind; empty: this server serves
    servings: tuple[str, ...] = ()
    # the Redis of RSA intersection's id cache (intersect_cache_param.use_cache), given to tasks
    id_cache_redis: str = DEFAULT_ID_CACHE_REDIS

    @property
    def jobs_dir(self) -> Path:
        return self.work_dir / "jobs"

    @property
    def logs_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def model_dir(self) -> Path:
        return self.work_dir / "model_local_cache"

    @property
    def uses_lease(self) -> bool:
        """True if the scheduler runs under a lease in the database (several servers share it)."""
        mode = self.scheduler.high_availability
        if isinstance(mode, str) and mode.strip().lower() == "auto":
            return self.database.engine != "sqlite"
        if isinstance(mode, str):
            return mode.strip().lower() in ("true", "yes", "on", "1")
        return bool(mode)

    def serves_party(self, party_id: Any) -> bool:
        """True if this server plays ``party_id`` (standalone: every party; cluster: its own ids)."""
        return self.work_mode == 0 or str(party_id) in {str(p) for p in self.party_ids}

    @property
    def is_loopback_only(self) -> bool:
        """True if the server listens on a loopback address only (clients are on this machine)."""
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @property
    def requires_app_keys(self) -> bool:
        """True if the user routes take only app-key signed requests (security.client_authentication)."""
        forced = self.security.client_authentication
        return not self.is_loopback_only if forced is None else bool(forced)

    @property
    def run_dir(self) -> Path:
        return self.work_dir / "run"

    @property
    def federation_dir(self) -> Path:
        return self.work_dir / "federation"

    @property
    def board_address(self) -> str:
        """``host:port`` of the dashboard in board_url: fateboard's if set, else this server's."""
        host, port = self.address.rsplit(":", 1)
        return f"{self.fateboard_host or host}:{self.fateboard_port or port}"

    @property
    def address(self) -> str:
        """``host:port`` other processes use to reach this server."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{host}:{self.port}"

    def job_dir(self, job_id: str) -> Path:
        """Where a job's DSL, confs and task configs live."""
        return self.jobs_dir / job_id

    def job_log_dir(self, job_id: str) -> Path:
        """Where a job's logs live."""
        return self.logs_dir / job_id

    def task_dir(self, job_id: str, role: str, party_id: Any, component: str) -> Path:
        """Where a task's config and federation session files live."""
        return self.job_dir(job_id) / role / str(party_id) / component

    def task_log_dir(self, job_id: str, role: str, party_id: Any, component: str) -> Path:
        """FATE's log layout: logs/<job_id>/<role>/<party_id>/<component>/."""
        return self.job_log_dir(job_id) / role / str(party_id) / component


def load_settings(path: str | os.PathLike | None = None,
                  environ: Mapping[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Build Settings from a service_conf.yaml plus overrides.

    Args:
        path: conf file; defaults to ``$FATE_FLOW_CONF`` then conf/service_conf.yaml.
        environ: environment to read FATE_FLOW_CONF from (os.environ by default).
        overrides: ``host``, ``port``, ``work_dir``, ``database_url`` and any Settings
            field given explicitly (None values are ignored).
    """
    environ = os.environ if environ is None else environ
    conf_path = Path(path or environ.get("FATE_FLOW_CONF") or DEFAULT_CONF_PATH).resolve()
    raw = _read_yaml(conf_path)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    work_dir = Path(overrides.pop("work_dir", None) or raw.get("work_dir") or ".")
    if not work_dir.is_absolute():
        work_dir = (conf_path.parent / work_dir).resolve()
    settings = Settings(
        work_mode=int(raw.get("work_mode", 0)),
        party_ids=tuple(int(p) for p in _as_list(raw.get("party_id", []))),
        host=str(_get(raw, "fate_flow", "host", "127.0.0.1")),
        port=int(_get(raw, "fate_flow", "http_port", 9380)),
        work_dir=work_dir,
        database=_database(raw.get("database") or {}, work_dir),
        scheduler=SchedulerSettings(**_known(SchedulerSettings, raw.get("scheduler"))),
        federation=FederationSettings(**_known(FederationSettings, raw.get("federation"))),
        data_access=_data_access(raw.get("data_access") or {}),
        computing=_computing(raw.get("computing") or {}),
        fateboard_host=str(_get(raw, "fateboard", "host", "") or ""),
        fateboard_port=int(_get(raw, "fateboard", "port", 0) or 0),
        dashboard=_dashboard(raw.get("fateboard") or {}),
        routes={str(k): str(v) for k, v in (raw.get("routes") or {}).items()},
        conf_path=conf_path,
        task_python=str(raw.get("task_python") or ""),
        model_store=ModelStoreSettings(**_known(ModelStoreSettings, raw.get("model_store"))),
        security=_security(raw.get("security") or {}),
        servings=tuple(str(s) for s in _as_list(raw.get("servings") or [])),
        id_cache_redis=str(_get(raw, "id_cache", "redis", Settings.id_cache_redis)),
    )
    return apply_overrides(settings, **overrides)


def apply_overrides(settings: Settings, **overrides: Any) -> Settings:
    """Return a copy of ``settings`` with command-line style overrides applied."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "database_url" in overrides:
        url = overrides.pop("database_url")
        overrides["database"] = replace(settings.database, url=_absolute_sqlite(url, settings.work_dir))
    if "work_dir" in overrides:
        overrides["work_dir"] = Path(overrides["work_dir"]).resolve()
    for name in ("scheduler", "federation", "data_access", "computing", "model_store", "security"):
        if isinstance(overrides.get(name), dict):
            overrides[name] = replace(getattr(settings, name), **overrides[name])
    if "port" in overrides:
        overrides["port"] = int(overrides["port"])
    return replace(settings, **overrides)


def _read_yaml(path: Path) -> dict[str, Any]:
    from ruamel.yaml import YAML

    if not path.exists():
        raise FileNotFoundError(f"service conf not found: {path}")
    with open(path, encoding="utf-8") as f:
        data = YAML(typ="safe").load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"service conf {path} must be a mapping")
    return data


def _data_access(raw: Mapping[str, Any]) -> DataAccessSettings:
    values = _known(DataAccessSettings, raw)
    if "allowed_dirs" in values:
        values["allowed_dirs"] = tuple(str(d) for d in values["allowed_dirs"] or ())
    if "block_size" in values:
        values["block_size"] = int(values["block_size"])
    return DataAccessSettings(**values)


def _computing(raw: Mapping[str, Any]) -> ComputingSettings:
    """The ``computing`` section: ``{engine, partitions, cores, spark: {master, conf}}``."""
    spark = raw.get("spark") or {}
    if raw.get("engine", "local") not in ("local", "spark"):
        raise ValueError(f"computing.engine should be local or spark, got {raw.get('engine')!r}")
    return ComputingSettings(engine=str(raw.get("engine", "local")), partitions=int(raw.get("partitions", 4)),
                             cores=int(raw.get("cores", 2)), spark_master=str(spark.get("master") or "local[*]"),
                             spark_conf={str(k): v for k, v in (spark.get("conf") or {}).items()})


def _dashboard(raw: Mapping[str, Any]) -> DashboardSettings:
    return DashboardSettings(users={str(k): str(v) for k, v in (raw.get("users") or {}).items()},
                             tokens=tuple(str(t) for t in _as_list(raw.get("tokens") or [])),
                             secret_key=str(raw.get("secret_key") or ""))


def _security(raw: Mapping[str, Any]) -> SecuritySettings:
    values = _known(SecuritySettings, raw)
    if "party_secrets" in values:
        values["party_secrets"] = {str(k): str(v) for k, v in (values["party_secrets"] or {}).items()}
    return SecuritySettings(**values)


def _database(raw: Mapping[str, Any], work_dir: Path) -> DatabaseSettings:
    url = str(raw.get("url") or "sqlite:///fate_flow_sqlite.db")
    return DatabaseSettings(url=_absolute_sqlite(url, work_dir),
                            max_connections=int(raw.get("max_connections", 32)),
                            stale_timeout=int(raw.get("stale_timeout", 30)))


def _absolute_sqlite(url: str, work_dir: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url[len(prefix):]).is_absolute():
        return prefix + str(work_dir / url[len(prefix):])
    return url


def _get(raw: Mapping[str, Any], section: str, key: str, default: Any) -> Any:
    value = (raw.get(section) or {}).get(key)
    return default if value is None else value


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _known(cls: type, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    names = cls.__dataclass_fields__
    return {k: v for k, v in (raw or {}).items() if k in names}
