"""A lazily created process pool that spreads big Paillier batches over the CPU cores.

gmpy2 holds the GIL during modular products, so threads do not help; worker processes do.
The pool is created on first use, reused, and only used for batches big enough to repay
the inter-process copy (a few ms). Work goes to the workers as bytes and int64 arrays
only: ciphertexts packed as fixed-width big-endian fields, keys as their integers' bytes.
Each worker keeps the fixed-base table of the obfuscation generator it was last sent, so
the table is built once per worker, not once per batch.

Start method: ``fork`` when the calling process has a single thread (fast, ~5 ms), else
``forkserver`` (~0.2 s once), because forking a multi-threaded process can copy a lock
held by another thread into the child.

Workers end when the process that made the pool ends, however it ends (see
``utils.pool_owner.exit_with_owner``); the forkserver and the resource tracker then exit on their own.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import psutil

from fate_flow.secureprotol import _kernels
from fate_flow.secureprotol.gmpy_math import FixedBaseTable, from_bytes, invert, mpz, powmod
from fate_flow.utils.pool_owner import exit_with_owner

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_pid: int | None = None
_pool_size = 0
_pool_method = ""
_configured_workers: int | None = None
# Worker side: the last fixed-base tables built, keyed by (n, generator, exponent bits).
_tables: dict = {}


def set_parallelism(workers: int | None) -> None:
    """Set how many worker processes big batches use; 1 (or 0) means compute in-process.

    ``None`` restores the default, ``os.cpu_count()``. A running pool of another size is
    replaced on its next use; with 1 it is kept idle for when the count goes back up.
    """
    global _configured_workers
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0 or None, got {workers}")
    with _lock:
        _configured_workers = workers


def worker_count() -> int:
    """Number of worker processes a big batch is split over (1 = done in this process)."""
    if _configured_workers is not None:
        return max(1, _configured_workers)
    return os.cpu_count() or 1


def shutdown_pool() -> None:
    """Stop the worker processes, if any (they are recreated on next use)."""
    with _lock:
        _shutdown_locked()


def run_chunks(func, chunks: list) -> list | None:
    """Run ``func(*chunk)`` for every chunk in the pool and return the results in order.

    Returns None when the pool cannot be used (one worker configured, a daemon process,
    or the pool broke); the caller then computes in-process.
    """
    pool = _get_pool()
    if pool is None:
        return None
    try:
        futures = [pool.submit(func, *chunk) for chunk in chunks]
        return [future.result() for future in futures]
    except BrokenProcessPool:
        shutdown_pool()
        return None


def prestart_pool() -> None:
    """Start the worker processes now, without waiting for them: a task that will need the pool soon
    overlaps their start-up (about 0.5 s) with its own work instead of paying it on first use."""
    pool = _get_pool()
    if pool is not None:
        for _ in range(worker_count()):
            pool.submit(int)


def split_evenly(count: int, parts: int) -> list:
    """Return ``parts`` (start, stop) ranges covering ``range(count)`` (empty ones dropped)."""
    bounds = np.linspace(0, count, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool, _pool_pid, _pool_size, _pool_method
    workers = worker_count()
    if workers <= 1 or multiprocessing.current_process().daemon:
        return None
    with _lock:
        if _pool is not None and _pool_pid != os.getpid():
            _pool, _pool_pid = None, None  # inherited through fork: not ours to use
        if _pool is not None and _pool_size != workers:
            _shutdown_locked()
        if _pool is None:
            method = "fork" if threading.active_count() == 1 else "forkserver"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload([__name__])
            owner = psutil.Process()
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=exit_with_owner,
                                        initargs=(owner.pid, owner.create_time()))
            _pool_pid, _pool_size, _pool_method = os.getpid(), workers, method
        return _pool


def _shutdown_locked() -> None:
    global _pool, _pool_pid
    if _pool is not None and _pool_pid == os.getpid():
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_pid = None, None


atexit.register(shutdown_pool)


# ---- worker entry points: bytes in, bytes out ------------------------------------------

def obfuscator_table(n: int, generator: int, exponent_bits: int) -> FixedBaseTable:
    """Return the (cached) fixed-base table of ``generator`` modulo n^2."""
    key = (n, generator, exponent_bits)
    table = _tables.get(key)
    if table is None:
        table = FixedBaseTable(generator, n * n, exponent_bits)
        _tables.clear()  # one key at a time is the normal case; bounds the memory
        _tables[key] = table
    return table


def fresh_obfuscators(n: int, count: int, mode: str, generator: int, exponent_bits: int) -> list:
    """Return ``count`` fresh obfuscators for modulus n: ``hs ** a`` or ``r ** n`` mod n^2."""
    nsquare = n * n
    if mode == "short":
        table = obfuscator_table(n, generator, exponent_bits)
        return table.pow_many(os.urandom(table.n_bytes * count))
    width = (n.bit_length() + 7) // 8 + 8  # 64 extra bits make r mod n nearly uniform
    data = os.urandom(width * count)
    out = []
    for i in range(0, len(data), width):
        r = from_bytes(data[i:i + width]) % n
        out.append(powmod(r if r else mpz(1), n, nsquare))
    return out


def encrypt_chunk(key: tuple, encodings: bytes, n_width: int, ct_width: int) -> bytes:
    """Worker: encrypt packed encodings (values in [0, n)) and return packed ciphertexts."""
    n, mode, generator, bits = _key_from_wire(key)
    values = _kernels.unpack(encodings, n_width)
    obfuscators = fresh_obfuscators(n, len(values), mode, generator, bits)
    return _kernels.pack(_kernels.encrypt_encodings(n, n * n, values, obfuscators), ct_width)


def obfuscate_chunk(key: tuple, ciphertexts: bytes, ct_width: int) -> bytes:
    """Worker: multiply packed ciphertexts by fresh obfuscators."""
    n, mode, generator, bits = _key_from_wire(key)
    values = _kernels.unpack(ciphertexts, ct_width)
    obfuscators = fresh_obfuscators(n, len(values), mode, generator, bits)
    return _kernels.pack(_kernels.multiply_pairs(n * n, values, obfuscators), ct_width)


def decrypt_chunk(p_bytes: bytes, q_bytes: bytes, ciphertexts: bytes, ct_width: int,
                  n_width: int) -> bytes:
    """Worker: CRT-decrypt packed ciphertexts and return the packed plaintexts."""
    p, q = from_bytes(p_bytes), from_bytes(q_bytes)
    plaintexts = _kernels.crt_decrypt(crt_params(p, q), _kernels.unpack(ciphertexts, ct_width))
    return _kernels.pack(plaintexts, n_width)


def multiexp_chunk(nsquare_bytes: bytes, ciphertexts: bytes, ct_width: int, columns: list) -> bytes:
    """Worker: one multi-exponentiation per column over the packed ciphertexts."""
    nsquare = from_bytes(nsquare_bytes)
    bases = _kernels.unpack(ciphertexts, ct_width)
    return _kernels.pack(_kernels.multiexp_columns(bases, nsquare, columns), ct_width)


def raise_each_chunk(nsquare_bytes: bytes, ciphertexts: bytes, ct_width: int, exponents: bytes, e_width: int,
                     negative: np.ndarray) -> bytes:
    """Worker: ``c_i ** e_i mod n^2`` over packed ciphertexts and packed exponent magnitudes (signs apart)."""
    nsquare = from_bytes(nsquare_bytes)
    magnitudes = _kernels.unpack(exponents, e_width)
    signed = [-e if minus else e for e, minus in zip(magnitudes, negative.tolist())]
    return _kernels.pack(_kernels.raise_each(nsquare, _kernels.unpack(ciphertexts, ct_width), signed), ct_width)


def crt_params(p: int, q: int) -> tuple:
    """Return ``(p, q, p^2, q^2, hp, hq, q^-1 mod p)`` for CRT decryption with g = n + 1."""
    p, q = mpz(p), mpz(q)
    n = p * q
    psquare, qsquare = p * p, q * q

    def h(prime, prime_square):
        # hp = L_p(g^(p-1) mod p^2)^-1 mod p, with L_p(x) = (x - 1) // p.
        return invert((powmod(n + 1, prime - 1, prime_square) - 1) // prime, prime)

    return p, q, psquare, qsquare, h(p, psquare), h(q, qsquare), invert(q, p)


def _key_from_wire(key: tuple) -> tuple:
    n_bytes, mode, generator_bytes, bits = key
    generator = from_bytes(generator_bytes) if generator_bytes else None
    return from_bytes(n_bytes), mode, generator, bits
