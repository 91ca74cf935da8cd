"""Paillier homomorphic encryption for the federated components (FATE 1.4 semantics).

Runs inside task processes: imports numpy and (if installed) gmpy2, nothing from the
server, HTTP or database layers. See ``paillier`` for the API and the security notes.
"""
from fate_flow.secureprotol._parallel import prestart_pool, set_parallelism, shutdown_pool, worker_count
from fate_flow.secureprotol.fixedpoint import FixedPointNumber
from fate_flow.secureprotol.gmpy_math import HAVE_GMP
from fate_flow.secureprotol.paillier import (
    DEFAULT_KEY_LENGTH, SHORT_EXPONENT_BITS, EncryptedArray, EncryptedNumber, PaillierPrivateKey,
    PaillierPublicKey, generate_keypair,
)

__all__ = [
    "DEFAULT_KEY_LENGTH", "EncryptedArray", "EncryptedNumber", "FixedPointNumber", "HAVE_GMP",
    "PaillierPrivateKey", "PaillierPublicKey", "SHORT_EXPONENT_BITS", "generate_keypair",
    "prestart_pool", "set_parallelism", "shutdown_pool", "worker_count",
]
