"""Hostile requests against every route: each is refused cleanly and the server keeps serving.

The routes come from the app's own url_map, so a route added later is swept without a
change here. Every (route, case) pair is one test, named after both. A refusal is HTTP 4xx,
or the JSON envelope with a non-zero retcode whose retmsg names the field at fault; no
answer carries exception class names or traceback text, no file appears outside the work
dir, and a health request answers afterwards.

The tests talk HTTP through the Flask test client only (no imports of the server's
internals beyond building the app, as tests/conftest.py does).
"""
from __future__ import annotations

import io
import json
import random
import re
import struct
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import pytest

from tests.flow_server import ROOT

TOY_DSL = json.loads((ROOT / "examples/toy_example/toy_example_dsl.json").read_text())
TOY_CONF = json.loads((ROOT / "examples/toy_example/toy_example_conf.json").read_text())
# a marker in every hostile path: nothing named with it may exist anywhere after a test (test
# ids show it as TOKEN: xdist workers must collect the same ids)
TOKEN = f"hostile-{uuid.uuid4().hex[:12]}"
DEEP = 10_000
HEALTH = "/v1/version/get"


# --------------------------------------------------------------------------- the routes

def _route_rules() -> list[tuple[str, str, tuple[str, ...]]]:
    """(rule, method, path variables) of every route of an app built as the tests build it.

    Building the app reads no file and opens no database, so it is safe at collection.
    """
    from fate_flow.app import create_app
    from fate_flow.settings import load_settings

    settings = load_settings(None, environ={}, work_dir=f"/nonexistent/{TOKEN}", port=1,
                             database_url="sqlite:///:memory:")
    app = create_app(settings)
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        method = "POST" if "POST" in rule.methods else "GET"
        rules.append((rule.rule, method, tuple(rule.arguments)))
    return sorted(rules)


ROUTES = _route_rules()
ROUTE_IDS = [rule for rule, _, _ in ROUTES]

# plausible values for path variables when the case is about something else
PATH_DEFAULTS = {"job_id": "202001010000000000001", "role": "guest", "party_id": "9999",
                 "component_name": "secure_add_example_0", "task_id": "202001010000000000001_secure_add_example_0",
                 "session_id": "session_0", "operation": "no_such_operation"}
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class Encoded(str):
    """A path variable sent as it is (already percent-encoded, e.g. bytes that are not UTF-8)."""


def route_url(rule: str, **values: str) -> str:
    def value(match: re.Match) -> str:
        text = values.get(match.group(1), PATH_DEFAULTS.get(match.group(1), "x"))
        return text if isinstance(text, Encoded) else quote(text, safe="")

    return _VARIABLE.sub(value, rule)


# --------------------------------------------------------------------------- the cases

@dataclass(frozen=True)
class Case:
    """One malformed request: ``request(rule, variables)`` -> test-client kwargs.

    ``fields``: names of which at least one must appear in the retmsg (empty: any refusal).
    """

    name: str
    request: Callable[[str, tuple[str, ...]], dict]
    fields: tuple[str, ...] = ()
    only_with_variables: bool = False
    extra: dict = field(default_factory=dict)
    # False: the request may also succeed, as long as nothing crashes (fields the route may ignore)
    must_refuse: bool = True


def raw(body: bytes, content_type: str | None = "application/json") -> Callable:
    def build(rule, variables):
        kwargs = {"data": body}
        if content_type:
            kwargs["content_type"] = content_type
        return dict(kwargs, path=route_url(rule))
    return build


def body(obj: Any) -> Callable:
    def build(rule, variables):
        return {"path": route_url(rule), "data": json.dumps(obj), "content_type": "application/json"}
    return build


def in_path(name_of: Callable[[tuple[str, ...]], str], value: str) -> Callable:
    def build(rule, variables):
        return {"path": route_url(rule, **{name_of(variables): value}), "json": {}}
    return build


# a body not declared JSON: JSON routes refuse it as the request body; the upload routes name
# the multipart part or form fields they miss instead
NOT_JSON_FIELDS = ("request body", "file", "required")
DEEP_ARRAY = b"[" * DEEP + b"]" * DEEP
DEEP_OBJECT = b'{"a":' * DEEP + b"1" + b"}" * DEEP

BODY_CASES = [
    Case("deep_array", raw(DEEP_ARRAY), ("request body",)),
    Case("deep_object", raw(DEEP_OBJECT), ("request body",)),
    Case("deep_inside_a_field", raw(b'{"job_id": "1", "job_runtime_conf": ' + DEEP_OBJECT + b"}"), ("request body",)),
    Case("deep_without_content_type", raw(DEEP_ARRAY, None), NOT_JSON_FIELDS),
    Case("deep_as_text_plain", raw(DEEP_OBJECT, "text/plain"), NOT_JSON_FIELDS),
    Case("not_json", raw(b"{not json"), ("request body",)),
    Case("binary_body", raw(b"\xff\xfe\x00\x01\x80garbage"), ("request body",)),
    Case("invalid_utf8_string", raw(b'{"job_id": "\xff\xfe"}'), ("request body",)),
    Case("array_body", raw(b"[1, 2]"), ("request body",)),
    Case("string_body", raw(b'"job_id"'), ("request body",)),
    Case("number_body", raw(b"42"), ("request body",)),
    Case("null_body", raw(b"null"), ("request body",)),
    Case("octet_stream_junk", raw(b"\xc1\x93junk" * 10, "application/octet-stream"), NOT_JSON_FIELDS),
    Case("multipart_junk", raw(b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\njunk",
                               "multipart/form-data; boundary=x"), NOT_JSON_FIELDS),
    Case("nan_ids", raw(b'{"job_id": NaN, "party_id": Infinity, "limit": -Infinity}'),
         ("job_id", "party_id", "limit")),
]

# Top-level fields that name things. Each must be refused wherever it appears.
ID_FIELDS = ("job_id", "role", "party_id", "component_name", "task_id", "namespace", "table_name",
             "model_id", "model_version", "src_party_id", "src_role", "service_id",
             "metric_namespace", "metric_name")
HOSTILE_TEXT = {
    "nul": "ab\x00cd",
    "escape_sequence": "ab\x1b[31mcd",
    "newline": "ab\ncd",
    "bidi_override": "ab\u202ecd",
    "bidi_isolate": "ab\u2067cd",
    "right_to_left_mark": "ab\u200fcd",
    "zero_width_space": "ab\u200bcd",
    "zero_width_joiner": "ab\u200dcd",
    "byte_order_mark": "\ufeffabcd",
    "lone_surrogate": "ab\ud800cd",
    "one_megabyte": "a" * (1 << 20),
}
# values no id field accepts in any route (role may be a role -> party ids dict, party_id a list
# of party ids: these are not such shapes)
HOSTILE_TYPES = {
    "list_of_dict": [{"a": 1}],
    "dict_of_str": {"a": "b"},
    "bool": True,
    "float": 1.5,
    "nested_list": [["9999"]],
}

ID_CASES = ([Case(f"all_ids_{name}", body({f: value for f in ID_FIELDS}), ID_FIELDS)
             for name, value in {**HOSTILE_TEXT, **HOSTILE_TYPES}.items() if name != "one_megabyte"]
            + [Case("ids_as_ints", body({f: 12345 for f in ID_FIELDS if "party_id" not in f and f != "service_id"}),
                    ID_FIELDS)]
            + [Case("path_traversal_ids", body({f: f"../../{TOKEN}" for f in ID_FIELDS if "party_id" not in f}),
                    ID_FIELDS)]
            + [Case(f"{f}_bidi", body({f: "ab\u202ecd"}), (f,)) for f in ID_FIELDS]
            + [Case(f"{f}_list", body({f: [["x"]]}), (f,)) for f in ID_FIELDS]
            + [Case(f"{f}_one_megabyte", body({f: "7" * (1 << 20)}), (f,)) for f in ID_FIELDS])

ODD_VALUE_CASES = [
    Case("limit_all", body({"limit": "all"}), ("limit",)),
    Case("limit_negative", body({"limit": -5}), ("limit",)),
    Case("limit_huge", body({"limit": 10 ** 30}), ("limit",)),
    Case("limit_float", body({"limit": 2.5}), ("limit",)),
    Case("limit_list", body({"limit": [1]}), ("limit",)),
    Case("timeout_negative", body({"timeout": -5}), ("timeout",)),
    Case("timeout_text", body({"timeout": "soon"}), ("timeout",)),
    Case("party_id_negative", body({"party_id": -5}), ("party_id",)),
    Case("party_id_not_digits", body({"party_id": "99x9"}), ("party_id",)),
    Case("party_id_list_of_junk", body({"party_id": ["9999", "x\u200b"]}), ("party_id",)),
    Case("role_dict_of_junk", body({"role": {"guest": "9999"}}), ("role",)),
    Case("role_dict_bad_key", body({"role": {"gu\u202eest": [9999]}}), ("role",)),
]


# Other fields routes read, each given a value of the wrong kind: routes may refuse or ignore
# them, but none may crash (an exception reaching the error handler fails the test).
OTHER_FIELDS = ("job_dsl", "job_runtime_conf", "job_train_runtime_conf", "operate", "reason", "notes", "module",
                "metrics", "metric_meta", "meta", "upload_count", "party_model_id", "task_parameters", "f_status",
                "f_runtime_conf", "f_dsl", "f_train_runtime_conf", "f_roles", "f_progress", "f_start_time",
                "f_run_pid", "f_status_reason", "featureIdList", "featureData", "serviceId", "transfer_address",
                "store_address", "force_update", "privilege_role", "privilege_command", "privilege_component",
                "ping_back", "head", "output_path", "file", "use_local_data", "work_mode", "partition", "drop",
                "delimitor", "in_version", "gen_table_info", "create", "local", "data_type", "wait", "message_id",
                "initiator", "job_parameters", "servings", "sendToRemoteFeatureData", "batchDataList", "model",
                "body", "load_type", "file_path")
JUNK = {"lists": [[1], {"a": None}], "objects": {"a": {"b": [1]}}, "numbers": -7.5, "strings": "junk\u202e",
        "bools": True, "nested": json.loads("[" * 60 + "]" * 60), "empty_objects": {}}
JUNK_CASES = ([Case(f"junk_{kind}", body({f: value for f in OTHER_FIELDS}), must_refuse=False)
               for kind, value in JUNK.items()]
              + [Case("empty_object", body({}), must_refuse=False),
                 Case("ids_valid_rest_junk", body({**PATH_DEFAULTS, **{f: [[1]] for f in OTHER_FIELDS}}),
                      must_refuse=False)])


def _variable_cases() -> list[Case]:
    """Hostile values in the URL: each path variable in turn (the first one for the path class)."""
    cases = []
    for label, value in {"nul": "ab\x00cd", "bidi_override": "ab\u202ecd", "zero_width_space": "ab\u200bcd",
                         "escape_sequence": "ab\x1bcd", "dot_dot": "..", "one_megabyte": "7" * (1 << 20),
                         "not_utf8": Encoded("ab%FF%FEcd")}.items():
        for index in range(5):
            cases.append(Case(f"path_var{index}_{label}",
                              in_path(lambda variables, i=index: variables[i], value), (),
                              only_with_variables=True, extra={"index": index}))
    return cases


VARIABLE_CASES = _variable_cases()
ALL_CASES = BODY_CASES + ID_CASES + ODD_VALUE_CASES + VARIABLE_CASES + JUNK_CASES


def _sweep_params():
    params = []
    for rule, method, variables in ROUTES:
        for case in ALL_CASES:
            if case.only_with_variables and case.extra["index"] >= len(variables):
                continue
            params.append(pytest.param(rule, method, variables, case, id=f"{rule} | {case.name}"))
    return params


# --------------------------------------------------------------------------- the server

@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    """One app for the whole sweep, built as tests/conftest.py builds it (SQLite in the work dir)."""
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import load_settings

    base = tmp_path_factory.mktemp("hostile")
    work = base / "work"
    settings = load_settings(None, environ={}, work_dir=str(work), database_url=f"sqlite:///{work / 'flow.db'}",
                             port=1)
    database = init_db(settings.database)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app, database, settings, base


@pytest.fixture
def hostile(hostile_app, caplog):
    """The sweep's client, and the checks every hostile request is followed by."""
    from fate_flow.db import DB

    app, database, settings, base = hostile_app
    if DB.obj is not database:  # another module's test rebound the database in this worker
        DB.initialize(database)
    return Sweep(app.test_client(), settings.work_dir, base, caplog)


@dataclass
class Sweep:
    client: Any
    work_dir: Path
    base: Path
    caplog: Any

    def send(self, where: str, **kwargs):
        """Send one request; fail if it wrote outside the work dir, crashed a route or stopped the server."""
        before = outside_snapshot(self.base, self.work_dir)
        self.caplog.clear()
        answer = self.client.open(**kwargs)
        assert outside_snapshot(self.base, self.work_dir) == before, f"{where}: a file was written outside the work dir"
        assert_no_token_paths(self.base)
        crashed = [f"{r.getMessage()}: {r.exc_info[1]!r}"[:300] for r in self.caplog.records
                   if r.exc_info and r.levelname == "ERROR"]
        assert not crashed, f"{where}: an unexpected exception reached the error handler: {crashed}"
        health = self.client.get(HEALTH)
        assert health.status_code == 200 and health.get_json()["retcode"] == 0, f"{where}: the server stopped answering"
        return answer


def outside_snapshot(base: Path, work_dir: Path) -> set[str]:
    """Every path under the test's base dir except the work dir, plus the project root's top level."""
    seen = {str(p) for p in base.rglob("*") if work_dir != p and work_dir not in p.parents}
    return seen | {str(p) for p in ROOT.iterdir() if not p.name.startswith(".")}


def assert_no_token_paths(*roots: Path) -> None:
    for root in (Path("/tmp"), ROOT, ROOT.parent, *roots):
        found = [str(p) for p in root.glob(f"*{TOKEN}*")]
        assert not found, f"hostile path created: {found}"


# --------------------------------------------------------------------------- the checks

_EXCEPTION_TEXT = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(?:Error|Exception|Warning)\b|File \"|\bline \d+, in\b")
MAX_ANSWER = 8 << 10
# answers that are big whatever the request (they echo nothing): the OpenAPI document
BIG_BY_DESIGN = ("GET /openapi.json ", "GET /metrics ")


def assert_clean(answer, where: str = "") -> str:
    """The answer carries no exception text and does not echo a big input; return its text."""
    text = answer.get_data(as_text=True) if not answer.mimetype.startswith(("application/gzip", "application/zip")) \
        else ""
    assert len(text) < MAX_ANSWER or where.startswith(BIG_BY_DESIGN), \
        f"{where}: answer of {len(text)} characters echoes the input"
    assert not _EXCEPTION_TEXT.search(text), f"{where}: exception text in the answer: {text[:500]!r}"
    return text


def assert_refused(answer, fields: tuple[str, ...] = (), where: str = "") -> dict | None:
    """HTTP 4xx, or the envelope with a non-zero retcode naming one of ``fields``; no exception text."""
    text = assert_clean(answer, where)
    if 400 <= answer.status_code < 500 and not answer.is_json:
        return None
    assert answer.is_json, f"{where}: HTTP {answer.status_code} {answer.mimetype}, not the envelope: {text[:300]!r}"
    data = answer.get_json()
    assert isinstance(data, dict) and data.get("retcode") not in (0, None), f"{where}: accepted: {data}"
    if 400 <= answer.status_code < 500:
        return data
    retmsg = data.get("retmsg") or ""
    if fields:
        assert any(f in retmsg for f in fields), f"{where}: retmsg names none of {fields}: {retmsg!r}"
    return data


# --------------------------------------------------------------------------- the sweep

def test_every_route_is_swept():
    """The sweep sees the routes the server registers (a sample of each /v1 group)."""
    groups = {rule.split("/")[2] for rule in ROUTE_IDS if rule.startswith("/v1/")}
    assert {"job", "schedule", "pipeline", "tracking", "data", "table", "model", "party", "permission",
            "federation", "serving", "version"} <= groups
    assert len(ROUTES) >= 60


@pytest.mark.parametrize("rule,method,variables,case", _sweep_params())
def test_hostile_request_is_refused(hostile, rule, method, variables, case):
    where = f"{method} {rule} [{case.name}]"
    answer = hostile.send(where, method=method, **case.request(rule, variables))
    if case.must_refuse:
        assert_refused(answer, case.fields, where)
    else:
        assert_clean(answer, where)


# --------------------------------------------------------------------------- targeted: nesting

@pytest.mark.parametrize("depth,refused", [(99, False), (100, True), (150, True), (3000, True), (DEEP, True)])
def test_nesting_limit_is_far_above_real_confs(hostile, depth, refused):
    """A field nested 99 deep (100 levels with the body) is read; one level more is refused."""
    # "function": as FATE 1.4's client asks, so that a missing job is 1.4's 101 (1.5+ clients get [])
    text = '{"job_id": "1", "function": "query_job", "notes": ' + "[" * depth + "1" + "]" * depth + "}"
    answer = hostile.send(f"depth {depth}", method="POST", path="/v1/job/query", data=text,
                          content_type="application/json")
    data = assert_refused(answer, ("request body",) if refused else ())
    assert ("nests deeper than" in data["retmsg"]) is refused, data
    if refused:
        assert data["retcode"] == 100


def test_deep_json_text_inside_a_party_call_is_refused(hostile):
    deep = "[" * DEEP + "]" * DEEP
    for name in ("f_dsl", "f_runtime_conf", "f_train_runtime_conf"):
        row = {"f_dsl": json.dumps(TOY_DSL), "f_runtime_conf": json.dumps(TOY_CONF), name: deep}
        answer = hostile.send(name, method="POST", path="/v1/schedule/202001010000000000001/guest/10000/create",
                              json=row)
        assert_refused(answer, (name,))
        assert answer.get_json()["retcode"] == 100


def test_deep_json_in_the_upload_query_string_is_refused(hostile):
    query = quote("[" * DEEP + "]" * DEEP)
    answer = hostile.send("upload query", method="POST", path=f"/v1/data/upload?{query}",
                          data={"file": (io.BytesIO(b"id,x\n1,2\n"), "x.csv")}, content_type="multipart/form-data")
    assert_refused(answer, ("query string",))


# --------------------------------------------------------------------------- targeted: odd values

def submit_with(**job_parameters) -> dict:
    conf = json.loads(json.dumps(TOY_CONF))
    conf["job_parameters"].update(job_parameters)
    return {"job_dsl": TOY_DSL, "job_runtime_conf": conf}


@pytest.mark.parametrize("change,field", [
    ({"timeout": -5}, "job_parameters.timeout"),
    ({"timeout": float("inf")}, "job_parameters.timeout"),
    ({"timeout": "soon"}, "job_parameters.timeout"),
    ({"processors_per_node": -1}, "job_parameters.processors_per_node"),
    ({"processors_per_node": 2.5}, "job_parameters.processors_per_node"),
    ({"processors_per_node": "x" * (1 << 20)}, "job_parameters.processors_per_node"),
    ({"job_type": "predict", "model_id": "../../m", "model_version": "v"}, "job_parameters.model_id"),
    ({"job_type": "predict", "model_id": "m", "model_version": "v\u202e1"}, "job_parameters.model_version"),
])
@pytest.mark.parametrize("route", ["/v1/job/submit", "/v1/pipeline/dag/dependency"])
def test_odd_job_parameters_are_refused_by_name(hostile, route, change, field):
    body = dict(submit_with(**change), role="guest", party_id=10000)
    answer = hostile.send(field, method="POST", path=route,
                          data=json.dumps(body, allow_nan=True), content_type="application/json")
    data = assert_refused(answer, (field,))
    assert data["retcode"] == 101, data


@pytest.mark.parametrize("dsl,conf,field", [
    ({"components": {"secure_add\u202e_0": {"module": "SecureAddExample"}}}, TOY_CONF, "component name"),
    ({"components": {"secure_add\x00_0": {"module": "SecureAddExample"}}}, TOY_CONF, "component name"),
    ({"components": {"../secure_add_0": {"module": "SecureAddExample"}}}, TOY_CONF, "component name"),
    ({"components": {"s" * 300 + "_0": {"module": "SecureAddExample"}}}, TOY_CONF, "component name"),
    (TOY_DSL, dict(TOY_CONF, role={"gu\u200best": [10000], "host": [10000]}), "role"),
    (TOY_DSL, dict(TOY_CONF, role={"guest": ["1" * 5000], "host": [10000]}), "role.guest[0]"),
    (TOY_DSL, dict(TOY_CONF, initiator={"role": "guest\u2067", "party_id": 10000}), "initiator.role"),
    ({"components": {"x_0": {"module": "N" * (1 << 20)}}}, TOY_CONF, "x_0"),
])
@pytest.mark.parametrize("route", ["/v1/job/submit", "/v1/pipeline/dag/dependency"])
def test_hostile_names_inside_the_dsl_and_conf_are_refused(hostile, route, dsl, conf, field):
    body = {"job_dsl": dsl, "job_runtime_conf": conf, "role": "guest", "party_id": 10000}
    data = assert_refused(hostile.send(field, method="POST", path=route, json=body), (field,))
    assert data["retcode"] in (100, 101)


def test_limits_keep_their_1_4_meaning(hostile):
    for limit in (-1, 0, 3, "2"):
        answer = hostile.send("limit", method="POST", path="/v1/data/upload/history", json={"limit": limit})
        assert answer.get_json() == {"retcode": 0, "retmsg": "success", "data": []}
    body = {"job_id": "1", "component_name": "c_0", "role": "guest", "party_id": 9999}
    for limit in ("all", -5, True, 2.5):
        answer = hostile.send("download", method="POST", path="/v1/tracking/component/output/data/download",
                              json=dict(body, limit=limit))
        assert_refused(answer, ("limit",))
    zero = hostile.send("limit 0", method="POST", path="/v1/tracking/component/output/data/download",
                        json=dict(body, limit=0))
    assert zero.status_code == 400 and zero.get_json() == {"retcode": 500, "retmsg": "limit is 0"}


# --------------------------------------------------------------------------- targeted: the catch-all

def test_an_unexpected_error_is_answered_without_its_text(app):
    def broken():
        raise RuntimeError(f"secret detail /etc/{TOKEN}")

    app.add_url_rule("/v1/test/broken", "broken", broken, methods=["POST"])
    answer = app.test_client().post("/v1/test/broken", json={})
    data = assert_refused(answer)
    assert data["retcode"] == 100 and TOKEN not in data["retmsg"] and "RuntimeError" not in data["retmsg"], data


# --------------------------------------------------------------------------- targeted: dag/dependency

CYCLE = {"components": {
    "a_0": {"module": "SecureAddExample", "input": {"model": ["b_0.m"]}, "output": {"model": ["m"]}},
    "b_0": {"module": "SecureAddExample", "input": {"model": ["a_0.m"]}, "output": {"model": ["m"]}}}}


@pytest.mark.parametrize("dsl,words", [
    ({"components": {}}, ["there are no components in dsl"]),
    ({"components": "none"}, ["components"]),
    ({"components": {"x_0": {"module": "NoSuchModule"}}}, ["x_0", "unknown module NoSuchModule"]),
    (CYCLE, ["loop"]),
    ({"components": {"x_0": {"input": {}}}}, ["x_0", "module"]),
    ([1, 2], ["dsl"]),
])
def test_dag_dependency_gives_the_parsers_message(hostile, dsl, words):
    body = {"job_dsl": dsl, "job_runtime_conf": TOY_CONF, "role": "guest", "party_id": 10000}
    data = hostile.send("dag", method="POST", path="/v1/pipeline/dag/dependency", json=body).get_json()
    assert data["retcode"] == 101 and data["retmsg"], data
    for word in words:
        assert word in data["retmsg"], data


# --------------------------------------------------------------------------- targeted: component cap

def many_components(count: int) -> dict:
    return {"components": {f"secure_add_example_{i}": {"module": "SecureAddExample"} for i in range(count)}}


@pytest.mark.parametrize("route,retcode", [("/v1/job/submit", 100), ("/v1/pipeline/dag/dependency", 101)])
def test_a_dsl_of_ten_thousand_components_is_refused(hostile, route, retcode):
    body = {"job_dsl": many_components(10_000), "job_runtime_conf": TOY_CONF, "role": "guest", "party_id": 10000}
    data = assert_refused(hostile.send("cap", method="POST", path=route, json=body), ("max_job_components",))
    assert data["retcode"] == retcode and "10000 components" in data["retmsg"], data
    jobs = hostile.client.post("/v1/job/query", json={"role": "guest"}).get_json()
    assert jobs["retcode"] == 0 and jobs["data"] == [], "no job was created"  # FATE 1.5+'s empty answer


def test_the_component_cap_is_a_setting(settings):
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import apply_overrides

    capped = apply_overrides(settings, scheduler={"max_job_components": 1})
    init_db(capped.database)
    client = create_app(capped).test_client()
    body = {"job_runtime_conf": TOY_CONF, "role": "guest", "party_id": 10000}
    ok = client.post("/v1/pipeline/dag/dependency", json=dict(body, job_dsl=TOY_DSL)).get_json()
    assert ok["retcode"] == 0, ok
    refused = client.post("/v1/pipeline/dag/dependency", json=dict(body, job_dsl=many_components(2))).get_json()
    assert refused == {"retcode": 101, "retmsg": "dsl has 2 components, more than the 1 this server accepts "
                                                 "(scheduler.max_job_components)"}


# --------------------------------------------------------------------------- targeted: model archives

MODEL = {"role": "guest", "party_id": "9999", "model_id": "hostile_model", "model_version": "v1"}


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def declare_size(archive: bytes, name: str, size: int) -> bytes:
    """``archive`` with ``name``'s uncompressed size in both headers changed to ``size`` (a lying header)."""
    data = bytearray(archive)
    encoded = name.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        if data[local + 30:local + 30 + len(encoded)] == encoded:
            struct.pack_into("<I", data, local + 22, size)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        if data[central + 46:central + 46 + len(encoded)] == encoded:
            struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def import_model(hostile, archive: bytes, file_name: str = "model.zip", **form):
    fields = dict(MODEL, **form, file=(io.BytesIO(archive), file_name))
    return hostile.send(f"import {file_name}", method="POST", path="/v1/model/import", data=fields,
                        content_type="multipart/form-data")


def export_model(hostile, **form) -> dict | None:
    answer = hostile.client.open("/v1/model/export", method="GET", json=dict(MODEL, **form))
    return None if answer.mimetype == "application/zip" else answer.get_json()


PIPELINE = json.dumps({"model_id": "hostile_model", "model_version": "v1"}).encode()
BOMBS = {
    # 16 MiB of zeros in about 16 kB: unpacked in full before, though far below import_max_bytes
    "one_member_of_zeros": lambda: zip_of([("pipeline.json", PIPELINE), ("variables/zeros", bytes(16 << 20))]),
    # a member whose header says 1 GiB, exactly import_max_bytes: the size check alone lets it through
    "declared_1_gib_at_the_limit": lambda: declare_size(
        zip_of([("variables/zeros", bytes(2 << 20))]), "variables/zeros", 1 << 30),
    # many members, each under the 1 MiB floor, together 48 MiB from about 48 kB
    "many_small_members": lambda: zip_of([("pipeline.json", PIPELINE)]
                                         + [(f"variables/z{i}", bytes(1 << 20)) for i in range(48)]),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_zip_bomb_is_refused_by_its_compression_ratio(hostile, bomb):
    answer = import_model(hostile, BOMBS[bomb](), model_version=f"bomb_{bomb}")
    data = assert_refused(answer, ("import_max_ratio",))
    assert data["retcode"] == 100 and "times" in data["retmsg"], data
    assert export_model(hostile, model_version=f"bomb_{bomb}")["retcode"] == 100, "nothing was unpacked"


def test_a_model_archive_of_ordinary_ratio_is_imported(hostile):
    numbers = json.dumps({f"x{i}": i * 0.001 for i in range(200_000)}).encode()  # ~4 MB, about 4:1
    answer = import_model(hostile, zip_of([("pipeline.json", PIPELINE), ("variables/weights", numbers)]),
                          model_version="ordinary")
    assert answer.get_json() == {"retcode": 0, "retmsg": "success"}
    assert export_model(hostile, model_version="ordinary") is None, "the model is exported as a zip"


def stored_zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


NOT_ZIPS = {"text": b"not a zip at all", "zeros": bytes(3000), "empty_zip": b"PK\x05\x06" + bytes(18),
            "truncated": zip_of([("pipeline.json", random.Random(1).randbytes(16000))])[:3000],
            "bad_crc": stored_zip("pipeline.json", PIPELINE).replace(PIPELINE, PIPELINE.upper(), 1)}


@pytest.mark.parametrize("kind", sorted(NOT_ZIPS))
def test_not_a_valid_zip_is_answered_without_exception_text(hostile, kind):
    data = assert_refused(import_model(hostile, NOT_ZIPS[kind], model_version=f"broken_{kind}"))
    assert data["retcode"] == 100 and re.search("not a valid zip|holds no files", data["retmsg"]), data
    assert "File is not" not in data["retmsg"] and "Error" not in data["retmsg"]


# --------------------------------------------------------------------------- targeted: server-side paths

@pytest.fixture(params=["127.0.0.1", "0.0.0.0"], ids=["loopback", "public"])
def bound(request, settings):
    """A test client of an app listening on a loopback or a public address (the rules are the same)."""
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import apply_overrides

    # the path rules are under test here, not the app keys a public bind requires (test_app_auth.py)
    bound_settings = apply_overrides(settings, host=request.param, security={"client_authentication": False})
    init_db(bound_settings.database)
    return create_app(bound_settings).test_client(), bound_settings


UPLOAD = {"work_mode": 0, "namespace": "hostile", "table_name": "paths", "head": 1, "partition": 1,
          "use_local_data": 0, "drop": 1}
OUTSIDE_PATHS = ["/etc/passwd", "../../../../../../etc/passwd", "data/../../outside.csv", "~/.bashrc",
                 f"/tmp/{TOKEN}/out.csv", f"../{TOKEN}.csv", "/proc/self/environ", "/dev/zero"]


@pytest.mark.parametrize("path", OUTSIDE_PATHS, ids=[p.replace(TOKEN, "TOKEN") for p in OUTSIDE_PATHS])
def test_upload_reads_no_server_path_outside_the_allowed_dirs(bound, path):
    client, settings = bound
    data = assert_refused(client.post("/v1/data/upload", json=dict(UPLOAD, file=path)), ("file",))
    assert data["retcode"] == 101 and "allowed_dirs" in data["retmsg"], data
    info = client.post("/v1/table/table_info", json={"namespace": "hostile", "table_name": "paths"}).get_json()
    assert info["data"]["count"] == 0, "no table was filled"
    assert not settings.jobs_dir.exists() or list(settings.jobs_dir.iterdir()) == []


def test_a_symlink_out_of_the_work_dir_is_not_followed(bound):
    client, settings = bound
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    (settings.work_dir / "etc_link").symlink_to("/etc")
    data = assert_refused(client.post("/v1/data/upload", json=dict(UPLOAD, file="etc_link/passwd")), ("file",))
    assert "allowed_dirs" in data["retmsg"]


@pytest.mark.parametrize("path", OUTSIDE_PATHS, ids=[p.replace(TOKEN, "TOKEN") for p in OUTSIDE_PATHS])
def test_download_writes_no_server_path_outside_the_allowed_dirs(bound, path):
    client, settings = bound
    created = client.post("/v1/table/table_info", json={"namespace": "hostile", "table_name": "out", "create": True})
    assert created.get_json()["retcode"] == 0
    body = {"work_mode": 0, "namespace": "hostile", "table_name": "out", "output_path": path}
    data = assert_refused(client.post("/v1/data/download", json=body), ("output_path",))
    assert data["retcode"] == 101 and "allowed_dirs" in data["retmsg"], data
    assert_no_token_paths(settings.work_dir.parent)


def test_allowed_dirs_open_more_directories(settings, tmp_path):
    from fate_flow.app import create_app
    from fate_flow.db import init_db
    from fate_flow.settings import apply_overrides

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.csv").write_text("id,x\n1,2\n")
    opened = apply_overrides(settings, host="0.0.0.0", data_access={"allowed_dirs": (str(shared),)},
                             security={"client_authentication": False})
    init_db(opened.database)
    client = create_app(opened).test_client()
    answer = client.post("/v1/data/upload", json=dict(UPLOAD, file=str(shared / "in.csv"))).get_json()
    # past the path check: here the job can not be created (the test app listens on no port)
    assert "allowed_dirs" not in answer.get("retmsg", ""), answer
    refused = client.post("/v1/data/upload", json=dict(UPLOAD, file=str(shared / ".." / "in.csv"))).get_json()
    assert refused["retcode"] == 101 and "allowed_dirs" in refused["retmsg"]


# --------------------------------------------------------------------------- targeted: multipart names

HOSTILE_FILE_NAMES = [f"../../{TOKEN}.zip", f"/tmp/{TOKEN}.zip", f"..\\..\\{TOKEN}.zip", f"C:\\temp\\{TOKEN}.zip",
                      "..", ".", "", f"{TOKEN}\u202egpj.zip", f"a\x00{TOKEN}.zip", f"{'x' * 5000}{TOKEN}.zip",
                      f"../{TOKEN}/../../x.zip", f"\\\\server\\share\\{TOKEN}.zip"]


@pytest.mark.parametrize("file_name", HOSTILE_FILE_NAMES,
                         ids=[ascii(n.replace(TOKEN, "TOKEN"))[:40] for n in HOSTILE_FILE_NAMES])
def test_multipart_file_names_are_never_followed(hostile, file_name):
    version = f"named_{abs(hash(file_name))}"
    answer = import_model(hostile, zip_of([("pipeline.json", PIPELINE)]), file_name, model_version=version)
    assert answer.get_json() == {"retcode": 0, "retmsg": "success"}, answer.get_json()
    assert export_model(hostile, model_version=version) is None, "the archive was received under a safe name"


@pytest.mark.parametrize("file_name", HOSTILE_FILE_NAMES,
                         ids=[ascii(n.replace(TOKEN, "TOKEN"))[:40] for n in HOSTILE_FILE_NAMES])
def test_multipart_upload_names_are_never_followed(hostile, file_name):
    query = "namespace=hostile&table_name=names&head=1&partition=1&work_mode=0&drop=1"
    answer = hostile.send(f"upload {file_name!r}", method="POST", path=f"/v1/data/upload?{query}",
                          data={"file": (io.BytesIO(b"id,x\n1,2\n"), file_name)}, content_type="multipart/form-data")
    assert_clean(answer)  # the job may not start here (the test app has no port): the name must not escape


def test_safe_file_name_keeps_a_base_name_only():
    from fate_flow.utils.validate import safe_file_name

    cases = {"../../etc/passwd": "passwd", "/tmp/x.csv": "x.csv", "..\\..\\x.csv": "x.csv", "C:\\d\\x.csv": "x.csv",
             "..": "d", ".": "d", "": "d", None: "d", ".bashrc": "bashrc", "a\x00b\u202ec\u200b.csv": "abc.csv",
             "x" * 300 + ".csv": "x" * 120 + ".csv", "data.csv": "data.csv", "my data.csv": "my data.csv"}
    for name, expected in cases.items():
        assert safe_file_name(name, "d") == expected, name


def test_a_real_upload_under_a_climbing_file_name_lands_in_its_job_dir(flow_server):
    """End to end: the job runs on the received file, kept under its base name in the job's directory."""
    import requests

    from tests.flow_server import wait_until

    server = flow_server()
    query = {"namespace": "hostile", "table_name": "climb", "head": 1, "partition": 1, "work_mode": 0, "drop": 1}
    answer = requests.post(f"{server.url}/v1/data/upload", params=query, timeout=30,
                           files={"file": (f"../../../{TOKEN}.csv", b"id,x\n1,2\n3,4\n")}).json()
    assert answer["retcode"] == 0, answer
    job = server.wait_job(answer["jobId"])
    assert job["f_status"] == "success", job
    info = server.post("/v1/table/table_info", {"namespace": "hostile", "table_name": "climb"})
    assert info["data"]["count"] == 2
    conf = server.post("/v1/job/config", {"job_id": answer["jobId"]})["data"]["runtime_conf"]
    received = Path(conf["role_parameters"]["local"]["upload_0"]["file"][0])
    assert received.name == f"{TOKEN}.csv" and server.work_dir / "jobs" / answer["jobId"] in received.parents
    wait_until(lambda: not received.exists(), 10, what="the task removing the received file")
    assert_no_token_paths(server.work_dir.parent)
