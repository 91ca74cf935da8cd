"""Fixed-point encoding of ints and floats into integers modulo n, with FATE 1.4's rules.

A value ``x`` is stored as an integer ``mantissa`` and an ``exponent`` with
``x = mantissa * 16 ** -exponent`` (BASE 16; a larger exponent means more digits after the
point, the opposite sign convention to python-paillier). Negative mantissas are stored as
``n - |mantissa|``, so only values with ``|mantissa| <= max_int`` decode; the gap between
``max_int`` and ``n - max_int`` is where overflow is detected.

Exponent of a single value (FATE's rule): 0 for ints; for floats the number of base-16
digits meant to keep the 53-bit float mantissa, ``floor((53 - frexp(x)[1]) / 4)``. Because
of the floor it keeps 50 to 53 of those bits (FATE's behaviour; phe rounds the other
way). Values with ``|x| < 1e-200`` encode as the int 0.

Batches (the ``*_array`` helpers) use ONE exponent for the whole batch so that their
ciphertexts add without exponent alignment. Precision choice: the exponent is FATE's rule
applied to the largest magnitude in the batch, so every value is rounded to the same
absolute step, at most ``max|x| * 2**-50``: about the rounding error of a float64 sum over
the batch. Values far below the batch maximum keep fewer significant bits than FATE's
per-value encoding would give them (a value 2^-20 times the maximum keeps about 30).
When every value is exact with fewer base-16 digits (ints, halves, one-hot columns...),
the exponent is lowered to the smallest one that is still exact, which keeps the
mantissas short and the homomorphic products cheap at no loss.
"""
from __future__ import annotations

import math
import numbers
import sys

import numpy as np

BASE = 16
LOG2_BASE = 4
FLOAT_MANTISSA_BITS = sys.float_info.mant_dig  # 53
# Magnitudes below this are encoded as exactly 0 (FATE: avoids huge exponents).
TINY = 1e-200
# Mantissas of at most this many bits fit numpy int64 with room for a sign.
_INT64_SAFE_BITS = 62


class FixedPointNumber:
    """An integer ``encoding`` modulo ``n`` standing for ``mantissa * 16 ** -exponent``.

    Without ``n`` the modulus is FATE's default, the 128-bit prime ``Q``.
    """

    BASE = BASE
    LOG2_BASE = LOG2_BASE
    FLOAT_MANTISSA_BITS = FLOAT_MANTISSA_BITS
    Q = 293973345475167247070445277780365744413

    def __init__(self, encoding: int, exponent: int, n: int | None = None, max_int: int | None = None):
        if n is None:
            n, max_int = self.Q, self.Q // 3 - 1
        elif max_int is None:
            max_int = n // 3 - 1
        self.n = n
        self.max_int = max_int
        self.encoding = encoding
        self.exponent = exponent

    def __repr__(self) -> str:
        return f"FixedPointNumber(encoding={self.encoding}, exponent={self.exponent})"

    @classmethod
    def encode(cls, scalar, n: int | None = None, max_int: int | None = None,
               precision: float | None = None, max_exponent: int | None = None) -> "FixedPointNumber":
        """Encode an int or float with FATE's exponent rule.

        Args:
            scalar: int, float, bool or numpy number.
            n, max_int: the modulus and the largest magnitude allowed (default: ``Q``).
            precision: if given, the exponent makes the step ``16 ** -exponent`` at most
                ``precision``. (FATE 1.4 applies ``floor(log16(precision))`` with the opposite
                sign convention, which coarsens instead of refines; this follows the meaning
                python-paillier gives the argument.)
            max_exponent: use at least this exponent (to match a ciphertext being added to).

        Raises:
            OverflowError: the mantissa exceeds ``max_int`` (or the value is infinite).
            ValueError: the value is NaN, or ``precision`` is not positive.
            TypeError: ``scalar`` is not a number.
        """
        if n is None:
            n, max_int = cls.Q, cls.Q // 3 - 1
        elif max_int is None:
            max_int = n // 3 - 1
        value = _as_number(scalar)
        exponent = scalar_exponent(value, precision)
        if max_exponent is not None:
            exponent = max(max_exponent, exponent)
        mantissa = scale_and_round(value, exponent)
        if abs(mantissa) > max_int:
            raise OverflowError(f"value {scalar!r} needs mantissa {mantissa}, beyond max_int {max_int}")
        return cls(mantissa % n, exponent, n, max_int)

    def mantissa(self) -> int:
        """Return the signed mantissa.

        Raises:
            OverflowError: the encoding lies in the overflow gap between ``max_int`` and
                ``n - max_int`` (the result of an overflowing homomorphic computation).
        """
        return signed_mantissa(self.encoding, self.n, self.max_int)

    def decode(self):
        """Return the value: an int when ``exponent <= 0``, otherwise a float.

        Raises:
            OverflowError: see :meth:`mantissa`.
        """
        return decode_value(self.mantissa(), self.exponent)

    def increase_exponent_to(self, new_exponent: int) -> "FixedPointNumber":
        """Return the same value with the larger exponent ``new_exponent``.

        Raises:
            ValueError: ``new_exponent`` is smaller than the current exponent.
        """
        if new_exponent < self.exponent:
            raise ValueError(f"new exponent {new_exponent} is below the current {self.exponent}")
        factor = pow(BASE, new_exponent - self.exponent)
        return FixedPointNumber(self.encoding * factor % self.n, new_exponent, self.n, self.max_int)


def scalar_exponent(value, precision: float | None = None) -> int:
    """Return FATE's exponent for one value (see the module docstring)."""
    if precision is not None:
        if not precision > 0:
            raise ValueError(f"precision must be positive, got {precision!r}")
        return -math.floor(math.log(precision, BASE))
    if isinstance(value, int):
        return 0
    if not math.isfinite(value):
        if math.isnan(value):
            raise ValueError("cannot encode NaN")
        raise OverflowError(f"cannot encode {value}")
    return (FLOAT_MANTISSA_BITS - math.frexp(value)[1]) // LOG2_BASE


def scale_and_round(value, exponent: int) -> int:
    """Return ``round(value * 16 ** exponent)`` computed exactly (ties to even, as ``round``)."""
    if isinstance(value, int):
        num, den = value, 1
    else:
        num, den = value.as_integer_ratio()
    if exponent >= 0:
        num <<= LOG2_BASE * exponent
    else:
        den <<= -LOG2_BASE * exponent
    if den == 1:
        return num
    quotient, remainder = divmod(num, den)
    if 2 * remainder > den or (2 * remainder == den and quotient % 2):
        quotient += 1
    return quotient


def signed_mantissa(encoding: int, n: int, max_int: int) -> int:
    """Return the signed mantissa of an encoding modulo ``n``.

    Raises:
        OverflowError: the encoding is in the gap ``(max_int, n - max_int)``.
    """
    if encoding <= max_int:
        return int(encoding)
    if encoding >= n - max_int:
        return int(encoding) - int(n)
    raise OverflowError("overflow detected: the decrypted value exceeds max_int")


def decode_value(mantissa: int, exponent: int):
    """Return ``mantissa * 16 ** -exponent``: an int if ``exponent <= 0``, else a float.

    The float is correctly rounded (integer true division), also for mantissas beyond 2^1023.
    """
    if exponent <= 0:
        return mantissa << (LOG2_BASE * -exponent)
    return mantissa / (1 << (LOG2_BASE * exponent))


def minimal_scalar_encoding(scalar) -> tuple[int, int]:
    """Return ``(mantissa, exponent)`` of a scalar with trailing base-16 zeros removed.

    Same value as FATE's encoding, but ``0.25`` becomes ``(4, 1)`` instead of
    ``(2**50, 13)``, so raising a ciphertext to the mantissa costs 2 squarings, not 50.
    Ints keep exponent 0, as in FATE.
    """
    value = _as_number(scalar)
    exponent = scalar_exponent(value)
    mantissa = scale_and_round(value, exponent)
    if isinstance(value, float):
        while mantissa and exponent > 0 and mantissa % BASE == 0:
            mantissa //= BASE
            exponent -= 1
    return mantissa, exponent


def common_exponent(values: np.ndarray) -> int:
    """Return one exponent for a whole batch (see the module docstring for the precision).

    Ints and bools get 0. Floats get FATE's rule applied to the largest magnitude, then the
    smallest exponent at which every value is still exact, if that is smaller.

    Raises:
        ValueError: a value is NaN or infinite.
    """
    values = _clean_array(values)
    if values.dtype.kind in "biu" or values.size == 0:
        return 0
    max_abs = float(np.max(np.abs(values)))
    if max_abs == 0.0:
        return 0
    exponent = scalar_exponent(max_abs)
    mantissas = np.rint(np.ldexp(values, LOG2_BASE * exponent)).astype(np.int64)
    return exponent - _common_trailing_zero_bits(mantissas) // LOG2_BASE


def encode_array(values: np.ndarray, exponent: int) -> list:
    """Return the signed mantissas ``round(v * 16 ** exponent)`` of a batch as Python ints.

    Exact (ties to even). Uses numpy when the mantissas fit int64, exact big-int
    arithmetic otherwise.

    Raises:
        ValueError: a value is NaN or infinite.
    """
    values = _clean_array(values).reshape(-1)
    if values.dtype.kind in "biu":
        if exponent == 0:
            return [int(v) for v in values.tolist()]
        return [scale_and_round(int(v), exponent) for v in values.tolist()]
    mantissas = _int64_mantissas(values, exponent)
    if mantissas is not None:
        return mantissas.tolist()
    return [scale_and_round(float(v), exponent) for v in values.tolist()]


def encode_columns(columns: list) -> tuple[list, int, np.ndarray]:
    """Encode matrix columns for exponentiation, with one exponent shared by all columns.

    Each column gets FATE's rule from its own largest magnitude (50-53 significant bits
    for that maximum; see the module docstring; ints are exact at exponent 0), and the low bits
    that are zero in all its entries are taken out. The exact encoded value of entry i of
    column j is then ``mantissas[j][i] * 2 ** shifts[j] * 16 ** -exponent``.

    Args:
        columns: 1-D arrays (the columns, or only the stored values of sparse columns).

    Returns:
        ``(mantissas, exponent, shifts)``: one int64 array per column (|entries| <= 2^63),
        the shared exponent, and the non-negative bit shift of each column.

    Raises:
        ValueError: an entry is NaN or infinite.
    """
    mantissas, exponents = [], []
    for column in columns:
        column_mantissas, column_exponent = _encode_column(_clean_array(column).reshape(-1))
        mantissas.append(column_mantissas)
        exponents.append(column_exponent)
    used = [e for m, e in zip(mantissas, exponents) if m.size and m.any()]
    exponent = max(used) if used else 0
    shifts = np.zeros(len(mantissas), dtype=np.int64)
    for j, column_mantissas in enumerate(mantissas):
        if not (column_mantissas.size and column_mantissas.any()):
            continue
        tz = _common_trailing_zero_bits(column_mantissas)
        mantissas[j] = column_mantissas >> tz  # exact: those bits are zero in every entry
        shifts[j] = tz + LOG2_BASE * (exponent - exponents[j])
    return mantissas, exponent, shifts


def _encode_column(column: np.ndarray) -> tuple[np.ndarray, int]:
    if column.dtype.kind in "iu":
        return column.astype(np.int64), 0
    max_abs = float(np.max(np.abs(column))) if column.size else 0.0
    if max_abs == 0.0:
        return np.zeros(column.size, dtype=np.int64), 0
    exponent = scalar_exponent(max_abs)
    return np.rint(np.ldexp(column, LOG2_BASE * exponent)).astype(np.int64), exponent


def _int64_mantissas(values: np.ndarray, exponent: int) -> np.ndarray | None:
    """Mantissas via numpy, or None when they may not fit int64 exactly."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):
        scaled = np.rint(np.ldexp(values, LOG2_BASE * exponent))
    if not np.all(np.abs(scaled) < 2.0 ** _INT64_SAFE_BITS):
        return None
    return scaled.astype(np.int64)


def _common_trailing_zero_bits(mantissas: np.ndarray) -> int:
    """Number of low bits that are zero in every entry (0 if all entries are zero)."""
    combined = int(np.bitwise_or.reduce(np.abs(mantissas).reshape(-1), initial=0))
    if combined == 0:
        return 0
    return (combined & -combined).bit_length() - 1


def _clean_array(values) -> np.ndarray:
    """As a numeric array with |x| < 1e-200 set to 0; NaN or inf raise ValueError."""
    values = np.asarray(values)
    if values.dtype.kind == "b":
        return values.astype(np.int64)
    if values.dtype.kind in "iu":
        if values.dtype == np.uint64 and values.size and values.max() > np.iinfo(np.int64).max:
            raise ValueError("unsigned values beyond 2^63 are not supported")
        return values
    if values.dtype.kind != "f":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cannot encode an array of dtype {values.dtype}") from exc
    values = values.astype(np.float64, copy=False)
    if not np.all(np.isfinite(values)):
        raise ValueError("cannot encode NaN or infinite values")
    return np.where(np.abs(values) < TINY, 0.0, values)


def _as_number(scalar):
    """A Python int or float, with FATE's tiny-value rule applied."""
    if isinstance(scalar, (bool, np.bool_)):
        return int(scalar)
    if isinstance(scalar, numbers.Integral):
        return int(scalar)
    if isinstance(scalar, numbers.Real):
        value = float(scalar)
        if abs(value) < TINY:
            return 0
        return value
    raise TypeError(f"cannot encode a value of type {type(scalar).__name__}")
