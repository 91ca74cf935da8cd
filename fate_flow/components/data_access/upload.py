"""Upload: read a delimited file into a staged table; the server commits it."""
from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentOutput
from fate_flow.components.data_access.param import DROP_APPEND, DROP_REPLACE, UPLOAD_TMP_DIR
from fate_flow.storage import TableMeta, iter_line_batches, read_ahead

# Progress goes to the server over HTTP, which then writes the job row: at most this often
# (an upload of a few seconds or less reports none before its end).
PROGRESS_INTERVAL_S = 1.0


class Upload(ComponentBase):
    """Streams the file block by block (memory bounded by ``block_size``) into a table."""

    def run(self, ctx, inputs):
        params = self.params
        path = Path(params.file)
        try:
            return self._upload(ctx, path)
        finally:
            if path.parent.name == UPLOAD_TMP_DIR:  # a copy the server received: ours to remove
                shutil.rmtree(path.parent, ignore_errors=True)

    def _upload(self, ctx, path: Path) -> ComponentOutput:
        params = self.params
        if not path.is_file():
            raise FileNotFoundError(f"file {path} does not exist or is not a file")
        size = max(path.stat().st_size, 1)
        lines = iter_line_batches(str(path), block_size=params.block_size, head=bool(params.head))
        writer = ctx.storage.writer(params.namespace, params.table_name, params.partition)
        last_progress, last_report = 0, time.monotonic()
        batches = extend_sids(lines, params.auto_increasing_sid) if params.extend_sid else lines
        try:
            for ids, values in read_ahead(batches):  # the next block is parsed while this one is written
                writer.write_batch(ids, values)
                progress = min(99, int(lines.bytes_read * 100 / size))
                if progress != last_progress and time.monotonic() - last_report >= PROGRESS_INTERVAL_S:
                    ctx.tracker.set_progress(progress)
                    last_progress, last_report = progress, time.monotonic()
            writer.close()
            pa.default_memory_pool().release_unused()  # the commit's duplicate check needs the room
        except BaseException:
            ctx.storage.abort(writer)
            raise
        if lines.ragged_rows:
            ctx.logger.warning("%s rows have another number of fields than the header (first at line %s)",
                               lines.ragged_rows, lines.first_ragged_line)
        ctx.logger.info("read %s lines of %s into %s.%s", lines.lines_read, path, params.namespace, params.table_name)
        schema = extended_header(lines.header) if params.extend_sid else lines.header
        meta = TableMeta(namespace=params.namespace, name=params.table_name, partitions=params.partition,
                         count=writer.rows_written, schema=schema, engine=ctx.storage.engine)
        mode = {DROP_REPLACE: "replace", DROP_APPEND: "append"}.get(params.drop, "create")
        return ComponentOutput(data={"writer": writer, "meta": meta, "mode": mode,
                                     "upload_count": lines.lines_read, "metric": ("upload", "UPLOAD")})


EXTEND_SID_NAME = "sid"  # FATE's name of the id column it adds


def extend_sids(lines, auto_increasing: bool) -> Iterator[tuple[pa.Array, pa.Array]]:
    """The batches of ``lines`` with the whole line as value and a generated id, FATE 1.7's ``extend_sid``.

    The ids are one uuid1 hex per upload followed by the row's index (0-based), or with
    ``auto_increasing`` the index alone, as FATE writes them.
    """
    prefix = "" if auto_increasing else uuid.uuid1().hex
    index = 0
    for ids, values in lines:
        joined = pc.binary_join_element_wise(ids, values, ",")
        whole = pc.if_else(pc.equal(values, ""), ids, joined)  # a line without a comma is its own value
        numbers = pa.array(np.arange(index, index + len(ids), dtype=np.int64)).cast(pa.string())
        index += len(ids)
        yield pc.binary_join_element_wise(prefix, numbers, ""), whole


def extended_header(header: dict) -> dict:
    """The schema of an extend_sid upload: every field of the header line is a feature, the id is ``sid``."""
    if not header:
        return {}
    fields = [header["sid"], header["header"]] if header.get("header") else [header["sid"]]
    return {"header": ",".join(fields).strip(), "sid": EXTEND_SID_NAME}
