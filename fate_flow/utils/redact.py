"""Hide secrets (store passwords, URL credentials) in what the API shows of a job's confs.

Model store and restore jobs carry their store address in the runtime conf, as FATE's do;
the conf is kept whole for the task, and masked wherever a route answers with it.
"""
from __future__ import annotations

import re
from typing import Any

MASK = "******"
SECRET_KEYS = frozenset({"password", "passwd", "redis_password", "secret", "secret_key"})
_URL_CREDENTIALS = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/]*):(?P<password>[^@/]+)@", re.I)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys and URL passwords masked."""
    if isinstance(value, dict):
        return {k: (MASK if str(k).lower() in SECRET_KEYS and v not in (None, "") else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", value)
    return value
