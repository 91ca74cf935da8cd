#!/usr/bin/env python3
"""Count the Paillier operations of one training iteration of FATE's HeteroLinR and HeteroPoisson examples.

    python bench/count_paillier_ops.py [--json out.json]

Runs the guest, host and arbiter in threads over the in-memory federation (tests' harness) on the examples'
whole tables (motor_hetero 800 rows, dvisits_hetero 5190 rows) with the examples' algorithm parameters,
once with max_iter 1 and once with 2, counting every operation on ciphertexts; one iteration is the
difference. The counts are the protocol's (how many values each side encrypts, multiplies by a plaintext,
adds, decrypts), not the key size's, so a 512-bit key is used. Counted:

  encryptions      fresh encryptions of values (encrypt, encrypt_array)
  scalar_mults     ciphertext ** plaintext: products by plaintexts (elementwise, by a scalar, negation),
                   exponent alignments, and one per nonzero (row, column) entry of a dot product X^T [[d]]
                   (the guest's intercept column is one of them; FATE sums [[d]] for it instead)
  additions        ciphertext * ciphertext (or * g^m for a plaintext term): sums, dot products' additions
                   (one per entry), plaintext additions and the masks put on gradients
  decryptions      values decrypted by the arbiter
  obfuscations     re-randomisations before a ciphertext leaves a party (ours; FATE 1.4 sends results of
                   homomorphic operations as they are, so they are not part of FATE's bound)
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fate_flow.secureprotol import paillier  # noqa: E402

EXAMPLES = ROOT / "examples" / "federatedml-1.x-examples"
COUNTS: Counter = Counter()
_lock = threading.Lock()


def _count(kind: str, amount) -> None:
    with _lock:
        COUNTS[kind] += int(amount)


def _wrap(cls, name: str, kind: str, amount) -> None:
    """Count ``kind`` by ``amount(self, *args)`` at every call of ``cls.name``."""
    original = getattr(cls, name)

    def counted(self, *args, **kwargs):
        _count(kind, amount(self, *args, **kwargs))
        return original(self, *args, **kwargs)

    setattr(cls, name, counted)


def _dot_entries(self, matrix, *_):
    shape = getattr(matrix, "shape", None)
    return len(self) * (shape[1] if shape is not None and len(shape) == 2 else 1)


def _dot_nonzero(self, matrix, *_):
    """A product by a plaintext 0 costs nothing (FATE's powmod by 0): only nonzero entries count."""
    import numpy as np

    return int(matrix.count_nonzero() if hasattr(matrix, "count_nonzero") else np.count_nonzero(matrix))


def instrument() -> None:
    """Patch the Paillier classes to count (threads of every party share the counter)."""
    pk, sk, arr, num = paillier.PaillierPublicKey, paillier.PaillierPrivateKey, paillier.EncryptedArray, \
        paillier.EncryptedNumber
    _wrap(pk, "_encrypt_residues", "encryptions", lambda self, residues: len(residues))
    # raw_encrypt: encrypt() goes through it (r None: a fresh encryption); r=1 is g^m, a mask's plaintext
    # term, which the mask's addition (counted there) puts on
    _wrap(pk, "raw_encrypt", "encryptions", lambda self, m, r=None: 1 if r is None else 0)
    _wrap(sk, "raw_decrypt", "decryptions", lambda self, c: 1)
    _wrap(sk, "_raw_decrypt_many", "decryptions", lambda self, cts: len(cts))
    _wrap(arr, "_mul_elementwise", "scalar_mults", lambda self, values: len(self))
    _wrap(arr, "_mul_scalar", "scalar_mults", lambda self, scalar: len(self))
    _wrap(arr, "increase_exponent_to", "scalar_mults",
          lambda self, e: len(self) if e > self.exponent else 0)
    _wrap(arr, "dot", "scalar_mults", _dot_nonzero)
    _wrap(arr, "dot", "additions", _dot_entries)
    _wrap(arr, "_add_encrypted", "additions", lambda self, other: len(self))
    _wrap(arr, "_add_plain", "additions", lambda self, values: len(self))
    _wrap(arr, "sum", "additions", lambda self: max(len(self) - 1, 0))
    _wrap(arr, "obfuscate", "obfuscations", lambda self: len(self))
    _wrap(num, "__mul__", "scalar_mults", lambda self, other: 1)
    _wrap(num, "increase_exponent_to", "scalar_mults", lambda self, e: 1 if e > self.exponent else 0)
    _wrap(num, "_add_encrypted", "additions", lambda self, other: 1)
    _wrap(num, "_add_encoded", "additions", lambda self, encoded: 1)
    _wrap(num, "obfuscate", "obfuscations", lambda self: 1)


def example_params(folder: str, conf_name: str, component: str) -> dict:
    conf = json.loads((EXAMPLES / folder / conf_name).read_text())
    params = dict(conf["algorithm_parameters"][component])
    params.pop("cv_param", None)
    return params


def count(module: tuple, params: dict, guest, host, iterations: int) -> Counter:
    from tests.test_hetero_linr_poisson import close_contexts, run_parties

    COUNTS.clear()
    # a tiny tol: every iteration runs, whatever the example's convergence
    run_parties(module, dict(params, max_iter=iterations, tol=1e-300), guest, [host], timeout=1800)
    close_contexts()
    return Counter(COUNTS)


def per_iteration(module: tuple, params: dict, guest, host) -> dict:
    one, two = count(module, params, guest, host, 1), count(module, params, guest, host, 2)
    return {kind: two[kind] - one[kind] for kind in ("encryptions", "scalar_mults", "additions", "decryptions",
                                                    "obfuscations")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the counts here")
    args = parser.parse_args()
    from tests.component_harness import DATA, read_csv
    from tests.test_hetero_linr_poisson import LINR, POISSON

    instrument()
    results = {}
    for name, module, data, folder, conf, component in (
            ("HeteroLinR", LINR, "motor", "hetero_linear_regression", "test_hetero_linr_train_job_conf.json",
             "hetero_linr_0"),
            ("HeteroPoisson", POISSON, "dvisits", "hetero_poisson_regression",
             "test_hetero_poisson_train_job_conf.json", "hetero_poisson_0")):
        guest = read_csv(DATA / f"{data}_hetero_guest.csv", True)
        host = read_csv(DATA / f"{data}_hetero_host.csv", False).align_to(guest.ids)
        params = example_params(folder, conf, component)
        results[name] = dict(per_iteration(module, params, guest, host), rows=len(guest),
                             guest_features=len(guest.header), host_features=len(host.header))
        print(name, json.dumps(results[name]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
