"""Upload input: a text file streamed as (id, value) Arrow string batches, the way FATE 1.4 splits lines.

Each data line loses its "\\n" (and a "\\r" before it), has tabs turned into ',', and
is cut at its FIRST ',': the id is the part before, the value the rest ("" without a
comma). Empty lines are skipped. The work is done per block of the file with numpy
(byte searches, boolean gathers) and Arrow (UTF-8 validation, zero-copy string
arrays), never per line in Python, and memory is bounded by the block size (a block
grows only to hold a single line longer than it).
"""
from __future__ import annotations

import os
import queue
import threading
from typing import Iterable, Iterator, TypeVar

import numpy as np
import pyarrow as pa

NEWLINE, CR, TAB, COMMA = 10, 13, 9, 44
UTF8_BOM = b"\xef\xbb\xbf"
MAX_BLOCK = 2 ** 31 - 2  # int32 Arrow offsets; a line this long is not text data
T = TypeVar("T")


class UploadFormatError(ValueError):
    """The upload file is not usable text lines; the message names the file and, if known, the line."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f", line {line}" if line is not None else ""
        super().__init__(f"upload file {path}{where} {problem}")


def iter_line_batches(path: str | os.PathLike, block_size: int = 8 << 20, head: bool = True) -> "LineBatches":
    """Return an iterator of ``(ids, values)`` string arrays, one pair per block of the file.

    The header (when ``head``) and the emptiness check are done before this returns.

    Raises:
        UploadFormatError if the file has no data line, holds a NUL byte or invalid
        UTF-8 (also raised while iterating, for a later block); OSError if unreadable.
    """
    return LineBatches(path, block_size, head)


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the caller.

    Parsing a block (numpy, Arrow) and writing the previous one (Parquet encoding and
    compression) both release the GIL, so on two cores an upload takes about the longer
    of the two instead of their sum; memory grows by ``depth`` items at most. An error
    of the iteration is raised in the caller; a caller that stops early (break, error)
    stops the thread, which closes ``items`` if it can be closed.
    """
    handoff: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put((done, None))
        except BaseException as exc:  # handed to the caller, raised there
            handoff.put((done, exc))
        finally:
            close = getattr(items, "close", None)
            if stop.is_set() and close is not None:
                close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


class LineBatches:
    """Batches of (ids, values) from one file plus counters for progress and reporting.

    Attributes:
        header: ``{"header": "<fields after the first>", "sid": "<first field>"}`` when
            ``head``, else ``{}``.
        lines_read: data lines yielded so far (header and empty lines excluded).
        bytes_read: bytes read from the file so far; ``file_size`` is the total.
        ragged_rows / first_ragged_line: data lines whose field count differs from the
            header's, and the 1-based file line number of the first one (head only).
    """

    def __init__(self, path: str | os.PathLike, block_size: int = 8 << 20, head: bool = True) -> None:
        if block_size < 1:
            raise ValueError(f"block_size must be positive, got {block_size}")
        self.path = os.fspath(path)
        self.block_size = min(block_size, MAX_BLOCK // 4)
        self.head = bool(head)
        self.header: dict[str, str] = {}
        self.lines_read = 0
        self.bytes_read = 0
        self.ragged_rows = 0
        self.first_ragged_line: int | None = None
        self._header_fields = 0
        self._lines_seen = 0  # physical lines before the block being parsed
        self._pending: list[tuple[pa.Array, pa.Array]] = []
        self._file = open(self.path, "rb")
        self.file_size = os.fstat(self._file.fileno()).st_size
        self._blocks = self._read_blocks()
        try:
            self._read_first_data()
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> "LineBatches":
        return self

    def __next__(self) -> tuple[pa.Array, pa.Array]:
        try:
            while not self._pending:
                block = next(self._blocks, None)
                if block is None:
                    raise StopIteration
                self._parse_into_pending(block)
        except BaseException:  # StopIteration too: the file is done with either way
            self.close()
            raise
        ids, values = self._pending.pop(0)
        self.lines_read += len(ids)
        return ids, values

    def close(self) -> None:
        """Close the file; iteration then ends."""
        self._blocks.close()
        self._file.close()

    def __enter__(self) -> "LineBatches":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _read_first_data(self) -> None:
        """Parse blocks until the first data line, so that header and emptiness are known up front."""
        for block in self._blocks:
            self._parse_into_pending(block)
            if self._pending:
                return
        if self.head and self.header:
            raise UploadFormatError(self.path, "is empty: it has a header line but no data lines")
        raise UploadFormatError(self.path, "is empty: it has no non-empty line")

    def _read_blocks(self) -> Iterator[np.ndarray]:
        """Yield writable views of whole "\\n"-terminated lines, about ``block_size`` bytes each.

        One buffer is reused; the unfinished last line of a read is moved to its start
        and completed by the next read. The buffer doubles only while that line fills
        more than half of it (a line longer than the block), and shrinks back afterwards.
        """
        buf, fill = bytearray(self.block_size), 0
        while True:
            buf = self._sized(buf, fill)
            got = self._file.readinto(memoryview(buf)[fill:])
            self.bytes_read += got
            end = fill + got
            if got == 0:
                if fill:  # the last line has no "\n"
                    buf = _resized(buf, fill, max(len(buf), fill + 1))
                    buf[fill] = NEWLINE
                    yield np.frombuffer(buf, np.uint8, count=fill + 1)
                return
            cut = buf.rfind(b"\n", fill, end)
            if cut >= 0:
                yield np.frombuffer(buf, np.uint8, count=cut + 1)
                whole = np.frombuffer(buf, np.uint8)
                whole[:end - cut - 1] = whole[cut + 1:end]  # numpy copes with the overlap
            fill = end - cut - 1 if cut >= 0 else end

    def _sized(self, buf: bytearray, fill: int) -> bytearray:
        """``buf`` doubled if the carried line fills over half of it, or shrunk back after a long line."""
        if fill > len(buf) // 2:
            if fill > MAX_BLOCK // 2:
                raise UploadFormatError(self.path, "is longer than 1 GiB", self._lines_seen + 1)
            return _resized(buf, fill, 2 * len(buf))
        if len(buf) > 2 * self.block_size and fill <= self.block_size // 2:
            return _resized(buf, fill, self.block_size)
        return buf

    def _parse_into_pending(self, block: np.ndarray) -> None:
        """Turn one block of whole lines into an (ids, values) pair queued for iteration."""
        if self._lines_seen == 0 and block[:3].tobytes() == UTF8_BOM:
            block = block[3:]
        first_line = self._lines_seen + 1
        self._check_text(block, first_line)
        if (block == TAB).any():
            np.putmask(block, block == TAB, COMMA)
        starts, ends, numbers = _line_spans(block)
        self._lines_seen += len(numbers)
        keep = np.flatnonzero(ends > starts)
        if self.head and not self.header and len(keep):
            self._take_header(block[starts[keep[0]]:ends[keep[0]]])
            keep = keep[1:]
        if not len(keep):
            return
        starts, ends, numbers = starts[keep], ends[keep], numbers[keep] + first_line
        if self.head:
            self._count_ragged(_comma_counts(block, starts, ends) + 1, numbers)
        id_ends = _first_commas(block, starts, ends)
        value_starts = np.where(id_ends < ends, id_ends + 1, ends)
        self._pending.append((_gather(block, starts, id_ends), _gather(block, value_starts, ends)))

    def _check_text(self, block: np.ndarray, first_line: int) -> None:
        """Raise UploadFormatError naming the first line with a NUL byte or invalid UTF-8."""
        if not block.all():
            nul_at = int(np.flatnonzero(block == 0)[0])
            line = first_line + int(np.count_nonzero(block[:nul_at] == NEWLINE))
            raise UploadFormatError(self.path, "contains a NUL byte (binary data?)", line)
        offsets = pa.py_buffer(np.array([0, block.size], dtype=np.int32))
        try:
            pa.StringArray.from_buffers(1, offsets, pa.py_buffer(block)).validate(full=True)
        except pa.ArrowInvalid:
            # Error path only: locate the line with Python's decoder.
            for index, line in enumerate(block.tobytes().split(b"\n")):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    raise UploadFormatError(self.path, "is not valid UTF-8 text", first_line + index) from None
            raise UploadFormatError(self.path, "is not valid UTF-8 text") from None

    def _take_header(self, raw: np.ndarray) -> None:
        """Set ``header`` from the first non-empty line, FATE's way (fields after the first, stripped)."""
        fields = raw.tobytes().decode("utf-8").split(",")
        self._header_fields = len(fields)
        self.header = {"header": ",".join(fields[1:]).strip(), "sid": fields[0]}

    def _count_ragged(self, field_counts: np.ndarray, numbers: np.ndarray) -> None:
        """Count data lines whose field count differs from the header's and remember the first one."""
        ragged = np.flatnonzero(field_counts != self._header_fields)
        if len(ragged):
            if self.first_ragged_line is None:
                self.first_ragged_line = int(numbers[ragged[0]])
            self.ragged_rows += len(ragged)


def _line_spans(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, end (excluding "\\n" and a "\\r" before it) and 0-based index of every line of the block."""
    newlines = np.flatnonzero(block == NEWLINE)
    starts = np.empty_like(newlines)
    starts[:1] = 0
    starts[1:] = newlines[:-1] + 1
    has_cr = (newlines > starts) & (block[newlines - 1] == CR)
    return starts, newlines - has_cr, np.arange(len(newlines))


def _first_commas(block: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Position of the first ',' in each span ``block[starts[i]:ends[i]]``, or ``ends[i]`` if it has none.

    Ids are short: the spans are probed one byte further per round, only those not yet
    settled, so the cost is the rows times the longest id, not the size of the block.
    Spans still open after ``_PROBE_ROUNDS`` (long ids) are looked up among the
    block's comma positions.
    """
    first = ends.copy()
    todo, at = np.arange(len(starts)), starts.copy()
    for _ in range(_PROBE_ROUNDS):
        inside = at < ends[todo]
        todo, at = todo[inside], at[inside]
        if not len(todo):
            return first
        hit = block[at] == COMMA
        first[todo[hit]] = at[hit]
        todo, at = todo[~hit], at[~hit] + 1
    commas = np.flatnonzero(block == COMMA)
    if len(commas):
        found = commas[np.minimum(np.searchsorted(commas, at), len(commas) - 1)]
        first[todo] = np.where((found >= at) & (found < ends[todo]), found, ends[todo])
    return first


_PROBE_ROUNDS = 24


def _comma_counts(block: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Number of ',' in each span ``block[starts[i]:ends[i]]``.

    The comma mask is packed into 64-bit words whose population counts, summed, give
    the commas before any word boundary; the part of a word before a position is
    counted with a bit mask. A few passes over the block in all, with no array as
    large as the number of commas.
    """
    if not hasattr(np, "bitwise_count"):  # numpy < 2: search the comma positions
        commas = np.flatnonzero(block == COMMA)
        return np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    bits = np.packbits(block == COMMA, bitorder="little")
    words = np.zeros(len(bits) // 8 + 2, dtype="<u8")  # one spare word: a position may be the block's end
    words.view(np.uint8)[:len(bits)] = bits
    before = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.bitwise_count(words), out=before[1:])

    def commas_before(positions: np.ndarray) -> np.ndarray:
        word, bit = positions >> 6, (positions & 63).astype(np.uint64)
        partial = words[word] & ((np.uint64(1) << bit) - np.uint64(1))
        return before[word] + np.bitwise_count(partial)

    return commas_before(ends) - commas_before(starts)


def _gather(block: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """One string array of the byte spans ``block[starts[i]:ends[i]]``, built in a single copy.

    Short spans (ids) are gathered by index; otherwise the kept/skipped pattern
    alternates span by span, so ``np.repeat`` of that pattern by the span lengths is
    the byte mask (much faster than a cumulative sum).
    """
    lengths = ends - starts
    longest = int(lengths.max()) if len(lengths) else 0
    if longest <= _SHORT_SPAN:
        columns = np.arange(longest)
        data = block[(starts[:, None] + columns)[columns < lengths[:, None]]]
        return _string_array(data, lengths)
    bounds = np.empty(2 * len(starts) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, block.size
    bounds[1:-1:2], bounds[2:-1:2] = starts, ends
    pattern = np.zeros(len(bounds) - 1, dtype=bool)
    pattern[1::2] = True
    return _string_array(block[np.repeat(pattern, np.diff(bounds))], lengths)


_SHORT_SPAN = 16


def _string_array(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    offsets = np.empty(len(lengths) + 1, dtype=np.int32)
    offsets[0] = 0
    np.cumsum(lengths, dtype=np.int32, out=offsets[1:])
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data))


def _resized(buf: bytearray, fill: int, size: int) -> bytearray:
    """A new buffer of ``size`` bytes starting with the first ``fill`` bytes of ``buf``."""
    if size == len(buf):
        return buf
    new = bytearray(size)
    new[:fill] = memoryview(buf)[:fill]
    return new
