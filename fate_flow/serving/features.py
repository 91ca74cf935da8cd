"""Where a host's features come from at inference time: its default feature adapter.

FATE-Serving's host asks a feature adapter (a plug-in that reads the party's own systems)
for the features of the ids the guest sends in ``sendToRemoteFeatureData``. Ours, by
default, looks the id up in the host's own training input table (the table the train
runtime conf gave the host's first component), read once into memory when the model is
loaded. Lookups are then a dict access plus DataIO over the found rows.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from fate_flow.errors import HostInvalidRequest


class TableFeatureSource:
    """The rows of one table by id: the raw delimited values and the table's schema."""

    def __init__(self, table) -> None:
        from fate_flow.components.dataio.parsing import read_rows

        self.schema = dict(table.meta.schema or {})
        self.ids, self.values = read_rows(table)
        # later rows win, as a table's duplicate ids do
        self._position = {key: i for i, key in enumerate(self.ids.to_pylist())}

    @property
    def sid_name(self) -> str:
        return str(self.schema.get("sid") or self.schema.get("sid_name") or "id")

    def rows(self, keys: list[str]) -> tuple[pa.Array, pa.Array, list[int]]:
        """(ids, values) of the keys found, and the positions in ``keys`` of those not found."""
        found, missing = [], []
        for i, key in enumerate(keys):
            position = self._position.get(key)
            if position is None:
                missing.append(i)
            else:
                found.append(position)
        index = pa.array(found, type=pa.int64())
        return self.ids.take(index), self.values.take(index), missing

    def feature_id(self, remote: Any) -> str:
        """The id to look up in one ``sendToRemoteFeatureData`` object.

        ``id`` (or the table's id column name, or ``sid``) when present, else the only value.

        Raises:
            HostInvalidRequest if there is no usable id.
        """
        if not isinstance(remote, dict):
            raise HostInvalidRequest("sendToRemoteFeatureData must be an object")
        for key in ("id", self.sid_name, "sid"):
            if remote.get(key) not in (None, ""):
                return _as_key(remote[key])
        values = [v for v in remote.values() if v not in (None, "")]
        if len(values) == 1:
            return _as_key(values[0])
        raise HostInvalidRequest(f"sendToRemoteFeatureData needs the id to look up under 'id' or "
                                 f"{self.sid_name!r}, got keys {sorted(remote)}")


def _as_key(value: Any) -> str:
    if isinstance(value, (dict, list, bool)):
        raise HostInvalidRequest(f"the id in sendToRemoteFeatureData must be a string or a number, got {value!r}")
    return str(value)
