"""Paillier: keys, fixed point, homomorphic operators, batch API, obfuscation, wire format."""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from fate_flow.secureprotol import (
    EncryptedArray, EncryptedNumber, FixedPointNumber, PaillierPrivateKey, PaillierPublicKey,
    generate_keypair, set_parallelism, shutdown_pool,
)
from fate_flow.secureprotol import _parallel, gmpy_math, paillier
from fate_flow.secureprotol.fixedpoint import common_exponent, encode_columns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A fixed 512-bit key for pinned values: p and q are next_prime(3 * 2**254 + 12345/99991).
PINNED_P = 86844066927987146567678238756515930889952488499230423029593188005934847242313
PINNED_Q = 86844066927987146567678238756515930889952488499230423029593188005934847329997


@pytest.fixture(scope="module")
def keypair():
    return generate_keypair(512)


@pytest.fixture(scope="module")
def other_keypair():
    return generate_keypair(512)


@pytest.fixture(scope="module", autouse=True)
def _stop_pool_after_module():
    yield
    set_parallelism(None)
    shutdown_pool()


@pytest.fixture()
def pk(keypair):
    return keypair[0]


@pytest.fixture()
def sk(keypair):
    return keypair[1]


# ---- keys -------------------------------------------------------------------------------

def test_generated_key_has_fate_shape(keypair):
    pk, sk = keypair
    assert pk.n.bit_length() == 512
    assert sk.p != sk.q and sk.p < sk.q and sk.p * sk.q == pk.n
    assert pk.g == pk.n + 1 and pk.nsquare == pk.n ** 2 and pk.max_int == pk.n // 3 - 1
    assert sk.q_inverse * sk.q % sk.p == 1
    assert gmpy_math.is_probable_prime(sk.p) and gmpy_math.is_probable_prime(sk.q)


def test_1024_bit_key_round_trip():
    pk, sk = generate_keypair()
    assert pk.n.bit_length() == 1024
    assert sk.decrypt(pk.encrypt(-2.75) * 4 + 1) == -10.0
    values = np.array([0.5, -1.25, 3.0])
    assert np.array_equal(sk.decrypt_array(pk.encrypt_array(values).dot(np.eye(3))), values)


def test_keygen_rejects_odd_or_tiny_lengths():
    with pytest.raises(ValueError, match="even"):
        generate_keypair(513)
    with pytest.raises(ValueError, match="128"):
        generate_keypair(64)


def test_private_key_refuses_wrong_factors(pk):
    with pytest.raises(ValueError, match="p \\* q"):
        PaillierPrivateKey(pk, 3, 5)


# ---- fixed point ------------------------------------------------------------------------

@pytest.mark.parametrize("value, exponent, mantissa", [
    (0.5, 13, 2 ** 51),
    (3.14159, 12, 884278972084430),
    (-1.5e-5, 17, -4427218577690292),
    (1e30, -12, 3552713678800501),
    (-0.1, 14, -7205759403792794),
    (123.456, 11, 2171860920299422),
    (7, 0, 7),
    (np.int64(-9), 0, -9),
    (True, 0, 1),
    (1e-250, 0, 0),
])
def test_fixed_point_pinned_encodings(value, exponent, mantissa):
    encoded = FixedPointNumber.encode(value)
    assert (encoded.exponent, encoded.mantissa()) == (exponent, mantissa)
    assert encoded.encoding == mantissa % FixedPointNumber.Q


@pytest.mark.parametrize("value", [0.1, -2.5, 1e-7, 6.02e23, -123456.789, 2.0 ** -30])
def test_fixed_point_follows_fate_exponent_rule(value):
    encoded = FixedPointNumber.encode(value)
    assert encoded.exponent == math.floor((53 - math.frexp(value)[1]) / math.log2(16))
    assert encoded.mantissa() == round(value * 16 ** encoded.exponent)
    assert encoded.decode() == pytest.approx(value, rel=2 ** -49)


def test_fixed_point_options_and_decode_types():
    assert FixedPointNumber.encode(0.5, max_exponent=20).exponent == 20
    assert FixedPointNumber.encode(0.5, max_exponent=2).exponent == 13
    encoded = FixedPointNumber.encode(1 / 3, precision=1e-3)
    assert 16 ** -encoded.exponent <= 1e-3 and abs(encoded.decode() - 1 / 3) <= 1e-3
    assert FixedPointNumber.encode(12).decode() == 12 and isinstance(FixedPointNumber.encode(12).decode(), int)
    assert FixedPointNumber.encode(1e30).decode() == int(1e30)
    assert FixedPointNumber.encode(0.5).increase_exponent_to(15).decode() == 0.5


def test_fixed_point_overflow_and_bad_input():
    n = 10 ** 6 + 3
    with pytest.raises(OverflowError):
        FixedPointNumber.encode(n, n=n)
    with pytest.raises(OverflowError, match="max_int"):
        FixedPointNumber(n // 2, 0, n=n).decode()
    with pytest.raises(ValueError, match="NaN"):
        FixedPointNumber.encode(float("nan"))
    with pytest.raises(TypeError):
        FixedPointNumber.encode("1.0")


def test_batch_exponent_is_one_per_batch_and_exact_when_possible():
    assert common_exponent(np.array([0.5, -0.25, 4.0])) == 1  # all exact with one hex digit
    assert common_exponent(np.array([0.1, 0.3])) == math.floor((53 - math.frexp(0.3)[1]) / 4)
    assert common_exponent(np.array([3, -7])) == 0
    assert common_exponent(np.zeros(4)) == 0
    mantissas, exponent, shifts = encode_columns([np.array([1.0, 0.0, -1.0]), np.array([0.1, 0.2, 0.3])])
    for column, values, shift in zip(mantissas, ([1.0, 0.0, -1.0], [0.1, 0.2, 0.3]), shifts):
        decoded = [m * 2.0 ** shift * 16.0 ** -exponent for m in column]
        assert decoded == pytest.approx(values, rel=1e-15)
    assert mantissas[0].tolist() == [1, 0, -1]


# ---- single numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 1, -1, 123456789, -987654321, 3.14159, -2.5e-7, 0.1,
                                   1e30, -6.02e23, 10 ** 40, np.float32(1.5), np.int64(-3)])
def test_encrypt_decrypt(pk, sk, value):
    decrypted = sk.decrypt(pk.encrypt(value))
    assert decrypted == pytest.approx(float(value), rel=2 ** -49, abs=0)
    if isinstance(value, (int, np.integer)):
        assert decrypted == int(value) and isinstance(decrypted, int)


def test_largest_encodable_value_and_overflow(pk, sk):
    assert sk.decrypt(pk.encrypt(pk.max_int)) == pk.max_int
    assert sk.decrypt(pk.encrypt(-pk.max_int)) == -pk.max_int
    with pytest.raises(OverflowError):
        pk.encrypt(pk.max_int + 1)
    with pytest.raises(OverflowError):
        sk.decrypt(pk.encrypt(pk.max_int) * 2)  # lands in the gap between max_int and n - max_int
    with pytest.raises(OverflowError, match="max_int"):
        pk.encrypt_array(np.array([1.0, -1.0]), exponent=pk.n.bit_length() // 4)


def test_raw_encrypt_decrypt_and_deterministic_paths(pk, sk):
    n = int(pk.n)
    assert pk.raw_encrypt(42, r=1) == 1 + 42 * n
    assert pk.raw_encrypt(42, r=5) == (1 + 42 * n) * pow(5, n, n * n) % (n * n)
    assert sk.raw_decrypt(pk.raw_encrypt(42)) == 42
    assert sk.raw_decrypt(pk.raw_encrypt(-42)) == n - 42
    with pytest.raises(ValueError, match="outside"):
        sk.raw_decrypt(n * n)


def test_pinned_ciphertext_of_a_fixed_key():
    pk = PaillierPublicKey(PINNED_P * PINNED_Q)
    sk = PaillierPrivateKey(pk, PINNED_Q, PINNED_P)
    assert pk.fingerprint.hex() == "bfc94e5198eb9e16"
    ciphertext = pk.raw_encrypt(123456789, r=987654321)
    assert hashlib.sha256(ciphertext.to_bytes(128, "big")).hexdigest()[:16] == "fbae4ba0cd64c535"
    assert sk.raw_decrypt(ciphertext) == 123456789


def test_homomorphic_add_sub_neg(pk, sk):
    a, b = pk.encrypt(2.5), pk.encrypt(-7)
    assert sk.decrypt(a + b) == -4.5
    assert sk.decrypt(a + 1) == 3.5 and sk.decrypt(1 + a) == 3.5
    assert sk.decrypt(a - b) == 9.5 and sk.decrypt(a - 0.5) == 2.0 and sk.decrypt(10 - a) == 7.5
    assert sk.decrypt(-a) == -2.5 and sk.decrypt(a - a) == 0


def test_scalar_multiplication_and_division(pk, sk):
    a = pk.encrypt(1.5)
    assert sk.decrypt(a * 4) == 6.0 and sk.decrypt(3 * a) == 4.5
    assert sk.decrypt(a * -2) == -3.0
    assert sk.decrypt(a * 0.1) == pytest.approx(0.15, rel=1e-14)
    assert sk.decrypt(a * 0) == 0
    assert sk.decrypt(a / 3) == pytest.approx(0.5, rel=1e-14)
    assert sk.decrypt(np.float64(2.0) * a) == 3.0
    assert (a * 0.5).exponent == a.exponent + FixedPointNumber.encode(0.5).exponent
    with pytest.raises(TypeError, match="two ciphertexts"):
        a * a


def test_exponent_alignment(pk, sk):
    whole, fraction = pk.encrypt(5), pk.encrypt(0.125)
    assert (whole.exponent, fraction.exponent) == (0, 13)
    total = whole + fraction
    assert total.exponent == 13 and sk.decrypt(total) == 5.125
    raised = whole.increase_exponent_to(3)
    assert raised.exponent == 3 and sk.decrypt(raised) == 5
    with pytest.raises(ValueError, match="below"):
        fraction.increase_exponent_to(2)
    tiny = whole + 1e-10  # the scalar needs more digits: the ciphertext is raised to them
    assert tiny.exponent > 13 and sk.decrypt(tiny) == pytest.approx(5 + 1e-10, rel=1e-15)


# ---- batches ----------------------------------------------------------------------------

def test_encrypt_array_matches_single_numbers(pk, sk):
    values = np.array([0.0, 1.0, -2.5, 3.14159, -1e-3, 250.0])
    encrypted = pk.encrypt_array(values)
    assert len(encrypted) == 6 and encrypted.is_obfuscated
    assert encrypted.exponent == common_exponent(values)
    np.testing.assert_allclose(sk.decrypt_array(encrypted), values, rtol=0, atol=1e-13)
    assert [sk.decrypt(x) for x in encrypted] == pytest.approx(values.tolist(), abs=1e-13)
    assert sk.decrypt(encrypted[2]) == -2.5
    np.testing.assert_allclose(sk.decrypt_array(encrypted[1:3]), [1.0, -2.5])
    np.testing.assert_allclose(sk.decrypt_array(encrypted[np.array([5, 0])]), [250.0, 0.0])
    np.testing.assert_allclose(sk.decrypt_array(encrypted[values > 0]), [1.0, 3.14159, 250.0])
    assert np.array_equal(sk.decrypt_array(pk.encrypt_array([1, -2, 3])), [1, -2, 3])


def test_array_operators_equal_elementwise_results(pk, sk):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=20), rng.normal(size=20) * 100
    ex, ey = pk.encrypt_array(x), pk.encrypt_array(y)
    cases = {
        "enc+enc": (ex + ey, x + y), "enc+plain": (ex + y, x + y), "plain+enc": (y + ex, x + y),
        "enc+scalar": (ex + 0.5, x + 0.5), "enc-enc": (ex - ey, x - y), "plain-enc": (y - ex, y - x),
        "enc*scalar": (ex * 0.25, x * 0.25), "enc*neg": (ex * -3, x * -3), "enc*array": (ex * y, x * y),
        "array*enc": (y * ex, x * y), "neg": (-ex, -x), "div": (ex / 7, x / 7),
        "lr-step": (ex * 0.25 - 0.5 * np.sign(y), 0.25 * x - 0.5 * np.sign(y)),
        "enc+number": (ex + pk.encrypt(2.0), x + 2.0),
    }
    for name, (encrypted, expected) in cases.items():
        assert isinstance(encrypted, EncryptedArray), name
        np.testing.assert_allclose(sk.decrypt_array(encrypted), expected, rtol=1e-12, atol=1e-12, err_msg=name)
    assert sk.decrypt(ex.sum()) == pytest.approx(x.sum(), rel=1e-12)
    assert (ex * 0.25).exponent == ex.exponent + 1  # 0.25 = 4 * 16^-1: two squarings, not 50
    with pytest.raises(ValueError, match="lengths"):
        ex + pk.encrypt_array(x[:3])
    with pytest.raises(ValueError, match="does not match"):
        ex + np.ones(3)


def test_from_numbers_aligns_exponents(pk, sk):
    encrypted = [pk.encrypt(3), pk.encrypt(0.5), pk.encrypt(-1e-4)]
    array = EncryptedArray.from_numbers(encrypted)
    assert array.exponent == max(x.exponent for x in encrypted)
    np.testing.assert_allclose(sk.decrypt_array(array), [3, 0.5, -1e-4], rtol=1e-15)


@pytest.mark.parametrize("shape", [(50, 4), (300, 12)])
def test_dot_matches_numpy(pk, sk, shape):
    rng = np.random.default_rng(shape[0])
    d = rng.normal(size=shape[0]) * 0.3
    X = rng.normal(size=shape) * rng.uniform(0.01, 100, size=shape[1])
    X[:, 1] = 0.0                                            # an all-zero column
    X[:, 2] = rng.integers(0, 2, size=shape[0])              # one-hot: exact, 1-bit multipliers
    X[::7, 3] = 0.0
    result = pk.encrypt_array(d).dot(X)
    assert isinstance(result, EncryptedArray) and len(result) == shape[1]
    expected = X.T @ d
    np.testing.assert_allclose(sk.decrypt_array(result), expected, rtol=1e-8,
                               atol=1e-12 * np.abs(X).max())


def test_dot_vector_integer_and_sparse_inputs(pk, sk):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    d = rng.normal(size=40)
    encrypted = pk.encrypt_array(d)
    vector = rng.normal(size=40)
    single = encrypted.dot(vector)
    assert isinstance(single, EncryptedNumber)
    assert sk.decrypt(single) == pytest.approx(vector @ d, rel=1e-12)
    integers = rng.integers(-5, 5, size=(40, 3))
    np.testing.assert_allclose(sk.decrypt_array(encrypted.dot(integers)), integers.T @ d, rtol=1e-12)
    sparse = scipy_sparse.random(40, 9, density=0.2, random_state=4, format="csr")
    np.testing.assert_allclose(sk.decrypt_array(encrypted.dot(sparse)), sparse.T @ d, rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="rows"):
        encrypted.dot(np.ones((39, 2)))


def test_pool_results_equal_in_process_results(pk, sk, monkeypatch):
    """Batches above the pool thresholds give the same plaintexts on 2 workers as on 1."""
    pooled_jobs = []
    run_chunks = _parallel.run_chunks
    monkeypatch.setattr(_parallel, "run_chunks",
                        lambda func, chunks: pooled_jobs.append(func.__name__) or run_chunks(func, chunks))
    rng = np.random.default_rng(5)
    n_rows = paillier.POOL_MIN_PRODUCTS // paillier._PRODUCTS_PER_ENTRY + 100  # one column is enough
    d, X = rng.normal(size=n_rows), rng.normal(size=(n_rows, 6))
    outputs = {}
    for workers in (1, 2):
        set_parallelism(workers)
        encrypted = pk.encrypt_array(d)
        encrypted_product = encrypted * 0.5 + 1
        encrypted_product.obfuscate()
        outputs[workers] = (sk.decrypt_array(encrypted), sk.decrypt_array(encrypted.dot(X)),
                            sk.decrypt_array(encrypted.dot(X[:, :1])),  # one column: split by rows
                            sk.decrypt_array(encrypted_product))
    set_parallelism(None)
    assert sorted(set(pooled_jobs)) == ["decrypt_chunk", "encrypt_chunk", "multiexp_chunk", "obfuscate_chunk"]
    assert pooled_jobs.count("multiexp_chunk") == 2  # split by columns, then by rows
    for serial, pooled in zip(outputs[1], outputs[2]):
        np.testing.assert_array_equal(serial, pooled)
    np.testing.assert_allclose(outputs[2][1], X.T @ d, rtol=1e-10)


POOL_WITH_THREADS_SCRIPT = """
import threading
import numpy as np
from fate_flow.secureprotol import _parallel, generate_keypair, paillier, set_parallelism
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()  # a second thread: fork is unsafe
set_parallelism(2)
pk, sk = generate_keypair(512)
values = np.arange(paillier.POOL_MIN_ENCRYPT + 10) / 7
decrypted = sk.decrypt_array(pk.encrypt_array(values))
method = _parallel._pool_method
stop.set()
print(method, bool(np.allclose(decrypted, values, rtol=0, atol=1e-12)))
"""


def test_pool_uses_forkserver_when_the_process_has_threads():
    result = subprocess.run([sys.executable, "-c", POOL_WITH_THREADS_SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["forkserver", "True"]


def test_secrets_and_ciphertexts_refuse_pickle(keypair):
    import copy
    import pickle
    pk, sk = keypair
    copied = pickle.loads(pickle.dumps(pk))
    assert copied == pk and copied.secure_obfuscation == pk.secure_obfuscation and copied._table is None
    assert copy.deepcopy(pk) == pk
    for secret in (sk, pk.encrypt(1.0), pk.encrypt_array([1.0])):
        with pytest.raises(TypeError, match="to_bytes"):
            pickle.dumps(secret)


# ---- obfuscation ------------------------------------------------------------------------

def test_obfuscation_changes_ciphertext_not_plaintext(pk, sk):
    fresh = pk.encrypt(1.5)
    assert fresh.is_obfuscated
    assert pk.encrypt(1.5).ciphertext() != fresh.ciphertext()  # randomised encryption
    result = fresh * 2
    assert not result.is_obfuscated
    raw = result.ciphertext(be_secure=False)
    secure = result.ciphertext()  # default be_secure=True obfuscates first
    assert secure != raw and result.is_obfuscated and sk.decrypt(result) == 3.0
    before = result.ciphertext(be_secure=False)
    result.obfuscate()
    assert result.ciphertext(be_secure=False) != before and sk.decrypt(result) == 3.0


def test_obfuscators_are_encryptions_of_zero_in_both_modes(keypair):
    pk, sk = keypair
    full = PaillierPublicKey(pk.n, secure_obfuscation="full")
    for key in (pk, full):
        obfuscators = key._obfuscators(3)
        assert len(set(obfuscators)) == 3
        assert [sk.raw_decrypt(o) for o in obfuscators] == [0, 0, 0]
        assert sk.decrypt(key.encrypt(-0.75)) == -0.75
    with pytest.raises(ValueError, match="secure_obfuscation"):
        PaillierPublicKey(pk.n, secure_obfuscation="none")


def test_array_obfuscation_and_secure_serialisation(pk, sk):
    computed = pk.encrypt_array([1.0, 2.0]) * 3
    assert not computed.is_obfuscated
    raw = computed.ciphertexts(be_secure=False)
    data = computed.to_bytes()  # obfuscates before anything leaves the party
    assert computed.is_obfuscated and computed.ciphertexts(be_secure=False) != raw
    np.testing.assert_array_equal(sk.decrypt_array(EncryptedArray.from_bytes(pk, data)), [3.0, 6.0])


def test_fixed_base_table_matches_powmod():
    modulus = 2 ** 127 - 1
    table = gmpy_math.FixedBaseTable(3, modulus, 40)
    for exponent in (0, 1, 255, 256, 2 ** 40 - 1, 123456789012):
        assert table.pow(exponent) == pow(3, exponent, modulus)
    with pytest.raises(ValueError):
        table.pow(2 ** 40)


# ---- wire format and key checks ---------------------------------------------------------

def test_key_serialisation_round_trip(keypair):
    pk, sk = keypair
    public = PaillierPublicKey.from_bytes(pk.to_bytes())
    assert public == pk and hash(public) == hash(pk)
    private = PaillierPrivateKey.from_bytes(sk.to_bytes(), public)
    assert private == sk and private.decrypt(pk.encrypt(0.5)) == 0.5
    assert str(int(sk.p)) not in repr(sk)
    with pytest.raises(ValueError, match="public key"):
        PaillierPublicKey.from_bytes(sk.to_bytes())
    with pytest.raises(ValueError, match="truncated"):
        PaillierPublicKey.from_bytes(pk.to_bytes()[:-5] + b"")


def test_ciphertext_serialisation_round_trip_through_codec(pk, sk):
    from fate_flow.federation import codec
    values = np.array([0.25, -8.5, 1e-6])
    message = codec.loads(codec.dumps({"pubkey": pk.to_bytes(), "d": pk.encrypt_array(values).to_bytes(),
                                       "loss": pk.encrypt(1.5).to_bytes()}))
    public = PaillierPublicKey.from_bytes(message["pubkey"])
    array = EncryptedArray.from_bytes(public, message["d"])
    assert len(message["d"]) == 24 + 3 * pk.ciphertext_width
    np.testing.assert_allclose(sk.decrypt_array(array), values, rtol=0, atol=1e-14)  # batch step
    assert sk.decrypt(EncryptedNumber.from_bytes(public, message["loss"])) == 1.5
    with pytest.raises(ValueError, match="magic"):
        EncryptedArray.from_bytes(pk, message["loss"])
    with pytest.raises(ValueError, match="should hold"):
        EncryptedArray.from_bytes(pk, message["d"][:-1])
    corrupt = message["d"][:24] + b"\xff" * pk.ciphertext_width + message["d"][24 + pk.ciphertext_width:]
    with pytest.raises(ValueError, match="outside"):
        EncryptedArray.from_bytes(pk, corrupt)


def test_other_keys_ciphertexts_are_refused(keypair, other_keypair):
    pk, sk = keypair
    other_pk, other_sk = other_keypair
    mine, theirs = pk.encrypt(1.0), other_pk.encrypt(1.0)
    with pytest.raises(ValueError, match="different public key"):
        mine + theirs
    with pytest.raises(ValueError, match="different public key"):
        sk.decrypt(theirs)
    with pytest.raises(ValueError, match="different public key"):
        sk.decrypt_array(other_pk.encrypt_array([1.0]))
    with pytest.raises(ValueError, match="different public key"):
        pk.encrypt_array([1.0]) + other_pk.encrypt_array([1.0])
    with pytest.raises(ValueError, match="different public key"):
        EncryptedArray.from_bytes(pk, other_pk.encrypt_array([1.0]).to_bytes())


# ---- fallbacks and isolation ------------------------------------------------------------

def test_pure_python_primality_helpers_agree_with_gmpy2():
    carmichael = [561, 1105, 1729, 2465, 2821, 6601, 8911, 41041, 825265]
    assert not any(gmpy_math._py_is_probable_prime(c) for c in carmichael)
    assert all(gmpy_math._py_is_probable_prime(p) for p in (2, 3, 5, 997, 7919, 2 ** 61 - 1, 2 ** 127 - 1))
    for start in (0, 1, 2, 14, 2 ** 64, 2 ** 100 + 7):
        assert gmpy_math._py_next_prime(start) == int(gmpy_math.next_prime(start))


FALLBACK_SCRIPT = """
import sys
sys.modules["gmpy2"] = None  # make "import gmpy2" fail: the pure-Python path must be used
import numpy as np
from fate_flow.secureprotol import HAVE_GMP, generate_keypair, set_parallelism
set_parallelism(1)
pk, sk = generate_keypair(256)
d = np.array([0.5, -1.25, 3.0])
X = np.array([[1.0, -2.0], [0.5, 0.0], [-3.0, 0.25]])
print(HAVE_GMP, type(pk.n).__name__, sk.decrypt(pk.encrypt(-2.5) * 3 + 1),
      (sk.decrypt_array(pk.encrypt_array(d).dot(X)) == X.T @ d).all())
"""


def test_pure_python_fallback_works_without_gmpy2():
    result = subprocess.run([sys.executable, "-c", FALLBACK_SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "int", "-6.5", "True"]


ISOLATION_SCRIPT = """
import json, sys
import fate_flow.secureprotol
print(json.dumps(sorted(sys.modules)))
"""


def test_module_loads_no_server_http_or_database_code():
    result = subprocess.run([sys.executable, "-c", ISOLATION_SCRIPT], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT}, check=True)
    forbidden = ("flask", "peewee", "requests", "fate_flow.db", "fate_flow.apps")
    loaded = json.loads(result.stdout)
    assert [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)] == []
