"""What single-table components share: FATE's column choice (``*_indexes``, -1 = all, united with
``*_names``), their one input table and their upstream model."""
from __future__ import annotations

from typing import Any


def column_positions(header: list[str], indexes: Any, names: Any, params: tuple[str, str]) -> list[int]:
    """Header positions of the chosen columns, in header order.

    Args:
        header: the data's feature names.
        indexes: -1 (every column), None, or a list of header positions.
        names: None or a list of header names.
        params: the two parameters' names, for messages (e.g. ("bin_indexes", "bin_names")).

    Raises:
        ValueError: an index outside the header or a name not in it, naming the parameter.
    """
    index_param, name_param = params
    chosen = set(range(len(header))) if indexes == -1 else set()
    for index in [] if indexes in (-1, None) else indexes:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(header):
            raise ValueError(f"{index_param}: column index {index!r} is outside the header of {len(header)} columns")
        chosen.add(index)
    position = {name: i for i, name in enumerate(header)}
    for name in names or []:
        if name not in position:
            raise ValueError(f"{name_param}: column {name!r} is not in the header {header}")
        chosen.add(position[name])
    return sorted(chosen)


def only_input_table(inputs: dict, module: str):
    """The one input data table of ``module`` (lists flattened, absent upstreams ignored);
    ValueError if there is none or several."""
    tables = []
    for value in (inputs.get("data") or {}).values():
        tables.extend(t for t in (value if isinstance(value, list) else [value]) if t is not None)
    if len(tables) != 1:
        raise ValueError(f"{module} takes exactly one input data table, got {len(tables)}")
    return tables[0]


def first_model(inputs: dict, kind: str) -> dict | None:
    """The messages of the first upstream model of ``kind`` ("model" or "isometric_model"), or None."""
    return next(iter((inputs.get(kind) or {}).values()), None)
