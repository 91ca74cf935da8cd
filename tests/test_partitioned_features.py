"""DataIO, OneHotEncoder, FeatureScale, HeteroFeatureBinning and HeteroFeatureSelection on partitioned
tables: the same models and the same rows (compared by id) for a table stored in 1 partition, in
8 partitions, and in 8 partitions computed by the worker pool (kernels pickled to other processes).

Each layout runs the whole chain as the task executor would: every output Table is saved into
the party's local storage (keeping its partitioning) and read by the next component.
"""
from __future__ import annotations

import json
import logging
import uuid

import numpy as np
import pytest

from fate_flow.components import ComponentContext, get_spec
from fate_flow.components.dataio import DataIO
from fate_flow.components.feature.one_hot import OneHotEncoder
from fate_flow.components.feature.scale import FeatureScale
from fate_flow.components.hetero_binning.guest import HeteroFeatureBinningGuest
from fate_flow.components.hetero_binning.host import HeteroFeatureBinningHost
from fate_flow.components.hetero_selection.guest import HeteroFeatureSelectionGuest
from fate_flow.components.hetero_selection.host import HeteroFeatureSelectionHost
from fate_flow.computing import ComputingConf, create_session
from fate_flow.federation.base import FederationTimeout
from fate_flow.federation.memory import MemoryBoard
from fate_flow.storage import TableMeta, iter_line_batches, open_storage
from tests.component_harness import DATA, RecordingFederation, rows_by_id, run_in_threads

GUEST, HOST = 9999, 10000
ROLES = {"guest": [GUEST], "host": [HOST]}
LAYOUTS = [(1, False), (8, False), (8, True)]  # (partitions, computed by the pool)
TIMEOUT = 10.0


def guest_csv(tmp_path):
    """breast_hetero_guest.csv with missing cells, outliers and a categorical column added."""
    lines = (DATA / "breast_hetero_guest.csv").read_text().splitlines()
    out = [lines[0] + ",cat"]
    for i, line in enumerate(lines[1:]):
        cells = line.split(",")
        if i % 13 == 5:
            cells[2 + i % 10] = "NA"
        if i % 17 == 3:
            cells[2 + (i * 7) % 10] = "-999"
        out.append(",".join(cells + [str(i % 4)]))
    path = tmp_path / "guest.csv"
    path.write_text("\n".join(out) + "\n")
    return path


def upload(storage, path, name: str, partitions: int, head: bool = True):
    writer = storage.writer("ns", name, partitions)
    with iter_line_batches(path, head=head) as lines:
        for ids, values in lines:
            writer.write_batch(ids, values)
        schema = lines.header if head else {}
    storage.commit(writer, TableMeta(namespace="ns", name=name, partitions=partitions, schema=schema), "create")
    return storage.open("ns", name)


class Party:
    """One party's storage and computing session, and what its components made."""

    def __init__(self, tmp_path, role: str, partitions: int, pool: bool) -> None:
        self.role, self.party = role, GUEST if role == "guest" else HOST
        self.storage = open_storage("local", tmp_path / f"{role}-tables")
        self.session = create_session(ComputingConf(partitions=partitions, cores=2 if pool else 1),
                                      str(tmp_path / f"{role}-scratch"))
        self.models, self.rows = {}, {}

    def ctx(self, name: str, federation=None) -> ComponentContext:
        return ComponentContext(job_id="job", task_id=getattr(federation, "session_id", "task"), component_name=name,
                                role=self.role, party_id=self.party, roles=ROLES, federation=federation,
                                tracker=None, logger=logging.getLogger(f"test.{self.role}"),
                                computing_opener=lambda: self.session)

    def keep(self, name: str, output):
        """Save the output as the task executor does; note its model and rows; return the stored table."""
        self.models[name] = output.model
        output.data.save(self.storage, "ns", name)
        self.rows[name] = rows_by_id(output.data)
        table = self.storage.open("ns", name)
        assert table.partition_count == output.data.partitions == self.session.partitions, "partitioning kept"
        return table


def params(module: str, **conf):
    param = get_spec(module).default_params().update(conf)
    param.check()
    return param


def run_local(party: Party, name: str, component, inputs: dict):
    return party.keep(name, component.run(party.ctx(name), inputs))


def run_federated(parties: dict, name: str, components: dict, inputs: dict, key_bits: int = 512) -> dict:
    """Run the guest's and the host's component in threads over one memory federation; keep their outputs."""
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, party in parties.items():
        federation = RecordingFederation(task_id, role, party.party, ROLES, {"board": board, "timeout": TIMEOUT})
        components[role].key_length = key_bits
        runs[role] = {"component": components[role], "ctx": party.ctx(name, federation), "inputs": inputs[role]}
    errors = run_in_threads(runs, TIMEOUT)
    if errors:  # the cause, rather than the other party's wait for a message never sent
        raise next((e for e in errors if not isinstance(e, FederationTimeout)), errors[0])
    return {role: parties[role].keep(name, runs[role]["output"]) for role in parties}


def run_chain(tmp_path, partitions: int, pool: bool) -> dict:
    """Every component of the chain on tables of ``partitions`` partitions; (models, rows) by party."""
    guest, host = Party(tmp_path, "guest", partitions, pool), Party(tmp_path, "host", partitions, pool)
    try:
        raw = upload(guest.storage, guest_csv(tmp_path), "raw", partitions)
        io_conf = {"with_label": True, "missing_fill": True, "missing_fill_method": "mean", "outlier_replace": True,
                   "outlier_impute": [-999], "outlier_replace_method": "max"}
        g_io = run_local(guest, "dataio", DataIO(params("DataIO", **io_conf)), {"data": {"data": raw}})
        again = DataIO(params("DataIO")).run(guest.ctx("dataio_1"), {"data": {"data": raw},
                                                                     "model": {"dataio": guest.models["dataio"]}})
        assert rows_by_id(again.data) == guest.rows["dataio"], "a transform with the model gives the fit's rows"
        h_raw = upload(host.storage, DATA / "breast_hetero_host.csv", "raw", partitions)
        h_io = run_local(host, "dataio", DataIO(params("DataIO", with_label=False, missing_fill=True,
                                                       missing_fill_method="min")), {"data": {"data": h_raw}})
        one_hot = run_local(guest, "one_hot", OneHotEncoder(params("OneHotEncoder", transform_col_indexes=[],
                                                                   transform_col_names=["cat"])),
                            {"data": {"data": g_io}})
        scaled = run_local(guest, "scale", FeatureScale(params("FeatureScale", method="standard_scale")),
                           {"data": {"data": one_hot}})
        run_local(guest, "scale_cap", FeatureScale(params("FeatureScale", mode="cap", feat_lower=0.1, feat_upper=0.9)),
                  {"data": {"data": scaled}})
        run_local(host, "scale", FeatureScale(params("FeatureScale")), {"data": {"data": h_io}})
        bin_conf = {"bin_num": 6, "transform_param": {"transform_type": "woe"}}
        binned = run_federated({"guest": guest, "host": host}, "binning", {
            "guest": HeteroFeatureBinningGuest(params("HeteroFeatureBinning", category_names=["cat_1"], **bin_conf)),
            "host": HeteroFeatureBinningHost(params("HeteroFeatureBinning", **bin_conf))},
            {"guest": {"data": {"data": scaled}}, "host": {"data": {"data": h_io}}})
        run_local(host, "bucket", HeteroFeatureBinningHost(params("HeteroFeatureBinning", method="bucket",
                                                                  local_only=True)), {"data": {"data": h_io}})
        selection = {"filter_methods": ["unique_value", "coefficient_of_variation_value_thres", "outlier_cols",
                                        "percentage_value", "iv_value_thres"],
                     "unique_param": {"eps": 0.5}, "variance_coe_param": {"value_threshold": 0.2},
                     "outlier_param": {"percentile": 0.9, "upper_threshold": 40},
                     "percentage_value_param": {"upper_pct": 0.3}, "iv_value_param": {"value_threshold": 0.1}}
        run_federated({"guest": guest, "host": host}, "selection", {
            "guest": HeteroFeatureSelectionGuest(params("HeteroFeatureSelection", **selection)),
            "host": HeteroFeatureSelectionHost(params("HeteroFeatureSelection", **selection))},
            {role: {"data": {"data": table if role == "host" else scaled},
                    "isometric_model": {"binning": parties_model}}
             for role, table, parties_model in (("guest", binned["guest"], guest.models["binning"]),
                                                ("host", h_io, host.models["binning"]))})
        if pool:
            assert guest.session.engine.worker_pids() and host.session.engine.worker_pids(), "the pool ran"
        return {"guest": (guest.models, guest.rows), "host": (host.models, host.rows)}
    finally:
        guest.session.close()
        host.session.close()


def sparse_and_tag(tmp_path, partitions: int, pool: bool) -> tuple:
    """DataIO's sparse and tag readers, fit then transform, on tables of ``partitions`` partitions."""
    party = Party(tmp_path, "guest", partitions, pool)
    try:
        rng = np.random.default_rng(5)
        svm = [f"s{i},{i % 2} " + " ".join(f"{j}:{rng.integers(-3, 9)}" for j in sorted(rng.choice(40, 5, False)))
               for i in range(300)]
        tags = [f"t{i}," + ";".join(f"tag{j}:{rng.integers(1, 5)}" for j in sorted(rng.choice(30, 4, False)))
                for i in range(300)]
        (tmp_path / "svm.csv").write_text("\n".join(svm) + "\n")
        (tmp_path / "tags.csv").write_text("\n".join(tags) + "\n")
        sparse = upload(party.storage, tmp_path / "svm.csv", "svm", partitions, head=False)
        tagged = upload(party.storage, tmp_path / "tags.csv", "tags", partitions, head=False)
        run_local(party, "sparse", DataIO(params("DataIO", input_format="sparse", delimitor=" ")),
                  {"data": {"data": sparse}})
        run_local(party, "tag", DataIO(params("DataIO", input_format="tag", delimitor=";", tag_with_value=True,
                                              with_label=False)), {"data": {"data": tagged}})
        run_local(party, "tag_1", DataIO(params("DataIO")), {"data": {"data": tagged},
                                                             "model": {"tag": party.models["tag"]}})
        assert party.rows["tag_1"] == party.rows["tag"]
        return party.models, party.rows
    finally:
        party.session.close()


def as_json(models: dict) -> str:
    return json.dumps(models, sort_keys=True)


@pytest.fixture(scope="module")
def chains(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    results = {}
    try:
        for partitions, pool in LAYOUTS:
            # small tables run in the task process: the pool layout sends every partition to a worker
            monkeypatch.setattr("fate_flow.computing.table.INLINE_ROWS", 0 if pool else 50_000)
            tmp = tmp_path_factory.mktemp(f"p{partitions}{'pool' if pool else ''}")
            results[(partitions, pool)] = (run_chain(tmp, partitions, pool), sparse_and_tag(tmp, partitions, pool))
    finally:
        monkeypatch.undo()
    return results


@pytest.mark.parametrize("layout", LAYOUTS[1:], ids=["8-partitions", "8-partitions-pool"])
def test_models_and_rows_do_not_depend_on_the_partitioning(chains, layout):
    reference, other = chains[LAYOUTS[0]], chains[layout]
    for role in ("guest", "host"):
        models, rows = reference[0][role]
        assert as_json(other[0][role][0]) == as_json(models), f"{role} models differ"
        assert other[0][role][1] == rows, f"{role} rows differ"
    assert as_json(other[1][0]) == as_json(reference[1][0]) and other[1][1] == reference[1][1]


def test_the_chain_did_something(chains):
    """Guards the comparison: fill values, outliers, one-hot columns, bins and a selection were made."""
    guest_models, guest_rows = chains[LAYOUTS[0]][0]["guest"]
    io = guest_models["dataio"]["DataIOParam"]
    assert 0 < io["imputer_param"]["missing_value_ratio"]["x5"] < 0.2
    assert any(v > 0 for v in io["outlier_param"]["outlier_value_ratio"].values())
    assert guest_models["one_hot"]["OneHotParam"]["result_header"][-4:] == ["cat_0", "cat_1", "cat_2", "cat_3"]
    assert len(guest_rows["dataio"]) == 569 and len(guest_rows["binning"]) == 569
    left = guest_models["selection"]["FeatureSelectionParam"]["final_left_cols"]["left_cols"]
    assert 0 < sum(left.values()) < len(left)
    host_models, _ = chains[LAYOUTS[0]][0]["host"]
    host_ivs = guest_models["binning"]["FeatureBinningParam"]["host_results"][0]["binning_result"]
    assert len(host_ivs) == 20 and all(sum(c["event_count_array"]) == 357 for c in host_ivs.values())
    sparse_models, _ = chains[LAYOUTS[0]][1]
    assert sparse_models["sparse"]["DataIOParam"]["header"] == [str(i) for i in range(40)]
    assert sparse_models["tag"]["DataIOParam"]["header"][:2] == ["tag0", "tag1"]
