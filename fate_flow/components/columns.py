"""Column choice shared by binning and selection: FATE's ``*_indexes`` (-1 = all) united with ``*_names``."""
from __future__ import annotations

from typing import Any


def column_positions(header: list[str], indexes: Any, names: Any, what: str) -> list[int]:
    """Header positions of the chosen columns, in header order.

    Args:
        header: the data's feature names.
        indexes: -1 (every column), None, or a list of header positions.
        names: None or a list of header names.
        what: the parameter family, for messages (e.g. "bin").

    Raises:
        ValueError: an index outside the header or a name not in it, naming the parameter.
    """
    chosen = set(range(len(header))) if indexes == -1 else set()
    for index in [] if indexes in (-1, None) else indexes:
        if not 0 <= index < len(header):
            raise ValueError(f"{what}_indexes: column index {index} is outside the header of {len(header)} columns")
        chosen.add(index)
    position = {name: i for i, name in enumerate(header)}
    for name in names or []:
        if name not in position:
            raise ValueError(f"{what}_names: column {name!r} is not in the header {header}")
        chosen.add(position[name])
    return sorted(chosen)


def only_input_table(inputs: dict, module: str):
    """The one input data table of ``module``; ValueError if there is none or several."""
    tables = [t for t in (inputs.get("data") or {}).values() if t is not None]
    if len(tables) == 1 and isinstance(tables[0], list) and len(tables[0]) == 1:
        return tables[0][0]
    if len(tables) != 1 or isinstance(tables[0], list):
        raise ValueError(f"{module} takes exactly one input data table, got {len(tables)} inputs")
    return tables[0]


def first_model(inputs: dict, kind: str) -> dict | None:
    """The messages of the first upstream model of ``kind`` ("model" or "isometric_model"), or None."""
    return next(iter((inputs.get(kind) or {}).values()), None)
