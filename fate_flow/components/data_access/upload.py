"""Upload: read a delimited file into a staged table; the server commits it."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa

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
        try:
            for ids, values in read_ahead(lines):  # the next block is parsed while this one is written
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
        meta = TableMeta(namespace=params.namespace, name=params.table_name, partitions=params.partition,
                         count=writer.rows_written, schema=lines.header, engine=ctx.storage.engine)
        mode = {DROP_REPLACE: "replace", DROP_APPEND: "append"}.get(params.drop, "create")
        return ComponentOutput(data={"writer": writer, "meta": meta, "mode": mode,
                                     "upload_count": lines.lines_read, "metric": ("upload", "UPLOAD")})
