"""The page at /docs that renders /openapi.json with Swagger UI, served offline.

Swagger UI's files come from the swagger-ui-bundle wheel (kept by the spec-first project, the
makers of connexion), served from the installed package as plotly.js is: no CDN, no npm step,
and a renderer that covers all of OpenAPI 3.0 (schemas, try-it-out) without JavaScript of ours
beyond the few lines that start it (static/docs.js).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, render_template, send_from_directory

from fate_flow.apps._openapi import api

VENDOR_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})
bp = Blueprint("api_docs", __name__, template_folder=str(Path(__file__).resolve().parent / "templates"))


@bp.route("/docs", methods=["GET"])
@api(answer="html")
def docs_page():
    """The API reference: /openapi.json rendered by Swagger UI."""
    return render_template("docs.html")


@bp.route("/docs/vendor/<path:filename>", methods=["GET"])
@api(answer="file")
def docs_vendor(filename: str):
    """Swagger UI's script and style as the installed swagger-ui-bundle wheel ships them (only those listed)."""
    import swagger_ui_bundle

    if filename not in VENDOR_FILES:
        abort(404)
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)
