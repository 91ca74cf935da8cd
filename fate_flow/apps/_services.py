"""The routes' way to the party's services: the ``Services`` the app was created with."""
from __future__ import annotations

from flask import current_app

from fate_flow.root import Services

EXTENSION = "fate_flow"


def services() -> Services:
    """The services of the app serving this request (built once by ``root.build_services``)."""
    return current_app.extensions[EXTENSION]
