"""A task's data: its input tables resolved from the DSL, its output table stored and recorded.

Runs inside the task process (no database): tables are found by name. ``args.<key>``
is the party's job argument (a table it uploaded); ``<component>.<alias>`` is the
output of an upstream task of the same party, stored under a name derived from
the job, the component, the party and the alias.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

# fate_flow.storage (pyarrow) is imported only by tasks that touch tables


def open_storage(engine: str, root: Path):
    """This party's table storage."""
    from fate_flow.storage import open_storage as _open

    return _open(engine, root)


def output_table_name(job_id: str, component: str, role: str, party_id: Any, alias: str) -> tuple[str, str]:
    """(namespace, name) of a task's output table: FATE's ``output_data_<task_id>`` namespace."""
    return f"output_data_{job_id}_{component}", f"{role}_{party_id}_{alias}"


# DSL v2's data keys for what FATE 1.4's components call eval_data
_EVAL_KEYS = {"validate_data": "eval_data", "test_data": "eval_data"}


def resolve_inputs(ctx, config: dict) -> dict[str, Any]:
    """``{"data": {data_key: StoredTable or [StoredTable, ...]}, "data_sources": {data_key: [component, ...]}}``.

    DSL v2's ``validate_data`` and ``test_data`` reach the component as ``eval_data``.
    """
    refs_by_key = {_EVAL_KEYS.get(key, key): refs for key, refs in ((config.get("input") or {}).get("data") or {}).items()}
    if not refs_by_key:
        return {"data": {}, "data_sources": {}}
    storage = ctx.storage
    args = (config.get("job_args") or {}).get("data") or {}
    data = {}
    runs_here = set(config.get("runs_here") or [])
    for key, refs in refs_by_key.items():
        refs = [refs] if isinstance(refs, str) else list(refs)
        tables = [_open_ref(storage, ref, args, config) if _exists_here(ref, runs_here) else None for ref in refs]
        data[key] = tables[0] if len(tables) == 1 else tables
    # where each input came from ("hetero_lr_0" for "hetero_lr_0.train"): Evaluation names its metrics so
    sources = {key: [ref.partition(".")[0] for ref in ([r] if isinstance(r, str) else r)]
               for key, r in refs_by_key.items()}
    return {"data": data, "data_sources": sources}


def _exists_here(ref: str, runs_here: set[str]) -> bool:
    """False for the output of an upstream component that has no task for this party."""
    source = ref.partition(".")[0]
    return source == "args" or source in runs_here


def _open_ref(storage, ref: str, args: dict, config: dict):
    from fate_flow.storage import TableNotFoundError

    source, _, alias = ref.partition(".")
    if source == "args":
        table = args.get(alias) or {}
        namespace, name = table.get("namespace"), table.get("name")
        if not namespace or not name:
            raise ValueError(f"input {ref}: role {config['role']} party {config['party_id']} names no table for it")
    else:
        namespace, name = output_table_name(config["job_id"], source, config["role"], config["party_id"], alias)
    try:
        return storage.open(namespace, name)
    except TableNotFoundError:
        if source == "args":
            raise ValueError(f"input {ref}: table {namespace}.{name} does not exist") from None
        return None  # the upstream task ran here but output no data (a HeteroLR host): FATE gives None


def store_output(ctx, config: dict, data: Any) -> dict | None:
    """Store a component's output data; return the meta to record (None when there is none)."""
    if data is None:
        return None
    from fate_flow.components.base import TableData
    from fate_flow.storage import StoredTable, TableMeta

    storage = ctx.storage
    from fate_flow.computing.table import Table

    if isinstance(data, StoredTable):  # passed through unchanged: recorded, not copied
        return data.meta.to_dict()
    aliases = (config.get("output") or {}).get("data") or ["component"]
    namespace, name = output_table_name(config["job_id"], config["component_name"], config["role"],
                                        config["party_id"], aliases[0])
    if isinstance(data, Table):  # partitions computed by the workers, committed here at once
        return data.save(storage, namespace, name).to_dict()
    if not isinstance(data, TableData):
        raise TypeError(f"component output data must be a Table, TableData or an input table, "
                        f"not {type(data).__name__}")
    writer = storage.writer(namespace, name, data.partitions)
    try:
        ids = data.ids if isinstance(data.ids, list) else [data.ids]
        values = data.values if isinstance(data.values, list) else [data.values]
        for batch_ids, batch_values in zip(ids, values):
            writer.write_batch(batch_ids, batch_values)
        writer.close()
    except BaseException:
        storage.abort(writer)
        raise
    meta = TableMeta(namespace=namespace, name=name, partitions=data.partitions, schema=data.schema,
                     delimiter=data.delimiter)
    return storage.commit(writer, meta, "replace").to_dict()


def model_root(config: dict) -> Path:
    """This party's model version directory for the job (the training one for predict jobs)."""
    from fate_flow.utils.model_layout import version_dir

    model = config["model"]
    return version_dir(Path(model["root"]), model["party_model_id"], model["model_version"])


def resolve_models(config: dict) -> dict[str, dict]:
    """``{"model": {cpn: {name: message}}, "isometric_model": {...}}`` for the task's model inputs."""
    from fate_flow.utils.model_layout import load_component_model

    inputs = config.get("input") or {}
    resolved = {}
    for kind in ("model", "isometric_model"):
        models = {}
        for ref in inputs.get(kind) or []:
            parts = ref.split(".")
            component, alias = parts[-2], parts[-1]  # "cpn.alias" or "pipeline.cpn.alias"
            models[component] = load_component_model(model_root(config), component, alias)
            if not models[component]:
                raise ValueError(f"input {kind} {ref}: no model saved by {component} under {alias}")
        resolved[kind] = models
    return resolved


def save_output_model(config: dict, model: dict | None) -> None:
    """Save the component's model messages under its first output model alias (or "default").

    A predict job runs from a trained model and leaves it as it was trained: its components'
    re-exported models are not written back over it.
    """
    if not model or (config.get("job_parameters") or {}).get("job_type") == "predict":
        return
    from fate_flow.utils.model_layout import save_component_model

    aliases = (config.get("output") or {}).get("model") or ["default"]
    save_component_model(model_root(config), config["component_name"], config["module_name"], aliases[0], model)
