"""Component metrics: data points and metas, stored as JSON in t_tracking_metric."""
from __future__ import annotations

import json
from typing import Any

from fate_flow.db import DB, TrackingMetric, now_ms

METRIC_DATA, METRIC_META, JOB_VIEW = 1, 0, 2
# rows per INSERT: one statement per batch, not per row (SQLite allows 32,766 bound values; 12 columns)
INSERT_BATCH = 500


class MetricTracker:
    """Writes and reads the metrics of one task of one party."""

    def __init__(self, job_id: str, component_name: str, task_id: str, role: str, party_id: str) -> None:
        self.key = {"f_job_id": job_id, "f_component_name": component_name, "f_task_id": task_id,
                    "f_role": role, "f_party_id": str(party_id)}

    def _row(self, namespace: str, name: str, key: str, value: str, kind: int, now: int) -> dict[str, Any]:
        """A row as ``TrackingMetric.create`` would write it (insert_many skips the model's save)."""
        return dict(self.key, f_metric_namespace=namespace, f_metric_name=name, f_key=key, f_value=value,
                    f_type=kind, f_create_time=now, f_update_time=now)

    def save_metric_data(self, namespace: str, name: str, points: list[list[Any]]) -> int:
        """Store ``[[key, value], ...]``; returns how many points were written."""
        now = now_ms()
        rows = [self._row(namespace, name, json.dumps(k), json.dumps(v), METRIC_DATA, now) for k, v in points]
        with DB.atomic():
            for start in range(0, len(rows), INSERT_BATCH):
                TrackingMetric.insert_many(rows[start:start + INSERT_BATCH]).execute()
        return len(rows)

    def save_metric_meta(self, namespace: str, name: str, meta: dict[str, Any]) -> None:
        """Store a metric's meta, one row per entry, replacing an earlier meta."""
        with DB.atomic():
            TrackingMetric.delete().where(*self._where(namespace, name, METRIC_META)).execute()
            now = now_ms()
            rows = [self._row(namespace, name, key, json.dumps(value), METRIC_META, now) for key, value in meta.items()]
            if rows:
                TrackingMetric.insert_many(rows).execute()

    def save_batch(self, entries: list[dict[str, Any]]) -> None:
        """Store checked entries in order, in one transaction: each holds ``metrics`` (points to append) or
        ``metric_meta`` (a meta to set), with ``metric_namespace`` and ``metric_name``."""
        with DB.atomic():
            for entry in entries:
                namespace, name = entry["metric_namespace"], entry["metric_name"]
                if "metric_meta" in entry:
                    self.save_metric_meta(namespace, name, entry["metric_meta"])
                else:
                    self.save_metric_data(namespace, name, entry["metrics"])

    def _where(self, namespace: str, name: str, kind: int) -> list:
        cond = [getattr(TrackingMetric, k) == v for k, v in self.key.items()]
        return cond + [TrackingMetric.f_metric_namespace == namespace, TrackingMetric.f_metric_name == name,
                       TrackingMetric.f_type == kind]


def _task_filter(job_id: str, component_name: str, role: str, party_id: str) -> list:
    return [TrackingMetric.f_job_id == job_id, TrackingMetric.f_component_name == component_name,
            TrackingMetric.f_role == role, TrackingMetric.f_party_id == str(party_id)]


def _sort_key(pair: list) -> tuple:
    key = pair[0]
    return (0, key, "") if isinstance(key, (int, float)) and not isinstance(key, bool) else (1, 0, str(key))


def read_metrics(job_id: str, component_name: str, role: str, party_id: str) -> dict[str, dict[str, dict]]:
    """``{namespace: {name: {"data": [[key, value], ...] sorted by key, "meta": {...}}}}`` of a component."""
    out: dict[str, dict[str, dict]] = {}
    query = (TrackingMetric.select().where(*_task_filter(job_id, component_name, role, party_id),
                                           TrackingMetric.f_type.in_([METRIC_DATA, METRIC_META]))
             .order_by(TrackingMetric.f_id))
    for row in query:
        entry = out.setdefault(row.f_metric_namespace, {}).setdefault(row.f_metric_name, {"data": [], "meta": {}})
        if row.f_type == METRIC_DATA:
            entry["data"].append([json.loads(row.f_key), json.loads(row.f_value)])
        else:
            entry["meta"][row.f_key] = json.loads(row.f_value)
    for names in out.values():
        for entry in names.values():
            entry["data"].sort(key=_sort_key)
    return out


def delete_metrics(filters: dict[str, Any]) -> int:
    """Delete the metric rows matching ``filters`` (column names without ``f_``); returns how many."""
    cond = [getattr(TrackingMetric, f"f_{k}") == str(v) for k, v in filters.items()]
    return TrackingMetric.delete().where(TrackingMetric.f_type != JOB_VIEW, *cond).execute()


def read_job_view(job_id: str, role: str, party_id: str) -> dict[str, Any]:
    """The job view saved at create (partner, dataset, roles) plus the model summary."""
    rows = TrackingMetric.select().where(TrackingMetric.f_job_id == job_id, TrackingMetric.f_role == role,
                                         TrackingMetric.f_party_id == str(party_id), TrackingMetric.f_type == JOB_VIEW)
    view = {row.f_key: json.loads(row.f_value) for row in rows}
    if view:
        view.setdefault("model_summary", {})
    return view


def summary(metrics: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """A component's summary from its metrics: each metric of few points as ``{name: {key: value}}``.

    FATE 1.5+ components write a summary of their own; this server's components record
    metrics, so the summary is made of those that are not curves (at most 50 points).
    """
    found: dict[str, dict] = {}
    for entries in metrics.values():
        for name, entry in entries.items():
            points = entry.get("data") or []
            if points and len(points) <= 50:
                found[name] = {str(key): value for key, value in points}
    return found
