"""TableData: rows as a component hands them back to be stored, without any conversion per row."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TableData:
    """Rows a component outputs: ids and values (strings, FATE's key/value meaning) and a schema.

    ``ids``/``values`` are pyarrow string arrays (or lists of them, one per batch) so that
    nothing is converted row by row; ``schema`` is FATE's table meta ({"header", "sid"}).
    """

    ids: Any
    values: Any
    schema: dict[str, Any] = field(default_factory=dict)
    partitions: int = 1
    delimiter: str = ","
