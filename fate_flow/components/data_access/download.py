"""Download: write a table to a file on the server, as FATE 1.4 does (no header)."""
from __future__ import annotations

import os

from fate_flow.components.base import ComponentBase, ComponentOutput


class Download(ComponentBase):
    """Writes a table to a file, one ``id<delimitor>value`` line per row, no header."""

    def run(self, ctx, inputs):
        from fate_flow.storage import write_delimited

        params = self.params
        os.makedirs(os.path.dirname(os.path.abspath(params.output_path)), exist_ok=True)
        with ctx.storage.open(params.namespace, params.table_name) as table:
            total = max(table.count(), 1)
            rows = write_delimited(table, params.output_path, params.delimitor,
                                   progress=lambda done: ctx.tracker.set_progress(min(99, int(done * 100 / total))))
        ctx.tracker.log_metric_data("download", "data_access", [("count", rows)])
        ctx.tracker.set_metric_meta("download", "data_access", {"name": "data_access", "metric_type": "DOWNLOAD"})
        ctx.logger.info("wrote %s rows of %s.%s to %s", rows, params.namespace, params.table_name, params.output_path)
        return ComponentOutput()
