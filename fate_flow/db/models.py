"""Tables of FATE-Flow 1.4 with the original names (t_job, t_task, ...) and columns (f_*).

Differences from the original, on purpose: tracking metrics live in one indexed table
(not one table per day), keys and values are JSON (never pickle), job/task rows
carry ``f_status_reason`` so that a failure says why, and task rows their ``f_progress``.
"""
from __future__ import annotations

from peewee import (BigAutoField, BigIntegerField, CharField, CompositeKey, IntegerField, Model,
                    TextField)

from fate_flow.db.base import DB, now_ms


class BaseModel(Model):
    """Every row has create/update times in ms; ``to_json`` is the raw column dict."""

    f_create_time = BigIntegerField(null=True)
    f_update_time = BigIntegerField(null=True)

    class Meta:
        database = DB

    def to_json(self) -> dict:
        return dict(self.__data__)

    def save(self, *args, **kwargs):
        now = now_ms()
        if self.f_create_time is None:
            self.f_create_time = now
        self.f_update_time = now
        return super().save(*args, **kwargs)


class Job(BaseModel):
    f_job_id = CharField(max_length=25, index=True)
    f_name = CharField(max_length=500, default="")
    f_description = TextField(default="")
    f_tag = CharField(max_length=50, default="")
    f_role = CharField(max_length=50, index=True)
    f_party_id = CharField(max_length=10, index=True)
    f_roles = TextField()
    f_work_mode = IntegerField()
    f_initiator_party_id = CharField(max_length=50, default="-1")
    f_is_initiator = IntegerField(default=-1, index=True)
    f_dsl = TextField()
    f_runtime_conf = TextField()
    f_train_runtime_conf = TextField(default="{}")
    f_run_ip = CharField(max_length=100, default="")
    f_status = CharField(max_length=50, index=True)
    f_status_reason = TextField(default="")
    f_current_steps = CharField(max_length=500, null=True)
    f_current_tasks = CharField(max_length=500, null=True)
    f_progress = IntegerField(default=0)
    f_start_time = BigIntegerField(null=True)
    f_end_time = BigIntegerField(null=True)
    f_elapsed = BigIntegerField(null=True)

    class Meta:
        table_name = "t_job"
        primary_key = CompositeKey("f_job_id", "f_role", "f_party_id")


class Task(BaseModel):
    f_job_id = CharField(max_length=25, index=True)
    f_component_name = TextField()
    f_task_id = CharField(max_length=100)
    f_role = CharField(max_length=50)
    f_party_id = CharField(max_length=10)
    f_operator = CharField(max_length=100, default="python_operator")
    f_run_ip = CharField(max_length=100, default="")
    f_run_pid = IntegerField(null=True)
    # process create time (psutil), so that a kill never hits a reused pid
    f_run_pid_create_time = BigIntegerField(null=True)
    f_status = CharField(max_length=50, index=True)
    f_status_reason = TextField(default="")
    # 0-100 as the task last reported it; the job's progress counts a running component by it
    # (nullable: added to existing tables by init_db, where older rows read None)
    f_progress = IntegerField(null=True, default=0)
    # what the task computed on: engine (local, spark), partitions, peak RSS in bytes with its workers
    f_engine = CharField(max_length=20, null=True)
    f_partitions = IntegerField(null=True)
    f_peak_memory = BigIntegerField(null=True)
    f_start_time = BigIntegerField(null=True)
    f_end_time = BigIntegerField(null=True)
    f_elapsed = BigIntegerField(null=True)

    class Meta:
        table_name = "t_task"
        primary_key = CompositeKey("f_job_id", "f_task_id", "f_role", "f_party_id")


class DataView(BaseModel):
    f_job_id = CharField(max_length=25, index=True)
    f_role = CharField(max_length=50)
    f_party_id = CharField(max_length=10)
    f_table_name = CharField(max_length=500, null=True)
    f_table_namespace = CharField(max_length=500, null=True)
    f_component_name = TextField()
    f_table_count_upload = BigIntegerField(null=True)
    f_table_count_actual = BigIntegerField(null=True)
    f_partition = IntegerField(null=True)
    f_task_id = CharField(max_length=100)
    f_type = CharField(max_length=50, null=True)
    f_ttl = IntegerField(default=0)
    f_party_model_id = CharField(max_length=200, null=True)
    f_model_version = CharField(max_length=100, null=True)
    f_size = BigIntegerField(default=0)
    f_description = TextField(null=True, default="")
    f_tag = CharField(max_length=50, null=True, default="")

    class Meta:
        table_name = "t_data_view"
        primary_key = CompositeKey("f_job_id", "f_task_id", "f_role", "f_party_id")


class Queue(BaseModel):
    """The persistent FIFO of submitted jobs (see driver.status.QueueState)."""

    id = BigAutoField()
    f_job_id = CharField(max_length=100, unique=True)
    f_event = CharField(max_length=500)
    f_is_waiting = IntegerField(default=1, index=True)
    f_frequency = IntegerField(default=0)

    class Meta:
        table_name = "t_queue"


class TrackingMetric(BaseModel):
    """Metric data points (f_type 1), metas (0) and job views (2), one indexed table."""

    f_id = BigAutoField()
    f_job_id = CharField(max_length=25)
    f_component_name = TextField()
    f_task_id = CharField(max_length=100)
    f_role = CharField(max_length=50)
    f_party_id = CharField(max_length=10)
    f_metric_namespace = CharField(max_length=180)
    f_metric_name = CharField(max_length=180)
    f_key = CharField(max_length=200)
    f_value = TextField()
    f_type = IntegerField()

    class Meta:
        table_name = "t_tracking_metric"
        indexes = ((("f_job_id", "f_role", "f_party_id", "f_type"), False),)


class MachineLearningModelMeta(BaseModel):
    f_id = BigAutoField()
    f_role = CharField(max_length=50)
    f_party_id = CharField(max_length=10)
    f_roles = TextField()
    f_job_id = CharField(max_length=25)
    f_model_id = CharField(max_length=500, index=True)
    f_model_version = CharField(max_length=500, index=True)
    f_size = BigIntegerField(default=0)
    f_description = TextField(null=True, default="")
    f_tag = CharField(max_length=50, null=True, default="")

    class Meta:
        table_name = "t_machine_learning_model_meta"


class StorageTableMeta(BaseModel):
    """The catalogue of stored tables (data and meta.json live in the storage engine)."""

    f_namespace = CharField(max_length=200)
    f_name = CharField(max_length=200)
    f_engine = CharField(max_length=50, default="local")
    f_partitions = IntegerField(default=1)
    f_count = BigIntegerField(default=0)
    f_schema = TextField(default="{}")
    f_delimiter = CharField(max_length=10, default=",")
    f_job_id = CharField(max_length=25, null=True)

    class Meta:
        table_name = "t_storage_table_meta"
        primary_key = CompositeKey("f_namespace", "f_name")


class RequestNonce(BaseModel):
    """Nonces of accepted signed party calls, kept while their timestamp is in the window."""

    # "<party_id>:<nonce>": unique, so a replay fails the insert in every worker
    f_nonce = CharField(max_length=100, primary_key=True)
    f_timestamp = BigIntegerField(index=True)

    class Meta:
        table_name = "t_request_nonce"


class AppKey(BaseModel):
    """An API key of a user or application for the user routes (``fate_flow_server.py key create``).

    The secret is kept as it is: an HMAC signature can only be checked with it (FATE-Flow 1.7
    keeps it in its conf). Protect the database as the keys it holds.
    """

    f_app_key = CharField(max_length=32, primary_key=True)
    f_secret_key = CharField(max_length=64)
    f_user = CharField(max_length=100, index=True)
    f_description = CharField(max_length=255, null=True)

    class Meta:
        table_name = "t_app_key"


class Permission(BaseModel):
    """One granted privilege value: party ``src`` as ``src_role`` may use ``value`` of ``type``."""

    f_src_party_id = CharField(max_length=32)
    f_src_role = CharField(max_length=50)
    # privilege_role | privilege_command | privilege_component
    f_privilege_type = CharField(max_length=50)
    f_value = CharField(max_length=100)

    class Meta:
        table_name = "t_permission"
        primary_key = CompositeKey("f_src_party_id", "f_src_role", "f_privilege_type", "f_value")


class Tag(BaseModel):
    """A model tag (FATE 1.5's ``flow tag``): a unique name and its description."""

    f_id = BigAutoField()
    f_name = CharField(max_length=100, unique=True)
    f_desc = TextField(null=True, default="")

    class Meta:
        table_name = "t_tags"


class ModelTag(BaseModel):
    """A tag on a model version (FATE's t_model_tag: ``f_m_id`` is the version, ``f_t_id`` the tag's id)."""

    f_id = BigAutoField()
    f_m_id = CharField(max_length=500, index=True)
    f_t_id = BigIntegerField(index=True)

    class Meta:
        table_name = "t_model_tag"
        indexes = ((("f_m_id", "f_t_id"), True),)


class ServerLease(BaseModel):
    """A named lease with an expiry: ``scheduler`` (who schedules the party's jobs) and one
    ``server:<address>`` per server (its heartbeat: its tasks are alive while it renews)."""

    f_name = CharField(max_length=150, primary_key=True)
    # the process holding it: "<hostname>/<pid>/<start ms>", new at every start
    f_holder = CharField(max_length=200)
    f_address = CharField(max_length=100)
    # ms on the database's clock (every server compares with the same clock)
    f_expire_time = BigIntegerField()
    f_acquire_time = BigIntegerField(null=True)

    class Meta:
        table_name = "t_server_lease"


ALL_MODELS = [Job, Task, DataView, Queue, TrackingMetric, MachineLearningModelMeta, StorageTableMeta,
              RequestNonce, Permission, AppKey, Tag, ModelTag, ServerLease]
