"""What operators and their tools read: the OpenAPI document of every route and the Prometheus metrics."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from fate_flow.apps._openapi import api, build_document
from fate_flow.driver import job_queries
from fate_flow.utils import metrics

bp = Blueprint("ops", __name__)


@bp.route("/openapi.json", methods=["GET"])
@api(answer="json", answer_schema={"type": "object", "required": ["openapi", "paths"]})
def openapi_document():
    """The OpenAPI 3 document of every route this server serves."""
    return jsonify(build_document(current_app))


@bp.route("/metrics", methods=["GET"])
@api(answer="text")
def prometheus_metrics():
    """Prometheus metrics (text format): jobs, queue, tasks, scheduler, HTTP, federation, uploads, inference."""
    return Response(metrics.exposition([_database_families]), mimetype="text/plain",
                    content_type=metrics.CONTENT_TYPE)


def _database_families() -> list:
    """Jobs by status and the queue length, read from the database at each scrape."""
    from prometheus_client.core import GaugeMetricFamily

    jobs = GaugeMetricFamily(metrics.PREFIX + "jobs", "Jobs on this server by status", labels=["status"])
    for status, count in job_queries.jobs_by_status().items():
        jobs.add_metric([status], count)
    queue = GaugeMetricFamily(metrics.PREFIX + "job_queue_length", "Jobs waiting in this server's queue",
                              value=job_queries.queue_length())
    return [jobs, queue]
