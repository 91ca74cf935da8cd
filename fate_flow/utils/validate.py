"""What a request may name: one rule per kind of value, shared by every route.

Ids and names (job_id, role, party_id, component_name, namespace, table_name, model ids...)
become database values, path components, log lines and parts of other parties' URLs, so
they are checked once, where a request is parsed: the right type, a bounded length, no
control, bidi or zero-width characters (which hide or reorder what an operator reads),
and, for those that name files, no path separators or dot names. JSON bodies are checked
for nesting depth before anything walks them. Imports nothing of flask or the database:
the DSL parser in task processes uses it too.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any, Iterable, Mapping

from fate_flow.errors import ArgumentError, NestingTooDeep

# far above any real DSL or conf (about 8 levels), far below the interpreter's recursion limit
MAX_JSON_DEPTH = 100
MAX_ID_LENGTH = 256
# a row count no table here reaches (a bigger number is refused, not handed to SQL);
# -1 means "no limit", as in FATE
MAX_LIMIT = (1 << 31) - 1
# control (Cc), format (Cf: bidi controls, zero-width, BOM), surrogate (Cs), private use (Co),
# unassigned (Cn), line and paragraph separators (Zl, Zp)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")


def check_depth(value: Any, field: str = "request body", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise NestingTooDeep naming ``field`` if lists/dicts in ``value`` nest deeper than ``max_depth``.

    Iterative, so a deep value can not exhaust the stack here either.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise NestingTooDeep(field, max_depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def parse_json_text(field: str, text: Any) -> Any:
    """The value of the JSON text ``text`` (a field holding JSON, e.g. a party's f_dsl), depth-checked.

    Raises:
        ArgumentError: ``text`` is not a string of valid JSON (101, naming ``field``).
        NestingTooDeep: it nests deeper than MAX_JSON_DEPTH (100).
    """
    if not isinstance(text, (str, bytes)):
        raise ArgumentError(field, f"should be JSON text, not {_type_name(text)}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestingTooDeep(field, MAX_JSON_DEPTH) from None
    except ValueError:
        raise ArgumentError(field, "is not valid JSON text") from None
    check_depth(value, field)
    return value


def refused_character(text: str) -> str | None:
    """The first character of ``text`` no id may hold, as ``U+XXXX``, or None.

    Besides the refused categories: whitespace other than the space, and U+FFFD, which
    stands for bytes that were not UTF-8 (werkzeug decodes a URL with it).
    """
    for char in text:
        if char != " " and (unicodedata.category(char) in _REFUSED_CATEGORIES or char.isspace()
                            or char == "\ufffd"):
            return f"U+{ord(char):04X}"
    return None


def check_text(field: str, value: Any, *, path_safe: bool = True, allow_number: bool = False,
               max_length: int = MAX_ID_LENGTH) -> str:
    """``value`` as an id string; ArgumentError (101) naming ``field`` if it is not one.

    Args:
        path_safe: the value names a file or directory, so ``/``, ``\\``, ``.`` and ``..`` are refused.
        allow_number: an int (not a bool) is accepted and turned into its decimal text.
    """
    if allow_number and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        wanted = "a string or an integer" if allow_number else "a string"
        raise ArgumentError(field, f"should be {wanted}, not {_type_name(value)}")
    if len(value) > max_length:
        raise ArgumentError(field, f"is {len(value)} characters long, more than {max_length}")
    bad = refused_character(value)
    if bad:
        raise ArgumentError(field, f"contains {bad}, a control, bidi, zero-width or undecodable character")
    if path_safe and (value in (".", "..") or "/" in value or "\\" in value):
        raise ArgumentError(field, "should not contain '/' or '\\' or be '.' or '..'")
    return value


JOB_ID_MAX = 25  # the width of t_job.f_job_id
_JOB_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{JOB_ID_MAX}}}")


def check_job_id(field: str, value: Any) -> str:
    """``value`` if it has the form of a job id (letters, digits, ``_``, ``-``; fits ``t_job.f_job_id``).

    This refuses a list or an object before it reaches a query (where SQLite would misread it).
    """
    check_text(field, value, path_safe=False, max_length=JOB_ID_MAX * 4)
    if not _JOB_ID.fullmatch(value):
        raise ArgumentError(field, f"{value[:40]!r} is not a job id (1 to {JOB_ID_MAX} letters, digits, _ or -)")
    return value


def check_party_id(field: str, value: Any) -> str:
    """A party id (a non-negative integer, or its digits) as text; ArgumentError naming ``field``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10 ** 18:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 18 and value.isascii() and value.isdigit():
        return value
    raise ArgumentError(field, f"should be a party id (digits), not {show_value(value)}")


def check_role(field: str, value: Any) -> None:
    """A role name, or a runtime conf's ``{role: [party ids]}``; ArgumentError naming ``field``."""
    if not isinstance(value, dict):
        check_text(field, value)
        return
    for role, party_ids in value.items():
        check_text(f"{field} key", role)
        if not isinstance(party_ids, list):
            raise ArgumentError(f"{field}.{role}", "should be a list of party ids")
        for i, party_id in enumerate(party_ids):
            check_party_id(f"{field}.{role}[{i}]", party_id)


def check_party_ids(field: str, value: Any) -> None:
    """A party id, or a list of them."""
    if isinstance(value, list):
        for i, party_id in enumerate(value):
            check_party_id(f"{field}[{i}]", party_id)
    else:
        check_party_id(field, value)


def check_limit(field: str, value: Any) -> int:
    """A row limit: an integer (or its text) from -1 (no limit) to MAX_LIMIT."""
    number = int(value) if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value) else value
    if isinstance(number, bool) or not isinstance(number, int) or not -1 <= number <= MAX_LIMIT:
        raise ArgumentError(field, f"should be an integer from -1 (no limit) to {MAX_LIMIT}, not {show_value(value)}")
    return number


def check_seconds(field: str, value: Any) -> None:
    """A flag or a duration: true/false, or a finite number of seconds, 0 or more."""
    if isinstance(value, bool):
        return
    if not isinstance(value, (int, float)) or not (0 <= value and math.isfinite(value)):
        raise ArgumentError(field, f"should be true/false or a number of seconds, 0 or more, not {show_value(value)}")


# integer columns a job or task report may set
_INTEGER_REPORT_FIELDS = ("f_start_time", "f_end_time", "f_elapsed", "f_progress", "f_run_pid", "f_create_time",
                          "f_update_time", "f_is_initiator", "f_work_mode")


def check_report(fields: Mapping[str, Any], statuses: Iterable[str]) -> None:
    """A job/task row or status report between parties: ``f_status`` one of ``statuses``,
    integer columns integers, every other ``f_`` field a string or a number (ArgumentError naming it).
    """
    status = fields.get("f_status")
    allowed = [str(s) for s in statuses]
    if status not in (None, "") and status not in allowed:
        raise ArgumentError("f_status", f"should be one of {', '.join(allowed)}, not {show_value(status)}")
    for key, value in fields.items():
        if not key.startswith("f_") or value is None:
            continue
        if key in _INTEGER_REPORT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            raise ArgumentError(key, f"should be an integer, not {_type_name(value)}")
        if isinstance(value, (dict, list, bool)):
            raise ArgumentError(key, f"should be a string or a number, not {_type_name(value)}")


def _name(field: str, value: Any) -> None:
    check_text(field, value)


def _text(field: str, value: Any) -> None:
    check_text(field, value, path_safe=False)


def _text_or_number(field: str, value: Any) -> None:
    check_text(field, value, path_safe=False, allow_number=True)


# The fields a request may carry at its top level (JSON body, query string, path), and their rule.
FIELD_RULES = {
    "job_id": check_job_id, "component_name": _name, "task_id": _name, "namespace": _name, "table_name": _name,
    "model_id": _name, "model_version": _name, "src_role": _name, "session_id": _name,
    "role": check_role, "party_id": check_party_ids, "src_party_id": check_party_id,
    "party_model_id": _name, "service_id": _text_or_number, "metric_namespace": _text, "metric_name": _text,
    "operation": _text, "module": _text,
    "limit": check_limit, "timeout": check_seconds,
}


def check_fields(values: Mapping[str, Any], every_key: bool = False) -> None:
    """Apply FIELD_RULES to the known keys of ``values``; None and "" are left to the routes.

    Args:
        every_key: keys without a rule are checked as text too (path variables are all ids).
    """
    for key, value in values.items():
        if value is None or value == "":
            continue
        rule = FIELD_RULES.get(key)
        if rule is not None:
            rule(key, value)
        elif every_key:
            _text(key, value)


def check_scalar_id(field: str, value: Any) -> Any:
    """``value`` unchanged if it is a string or a number: a required id may not be a list or dict."""
    if isinstance(value, (dict, list)):
        raise ArgumentError(field, f"should be a string, not {_type_name(value)}")
    return value


def safe_file_name(name: str | None, default: str) -> str:
    """The last component of a client-sent file name, without refused characters; ``default`` if none is left.

    Both ``/`` and ``\\`` separate components (a Windows client sends ``C:\\data\\x.csv``);
    leading dots are dropped, so the result is never ``.``, ``..`` or a hidden file.
    """
    last = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in last if refused_character(c) is None).strip().lstrip(".").strip()
    if len(kept) > 128:
        stem, dot, suffix = kept.rpartition(".")
        kept = (stem[:120] + dot + suffix[:7]) if dot and len(suffix) <= 7 else kept[:128]
    return kept or default


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false", float: "a number", int: "an integer",
            str: "a string", type(None): "null"}.get(type(value), "a value of another type")


def show_value(value: Any) -> str:
    """A short, escaped rendering of ``value`` for a message (never the whole of a long value)."""
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


def show_text(value: Any) -> str:
    """``value`` as it is if it is a short string of printable characters, else ``show_value(value)``."""
    if isinstance(value, str) and len(value) <= 100 and value.isprintable():
        return value
    return show_value(value)
