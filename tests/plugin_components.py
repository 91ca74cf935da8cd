"""Tiny real components for scheduler tests, loaded through $FATE_FLOW_COMPONENT_PLUGINS.

``TestSleep`` sleeps (so a job stays running), in ``steps`` that each report progress as
an iteration would, can fail with an exception or exit with a code.
"""
from __future__ import annotations

import os
import time

from fate_flow.components import BaseParam, ComponentBase, ComponentOutput, ComponentSpec, register


class SleepParam(BaseParam):
    def __init__(self):
        self.seconds = 0.0
        self.steps = 1
        self.fail = False
        self.exit_code = 0

    def check(self):
        if not isinstance(self.seconds, (int, float)) or self.seconds < 0:
            raise ValueError(f"seconds should be a non-negative number, got {self.seconds!r}")


class Sleep(ComponentBase):
    def run(self, ctx, inputs):
        ctx.logger.info("sleeping %s s", self.params.seconds)
        steps = max(1, int(self.params.steps))
        for step in range(steps):
            time.sleep(self.params.seconds / steps)
            if steps > 1:
                ctx.logger.info("step %s of %s done", step + 1, steps)  # a log that grows while it runs
                ctx.tracker.set_progress(100 * (step + 1) / steps)
        if self.params.exit_code:
            os._exit(self.params.exit_code)
        if self.params.fail:
            raise RuntimeError("asked to fail")
        ctx.tracker.log_metric_data("train", "sleep", [("seconds", self.params.seconds)])
        return ComponentOutput(model={"SleepParam": {"seconds": self.params.seconds}})


register(ComponentSpec(
    module="TestSleep",
    programs={"guest": "tests.plugin_components:Sleep", "host": "tests.plugin_components:Sleep"},
    param_class="tests.plugin_components:SleepParam",
))


class Echo(ComponentBase):
    """Outputs its input rows with ",<suffix>" appended to each value; needs no federation."""

    def run(self, ctx, inputs):
        import pyarrow as pa
        import pyarrow.compute as pc

        from fate_flow.components import TableData

        table = inputs["data"]["data"]
        suffix = self.params.suffix
        for messages in (inputs.get("model") or {}).values():  # a model input: reuse its suffix
            suffix = messages["EchoParam"]["suffix"]
        ids, values = [], []
        for batch in table.iter_batches():
            ids.append(batch.column(0))
            values.append(pc.binary_join_element_wise(batch.column(1), pa.scalar(suffix), ","))
        schema = dict(table.meta.schema)
        schema["header"] = ",".join(filter(None, [schema.get("header", ""), "echo"]))
        model = {"EchoMeta": {"need_run": True}, "EchoParam": {"suffix": suffix, "rows": table.count()}}
        return ComponentOutput(data=TableData(ids=ids, values=values, schema=schema), model=model)


class EchoParam(BaseParam):
    def __init__(self):
        self.suffix = "1"


register(ComponentSpec(
    module="TestEcho",
    programs={"guest": "tests.plugin_components:Echo", "host": "tests.plugin_components:Echo"},
    param_class="tests.plugin_components:EchoParam",
))
