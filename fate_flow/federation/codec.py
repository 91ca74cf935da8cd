"""The wire format of messages between parties: msgpack, never pickle.

Supported values: None, bool, int of any size, float, str, bytes, list, tuple,
dict, numpy arrays of numeric or bool dtype, and numpy scalars of those dtypes.
Subclasses of the built-in types (OrderedDict, namedtuple, IntEnum, ...) travel as
their base type. Anything else raises TypeError naming the type, so that an
object that cannot be rebuilt safely on the other side fails at the sender.

Types msgpack has no word for ride in extension types:
  1  int beyond 64 bits: two's-complement big-endian bytes;
  2  tuple: the items, packed as a msgpack array;
  3  ndarray: [dtype.str, shape, raw C-order buffer];
  4  numpy scalar: [dtype.str, raw bytes].
Arrays are copied as one buffer each way, with no per-element Python work.
"""
from __future__ import annotations

import math
import re
from typing import Any

import msgpack
import numpy as np

_EXT_BIGINT = 1
_EXT_TUPLE = 2
_EXT_NDARRAY = 3
_EXT_NPSCALAR = 4

# b: bool, i: signed int, u: unsigned int, f: float, c: complex.
_NUMERIC_KINDS = frozenset("biufc")
# Only plain numeric dtype strings such as "<f8" or "|b1" are accepted from the wire,
# so that numpy never parses structured or object dtype descriptions sent by a peer.
_DTYPE_STR = re.compile(r"^[<>|=][biufc][0-9]{1,2}$")

_INT64_MIN = -(1 << 63)
_UINT64_MAX = (1 << 64) - 1


def dumps(obj: Any) -> bytes:
    """Encode ``obj`` into bytes.

    Raises:
        TypeError: ``obj`` holds a value of an unsupported type (named in the message),
            e.g. an arbitrary class instance or an object-dtype array.
    """
    return msgpack.packb(obj, default=_encode_extra, strict_types=True, use_bin_type=True)


def loads(data: bytes) -> Any:
    """Decode bytes made by :func:`dumps` back into the value.

    Raises:
        TypeError: ``data`` is not bytes-like.
        ValueError: ``data`` is not a well-formed message of this codec.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"federation codec decodes bytes, not {type(data).__name__}")
    try:
        return _unpackb(data)
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError,
            msgpack.UnpackException) as exc:
        raise ValueError(f"malformed federation message: {exc}") from exc


def _unpackb(data: bytes) -> Any:
    # strict_map_key=False: dict keys may be ints, bytes or tuples, not only str.
    return msgpack.unpackb(data, ext_hook=_decode_extra, raw=False, strict_map_key=False)


def _encode_extra(obj: Any) -> Any:
    """msgpack ``default`` hook: what msgpack cannot pack by itself (strict types)."""
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if isinstance(obj, np.generic):
        return _encode_scalar(obj)
    if isinstance(obj, int):
        return _encode_int(int(obj))
    if isinstance(obj, tuple):
        return msgpack.ExtType(_EXT_TUPLE, dumps(list(obj)))
    for base in (dict, list, str, bytes, float):
        if isinstance(obj, base):
            return base(obj)
    raise TypeError(f"federation codec cannot encode an object of type {_type_name(obj)}")


def _encode_int(value: int) -> Any:
    # Reached for ints beyond 64 bits (msgpack hands them over) and int subclasses.
    if _INT64_MIN <= value <= _UINT64_MAX:
        return value
    size = value.bit_length() // 8 + 1
    return msgpack.ExtType(_EXT_BIGINT, value.to_bytes(size, "big", signed=True))


def _encode_array(arr: np.ndarray) -> msgpack.ExtType:
    _check_dtype(arr.dtype)
    shape = list(arr.shape)
    flat = np.ascontiguousarray(arr).reshape(-1)
    buffer = memoryview(flat).cast("B")
    return msgpack.ExtType(_EXT_NDARRAY, msgpack.packb([arr.dtype.str, shape, buffer]))


def _encode_scalar(value: np.generic) -> msgpack.ExtType:
    _check_dtype(value.dtype)
    return msgpack.ExtType(_EXT_NPSCALAR, msgpack.packb([value.dtype.str, value.tobytes()]))


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(
            f"federation codec cannot encode numpy dtype {dtype} (only numeric and bool dtypes)")


def _decode_extra(code: int, payload: bytes) -> Any:
    """msgpack ``ext_hook``: rebuild the values made by ``_encode_extra``."""
    if code == _EXT_BIGINT:
        return int.from_bytes(payload, "big", signed=True)
    if code == _EXT_TUPLE:
        items = _unpackb(payload)
        if not isinstance(items, list):
            raise ValueError("tuple payload is not an array")
        return tuple(items)
    if code == _EXT_NDARRAY:
        return _decode_array(payload)
    if code == _EXT_NPSCALAR:
        return _decode_scalar(payload)
    raise ValueError(f"unknown extension type {code}")


def _decode_array(payload: bytes) -> np.ndarray:
    header = msgpack.unpackb(payload, raw=False)
    if not (isinstance(header, list) and len(header) == 3):
        raise ValueError("ndarray payload is not [dtype, shape, buffer]")
    dtype_str, shape, buffer = header
    dtype = _decode_dtype(dtype_str)
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise ValueError(f"bad ndarray shape {shape!r}")
    if not isinstance(buffer, bytes) or len(buffer) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"ndarray buffer does not match dtype {dtype} and shape {shape}")
    # copy(): the receiver gets a writable array that owns its memory.
    return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()


def _decode_scalar(payload: bytes) -> np.generic:
    header = msgpack.unpackb(payload, raw=False)
    if not (isinstance(header, list) and len(header) == 2 and isinstance(header[1], bytes)):
        raise ValueError("numpy scalar payload is not [dtype, bytes]")
    dtype = _decode_dtype(header[0])
    if len(header[1]) != dtype.itemsize:
        raise ValueError(f"numpy scalar of dtype {dtype} needs {dtype.itemsize} bytes")
    return np.frombuffer(header[1], dtype=dtype)[0]


def _decode_dtype(dtype_str: Any) -> np.dtype:
    if not isinstance(dtype_str, str) or not _DTYPE_STR.match(dtype_str):
        raise ValueError(f"refused numpy dtype {dtype_str!r}")
    try:
        return np.dtype(dtype_str)
    except TypeError as exc:
        raise ValueError(f"refused numpy dtype {dtype_str!r}") from exc


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
