"""ModelCenter in process: meta rows follow the model cache; export/import/transfer through the routes."""
from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile

import pytest

from fate_flow.utils.model_layout import save_component_model

MODEL_ID = "arbiter-10000#guest-9999#host-10000#model"


@pytest.fixture
def center(app):
    with app.app_context():
        yield app.extensions["fate_flow"].model_center


def make_model(settings, role: str, party_id: int, version: str):
    root = settings.model_dir / f"{role}#{party_id}#{MODEL_ID}" / version
    save_component_model(root, "hetero_lr_0", "HeteroLR", "hetero_lr", {"HeteroLogisticRegressionParam": {"w": 1}})
    conf = {"role": {"guest": [9999], "host": [10000], "arbiter": [10000]}}
    (root / "pipeline.json").write_text(json.dumps({"model_id": MODEL_ID, "model_version": version,
                                                    "train_runtime_conf": conf}))
    return root


def test_record_and_sync_follow_the_cache(center, settings):
    from fate_flow.stores.model_catalogue import ModelRef

    catalogue = center.catalogue
    root = make_model(settings, "guest", 9999, "v1")
    catalogue.record_quietly("guest", 9999, MODEL_ID, "v1")
    catalogue.record_quietly("local", 0, "local-0#model", "v0")  # local jobs have no models
    [row] = catalogue.models()
    assert (row["f_role"], row["f_party_id"], row["f_model_id"], row["f_model_version"]) == ("guest", "9999",
                                                                                          MODEL_ID, "v1")
    assert json.loads(row["f_roles"])["host"] == [10000] and row["f_size"] == sum(
        p.stat().st_size for p in root.rglob("*") if p.is_file())
    make_model(settings, "host", 10000, "v1")  # appeared without a row, as a restore does
    assert [r["f_role"] for r in catalogue.models()] == ["guest", "host"]
    assert [r["f_role"] for r in catalogue.models(role="host")] == ["host"]
    shutil.rmtree(root)
    assert [r["f_role"] for r in catalogue.models()] == ["host"]
    assert catalogue.lookup(ModelRef("guest", "9999", MODEL_ID, "v1")) is None


def test_export_import_and_transfer_routes(client, settings):
    root = make_model(settings, "guest", 9999, "v1")
    query = {"role": "guest", "party_id": 9999, "model_id": MODEL_ID, "model_version": "v1"}
    response = client.get("/v1/model/export", json=query)
    name = f"guest#9999#{MODEL_ID}_v1.zip"
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    archive = response.get_data()
    assert (settings.work_dir / "temp" / name).read_bytes() == archive
    assert sorted(zipfile.ZipFile(io.BytesIO(archive)).namelist()) == [
        "define/define_meta.yaml", "pipeline.json",
        "variables/data/hetero_lr_0/hetero_lr/HeteroLogisticRegressionParam"]
    form = dict(query, model_version="v2", file=(io.BytesIO(archive), name))
    assert client.post("/v1/model/import", data=form, content_type="multipart/form-data").json == {
        "retcode": 0, "retmsg": "success"}
    copy = settings.model_dir / f"guest#9999#{MODEL_ID}" / "v2"
    assert (copy / "pipeline.json").read_bytes() == (root / "pipeline.json").read_bytes()
    assert [p.name for p in (settings.work_dir / "temp").iterdir()] == [name], "the upload is removed"
    answer = client.post("/v1/model/transfer", json={"namespace": f"guest#9999#{MODEL_ID}", "name": "v2"}).json
    assert base64.b64decode(answer["data"]["hetero_lr_0.hetero_lr:HeteroLogisticRegressionParam"]) == b'{"w": 1}'
    assert set(answer["data"]) == {"hetero_lr_0.hetero_lr:HeteroLogisticRegressionParam", "pipeline.pipeline:Pipeline"}
    missing = client.post("/v1/model/transfer", json={"namespace": f"guest#9999#{MODEL_ID}", "name": "v3"}).json
    assert missing["retcode"] == 100 and "model local cache" in missing["retmsg"]


def test_store_checks_before_any_job(client, settings):
    query = {"role": "guest", "party_id": 9999, "model_id": MODEL_ID, "model_version": "v9"}
    answer = client.post("/v1/model/store", json=query).json
    assert answer == {"retcode": 100, "retmsg": f"Can not found guest#9999#{MODEL_ID} v9 model local cache"}
    make_model(settings, "guest", 9999, "v9")
    answer = client.post("/v1/model/restore", json=query).json
    assert answer == {"retcode": 100, "retmsg": f"Model guest#9999#{MODEL_ID} v9 local cache already existed"}
    answer = client.post("/v1/model/store", json=dict(query, force_update="maybe")).json
    assert answer["retcode"] == 101 and "force_update" in answer["retmsg"]
    assert not settings.jobs_dir.exists() or list(settings.jobs_dir.iterdir()) == []


def test_an_oversized_import_is_refused_before_its_body_is_read(app, settings):
    """Content-Length alone refuses it: nothing of the upload is streamed to disk."""
    from dataclasses import replace

    from fate_flow.services.model_center import ARCHIVE_OVERHEAD, ModelCenter

    small = replace(settings, model_store=replace(settings.model_store, import_max_bytes=1000))
    services = app.extensions["fate_flow"]
    services.model_center = ModelCenter(small, services.models)

    class Body(io.BytesIO):
        """The request body; notes any read (its length is the request's Content-Length)."""

        was_read = False

        def read(self, *args):
            Body.was_read = True
            return super().read(*args)

        read1 = readline = read

        def readinto(self, buffer):
            Body.was_read = True
            return super().readinto(buffer)

    size = 1000 + ARCHIVE_OVERHEAD + 1
    answer = app.test_client().post("/v1/model/import", input_stream=Body(b"\0" * size),
                                    content_type="multipart/form-data; boundary=x").json
    assert answer == {"retcode": 100, "retmsg": f"model archive refused: {size} bytes is more than "
                                                 f"model_store.import_max_bytes (1000)"}
    assert not Body.was_read
    assert not (settings.work_dir / "temp").exists() or list((settings.work_dir / "temp").iterdir()) == []
