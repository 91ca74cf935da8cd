"""The local engine: partitions computed by a pool of worker processes of the task, a few at a time.

Each worker evaluates one partition's recipe at a time, so the memory in use is the
partitions in flight, not the table. Functions and recipes travel to the workers
cloudpickled (closures and lambdas work); results come back pickled by the pool. Small
work runs in the task's own process: starting workers costs more than it saves.

Start method: ``fork`` while the task has a single thread, else ``forkserver`` (forking a
multi-threaded process can copy a held lock into the child). Workers end with the task,
however it ends (``utils.pool_owner``).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

from fate_flow.computing.engine import LOCAL, Engine, mark_worker
from fate_flow.utils.pool_owner import exit_with_owner


class LocalEngine(Engine):
    """``Engine.run`` on a process pool of ``parallelism`` workers (created on first parallel use)."""

    name = LOCAL

    def __init__(self, scratch: str, parallelism: int = 1) -> None:
        super().__init__(scratch, parallelism)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, function: Callable[[Any], Any], items: Sequence[Any], *, inline: bool = False) -> list[Any]:
        """``[function(item) for item in items]`` on the pool; in this process when ``inline``, with one
        worker or one item. The first failure (by completion) cancels what has not started and is raised."""
        items = list(items)
        if inline or self.parallelism == 1 or len(items) <= 1:
            return [function(item) for item in items]
        import cloudpickle

        payload = cloudpickle.dumps(function)
        pool = self._get_pool()
        futures = [pool.submit(_call, payload, cloudpickle.dumps(item)) for item in items]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        # the jobs already running finish before the error is raised: the caller then cleans up
        # their spills for good, and no worker writes into a directory after it was removed
        wait(futures)
        failed = [f for f in futures if f.done() and not f.cancelled() and f.exception() is not None]
        if failed:
            raise failed[0].exception()
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the workers (they are started again on the next parallel run)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def worker_pids(self) -> list[int]:
        """The pids of the running workers (for memory accounting and tests)."""
        pool = self._pool
        return [] if pool is None else [p.pid for p in (getattr(pool, "_processes", None) or {}).values()]

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                import psutil

                method = "fork" if threading.active_count() == 1 else "forkserver"
                context = multiprocessing.get_context(method)
                if method == "forkserver":
                    context.set_forkserver_preload([__name__, "fate_flow.computing.recipes", "numpy", "pyarrow"])
                owner = psutil.Process(os.getpid())
                self._pool = ProcessPoolExecutor(max_workers=self.parallelism, mp_context=context,
                                                 initializer=exit_with_owner,
                                                 initargs=(owner.pid, owner.create_time()))
            return self._pool


def _call(function_payload: bytes, item_payload: bytes) -> Any:
    import cloudpickle

    mark_worker()
    return cloudpickle.loads(function_payload)(cloudpickle.loads(item_payload))
