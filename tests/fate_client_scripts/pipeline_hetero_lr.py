"""A pipeline SDK script in FATE's example style: upload, Reader -> DataIO -> Intersection -> HeteroLR ->
Evaluation, fit, read results, deploy, predict. Prints one JSON line of what it saw.

Usage: python pipeline_hetero_lr.py <data dir> <config.yaml> <namespace>
"""
import json
import sys

from pipeline.backend.pipeline import PipeLine
from pipeline.component import DataIO, Evaluation, HeteroLR, Intersection, Reader
from pipeline.interface import Data, Model  # noqa: F401  (FATE's examples import both)

try:
    from pipeline.utils.tools import load_job_config
except ImportError:  # 1.5's SDK reads the yaml itself
    load_job_config = None

data_dir, config_path, namespace = sys.argv[1:4]
if load_job_config is not None:
    config = load_job_config(config_path)
    parties = config.parties
    guest, host, arbiter = parties.guest[0], parties.host[0], parties.arbiter[0]
else:
    guest, host, arbiter = 10000, 9999, 9999

guest_table = {"name": "breast_hetero_guest", "namespace": namespace}
host_table = {"name": "breast_hetero_host", "namespace": namespace}

uploader = PipeLine()
uploader.add_upload_data(file=f"{data_dir}/breast_hetero_mini_guest.csv", table_name=guest_table["name"],
                         namespace=namespace, head=1, partition=2)
uploader.add_upload_data(file=f"{data_dir}/breast_hetero_mini_host.csv", table_name=host_table["name"],
                         namespace=namespace, head=1, partition=2)
uploader.upload(drop=1)

pipeline = PipeLine().set_initiator(role="guest", party_id=guest).set_roles(guest=guest, host=host, arbiter=arbiter)
reader_0 = Reader(name="reader_0")
reader_0.get_party_instance(role="guest", party_id=guest).component_param(table=guest_table)
reader_0.get_party_instance(role="host", party_id=host).component_param(table=host_table)
dataio_0 = DataIO(name="dataio_0")
dataio_0.get_party_instance(role="guest", party_id=guest).component_param(with_label=True, output_format="dense")
dataio_0.get_party_instance(role="host", party_id=host).component_param(with_label=False)
intersection_0 = Intersection(name="intersection_0")
hetero_lr_0 = HeteroLR(name="hetero_lr_0", penalty="L2", optimizer="rmsprop", tol=0.0001, alpha=0.01, max_iter=3,
                       early_stop="diff", batch_size=-1, learning_rate=0.15, init_param={"init_method": "zeros"})
evaluation_0 = Evaluation(name="evaluation_0", eval_type="binary")
pipeline.add_component(reader_0)
pipeline.add_component(dataio_0, data=Data(data=reader_0.output.data))
pipeline.add_component(intersection_0, data=Data(data=dataio_0.output.data))
pipeline.add_component(hetero_lr_0, data=Data(train_data=intersection_0.output.data))
pipeline.add_component(evaluation_0, data=Data(data=hetero_lr_0.output.data))
pipeline.compile()
pipeline.fit()

seen = {"train_job_id": pipeline.get_train_job_id()}
seen["summary"] = pipeline.get_component("evaluation_0").get_summary()
output = pipeline.get_component("hetero_lr_0").get_output_data(limits=10)
# 1.5/1.6: {"data": [lines], "meta": header}; 1.7+: a pandas frame for a single output
seen["output_rows"] = len(output["data"]) if isinstance(output, dict) else len(output) + 1
seen["model_param"] = pipeline.get_component("hetero_lr_0").get_model_param()

pipeline.deploy_component([dataio_0, intersection_0, hetero_lr_0])
predict_pipeline = PipeLine()
predict_pipeline.add_component(reader_0)
predict_pipeline.add_component(pipeline, data=Data(predict_input={pipeline.dataio_0.input.data: reader_0.output.data}))
predict_pipeline.add_component(evaluation_0, data=Data(data=pipeline.hetero_lr_0.output.data))
predict_pipeline.predict()
seen["predict_job_id"] = predict_pipeline.get_predict_job_id() if hasattr(predict_pipeline, "get_predict_job_id") \
    else None
print("RESULT " + json.dumps(seen, default=str))
