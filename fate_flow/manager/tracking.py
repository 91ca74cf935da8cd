"""Component metrics: data points and metas, stored as JSON in t_tracking_metric."""
from __future__ import annotations

import json
from typing import Any

from fate_flow.db import DB, TrackingMetric

METRIC_DATA, METRIC_META, JOB_VIEW = 1, 0, 2


class MetricTracker:
    """Writes and reads the metrics of one task of one party."""

    def __init__(self, job_id: str, component_name: str, task_id: str, role: str, party_id: str) -> None:
        self.key = {"f_job_id": job_id, "f_component_name": component_name, "f_task_id": task_id,
                    "f_role": role, "f_party_id": str(party_id)}

    def save_metric_data(self, namespace: str, name: str, points: list[list[Any]]) -> int:
        """Store ``[[key, value], ...]``; returns how many points were written."""
        rows = [dict(self.key, f_metric_namespace=namespace, f_metric_name=name, f_key=json.dumps(k),
                     f_value=json.dumps(v), f_type=METRIC_DATA) for k, v in points]
        with DB.atomic():
            for row in rows:
                TrackingMetric.create(**row)
        return len(rows)

    def save_metric_meta(self, namespace: str, name: str, meta: dict[str, Any]) -> None:
        """Store a metric's meta, one row per entry, replacing an earlier meta."""
        with DB.atomic():
            TrackingMetric.delete().where(*self._where(namespace, name, METRIC_META)).execute()
            for key, value in meta.items():
                TrackingMetric.create(**dict(self.key, f_metric_namespace=namespace, f_metric_name=name,
                                             f_key=key, f_value=json.dumps(value), f_type=METRIC_META))

    def _where(self, namespace: str, name: str, kind: int) -> list:
        cond = [getattr(TrackingMetric, k) == v for k, v in self.key.items()]
        return cond + [TrackingMetric.f_metric_namespace == namespace, TrackingMetric.f_metric_name == name,
                       TrackingMetric.f_type == kind]
