"""A tiny recording FATE-Flow stand-in for client tests: real HTTP on a free port, canned answers."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
import zipfile
from typing import Any, Callable, Dict, List, Optional

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

EXPORT_NAME = "guest#9999#arbiter-10000#guest-9999#host-10000#model_202006122009345696314.zip"
JOB_ID = "202006122009345696314"

Handler = Callable[[], Any]


def make_tar(members: Dict[str, bytes]) -> bytes:
    """Return a gzip tar holding ``members`` (relative name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def make_zip(members: Dict[str, bytes]) -> bytes:
    """Return a zip archive holding ``members``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


LOG_TAR = make_tar({"guest/9999/INFO.log": b"job started\n", "fate_flow_schedule.log": b"scheduled\n"})
OUTPUT_TAR = make_tar({"output_data.csv": b"id,y,x0\n1,0,0.5\n", "output_data_meta.json": b'{"header": ["id"]}'})
MODEL_ZIP = make_zip({"pipeline.pb": b"\x08\x01", "define/proto/x.proto": b"syntax"})


def _attachment(body: bytes, filename: str) -> Response:
    """Send bytes with an unquoted Content-Disposition, as a 1.4 server does."""
    response = Response(body, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = "attachment; filename=" + filename
    return response


def _query_job() -> Any:
    row = {"f_job_id": JOB_ID, "f_status": "success", "f_role": "guest", "f_party_id": "9999",
           "f_dsl": "{\"components\": {}}", "f_runtime_conf": "{\"initiator\": {}}"}
    return {"retcode": 0, "retmsg": "success", "data": [row, dict(row, f_role="host")]}


def _job_config() -> Any:
    return {"retcode": 0, "retmsg": "success", "data": {
        "job_id": JOB_ID, "dsl": {"components": {"a_0": {"module": "A"}}},
        "runtime_conf": {"initiator": {"role": "guest", "party_id": 9999}},
        "train_runtime_conf": {},
        "model_info": {"model_id": "guest-9999#model", "model_version": JOB_ID}}}


DEFAULT_ROUTES: Dict[str, Handler] = {
    "v1/job/query": _query_job,
    "v1/job/config": _job_config,
    "v1/job/submit": lambda: {"retcode": 0, "retmsg": "success", "jobId": JOB_ID,
                              "data": {"model_info": {"model_id": "m", "model_version": JOB_ID}}},
    "v1/job/log": lambda: _attachment(LOG_TAR, "job_{}_log.tar.gz".format(JOB_ID)),
    "v1/tracking/component/output/data/download": lambda: _attachment(OUTPUT_TAR, "out.tar.gz"),
    "v1/model/export": lambda: _attachment(MODEL_ZIP, EXPORT_NAME),
}


class FakeFlowServer:
    """Records every request and answers from ``routes`` (path without leading '/')."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.routes: Dict[str, Handler] = dict(DEFAULT_ROUTES)
        self.app = self._make_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = "http://127.0.0.1:{}".format(self._server.server_port)
        # A short poll interval keeps shutdown() quick.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _make_app(self) -> Flask:
        app = Flask("fake_fate_flow")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def record(path: str) -> Any:
            self.requests.append(self._capture(path))
            answer = self.routes.get(path, lambda: {"retcode": 0, "retmsg": "success"})()
            return jsonify(answer) if isinstance(answer, dict) else answer

        return app

    @staticmethod
    def _capture(path: str) -> Dict[str, Any]:
        """Snapshot what the client sent; file parts keep their bytes and a digest."""
        files = {}
        for name, storage in request.files.items():
            content = storage.read()
            files[name] = {"filename": storage.filename, "content_type": storage.content_type,
                           "bytes": content, "sha256": hashlib.sha256(content).hexdigest()}
        return {"method": request.method, "path": "/" + path, "args": request.args.to_dict(),
                "json": request.get_json(silent=True), "form": request.form.to_dict(),
                "files": files, "headers": dict(request.headers)}

    def reset(self) -> None:
        """Forget recorded requests and restore the canned answers."""
        self.requests.clear()
        self.routes = dict(DEFAULT_ROUTES)

    def only(self) -> Dict[str, Any]:
        """Return the single request received (fails if there were more or fewer)."""
        assert len(self.requests) == 1, [r["path"] for r in self.requests]
        return self.requests[0]

    def start(self) -> "FakeFlowServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def json_error(status: int, body: Optional[Dict[str, Any]] = None) -> Handler:
    """Build a handler answering HTTP ``status`` with a JSON body, like 1.4's error_response."""
    body = body or {"retcode": status, "retmsg": "no data"}
    return lambda: Response(json.dumps(body), status=status, mimetype="application/json")
