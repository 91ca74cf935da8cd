"""The dashboard's pages, its static files, its login, and its few read-only /v1/board routes."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, render_template, request, send_from_directory, session, url_for

from fate_flow.apps._openapi import OBJECT, api
from fate_flow.apps._request import json_body, raw_body, require
from fate_flow.apps._response import ok
from fate_flow.apps._services import services
from fate_flow.dashboard import service
from fate_flow.dashboard.auth import csrf_token, login_identity
from fate_flow.errors import ArgumentError

HERE = Path(__file__).resolve().parent
VENDOR_FILES = frozenset({"plotly.min.js"})
bp = Blueprint("board", __name__, static_folder=str(HERE / "static"), static_url_path="/board/static",
               template_folder=str(HERE / "templates"))


@bp.route("/")
@api(answer="redirect")
def root():
    """FATEBoard's address without a page: the job list."""
    return redirect(url_for("board.index") + "#/history")


@bp.route("/index.html")
@api(answer="html")
def index():
    """The single page; its script routes on the URL fragment (#/dashboard, #/history, ...)."""
    return render_template("index.html", csrf=csrf_token(), user=session.get("user", ""))


@bp.route("/board/vendor/<path:filename>")
@api(answer="file")
def vendor(filename: str):
    """plotly.js as the installed plotly wheel ships it (no CDN: servers may be offline).

    Like the static folder, but over the wheel's package_data, and only the files listed.
    """
    import plotly

    if filename not in VENDOR_FILES:
        abort(404)
    return send_from_directory(Path(plotly.__file__).parent / "package_data", filename, max_age=86400)


@bp.route("/board/login", methods=["GET", "POST"])
@raw_body  # a form, not JSON
@api(form=True, answer="html")
def login():
    """A user and password form; a good one sets the session and goes where it was asked to."""
    error = ""
    if request.method == "POST":
        user = login_identity(services().settings, request.form.get("user", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["user"] = user
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else "/index.html")
        error = "wrong user or password"
    return render_template("login.html", error=error), 401 if error else 200


@bp.route("/board/logout", methods=["POST"])
@api()
def logout():
    """Forget the login (a JSON POST from the page, with its CSRF token)."""
    session.clear()
    return ok()


@bp.route("/v1/board/jobs", methods=["POST"])
@api(optional=("job_id", "role", "status", "page", "page_size"), data=OBJECT)
def jobs():
    """A page of this server's jobs: ``{job_id?, role?, status?, page?, page_size?}``."""
    return ok(service.list_jobs(service.JobFilter.from_body(json_body())), keep_data=True)


@bp.route("/v1/board/log/files", methods=["POST"])
@api("job_id", "role", "party_id", optional=("component_name",), data=OBJECT)
def log_files():
    """Log file names of a job's party or of one task: ``{job_id, role, party_id, component_name?}``."""
    body = json_body()
    job_id, role, party_id = require(body, "job_id", "role", "party_id")
    return ok(service.log_files(services().settings, job_id, role, party_id, body.get("component_name") or ""),
              keep_data=True)


@bp.route("/v1/board/log", methods=["POST"])
@api("job_id", "role", "party_id", "file", optional=("component_name", "offset"), data=OBJECT)
def log_read():
    """A chunk of one log from ``offset`` (-1: its tail): ``{job_id, role, party_id, component_name?, file}``."""
    body = json_body()
    job_id, role, party_id, name = require(body, "job_id", "role", "party_id", "file")
    try:
        offset = int(body.get("offset", -1))
    except (TypeError, ValueError):
        raise ArgumentError("offset", "must be an integer") from None
    return ok(service.read_log(services().settings, job_id, role, party_id, body.get("component_name") or "",
                               name, offset), keep_data=True)


@bp.route("/v1/board/table/preview", methods=["POST"])
@api("namespace", "name", data=OBJECT)
def table_preview():
    """The first 100 rows, header, schema and count of any catalogue table: ``{namespace, name}``."""
    namespace, name = require(json_body(), "namespace", "name")
    return ok(service.preview_table(services().tables, namespace, name), keep_data=True)
