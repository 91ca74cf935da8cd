"""Legacy FATE-Flow 1.4 command-line client: ``python fate_flow_client.py -f COMMAND [flags]``.

It speaks plain HTTP to a FATE-Flow server (Python's own http.client: a command's time is
mostly the interpreter's start, and ``requests`` alone took longer to import than that)
and imports nothing from the server package, so it also works from a machine that only
has this file and (to read a service conf) ``ruamel.yaml``. Every command prints one JSON
object, then an empty line; scripts parse that output, so the exit code is 0 even when the
command failed. The one exception is for people: on a terminal, ``component_metric_all``
shows a summary instead of thousands of curve points (``--json`` or ``-o DIR`` for the
complete answer).

When the server asks for API keys, set ``FATE_FLOW_APP_KEY`` and ``FATE_FLOW_SECRET_KEY``
(made by ``fate_flow_server.py key create``): every request is then signed with FATE-Flow
1.7's ``TIMESTAMP``/``NONCE``/``APP_KEY``/``SIGNATURE`` headers.
"""
from __future__ import annotations

import argparse
import base64
import errno
import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import time
import traceback
import uuid
from contextlib import closing
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import urlencode, urlsplit

API_VERSION = "v1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9380
CHUNK_SIZE = 64 * 1024
SEND_BLOCK_SIZE = 1024 * 1024  # what http.client reads at a time from a streamed request body
# Relative upload/import files resolve here, as in the original client (not against the cwd).
PROJECT_BASE = os.path.dirname(os.path.abspath(__file__))
STANDALONE_NODE_DOWN = 999
# what the server requires of an upload conf (FATE 1.4's data_access_app); file is checked first
UPLOAD_FIELDS = ("file", "head", "partition", "work_mode", "namespace", "table_name")
# what -j fills in the model commands' confs
MODEL_FIELDS = ("model_id", "model_version")
# a summary metric with more values than this is shown as a curve (a count of points)
SUMMARY_MAX_VALUES = 50
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a process killed by SIGPIPE
MISSING_FILE_MESSAGE = ("The file is obtained from the fate flow client machine, but it does not exist, "
                        "please check the path: {}")

Config = Dict[str, Any]


class DownloadFailed(Exception):
    """Raised when a downloaded archive cannot be saved or unpacked."""


class UsageError(Exception):
    """The conf and the flags do not fit together; reported without a traceback."""


class MissingArguments(Exception):
    """Raised before any request when the command lacks arguments it needs."""

    def __init__(self, names: List[str]) -> None:
        self.names = names
        super().__init__("the following arguments are required: {}".format(",".join(names)))


# ---------------------------------------------------------------- server address and HTTP

def server_url(environ: Optional[Dict[str, str]] = None) -> str:
    """Return the API base URL, e.g. ``http://127.0.0.1:9380/v1``.

    ``FATE_FLOW_SERVER`` wins; otherwise ``fate_flow.host``/``fate_flow.http_port`` are read
    from ``FATE_FLOW_CONF`` or ``<project base>/conf/service_conf.yaml``.
    """
    environ = os.environ if environ is None else environ
    address = environ.get("FATE_FLOW_SERVER", "").strip().rstrip("/")
    if not address:
        host, port = _address_from_conf(environ.get("FATE_FLOW_CONF")
                                        or os.path.join(PROJECT_BASE, "conf", "service_conf.yaml"))
        address = "{}:{}".format(host, port)
    if "://" not in address:
        address = "http://" + address
    return address if address.endswith("/" + API_VERSION) else "{}/{}".format(address, API_VERSION)


def _address_from_conf(path: str) -> tuple:
    """Read ``(host, port)`` from a service conf YAML; defaults when the file is absent."""
    if not os.path.isfile(path):
        return DEFAULT_HOST, DEFAULT_PORT
    from ruamel.yaml import YAML  # imported lazily: most calls never read a conf file
    with open(path, encoding="utf-8") as f:
        conf = YAML(typ="safe", pure=True).load(f) or {}
    flow = conf.get("fate_flow") or {}
    host = str(flow.get("host") or DEFAULT_HOST)
    # A server bound to every interface is reached through the loopback address.
    if host in ("0.0.0.0", "::"):
        host = DEFAULT_HOST
    return host, int(flow.get("http_port") or DEFAULT_PORT)


class Response:
    """What the commands read of an HTTP answer: status, headers, URL and the body (read lazily)."""

    def __init__(self, url: str, connection: http.client.HTTPConnection, raw: http.client.HTTPResponse) -> None:
        self.url = url
        self.status_code = raw.status
        self.headers = raw.headers  # case-insensitive .get(), like requests' headers
        self._connection = connection
        self._raw = raw
        self._content: Optional[bytes] = None

    @property
    def content(self) -> bytes:
        """The whole body; the connection is closed once it is read."""
        if self._content is None:
            try:
                self._content = self._raw.read()
            finally:
                self.close()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body decoded as JSON; ValueError if it is not JSON."""
        return json.loads(self.content)

    def iter_content(self, size: int) -> Iterator[bytes]:
        """The body in blocks of at most ``size`` bytes."""
        while True:
            block = self._raw.read(size)
            if not block:
                return
            yield block

    def close(self) -> None:
        self._connection.close()


def _request(method: str, path: str, body: Optional[Config] = None, params: Optional[Config] = None,
             data: Any = None, headers: Optional[Dict[str, str]] = None) -> Response:
    """Send ``body`` as JSON (GET included, as the 1.4 routes expect) to ``/v1/<path>``.

    ``params`` go in the query string; ``data`` is a raw body instead, bytes or a
    streamed ``MultipartFile``. The answer's body is read when the caller asks for it.
    """
    url = "{}/{}".format(server_url(), path.lstrip("/"))
    if params:
        url += "?" + urlencode(params, doseq=True)
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body, allow_nan=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if data is not None:
        headers["Content-Length"] = str(len(data))  # a streamed body is sent whole, never chunked
    parts = urlsplit(url)
    connection, through_proxy = _connection(parts)
    path_url = parts.path + ("?" + parts.query if parts.query else "")
    headers.update(_auth_headers(path_url, data if body is not None else b""))
    target = url if through_proxy else path_url
    try:
        connection.request(method, target, body=data, headers=headers)
        return Response(url, connection, connection.getresponse())
    except BaseException:
        connection.close()
        raise


def _auth_headers(path_url: str, json_body: bytes) -> Dict[str, str]:
    """FATE-Flow 1.7's app-key headers when FATE_FLOW_APP_KEY and FATE_FLOW_SECRET_KEY are set, else none.

    SIGNATURE is base64(HMAC-SHA1(secret key, the timestamp in ms, the nonce, the app key, the path
    with its query string and the JSON body, joined by newlines, then a last empty line: this
    client sends no url-encoded forms)). An empty JSON object is signed as nothing, as FATE's
    clients sign it; a multipart body (upload, import) is not signed, its query string is.
    """
    app_key = os.environ.get("FATE_FLOW_APP_KEY", "").strip()
    secret_key = os.environ.get("FATE_FLOW_SECRET_KEY", "").strip()
    if not app_key or not secret_key:
        return {}
    timestamp, nonce = str(round(time.time() * 1000)), str(uuid.uuid4())
    if json_body.strip() in (b"{}", b"[]", b"null"):
        json_body = b""
    message = b"\n".join((timestamp.encode("ascii"), nonce.encode("ascii"), app_key.encode("ascii"),
                          path_url.encode("ascii"), json_body, b""))
    signature = base64.b64encode(hmac.new(secret_key.encode("ascii"), message, hashlib.sha1).digest())
    return {"TIMESTAMP": timestamp, "NONCE": nonce, "APP_KEY": app_key, "SIGNATURE": signature.decode("ascii")}


def _connection(parts: Any) -> tuple:
    """(connection, True if requests go to a plain HTTP proxy as absolute URLs) for the server's URL.

    The proxy is the one ``requests`` (which the original client used) takes from the environment.
    """
    https = parts.scheme == "https"
    cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
    proxy = _environment_proxy(parts)
    if proxy is None:
        return cls(parts.hostname, parts.port, blocksize=SEND_BLOCK_SIZE), False
    if https:  # a tunnel through the proxy
        connection = cls(proxy.hostname, proxy.port, blocksize=SEND_BLOCK_SIZE)
        connection.set_tunnel(parts.hostname, parts.port)
        return connection, False
    return http.client.HTTPConnection(proxy.hostname, proxy.port, blocksize=SEND_BLOCK_SIZE), True


def _environment_proxy(parts: Any) -> Any:
    """The proxy set for the URL's scheme in ``*_proxy`` variables, unless ``no_proxy`` exempts the host."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None
    import urllib.request  # only when a proxy variable is set: it costs more than the rest of the client

    proxies = urllib.request.getproxies_environment()
    address = proxies.get(parts.scheme) or proxies.get("all")
    if not address or urllib.request.proxy_bypass_environment(parts.netloc, proxies):
        return None
    return urlsplit(address if "://" in address else "http://" + address)


def _reply(response: Response) -> Config:
    """Decode a JSON envelope, explaining what came back when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise RuntimeError("HTTP {} from {}: {}".format(response.status_code, response.url,
                                                        response.text[:200])) from None


def _post(path: str, config: Config) -> Config:
    """POST ``config`` as JSON and return the decoded reply."""
    return _reply(_request("POST", path, config))


def _require(config: Config, *names: str) -> None:
    """Raise MissingArguments naming every one of ``names`` absent from ``config``."""
    missing = [name for name in names if config.get(name) is None]
    if missing:
        raise MissingArguments(missing)


def _require_values(config: Config, *names: str) -> None:
    """Like _require, but an empty string is missing too (as the server counts it)."""
    missing = [name for name in names if config.get(name) in (None, "")]
    if missing:
        raise MissingArguments(missing)


# ---------------------------------------------------------------- local files

def _local_file(config: Config) -> str:
    """Resolve ``config['file']`` against the project base; raise if it does not exist."""
    _require(config, "file")
    path = os.path.expanduser(str(config["file"]))
    if not os.path.isabs(path):
        path = os.path.normpath(os.path.join(PROJECT_BASE, path))
    if not os.path.exists(path):
        raise FileNotFoundError(MISSING_FILE_MESSAGE.format(path))
    return path


def _save_stream(response: Response, path: str) -> None:
    """Write a streamed response body to ``path`` chunk by chunk."""
    with open(path, "wb") as f:
        for chunk in response.iter_content(CHUNK_SIZE):
            f.write(chunk)


def _extract_tar(tar_path: str, extract_dir: str) -> None:
    """Unpack a .tar.gz into ``extract_dir``, refusing members that would land outside it."""
    import tarfile

    with tarfile.open(tar_path, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(extract_dir, filter="data")
            return
        root = os.path.realpath(extract_dir)
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(root, member.name))
            if os.path.commonpath([root, target]) != root or member.issym() or member.islnk():
                raise tarfile.TarError("unsafe member in archive: {}".format(member.name))
        tar.extractall(extract_dir)


def _download_tar(path: str, config: Config, tar_name: str, extract_dir: str) -> Config:
    """GET a tar.gz next to ``extract_dir``, unpack it there and delete it.

    The original saved the tar in the cwd; here it stays under the output path the user
    chose, so an interrupted download leaves nothing where the command was typed. A
    non-200 answer is returned as its JSON body; a body that is not a readable tar
    raises DownloadFailed (callers decide how to report it).
    """
    import tarfile

    with closing(_request("GET", path, config)) as response:
        if response.status_code != 200:
            return _reply(response)
        tar_name = os.path.join(os.path.dirname(extract_dir), tar_name)
        try:
            os.makedirs(os.path.dirname(extract_dir), exist_ok=True)
            _save_stream(response, tar_name)
            _extract_tar(tar_name, extract_dir)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DownloadFailed("download failed: {}".format(error)) from error
        finally:
            if os.path.exists(tar_name):
                os.remove(tar_name)
    return {"retcode": 0, "directory": extract_dir,
            "retmsg": "download successfully, please check {} directory".format(extract_dir)}


# ---------------------------------------------------------------- streaming multipart body

def _form_value(value: Any) -> str:
    """Render a config value as a form/query string (nested values as JSON text)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class MultipartFile:
    """A multipart/form-data body with string fields and one file part, read from disk lazily.

    The sender reads ``__len__`` for the Content-Length header and pulls the body in
    blocks with ``read``; the file is never held in memory whole (what the original
    client got from requests_toolbelt's MultipartEncoder, which we do not require).
    """

    def __init__(self, fields: Config, file_path: str, field_name: str = "file",
                 on_progress: Optional[Callable[[int, int], None]] = None) -> None:
        self.boundary = os.urandom(16).hex()
        self.content_type = "multipart/form-data; boundary={}".format(self.boundary)
        head = b"".join(self._field_part(k, v) for k, v in fields.items())
        head += self._part_header(field_name, os.path.basename(file_path))
        self._pieces = [head, file_path, "\r\n--{}--\r\n".format(self.boundary).encode()]
        self.len = len(head) + os.path.getsize(file_path) + len(self._pieces[2])
        self.bytes_read = 0
        self._on_progress = on_progress
        self._file = None

    def _field_part(self, name: str, value: Any) -> bytes:
        """Encode one plain form field."""
        return ("--{}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n".format(
            self.boundary, _quote(name), _form_value(value))).encode("utf-8")

    def _part_header(self, name: str, filename: str) -> bytes:
        """Encode the header lines that open the file part."""
        return ("--{}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n".format(
                    self.boundary, _quote(name), _quote(filename))).encode("utf-8")

    def __len__(self) -> int:
        return self.len

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes (all remaining bytes when ``size`` < 0)."""
        size = self.len if size is None or size < 0 else size
        blocks, got = [], 0
        while got < size and self._pieces:
            block = self._read_piece(size - got)
            blocks.append(block)
            got += len(block)
        out = blocks[0] if len(blocks) == 1 else b"".join(blocks)  # mostly one block of the file, not copied
        self.bytes_read += len(out)
        if out and self._on_progress:
            self._on_progress(self.bytes_read, self.len)
        return out

    def _read_piece(self, size: int) -> bytes:
        """Read from the current piece (bytes or an open file), dropping it when used up."""
        piece = self._pieces[0]
        if isinstance(piece, bytes):
            self._pieces[0] = piece[size:]
            data = piece[:size]
            if not self._pieces[0]:
                self._pieces.pop(0)
            return data
        if self._file is None:
            self._file = open(piece, "rb")
        data = self._file.read(size)
        if not data:
            self._file.close()
            self._pieces.pop(0)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            block = self.read(CHUNK_SIZE)
            if not block:
                return
            yield block

    def close(self) -> None:
        """Close the file if reading stopped half-way."""
        if self._file is not None and not self._file.closed:
            self._file.close()


def _quote(text: str) -> str:
    """Escape a header parameter value the way browsers do."""
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _print_progress(done: int, total: int) -> None:
    """Draw the upload progress bar on stderr (stdout carries only the JSON answer)."""
    percent = done * 100 // max(total, 1)
    sys.stderr.write("\r UPLOADING:{}{:.2f}%".format("|" * percent, percent))
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _post_multipart(path: str, body: MultipartFile, params: Optional[Config] = None) -> Config:
    """POST a streaming multipart body, with ``params`` as key=value query strings."""
    query = {k: _form_value(v) for k, v in (params or {}).items()}
    try:
        return _reply(_request("POST", path, params=query, data=body,
                               headers={"Content-Type": body.content_type}))
    finally:
        body.close()


# ---------------------------------------------------------------- standalone job node (999)

def _retry_on_standalone_node(reply: Config, resend: Callable[[], Config]) -> Config:
    """On retcode 999 start the cluster's standalone job node as the original did, then resend.

    The original ran ``sh service.sh start --standalone_node`` in the cwd; with no
    service.sh there, the 999 answer is printed as it came.
    """
    if reply.get("retcode") != STANDALONE_NODE_DOWN or not os.path.isfile("service.sh"):
        return reply
    import subprocess

    sys.stderr.write("use service.sh to start standalone node server....\n")
    subprocess.call(["sh", "service.sh", "start", "--standalone_node"], stdout=sys.stderr)
    time.sleep(5)
    return resend()


# ---------------------------------------------------------------- job commands

def submit_job(config: Config) -> Config:
    """Submit a job: the DSL file (``{}`` for predict jobs) plus the whole config as runtime conf."""
    if not config.get("config"):
        raise MissingArguments(["runtime conf path"])
    is_predict = (config.get("job_parameters") or {}).get("job_type", "") == "predict"
    if not config.get("dsl") and not is_predict:
        raise MissingArguments(["dsl path"])
    dsl = {}
    if config.get("dsl"):
        with open(config["dsl"], encoding="utf-8") as f:
            dsl = json.load(f)
    body = {"job_dsl": dsl, "job_runtime_conf": config}
    return _retry_on_standalone_node(_post("job/submit", body), lambda: _post("job/submit", body))


def stop_job(config: Config) -> Config:
    """Stop (cancel or, with ``operate: kill``, kill) a job."""
    _require(config, "job_id")
    return _post("job/stop", config)


def query_job(config: Config) -> Config:
    """Query job rows, leaving out the bulky DSL and runtime conf of each."""
    reply = _post("job/query", config)
    if reply.get("retcode") == 0:
        for job in reply.get("data") or []:
            job.pop("f_runtime_conf", None)
            job.pop("f_dsl", None)
    return reply


def clean_job(config: Config) -> Config:
    """Clean a job's sessions, output tables and metrics."""
    _require(config, "job_id")
    return _post("job/clean", config)


def data_view_query(config: Config) -> Config:
    """Query data-view rows (the tables components produced)."""
    return _post("job/data/view/query", config)


def clean_queue(config: Config) -> Config:
    """Cancel every job still waiting in this server's queue."""
    return _post("job/clean/queue", config)


def job_config(config: Config) -> Config:
    """Download a job's DSL, runtime confs and model info into ``job_<id>_config/``."""
    _require(config, "job_id", "role", "party_id", "output_path")
    reply = _post("job/config", config)
    if reply.get("retcode") != 0:
        return reply
    data = reply["data"]
    directory = os.path.join(config["output_path"], "job_{}_config".format(data["job_id"]))
    os.makedirs(directory, exist_ok=True)
    for key, value in data.items():
        if key != "job_id":
            with open(os.path.join(directory, "{}.json".format(key)), "w", encoding="utf-8") as f:
                json.dump(value, f, indent=4)
    data.pop("dsl", None)
    data.pop("runtime_conf", None)
    reply["directory"] = directory
    reply["retmsg"] = "download successfully, please check {} directory".format(directory)
    return reply


def job_log(config: Config) -> Config:
    """Download a job's logs as a tar and unpack them into ``job_<id>_log/``."""
    _require(config, "job_id", "output_path")
    job_id = config["job_id"]
    extract_dir = os.path.join(config["output_path"], "job_{}_log".format(job_id))
    return _download_tar("job/log", config, "job_{}_log.tar.gz".format(job_id), extract_dir)


def query_task(config: Config) -> Config:
    """Query task rows."""
    return _post("job/task/query", config)


def list_job(config: Config) -> Config:
    """The newest jobs (``-limit``), FATE 1.5+'s ``flow job list``."""
    return _post("job/list/job", {"limit": config.get("limit") or 10})


def list_task(config: Config) -> Config:
    """The newest tasks (``-limit``), FATE 1.5+'s ``flow task list``."""
    return _post("job/list/task", {"limit": config.get("limit") or 10})


def rerun_job(config: Config) -> Config:
    """Run a failed, canceled or timed-out job again from its failed component (or ``-cpn``; ``--force``)."""
    _require(config, "job_id")
    body = {k: config[k] for k in ("job_id", "component_name", "force") if config.get(k) is not None}
    return _post("job/rerun", body)


def update_job_parameters(config: Config) -> Config:
    """Change ``job_parameters`` / ``component_parameters`` (from ``-c``) of an ended job before a rerun."""
    _require(config, "job_id")
    body = {k: config[k] for k in ("job_id", "job_parameters", "component_parameters") if k in config}
    return _post("job/parameter/update", body)


def job_log_path(config: Config) -> Config:
    """Where the job's logs are on the server."""
    _require(config, "job_id")
    return _post("job/log/path", {"job_id": config["job_id"]})


def validate_dsl(config: Config) -> Config:
    """Check a DSL (``-d``) and runtime conf (``-c``) as a submit would, creating nothing."""
    if not config.get("config") or not config.get("dsl"):
        raise MissingArguments(["runtime conf path", "dsl path"][bool(config.get("config")):])
    with open(config["dsl"], encoding="utf-8") as f:
        dsl = json.load(f)
    return _post("component/validate", {"dsl": dsl, "runtime_conf": config})


# ---------------------------------------------------------------- DSL v2: deploy and predict

def _cpn_list(config: Config) -> Optional[List[str]]:
    value = config.get("cpn_list")
    if value is None:
        return None
    return [name.strip() for name in str(value).strip("[]").split(",") if name.strip()]


def deploy(config: Config) -> Config:
    """A new model version holding ``--cpn-list`` components (or the ``--dsl-path`` predict DSL)."""
    _require_values(config, *MODEL_FIELDS)
    body = {k: config[k] for k in MODEL_FIELDS}
    if config.get("cpn_list") is not None:
        body["cpn_list"] = _cpn_list(config)
    elif config.get("dsl_path"):
        with open(config["dsl_path"], encoding="utf-8") as f:
            body["predict_dsl"] = json.load(f)
    return _post("model/deploy", body)


def _model_get(route: str) -> Callable[[Config], Config]:
    def command(config: Config) -> Config:
        _require_values(config, *MODEL_FIELDS)
        return _post(route, {k: config[k] for k in MODEL_FIELDS})
    command.__doc__ = "POST {} for a model version (--model-id, --model-version).".format(route)
    return command


get_predict_dsl = _model_get("model/get/predict/dsl")
get_predict_conf = _model_get("model/get/predict/conf")


def model_query(config: Config) -> Config:
    """Model versions of the server's parties (filters: model id and version, role, party id)."""
    body = {k: config[k] for k in (*MODEL_FIELDS, "role", "party_id") if config.get(k) is not None}
    return _post("model/query", body)


def generate_dsl(config: Config) -> Config:
    """The predict DSL of ``--cpn-list`` components of a v2 train DSL (``-d``)."""
    if not config.get("dsl"):
        raise MissingArguments(["dsl path"])
    _require(config, "cpn_list")
    with open(config["dsl"], encoding="utf-8") as f:
        train_dsl = f.read()
    return _post("job/dsl/generate", {"train_dsl": train_dsl, "cpn_str": _cpn_list(config), "version": "2"})


# ---------------------------------------------------------------- tracking commands

def _component_post(route: str) -> Callable[[Config], Config]:
    """Build a command that needs job, component, role and party and POSTs to tracking/<route>."""
    def command(config: Config) -> Config:
        _require(config, "job_id", "component_name", "role", "party_id")
        return _post("tracking/" + route, config)
    command.__doc__ = "POST tracking/{} for one component of one party.".format(route)
    return command


component_parameters = _component_post("component/parameters")
component_metrics = _component_post("component/metrics")
component_output_model = _component_post("component/output/model")
component_output_data_table = _component_post("component/output/data/table")
component_summary = _component_post("component/summary/download")


def component_list(config: Config) -> Config:
    """The job's component names in run order."""
    _require(config, "job_id")
    return _post("tracking/component/list", {"job_id": config["job_id"]})


def component_metric_all(config: Config) -> Config:
    """Every metric of a component; with ``-o DIR`` the complete answer is also saved there."""
    _require(config, "job_id", "component_name", "role", "party_id")
    reply = _post("tracking/component/metric/all", config)
    if config.get("output_path") and reply.get("retcode") == 0:
        path = _metric_all_file(config)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(reply, indent=4, ensure_ascii=False) + "\n")
        sys.stderr.write("the complete answer is in {}\n".format(path))
    return reply


def _metric_all_file(config: Config) -> str:
    """Where ``component_metric_all -o DIR`` saves the complete answer."""
    return os.path.join(config["output_path"], "job_{}_{}_{}_{}_metric_all.json".format(
        config["job_id"], config["component_name"], config["role"], config["party_id"]))


def _single_values(points: Any) -> Optional[List[list]]:
    """The ``[[name, value], ...]`` of a summary metric (auc, ks, counts), or None for a curve."""
    if not isinstance(points, list) or not 0 < len(points) <= SUMMARY_MAX_VALUES:
        return None
    for point in points:
        if not (isinstance(point, list) and len(point) == 2 and isinstance(point[0], str)
                and not isinstance(point[1], (list, dict))):
            return None
    return points


def metric_summary(reply: Config, config: Config) -> Optional[str]:
    """A terminal view of a metric/all answer: single values first, one line per curve or table.

    Returns None when the answer is not a successful metric listing (it is then printed
    as JSON): only the bulky success answer gets a shorter form.
    """
    data = reply.get("data")
    if reply.get("retcode") != 0 or not isinstance(data, dict) or not data:
        return None
    saved = _metric_all_file(config) if config.get("output_path") else None
    hint = "all in {}".format(saved) if saved else "use -o DIR or --json for all"
    values, others = [], []
    for namespace, metrics in sorted(data.items()):
        for name, entry in sorted((metrics or {}).items()):
            points = (entry or {}).get("data")
            single = _single_values(points)
            if single:
                values.append("{}.{}:".format(namespace, name))
                width = max(len(str(key)) for key, _ in single)
                values.extend("    {:<{}}  {}".format(key, width, value) for key, value in single)
            elif points:
                others.append("{}.{}: {} points ({})".format(namespace, name, len(points), hint))
            else:
                others.append("{}.{}: meta only ({})".format(namespace, name, hint))
    title = "metrics of {} ({} {}) in job {}".format(config.get("component_name"), config.get("role"),
                                                       config.get("party_id"), config.get("job_id"))
    return "\n".join([title] + values + others) + "\n"


def component_metric_delete(config: Config) -> Config:
    """Delete metrics of a job (``-j``) or drop a whole day's metric table (``-m YYYYMMDD``)."""
    return _post("tracking/component/metric/delete", config)


def component_output_data(config: Config) -> Config:
    """Download a component's output data as a tar and unpack it into a directory."""
    _require(config, "job_id", "component_name", "role", "party_id", "output_path")
    name = "job_{}_{}_{}_{}_output_data".format(config["job_id"], config["component_name"],
                                                config["role"], config["party_id"])
    extract_dir = os.path.join(config["output_path"], name)
    try:
        return _download_tar("tracking/component/output/data/download", config,
                             name + ".tar.gz", extract_dir)
    except DownloadFailed:
        return {"retcode": 100, "retmsg": "download failed, please check if the parameters are correct"}


# ---------------------------------------------------------------- data commands

def upload(config: Config) -> Config:
    """Upload a local file (multipart, conf in the query string) or a server-side file (JSON).

    The conf (``-c``) is required and must hold every field the server requires: checked
    here so that a big file is not sent only to be refused.
    """
    if not config.get("config"):
        raise MissingArguments(["-c/--config (the upload conf: file, head, partition, work_mode, "
                                "namespace, table_name)"])
    if str(config.get("use_local_data", 1)) == "0":
        _require_values(config, *UPLOAD_FIELDS)
        reply = _post("data/upload", config)
    else:
        config["file"] = _local_file(config)
        _require_values(config, *UPLOAD_FIELDS)
        progress = _print_progress if str(config.get("verbose")) == "1" else None
        body = MultipartFile({}, config["file"], on_progress=progress)
        reply = _post_multipart("data/upload", body, params=config)
    # As in the original, the retry sends JSON: the standalone node runs on this machine.
    return _retry_on_standalone_node(reply, lambda: _post("data/upload", config))


def download(config: Config) -> Config:
    """Ask the server to write a table to ``output_path`` on the server's machine."""
    return _post("data/download", config)


def upload_history(config: Config) -> Config:
    """List recent successful uploads (``-j``, ``-limit``)."""
    return _post("data/upload/history", config)


# ---------------------------------------------------------------- table commands

def table_info(config: Config) -> Config:
    """Show a table's count, partitions and schema."""
    _require(config, "namespace", "table_name")
    return _post("table/table_info", config)


def table_delete(config: Config) -> Config:
    """Delete a table (``-n -t``) or a job's output tables (``-j [-r -p -cpn]``)."""
    return _post("table/delete", config)


TABLE_ADD_FIELDS = ("engine", "address", "namespace", "name", "head", "id_delimiter", "drop", "partitions",
                    "extend_sid", "auto_increasing_sid")


def _table_add(route: str) -> Callable[[Config], Config]:
    """Build FATE 1.5+'s table add/bind: a table from a file on the server (``-c`` with engine and address)."""
    def command(config: Config) -> Config:
        body = {k: config[k] for k in TABLE_ADD_FIELDS if config.get(k) is not None}
        if config.get("table_name") and "name" not in body:
            body["name"] = config["table_name"]  # -t, as for the other table commands
        _require(body, "engine", "address", "namespace", "name")
        return _post(route, body)
    command.__doc__ = "POST {}: engine, address, namespace, name (or -n -t), head, id_delimiter, drop.".format(route)
    return command


table_add = _table_add("table/add")
table_bind = _table_add("table/bind")


# ---------------------------------------------------------------- tag commands (FATE 1.5+'s flow tag)

def _tag_post(route: str, required: tuple, fields: tuple) -> Callable[[Config], Config]:
    def command(config: Config) -> Config:
        _require(config, *required)
        return _post(route, {k: config[k] for k in fields if config.get(k) is not None})
    command.__doc__ = "POST {} ({}).".format(route, ", ".join(fields))
    return command


create_tag = _tag_post("model/tag/create", ("tag_name",), ("tag_name", "tag_desc"))
query_tag = _tag_post("model/tag/retrieve", ("tag_name",), ("tag_name", "with_model"))
update_tag = _tag_post("model/tag/update", ("tag_name",), ("tag_name", "new_tag_name", "new_tag_desc"))
delete_tag = _tag_post("model/tag/destroy", ("tag_name",), ("tag_name",))
list_tag = _tag_post("model/tag/list", (), ("limit",))
model_tag_list = _tag_post("model/model_tag/retrieve", ("job_id",), ("job_id",))


def tag_model(config: Config) -> Config:
    """Tag the model of ``-j JOB`` with ``--tag-name``; ``--remove`` takes the tag off."""
    _require(config, "job_id", "tag_name")
    route = "model/model_tag/remove" if config.get("remove") else "model/model_tag/create"
    return _post(route, {"job_id": config["job_id"], "tag_name": config["tag_name"]})


# ---------------------------------------------------------------- model commands

def _is_placeholder(value: Any) -> bool:
    """True for a model field left to be filled in: missing, empty, or ``<like this>``."""
    if value is None:
        return True
    text = str(value).strip()
    return not text or (text.startswith("<") and text.endswith(">"))


def _fill_model_from_job(config: Config, in_job_parameters: bool = False) -> None:
    """With ``-j JOB``, take ``model_id``/``model_version`` from the job's model_info.

    Only empty or placeholder fields are filled; a conf naming another model than the
    job's is refused rather than silently overridden. load and bind keep the fields in
    ``job_parameters`` and also get the job's ``initiator`` and ``role`` when the conf
    has none. Without ``-j`` the conf is sent as it is, as the original client did.

    Raises:
        UsageError naming the job or the conflicting field.
    """
    job_id = config.get("job_id")
    if not job_id:
        return
    reply = _post("job/config", {"job_id": job_id})
    if reply.get("retcode") != 0:
        raise UsageError("job {} (-j): {}".format(job_id, reply.get("retmsg")))
    data = reply.get("data") or {}
    info = data.get("model_info") or {}
    target = config.setdefault("job_parameters", {}) if in_job_parameters else config
    for key in MODEL_FIELDS:
        if not info.get(key):
            raise UsageError("job {} (-j) has no {} in its model_info".format(job_id, key))
        if _is_placeholder(target.get(key)):
            target[key] = info[key]
        elif str(target[key]) != str(info[key]):
            raise UsageError("{} is {} in the conf but {} in job {}: empty it in the conf to take the "
                             "job's, or leave out -j".format(key, target[key], info[key], job_id))
    if in_job_parameters:
        for key in ("initiator", "role"):
            if not config.get(key) and (data.get("runtime_conf") or {}).get(key):
                config[key] = data["runtime_conf"][key]


def _model_post(operation: str, in_job_parameters: bool = False) -> Callable[[Config], Config]:
    """Build a command that POSTs the config to model/<operation> (``-j`` fills the model fields)."""
    def command(config: Config) -> Config:
        _fill_model_from_job(config, in_job_parameters)
        return _post("model/" + operation, config)
    command.__doc__ = "POST model/{} with the config.".format(operation)
    return command


load = _model_post("load", in_job_parameters=True)
bind = _model_post("bind", in_job_parameters=True)
store = _model_post("store")
restore = _model_post("restore")


def migrate(config: Config) -> Config:
    """FATE 1.5's model migrate: the ``-c`` conf (role, migrate_role, execute_party, model_id, ...) as it is."""
    _require(config, "model_id", "model_version", "unify_model_version")
    body = {k: v for k, v in config.items() if k not in ("function", "config", "local", "party_id", "role")
            or (k == "role" and isinstance(v, dict))}
    return _post("model/migrate", body)


def export_model(config: Config) -> Config:
    """Download a model archive into ``output_path`` under the server's file name."""
    _require(config, "output_path")
    _fill_model_from_job(config)
    with closing(_request("GET", "model/export", config)) as response:
        if response.status_code != 200 or "json" in response.headers.get("Content-Type", ""):
            return _reply(response)  # an error answer: HTTP 200 with a JSON retcode, as in 1.4
        # The original reads the name with this exact pattern; 1.4 servers never quote it.
        names = re.findall("filename=(.+)", response.headers.get("Content-Disposition", ""))
        if not names:
            raise RuntimeError("the server sent no file name (Content-Disposition header)")
        os.makedirs(config["output_path"], exist_ok=True)
        path = os.path.join(config["output_path"], names[0])
        _save_stream(response, path)
    return {"retcode": 0, "file": path, "retmsg": "download successfully, please check {}".format(path)}


def import_model(config: Config) -> Config:
    """Upload a model archive with the config as multipart form fields.

    ``file`` is the zip, or the directory export saved it in: the zip is then the one
    export names ``<role>#<party_id>#<model_id>_<model_version>.zip``.
    """
    _fill_model_from_job(config)
    path = _local_file(config)
    if os.path.isdir(path):
        _require_values(config, "role", "party_id", *MODEL_FIELDS)
        path = os.path.join(path, "{}#{}#{}_{}.zip".format(config["role"], config["party_id"],
                                                           config["model_id"], config["model_version"]))
        if not os.path.isfile(path):
            raise FileNotFoundError(MISSING_FILE_MESSAGE.format(path))
        config["file"] = path
    return _post_multipart("model/import", MultipartFile(config, path))


# ---------------------------------------------------------------- permission commands

def _privilege_post(operation: str) -> Callable[[Config], Config]:
    """Build a command that needs the source party and POSTs to permission/<operation>/privilege."""
    def command(config: Config) -> Config:
        _require(config, "src_party_id", "src_role")
        return _post("permission/{}/privilege".format(operation), config)
    command.__doc__ = "POST permission/{}/privilege for a source party.".format(operation)
    return command


grant_privilege = _privilege_post("grant")
delete_privilege = _privilege_post("delete")
query_privilege = _privilege_post("query")


def test_connection(config: Config) -> Config:
    """POST party/connection/test: which hop to each routed party fails (``-p`` tests one party)."""
    body = {"party_id": config["party_id"]} if config.get("party_id") else {}
    return _post("party/connection/test", body)


COMMANDS: Dict[str, Callable[[Config], Config]] = {
    "submit_job": submit_job, "stop_job": stop_job, "query_job": query_job,
    "clean_job": clean_job, "data_view_query": data_view_query, "clean_queue": clean_queue,
    "job_config": job_config, "job_log": job_log, "query_task": query_task,
    "component_parameters": component_parameters, "component_metric_all": component_metric_all,
    "component_metrics": component_metrics, "component_metric_delete": component_metric_delete,
    "component_output_model": component_output_model, "component_output_data": component_output_data,
    "component_output_data_table": component_output_data_table,
    "upload": upload, "download": download, "upload_history": upload_history,
    "table_info": table_info, "table_delete": table_delete,
    "load": load, "bind": bind, "store": store, "restore": restore,
    "export": export_model, "import": import_model,
    "grant_privilege": grant_privilege, "delete_privilege": delete_privilege,
    "query_privilege": query_privilege, "test_connection": test_connection,
    # FATE 1.5+ (flow CLI's job list/rerun/parameter-update/log-path, model deploy/get-predict-*, ...)
    "list_job": list_job, "list_task": list_task, "rerun_job": rerun_job,
    "update_job_parameters": update_job_parameters, "job_log_path": job_log_path, "validate_dsl": validate_dsl,
    "deploy": deploy, "get_predict_dsl": get_predict_dsl, "get_predict_conf": get_predict_conf,
    "model_query": model_query, "generate_dsl": generate_dsl,
    "component_list": component_list, "component_summary": component_summary,
    "table_add": table_add, "table_bind": table_bind, "migrate": migrate,
    "create_tag": create_tag, "query_tag": query_tag, "update_tag": update_tag, "delete_tag": delete_tag,
    "list_tag": list_tag, "tag_model": tag_model, "model_tag_list": model_tag_list,
}

# Shorter forms of bulky answers, used only when stdout is a terminal and --json is not
# given. FATE 1.4's scripts run the client through a pipe and parse the JSON (retcode,
# data.train.<component>.data, ...), so what they read never changes.
TERMINAL_VIEWS: Dict[str, Callable[[Config, Config], Optional[str]]] = {
    "component_metric_all": metric_summary,
}
PRINT_JSON = "print_json"  # the --json flag: client-side only, never sent to the server


# ---------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with the original client's flags and long names."""
    parser = argparse.ArgumentParser(description="FATE-Flow 1.4 command-line client")
    parser.add_argument("-f", "--function", required=True, choices=list(COMMANDS), metavar="COMMAND",
                        help="one of: " + ", ".join(COMMANDS))
    files = parser.add_argument_group("files")
    files.add_argument("-c", "--config", help="runtime conf / command conf (JSON file)")
    files.add_argument("-d", "--dsl", help="job DSL (JSON file)")
    files.add_argument("-i", "--file", help="file to upload or import")
    files.add_argument("-o", "--output_path",
                       help="local directory for downloads (component_metric_all saves its complete answer there)")
    target = parser.add_argument_group("job, task and table")
    for short, long, help_text in (("-j", "--job_id", "job id (model commands: take an empty model_id/"
                                                      "model_version of the conf from this job)"),
                                   ("-p", "--party_id", "party id"),
                                   ("-r", "--role", "role"), ("-cpn", "--component_name", "component name"),
                                   ("-s", "--status", "status"), ("-n", "--namespace", "table namespace"),
                                   ("-t", "--table_name", "table name"),
                                   ("-m", "--model", "metric table date YYYYMMDD"),
                                   ("-drop", "--drop", "upload onto an existing table: 0 appends (a repeated "
                                    "id takes the new row), 1 replaces the table; without it the upload is "
                                    "refused")):
        target.add_argument(short, long, help=help_text)
    for short, long, help_text in (("-w", "--work_mode", "0 standalone / 1 cluster"),
                                   ("-limit", "--limit", "number of rows or records"),
                                   ("-verbose", "--verbose", "1 shows upload progress")):
        target.add_argument(short, long, type=int, help=help_text)
    v2 = parser.add_argument_group("DSL v2 (FATE 1.5+'s flag names)")
    for names, dest, help_text in ((("--model-id", "--model_id"), "model_id", "model id"),
                                   (("--model-version", "--model_version"), "model_version", "model version"),
                                   (("--cpn-list", "--cpn_list"), "cpn_list", "components, comma separated"),
                                   (("--dsl-path", "--dsl_path"), "dsl_path", "predict DSL file (deploy)")):
        v2.add_argument(*names, dest=dest, help=help_text)
    v2.add_argument("--force", action="store_const", const=True, help="rerun_job: also a job that succeeded")
    for names, dest, help_text in ((("--tag-name", "--tag_name"), "tag_name", "tag name"),
                                   (("--tag-desc", "--tag_desc"), "tag_desc", "tag description"),
                                   (("--new-tag-name", "--new_tag_name"), "new_tag_name", "update_tag: new name"),
                                   (("--new-tag-desc", "--new_tag_desc"), "new_tag_desc",
                                    "update_tag: new description")):
        v2.add_argument(*names, dest=dest, help=help_text)
    v2.add_argument("--with-model", "--with_model", dest="with_model", action="store_const", const=True,
                    help="query_tag: also the models carrying the tag")
    v2.add_argument("--remove", action="store_const", const=True, help="tag_model: take the tag off instead")
    output = parser.add_argument_group("output")
    output.add_argument("--json", dest=PRINT_JSON, action="store_true",
                        help="print the complete JSON answer even on a terminal (component_metric_all "
                             "otherwise shows a summary there; scripts reading a pipe always get JSON)")
    permission = parser.add_argument_group("permission")
    for name in ("src_party_id", "src_role", "privilege_role", "privilege_command", "privilege_component"):
        permission.add_argument("-" + name, "--" + name, help=name.replace("_", " "))
    return parser


def build_config(args: argparse.Namespace) -> Config:
    """Merge the ``-c`` file with every given flag (long names), ``local`` and absolute paths."""
    config: Config = {}
    if args.config:
        args.config = os.path.abspath(args.config)
        with open(args.config, encoding="utf-8") as f:
            config = json.load(f)
    if args.dsl:
        args.dsl = os.path.abspath(args.dsl)
    config.update({k: v for k, v in vars(args).items() if v is not None and k != PRINT_JSON})
    if args.party_id is not None or args.role is not None:
        local = dict(config.get("local") or {})
        local.update({k: getattr(args, k) for k in ("party_id", "role") if getattr(args, k) is not None})
        config["local"] = local
    if config.get("output_path"):
        config["output_path"] = os.path.abspath(os.path.expanduser(str(config["output_path"])))
    return config


def _error_reply(error: Exception) -> Config:
    """Turn an exception into the retcode-100 answer the original client printed."""
    if "Connection refused" in str(error):
        return {"retcode": 100, "retmsg": "Connection refused, Please check if the fate flow service is started"}
    if isinstance(error, (MissingArguments, UsageError, FileNotFoundError)):
        return {"retcode": 100, "retmsg": str(error)}
    return {"retcode": 100, "retmsg": str(error),
            "traceback": traceback.format_exception(type(error), error, error.__traceback__)}


def _write_all(binary: Any, data: bytes) -> None:
    """Write every byte of ``data`` to a binary stream, then flush it.

    Under PYTHONUNBUFFERED the text layer sits on a raw file whose ``write`` may take
    only part of a big answer (a pipe whose reader left) and the text layer drops the
    rest without an error; writing the bytes in a loop turns that into BrokenPipeError.
    """
    view = memoryview(data)
    while view:
        written = binary.write(view)
        if not written:
            raise OSError(errno.EAGAIN, "stdout accepted no bytes")
        view = view[written:]
    binary.flush()


def _write_stdout(text: str) -> int:
    """Write ``text`` to stdout; 0, or EXIT_BROKEN_PIPE when the reader has gone away.

    A reader such as ``head`` may close the pipe before the answer is written out. That
    is not an error of the command: stop quietly with the status a process killed by
    SIGPIPE has (128 + 13), which is what shells report for ``yes | head``. Pointing
    stdout at /dev/null keeps the interpreter's own flush at exit from failing again.
    """
    try:
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write_all(binary, text.encode(sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"))
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command and print its JSON answer; returns 0 like the original client.

    The exit status is 0 whatever the answer's retcode (scripts read the retcode from
    the JSON), and EXIT_BROKEN_PIPE when stdout was closed before the answer was written.
    """
    args = build_parser().parse_args(argv)
    config: Config = {}
    try:
        config = build_config(args)
        reply = COMMANDS[args.function](config)
    except Exception as error:  # every failure is reported as JSON on stdout
        reply = _error_reply(error)
    view = TERMINAL_VIEWS.get(args.function)
    text = None
    if view is not None and not getattr(args, PRINT_JSON) and _is_terminal(sys.stdout):
        text = view(reply, config)
    if text is None:
        text = json.dumps(reply, indent=4, ensure_ascii=False) + "\n\n"
    return _write_stdout(text)


def _is_terminal(stream: Any) -> bool:
    """True when ``stream`` is a terminal (a person reads it), False for pipes and files."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(main())
