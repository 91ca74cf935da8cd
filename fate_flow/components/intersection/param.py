"""Parameters of Intersection (FATE 1.4's IntersectParam, EncodeParam and IntersectCache).

Names and class defaults are FATE's; the registry's default_conf turns the effective
``intersect_method`` into "rsa" as FATE's default_runtime_conf does. ``check`` lower-cases
the choice parameters as FATE does and raises ValueError naming the bad parameter.
"""
from __future__ import annotations

from typing import Any

from fate_flow.components.param import BaseParam

RSA, RAW = "rsa", "raw"
GUEST, HOST = "guest", "host"
ENCODE_METHODS = ("none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")


def _check_bool(descr: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{descr} {name} {value!r} not supported, should be bool type")


def _check_choice(descr: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Return ``value`` lower-cased if it is one of ``choices``; ValueError naming ``name`` otherwise."""
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise ValueError(f"{descr} {name} {value!r} not supported, should be one of {list(choices)}")


class EncodeParam(BaseParam):
    """How raw intersection encodes ids before they leave the party.

    Args:
        salt: appended to every id before hashing (``id + salt``).
        encode_method: none|md5|sha1|sha224|sha256|sha384|sha512; "none" sends the ids as they are.
        base64: send the base64 of the digest instead of its hex form.
    """

    def __init__(self, salt: str = "", encode_method: str = "none", base64: bool = False) -> None:
        self.salt = salt
        self.encode_method = encode_method
        self.base64 = base64

    def check(self) -> None:
        """Raise ValueError naming the bad parameter; lower-case encode_method."""
        if not isinstance(self.salt, str):
            raise ValueError(f"encode param's salt {self.salt!r} not supported, should be str type")
        self.encode_method = _check_choice("encode param's", "encode_method", self.encode_method, ENCODE_METHODS)
        _check_bool("encode param's", "base64", self.base64)


class IntersectCache(BaseParam):
    """The RSA intersection's id cache (see ``cache``): ``use_cache`` turns it on; ``id_type`` and
    ``encrypt_type`` name the id library (they are parts of its namespace).

    FATE's IntersectParam.check does not check this param (FATE's own cache example uses the id
    types "tag1"/"tag2"), so any non-empty strings are accepted (FATE's own IntersectCache.check,
    never called, would allow phone|imei and md5|sha256).
    """

    def __init__(self, use_cache: bool = False, id_type: str = "phone", encrypt_type: str = "sha256") -> None:
        self.use_cache = use_cache
        self.id_type = id_type
        self.encrypt_type = encrypt_type

    def check(self) -> None:
        """Raise ValueError naming the bad parameter (types only, see the class)."""
        _check_bool("intersect cache param's", "use_cache", self.use_cache)
        for name in ("id_type", "encrypt_type"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or "#" in value:
                raise ValueError(f"intersect cache param's {name} {value!r} not supported, "
                                 f"should be a non-empty string without '#'")


class IntersectParam(BaseParam):
    """Parameters of Intersection.

    Args:
        intersect_method: "rsa" (blind RSA signatures; the registry's default) or "raw"
            (ids, possibly hashed, sent in clear).
        random_bit: bits of the RSA blinding factor r.
        sync_intersect_ids: whether the party that finds the intersection sends it to the
            others; without it they output nothing.
        join_role: raw only: the role that receives the other's ids and joins ("guest" or "host").
        with_encode: raw only: hash the ids as ``encode_params`` says before sending them.
        encode_params: an EncodeParam.
        only_output_key: output the common ids with a placeholder value instead of the input rows.
        intersect_cache_param: an IntersectCache (RSA only: reuse the host's signed ids, see ``cache``).
        repeated_id_process, repeated_id_owner: FATE's repeated-id handling; not supported
            here (a stored table's ids are unique), refused at run time when set.
        allow_info_share, info_owner: FATE's sharing of extra information about the common
            ids; not supported here, refused at run time when set.
        need_run: false passes the input table through unchanged.
    """

    def __init__(self, intersect_method: str = RAW, random_bit: int = 128, sync_intersect_ids: bool = True,
                 join_role: str = GUEST, with_encode: bool = False, only_output_key: bool = False,
                 encode_params: EncodeParam | None = None, intersect_cache_param: IntersectCache | None = None,
                 repeated_id_process: bool = False, repeated_id_owner: str = GUEST,
                 allow_info_share: bool = False, info_owner: str = GUEST, need_run: bool = True) -> None:
        self.intersect_method = intersect_method
        self.random_bit = random_bit
        self.sync_intersect_ids = sync_intersect_ids
        self.join_role = join_role
        self.with_encode = with_encode
        self.only_output_key = only_output_key
        self.encode_params = encode_params if encode_params is not None else EncodeParam()
        self.intersect_cache_param = intersect_cache_param if intersect_cache_param is not None else IntersectCache()
        self.repeated_id_process = repeated_id_process
        self.repeated_id_owner = repeated_id_owner
        self.allow_info_share = allow_info_share
        self.info_owner = info_owner
        self.need_run = need_run

    def check(self) -> None:
        """Raise ValueError naming the bad parameter; lower-case the choice parameters."""
        descr = "intersect param's"
        self.intersect_method = _check_choice(descr, "intersect_method", self.intersect_method, (RSA, RAW))
        if isinstance(self.random_bit, bool) or not isinstance(self.random_bit, int) or self.random_bit <= 0:
            raise ValueError(f"{descr} random_bit {self.random_bit!r} not supported, should be positive integer")
        _check_bool(descr, "sync_intersect_ids", self.sync_intersect_ids)
        self.join_role = _check_choice(descr, "join_role", self.join_role, (GUEST, HOST))
        for name in ("with_encode", "only_output_key", "repeated_id_process", "allow_info_share", "need_run"):
            _check_bool(descr, name, getattr(self, name))
        self.repeated_id_owner = _check_choice(descr, "repeated_id_owner", self.repeated_id_owner, (GUEST,))
        self.info_owner = _check_choice(descr, "info_owner", self.info_owner, (GUEST, HOST))
        for name in ("encode_params", "intersect_cache_param"):
            if not isinstance(getattr(self, name), BaseParam):
                raise ValueError(f"{descr} {name} {getattr(self, name)!r} not supported, should be a dict")
        self.encode_params.check()
        self.intersect_cache_param.check()
