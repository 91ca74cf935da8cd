"""Streams a directory as a tar.gz attachment (job logs, output data)."""
from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from flask import Response, send_file


def send_directory_as_tar(directory: Path, download_name: str, tmp_dir: Path) -> Response:
    """Answer with a gzip tar of ``directory`` (members relative to it); empty if it is missing."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(suffix=".tar.gz", dir=tmp_dir)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        if directory.is_dir():
            for child in sorted(directory.iterdir()):
                tar.add(child, arcname=child.name)
    stream = open(tmp_path, "rb")
    os.unlink(tmp_path)  # the open handle keeps the data until the response is sent
    return send_file(stream, mimetype="application/gzip", as_attachment=True, download_name=download_name)
