"""The dashboard: FATEBoard's pages served by the server itself, at FATEBoard's paths.

``/index.html#/dashboard?job_id=..&role=..&party_id=..`` (the ``board_url`` of every submit
answer) is one page whose script reads the same /v1 routes the clients read, plus the few
read-only /v1/board routes of ``routes.py``. Charts use the plotly.js that the plotly wheel
ships, served from the installed package: nothing is fetched from a CDN.
"""
from __future__ import annotations

from flask import Flask

from fate_flow.dashboard import api_docs
from fate_flow.dashboard.auth import install_auth
from fate_flow.dashboard.routes import bp
from fate_flow.settings import Settings

__all__ = ["install_dashboard", "bp"]


def install_dashboard(app: Flask, settings: Settings) -> None:
    """Register the dashboard's pages and routes, and its login and cross-site checks."""
    install_auth(app, settings)
    app.register_blueprint(bp)
    app.register_blueprint(api_docs.bp)  # /docs: the API reference
