"""Which columns a transform applies to: FATE's ``*_col_indexes`` (-1 = all) plus ``*_names``."""
from __future__ import annotations


def selected_columns(header: list[str], indexes, names) -> list[int]:
    """Positions of the chosen columns, in header order; ValueError naming an unknown one."""
    chosen = set(range(len(header))) if indexes == -1 else set()
    for index in [] if indexes in (-1, None) else indexes:
        if not isinstance(index, int) or not 0 <= index < len(header):
            raise ValueError(f"column index {index!r} is outside the header of {len(header)} columns")
        chosen.add(index)
    for name in names or []:
        if name not in header:
            raise ValueError(f"column {name!r} is not in the header {header}")
        chosen.add(header.index(name))
    return sorted(chosen)


def only_input_table(inputs: dict):
    """The one input data table of a single-input component; ValueError otherwise."""
    tables = list((inputs.get("data") or {}).values())
    if len(tables) != 1 or isinstance(tables[0], list):
        raise ValueError("this component takes exactly one input data table")
    return tables[0]
