"""Per-row arrays of the boosting (targets, scores, g and h, node positions, leaves), one array per partition.

The tasks need them in their own process, not on the workers, but one partition at a time: for a big
table (``SPILL_ROWS`` rows on) they are kept in .npy files of the task's scratch directory and read
back when used, so the task's memory does not grow with the rows (the guest's took about 45 bytes a
row, 45 MB at 1M rows). A small table keeps them in memory: breast's trees read them thousands of times.
"""
from __future__ import annotations

import os
import shutil
from typing import Iterable, Iterator

import numpy as np

# tables from this many rows keep their per-row arrays in files
SPILL_ROWS = 50_000


class PartitionArrays:
    """A list of one numpy array per partition, in memory or (with ``directory``) in files of it.

    Reading gives a fresh array each time from a file: a change is kept only by assigning it back
    (``parts[i] = array``), which the in-memory form does too, so both behave the same.
    """

    def __init__(self, directory: str | None = None, arrays: Iterable[np.ndarray] = ()) -> None:
        self.directory = directory
        self._items: list = []  # arrays, or their file paths
        for array in arrays:
            self.append(array)

    def append(self, array: np.ndarray) -> None:
        self._items.append(None)
        self[len(self._items) - 1] = array

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> np.ndarray:
        item = self._items[index]
        return item if self.directory is None else np.load(item, allow_pickle=False)

    def __setitem__(self, index: int, array: np.ndarray) -> None:
        if self.directory is None:
            self._items[index] = array
            return
        path = os.path.join(self.directory, f"{index if index >= 0 else len(self._items) + index}.npy")
        np.save(path, np.asarray(array), allow_pickle=False)
        self._items[index] = path

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(len(self._items)):
            yield self[index]

    def discard(self) -> None:
        """Drop the arrays (and their files): they are of no further use."""
        self._items = []
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
