"""Output data of components: the table a task produced, shown and downloaded as FATE 1.4 does."""
from __future__ import annotations

import json
import re
import tarfile
import tempfile
from pathlib import Path

from fate_flow.db import DataView
from fate_flow.errors import FlowError
from fate_flow.stores.table_catalogue import TableCatalogue

PREVIEW_ROWS = 100


class NoOutputData(FlowError):
    """The component has no output table (FATE answers "no data")."""

    retmsg = "no data"


class OutputData:
    """Reads the output tables recorded in the data views of this party."""

    def __init__(self, tables: TableCatalogue) -> None:
        self.tables = tables

    def table_of(self, job_id: str, component: str, role: str, party_id: str) -> tuple[str, str]:
        """(namespace, name) of the component's output table; NoOutputData if it has none."""
        view = DataView.get_or_none(DataView.f_job_id == job_id, DataView.f_component_name == component,
                                    DataView.f_role == role, DataView.f_party_id == str(party_id))
        if view is None or not view.f_table_name:
            raise NoOutputData()
        return view.f_table_namespace, view.f_table_name

    def preview(self, job_id: str, component: str, role: str, party_id: str) -> tuple[list[list], dict]:
        """The first 100 rows as ``[id, field, ...]`` and the meta ``{"header": [...], "total": n}``."""
        namespace, name = self.table_of(job_id, component, role, party_id)
        rows = []
        with self._open(namespace, name) as table:
            for batch in table.iter_batches(PREVIEW_ROWS):
                delimiter = table.meta.delimiter or ","
                for key, value in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
                    rows.append([key, *value.split(delimiter)] if value else [key])
                break
            return rows, {"header": _header(table.meta), "total": table.count()}

    def archive(self, job_id: str, component: str, role: str, party_id: str, limit: int, head: bool,
                tmp_dir: Path, by_alias: bool = False) -> Path:
        """A tar.gz with output_data.csv and output_data_meta.json, as FATE 1.4's download route builds it.

        ``by_alias`` gives FATE 1.5+'s names instead, which the pipeline SDK reads: ``<alias>.csv``
        and ``<alias>.meta`` (``data.csv``, ``data.meta`` for the usual output).
        """
        from fate_flow.storage import write_delimited

        namespace, name = self.table_of(job_id, component, role, party_id)
        prefix = f"{role}_{party_id}_"
        alias = name[len(prefix):] if by_alias and name.startswith(prefix) else ""
        csv_name, meta_name = (f"{alias}.csv", f"{alias}.meta") if alias else ("output_data.csv", "output_data_meta.json")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=tmp_dir))
        with self._open(namespace, name) as table:
            header = _header(table.meta)
            rows = write_delimited(table, work / csv_name, ",", header=",".join(header) if head else None,
                                   limit=limit)
        if not rows:
            raise NoOutputData()
        if alias and "predict_detail" in header:
            _quote_predict_details(work / csv_name)
        (work / meta_name).write_text(json.dumps({"header": header}, indent=4), encoding="utf-8")
        archive = work / "output_data.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for member in (csv_name, meta_name):
                tar.add(work / member, arcname=member)
        return archive

    def _open(self, namespace: str, name: str):
        from fate_flow.storage import TableNotFoundError

        try:
            return self.tables.storage.open(namespace, name)
        except TableNotFoundError:
            raise NoOutputData() from None


def _header(meta) -> list[str]:
    schema = meta.schema or {}
    fields = [f for f in str(schema.get("header") or "").split(",") if f]
    label = [schema["label_name"]] if schema.get("label_name") else []  # FATE: the label follows the sid
    return [schema.get("sid") or schema.get("sid_name") or "sid", *label, *fields]


_DETAIL = re.compile(r"\{[^{}]*\}")


def _quote_predict_details(path: Path) -> None:
    """Write predict details as FATE 1.5+'s CSV does: ``"{'0': 0.7, '1': 0.3}"``, which the 1.7+ SDK parses.

    The stored form (FATE 1.4's) separates the classes with ``;`` so the value has no comma.
    """
    def quoted(match: re.Match) -> str:
        try:
            detail = json.loads(match.group(0).replace(";", ","))
        except ValueError:
            return match.group(0)
        return '"{' + ", ".join(f"'{key}': {value}" for key, value in detail.items()) + '}"'

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(_DETAIL.sub(quoted, line) for line in lines), encoding="utf-8")
