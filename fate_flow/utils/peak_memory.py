"""The peak resident memory of a process and all its descendants (pool workers included), sampled; and the
CPU time they used (a worker's as last sampled)."""
from __future__ import annotations

import threading

import psutil


class PeakMemory:
    """Samples the summed RSS of this process tree every ``interval`` seconds from a daemon thread.

    Forkserver pool workers are children of the forkserver, not of the task: walking the
    tree finds them where ``getrusage(RUSAGE_CHILDREN)`` would not.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak = 0
        self._cpu: dict[tuple[int, float], float] = {}  # (pid, create time) -> user + system seconds seen
        self._cpu_before = 0.0  # what the tree had used when sampling started (a standby's imports)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="peak-memory", daemon=True)

    def start(self) -> "PeakMemory":
        self.sample()
        self._cpu_before = self.cpu_seconds_total()
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop sampling (after one last sample) and return the peak in bytes."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
        return self.peak

    def sample(self) -> int:
        """The tree's RSS now (bytes); raises the peak if it is higher."""
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
                times = process.cpu_times()
                self._cpu[(process.pid, process.create_time())] = times.user + times.system
            except psutil.Error:  # ended while we looked
                pass
        self.peak = max(self.peak, total)
        return total

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU seconds the tree used from ``start`` to the last sample (a worker that ended
        between two samples counts as last seen)."""
        return self.cpu_seconds_total() - self._cpu_before

    def cpu_seconds_total(self) -> float:
        return sum(self._cpu.values())

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()
