"""FederatedSample: draw rows at random or per label, fewer (downsample) or more (upsample).

FATE's counts: random downsample draws ``max(1, int(rate*N))`` rows without replacement,
random upsample ``int(rate*N)`` with replacement; stratified does the same per label
(``max(1, int(rate*count))``). Downsampling keeps ids and rows; upsampling gives the drawn
rows new ids 0..m-1 in a random order. In hetero jobs the guest draws and sends the drawn
ids (with their new ids) to the hosts, who output the same rows of their own features; in
homo jobs every party draws alone.

On the partitioned tables the draw is exact and uniform without collecting rows: one pass
counts rows per label and partition; the driver splits each label's draw over the
partitions (multivariate hypergeometric without replacement, multinomial with it), and a
kernel draws within each partition, which it finds in the plan by its smallest id.
"""
from __future__ import annotations

import functools
import secrets
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fate_flow.components.base import ComponentBase, ComponentContext, ComponentOutput
from fate_flow.components.columns import only_input_table
from fate_flow.components.federated_sample.transfer import SampleTransferVariable
from fate_flow.computing import recipes as rx

ALL_ROWS = "*"  # the one group of random mode


class FederatedSample(ComponentBase):
    """Guest or host; hosts of a hetero job follow the guest's draw."""

    def run(self, ctx: ComponentContext, inputs: dict[str, Any]) -> ComponentOutput:
        self.params.check()
        stored = only_input_table(inputs, "FederatedSample")
        if not self.params.need_run:
            return ComponentOutput(data=stored)
        schema, delimiter = dict(stored.meta.schema or {}), stored.meta.delimiter or ","
        table = ctx.computing.load(stored)
        if table.partitions != ctx.computing.partitions:  # partition p holds the same ids on every party
            table = table.repartition(ctx.computing.partitions)
        drawn = self._drawn_ids(ctx, table, schema, delimiter)
        joined = _joined(drawn)
        output = table.map_partitions(functools.partial(_take_drawn, joined))
        if self.params.task_type == "hetero" and ctx.role == "host":
            expected, found = sum(len(ids) for ids, _ in drawn), output.count()
            if found != expected:
                raise ValueError(f"FederatedSample: the guest drew {expected} rows but this host has only {found} "
                                 f"of them (run Intersection before sampling)")
        if joined[1] is not None:  # upsampled: the guest's method decides, whatever a host's conf says
            output = output.repartition(ctx.computing.partitions)  # new ids hash to other partitions
        output = output.with_schema(schema, delimiter)
        if self.params.mode == "random":
            count = sum(len(ids) for ids, _ in drawn)
            ctx.tracker.log_metric_data("sample_count", "random", [("count", count)])
            ctx.tracker.set_metric_meta("sample_count", "random", {"name": "sample_count", "metric_type": "SAMPLE_TEXT"})
        return ComponentOutput(data=output)

    def _drawn_ids(self, ctx: ComponentContext, table, schema: dict, delimiter: str) -> list:
        """[(drawn ids, new ids or None)] per partition: drawn here (and sent to the hosts by a hetero
        guest), or received from the guest by a hetero host."""
        variables = SampleTransferVariable(ctx.federation, flowid="fit")
        hetero = self.params.task_type == "hetero"
        if hetero and ctx.role == "host":
            return _receive_draws(variables, ctx.computing.partitions)
        drawn = self._draw(ctx, table, schema, delimiter)
        if hetero and ctx.role == "guest":
            for partition, (ids, keys) in enumerate(drawn):
                variables.sample_ids.remote({"ids": ids.to_pylist(), "keys": keys}, role="host", suffix=(partition,))
        return drawn

    def _draw(self, ctx: ComponentContext, table, schema: dict, delimiter: str) -> list:
        """[(drawn ids, new ids or None)] per partition, in partition order."""
        p = self.params
        stratified = p.mode == "stratified"
        if stratified and not schema.get("label_name"):
            raise ValueError("FederatedSample: stratified sampling needs labelled data (DataIO with_label)")
        partitions = table.map_reduce(functools.partial(_group_counts, stratified, delimiter))
        groups = sorted({g for _, counts in partitions for g in counts})
        totals = {g: sum(counts.get(g, 0) for _, counts in partitions) for g in groups}
        wanted = {g: self._wanted(g, totals[g]) for g in groups}
        seed = p.random_state if p.random_state is not None else secrets.randbits(63)
        plan = plan_draws(partitions, wanted, p.method == "upsample", np.random.default_rng(seed))
        drawn = table.map_reduce(functools.partial(_draw_partition, plan, stratified, delimiter))
        if stratified:
            self._log_stratified(ctx, totals, wanted)
        return drawn

    def _wanted(self, group: str, count: int) -> int:
        """How many rows to draw of a group of ``count`` rows (FATE's rounding)."""
        p = self.params
        rate = p.fractions if p.mode == "random" else rate_of(p.fractions, group)
        if p.method == "downsample":
            if not 0 <= rate <= 1:
                raise ValueError(f"fractions: a downsample rate should be in [0, 1], got {rate}")
            return min(count, max(1, int(rate * count))) if count else 0
        if rate <= 0:
            raise ValueError(f"fractions: an upsample rate should be > 0, got {rate}")
        return int(rate * count) if p.mode == "random" else max(1, int(rate * count))

    @staticmethod
    def _log_stratified(ctx: ComponentContext, totals: dict, wanted: dict) -> None:
        for namespace, counts in (("sample_count", wanted), ("original_count", totals)):
            ctx.tracker.log_metric_data(namespace, "stratified", [(_label_key(g), counts[g]) for g in sorted(counts)])
            ctx.tracker.set_metric_meta(namespace, "stratified", {"name": namespace, "metric_type": "SAMPLE_TABLE"})


def rate_of(fractions: list | None, label: str) -> float:
    """The rate ``fractions`` gives ``label`` (the label's text, matched as text or as a number)."""
    for pair_label, rate in fractions or []:
        if str(pair_label) == label or _same_number(pair_label, label):
            return float(rate)
    raise ValueError(f"fractions gives no rate for label {label}; stratified sampling needs one per label")


def _same_number(a: Any, b: str) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def _label_key(label: str) -> Any:
    """A label as FATE logs it: the number when it is one."""
    try:
        number = float(label)
    except ValueError:
        return label
    return int(number) if number.is_integer() else number


def plan_draws(partitions: list, wanted: dict, with_replacement: bool, rng: np.random.Generator) -> dict:
    """{partition key: (rows per group, seed, new ids or None)}: each group's draw split over the partitions.

    Args:
        partitions: [(smallest id, {group: rows})] per partition.
        wanted: {group: rows to draw}.
        with_replacement: multinomial split (upsample) instead of hypergeometric (downsample).
        rng: the source of every random choice.
    """
    groups = sorted(wanted)
    counts = np.array([[c.get(g, 0) for g in groups] for _, c in partitions], dtype=np.int64).reshape(-1, len(groups))
    shares = np.zeros_like(counts)
    for j, group in enumerate(groups):
        if wanted[group] == 0 or counts[:, j].sum() == 0:
            continue
        if with_replacement:
            shares[:, j] = rng.multinomial(wanted[group], counts[:, j] / counts[:, j].sum())
        else:
            shares[:, j] = rng.multivariate_hypergeometric(counts[:, j], wanted[group])
    new_ids = rng.permutation(int(shares.sum())) if with_replacement else None
    plan, offset = {}, 0
    for (key, _), row in zip(partitions, shares):
        size = int(row.sum())
        keys = None if new_ids is None else new_ids[offset:offset + size]
        plan[key] = (dict(zip(groups, row.tolist())), int(rng.integers(1 << 62)), keys)
        offset += size
    return plan


def _receive_draws(variables: SampleTransferVariable, partitions: int) -> list:
    drawn = []
    for partition in range(partitions):
        part = variables.sample_ids.get(idx=0, suffix=(partition,))
        ids, keys = (part.get("ids"), part.get("keys")) if isinstance(part, dict) else (None, None)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"sample_ids of partition {partition} from the guest is not a list of ids")
        if keys is not None:
            keys = np.asarray(keys, dtype=np.int64)
            if keys.shape != (len(ids),):
                raise ValueError(f"sample_ids of partition {partition}: {len(keys)} new ids for {len(ids)} rows")
        drawn.append((pa.array(ids, type=pa.string()), keys))
    return drawn


def _joined(drawn: list) -> tuple:
    ids = pa.concat_arrays([ids for ids, _ in drawn]) if drawn else pa.array([], type=pa.string())
    keys = None if not drawn or drawn[0][1] is None else np.concatenate([k for _, k in drawn])
    return ids, keys


# ---- kernels -----------------------------------------------------------------------------

def _partition_key(block) -> str | None:
    ids = rx.block_ids(block)
    return pc.min(ids).as_py() if len(ids) else None


def _labels(block, delimiter: str) -> np.ndarray:
    """The first field of each row's value (the label of labelled rows), as text."""
    values = rx.block_rows(block)[1]
    first = pc.list_element(pc.split_pattern(values, delimiter, max_splits=1), 0)
    return np.asarray(pc.utf8_trim_whitespace(first).to_pylist(), dtype=object)


def _group_counts(stratified: bool, delimiter: str, block) -> tuple:
    if not stratified:
        return _partition_key(block), {ALL_ROWS: rx.block_len(block)}
    labels, counts = np.unique(_labels(block, delimiter).astype(str), return_counts=True)
    return _partition_key(block), dict(zip(labels.tolist(), counts.tolist()))


def _draw_partition(plan: dict, stratified: bool, delimiter: str, block) -> tuple:
    """(ids drawn in this partition, their new ids or None), as the plan says."""
    shares, seed, keys = plan[_partition_key(block)]
    rng = np.random.default_rng(seed)
    labels = _labels(block, delimiter).astype(str) if stratified else None
    with_replacement = keys is not None
    positions = []
    for group in sorted(shares):
        rows = np.arange(rx.block_len(block)) if labels is None else np.flatnonzero(labels == group)
        if shares[group]:
            positions.append(rng.choice(rows, shares[group], replace=with_replacement))
    picked = np.concatenate(positions) if positions else np.empty(0, dtype=np.int64)
    if not with_replacement:
        picked = np.sort(picked)
    return rx.block_ids(block).take(pa.array(picked, type=pa.int64())), keys


def _take_drawn(drawn: tuple, block):
    """The rows of ``block`` among the drawn ids (each as often as drawn), under their new ids if any."""
    ids, keys = drawn
    positions = pc.index_in(ids, value_set=rx.block_ids(block))
    found = pc.is_valid(positions).to_numpy(zero_copy_only=False)
    rows = rx.take_rows(block, positions.filter(pa.array(found)).to_numpy(zero_copy_only=False).astype(np.int64))
    if keys is None:
        return rows
    new_ids = pc.cast(pa.array(keys[found]), pa.string())
    return rows.set_column(rows.schema.get_field_index("id"), "id", new_ids)
