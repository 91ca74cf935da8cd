"""Paillier matrices for HeteroNN's interactive layer: column-major lists of EncryptedArrays.

A matrix travels as ``{"shape": [rows, cols], "columns": [EncryptedArray.to_bytes(), ...]}``
(obfuscated, read back under the receiver's copy of the public key); nothing is pickled.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fate_flow.secureprotol.paillier import EncryptedArray, PaillierPublicKey


def encrypt_matrix(public_key: PaillierPublicKey, matrix: np.ndarray) -> list[EncryptedArray]:
    """Enc(M) as its encrypted columns, encrypted in one batch (one trip to the worker pool)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    if rows == 0 or cols == 0:
        return [public_key.encrypt_array(matrix[:, j]) for j in range(cols)]
    flat = public_key.encrypt_array(matrix.T.reshape(-1))  # column after column
    return [flat[j * rows:(j + 1) * rows] for j in range(cols)]


def to_wire(columns: list[EncryptedArray]) -> dict[str, Any]:
    rows = len(columns[0]) if columns else 0
    return {"shape": [rows, len(columns)], "columns": [c.to_bytes() for c in columns]}


def from_wire(public_key: PaillierPublicKey, message: Any, what: str, shape: tuple[int | None, int | None]) \
        -> list[EncryptedArray]:
    """The encrypted columns of a message; ValueError when it is malformed or not of ``shape`` (None: any)."""
    if not isinstance(message, dict) or not isinstance(message.get("columns"), list) \
            or not isinstance(message.get("shape"), list) or len(message["shape"]) != 2:
        raise ValueError(f"{what} should be {{\"shape\": [rows, cols], \"columns\": [...]}}")
    rows, cols = (int(v) for v in message["shape"])
    for expected, got, name in zip(shape, (rows, cols), ("rows", "columns")):
        if expected is not None and expected != got:
            raise ValueError(f"{what} has {got} {name}, expected {expected}")
    columns = [EncryptedArray.from_bytes(public_key, data) for data in message["columns"]]
    if len(columns) != cols or any(len(c) != rows for c in columns):
        raise ValueError(f"{what} does not hold {cols} columns of {rows} values")
    return columns


def decrypt_matrix(private_key, columns: list[EncryptedArray]) -> np.ndarray:
    """The plaintext matrix; columns sharing an exponent are decrypted in one batch."""
    if len({c.exponent for c in columns}) == 1 and len(columns) > 1:
        joined = EncryptedArray(columns[0].public_key, [ct for c in columns for ct in c.ciphertexts(be_secure=False)],
                                columns[0].exponent)
        return private_key.decrypt_array(joined).reshape(len(columns), -1).T
    return np.column_stack([private_key.decrypt_array(c) for c in columns])


def times_plain(columns: list[EncryptedArray], weights: np.ndarray) -> list[EncryptedArray]:
    """Enc(M) . W (rows x units) from Enc(M)'s columns and a plaintext W (cols x units)."""
    out = []
    for u in range(weights.shape[1]):
        total = None
        for k, column in enumerate(columns):
            w = float(weights[k, u])
            if w == 0.0:
                continue
            term = column * w
            total = term if total is None else total + term
        if total is None:  # an all-zero weight column
            total = columns[0] * 0.0
        out.append(total)
    return out


def transpose_times(columns: list[EncryptedArray], plain: np.ndarray) -> list[EncryptedArray]:
    """Enc(M)^T . P: for each column k of M, the encrypted row M[:, k]^T P (one multi-exponentiation each)."""
    return [columns[k].dot(plain) for k in range(len(columns))]
