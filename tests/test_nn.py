"""HomoNN and HeteroNN over the in-memory federation, checked against the same networks trained
centrally with torch on the joined data; the Keras JSON translation; the missing-torch error.

Tolerances: HomoNN's weights after 15 full-batch SGD rounds are within 2e-3 of central SGD on
the union (FATE weighs the two clients' models by their batch counts, 1 each, where the union
weighs by rows: 227 vs 228, plus the masks' 2^-24 fixed point); HeteroNN's train AUC on breast
is within 0.01 of the central network's (the interactive layer's noise cancels exactly, the
difference is float32 against the Paillier fixed point). Keys are 256 bits: the test is about
the model, not the cipher.
"""
from __future__ import annotations

import copy
import json
import sys
import uuid

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional extra 'nn' (pip install -e '.[nn]')")

from sklearn.metrics import roc_auc_score  # noqa: E402

from fate_flow.components import ComponentContext, get_spec  # noqa: E402
from fate_flow.components.nn import layers  # noqa: E402
from fate_flow.components.nn.hetero import HeteroNNGuest, HeteroNNHost  # noqa: E402
from fate_flow.components.nn.homo import HomoNNArbiter, HomoNNGuest, HomoNNHost  # noqa: E402
from fate_flow.federation.memory import MemoryBoard  # noqa: E402
from tests.component_harness import (  # noqa: E402
    DATA, FakeTracker, RecordingFederation, quiet_logger, read_breast_hetero, read_csv, run_in_threads,
    store,
)

GUEST, HOST, ARBITER = 9999, 10000, 10001
EXAMPLES = DATA.parent / "federatedml-1.x-examples"


def run_parties(module: str, classes: dict, conf: dict, inputs: dict, roles: dict, timeout: float = 120.0):
    board, task_id = MemoryBoard(), f"task_{uuid.uuid4().hex[:8]}"
    runs = {}
    for role, parties in roles.items():
        for party in parties:
            federation = RecordingFederation(task_id, role, party, roles, {"board": board, "timeout": timeout})
            ctx = ComponentContext(job_id="job", task_id=task_id, component_name="nn_0", role=role, party_id=party,
                                   roles=roles, federation=federation, tracker=FakeTracker(),
                                   logger=quiet_logger(role))
            params = get_spec(module).default_params().update(copy.deepcopy(conf.get(role, conf.get("all", {}))))
            runs[role] = {"component": classes[role](params), "ctx": ctx, "inputs": inputs.get(role, {}),
                          "federation": federation}
    errors = run_in_threads(runs, timeout)
    if errors:  # the party that failed first, rather than the one left waiting for it
        raise next((e for e in errors if not isinstance(e, TimeoutError) and "waited" not in str(e)), errors[0])
    assert board.pending() == [], "a message was sent but never received"
    return runs


def scores(output) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predict_score) of prediction rows, in id order."""
    ids = [i for chunk in output.data.ids for i in chunk.to_pylist()]
    values = [v for chunk in output.data.values for v in chunk.to_pylist()]
    order = np.argsort(np.array(ids, dtype=object))
    fields = [values[i].split(",") for i in order]
    return np.array([float(f[0]) for f in fields]), np.array([float(f[2]) for f in fields])


# ---------------------------------------------------------------- the Keras JSON translation

def test_keras_sequential_json_becomes_torch_layers():
    conf = json.loads((EXAMPLES / "hetero_nn" / "test_hetero_nn_keras.json").read_text())
    define = conf["role_parameters"]["guest"]["hetero_nn_0"]["bottom_nn_define"][0]
    model, width = layers.build_model("keras", define, 10, 0, "bottom_nn_define")
    assert width == 3 and isinstance(model[0], torch.nn.Linear) and isinstance(model[1], torch.nn.ReLU)
    assert torch.equal(model[0].weight, torch.ones(3, 10)) and torch.equal(model[0].bias, torch.zeros(3))
    x = torch.randn(4, 10)
    assert torch.allclose(model(x), torch.relu(x.sum(dim=1, keepdim=True).repeat(1, 3)))
    glorot, _ = layers.build_model("nn", [{"layer": "Dense", "units": 50, "activation": "tanh"}], 30, 1, "nn_define")
    limit = np.sqrt(6 / (30 + 50))
    assert glorot[0].weight.abs().max() <= limit and glorot[0].weight.abs().max() > 0.8 * limit
    pytorch, width = layers.build_model("pytorch", [{"layer": "Linear", "name": "line1", "type": "normal",
                                                      "config": [30, 4]},
                                                     {"layer": "Relu", "type": "activate", "name": "relu"}], 30, 0, "p")
    assert width == 4 and isinstance(pytorch[1], torch.nn.ReLU) and pytorch(torch.randn(2, 30)).min() >= 0
    with pytest.raises(ValueError, match="LSTM is not supported"):
        layers.build_model("nn", [{"layer": "LSTM", "units": 2}], 3, 0, "nn_define")
    with pytest.raises(ValueError, match="loss 'hinge_squared' not supported"):
        layers.loss_function("hinge_squared")
    sgd = layers.optimizer("SGD", {"learning_rate": 0.15}, model.parameters())
    adam = layers.optimizer("Adam", {}, model.parameters())
    assert sgd.defaults["lr"] == 0.15 and adam.defaults["lr"] == 0.001 and adam.defaults["eps"] == 1e-7


def test_bad_params_name_the_field():
    params = get_spec("HomoNN").default_params().update({"early_stop": {"early_stop": "nope"}})
    with pytest.raises(ValueError, match="early_stop 'nope'"):
        params.check()
    params = get_spec("HeteroNN").default_params().update({"batch_size": 5})
    with pytest.raises(ValueError, match="batch_size 5"):
        params.check()


def test_a_job_without_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    params = get_spec("HomoNN").default_params()
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    ctx = ComponentContext(job_id="j", task_id="t", component_name="homo_nn_0", role="guest", party_id=GUEST,
                           roles=roles, federation=None, tracker=FakeTracker())
    with pytest.raises(ImportError, match=r"HomoNN runs on PyTorch.*pip install -e '\.\[nn\]'"):
        HomoNNGuest(params).run(ctx, {"data": {"train_data": None}})


# ---------------------------------------------------------------- the interactive layer's Paillier products

@pytest.fixture(scope="module")
def keypair():
    from fate_flow.secureprotol import generate_keypair

    return generate_keypair(512)


def test_interactive_layer_products_match_numpy(keypair):
    """The guest's three products, packed and unpacked by the host, equal the plain matrix products
    (to their 32-bit encodings), with negative entries and a short last group."""
    from fate_flow.components.nn import crypto

    public_key, private_key = keypair
    rng = np.random.default_rng(3)
    alpha, acc = rng.normal(0, 5, (37, 3)), rng.uniform(-2, 2, (3, 2))
    weights, delta, noise = rng.normal(0, 1, (3, 2)), rng.normal(0, 0.2, (37, 2)), rng.uniform(-1024, 1024, (37, 2))
    by_columns, by_rows, enc_acc = crypto.encrypt_layer_inputs(public_key, alpha, acc)
    assert by_columns.per_ciphertext > 1 and by_rows.per_ciphertext == 3 and enc_acc.per_ciphertext == 1

    forward = crypto.forward(by_columns, weights, noise).to_wire()
    assert forward["per_ciphertext"] > 1 and 37 % forward["per_ciphertext"]  # packed, a partial group
    assert np.allclose(crypto.unpack_decrypt(private_key, forward, "f", (2, 37)).T, alpha @ weights + noise,
                       rtol=0, atol=1e-6)
    backward = crypto.backward(enc_acc, delta, delta @ weights.T).to_wire()
    assert backward["per_ciphertext"] > 1 and 37 % backward["per_ciphertext"]
    assert np.allclose(crypto.unpack_decrypt(private_key, backward, "b", (3, 37)).T, delta @ (weights + acc).T,
                       rtol=0, atol=1e-7)
    gradient = crypto.weight_gradient(by_rows, delta, noise[:3]).to_wire()
    assert np.allclose(crypto.unpack_decrypt(private_key, gradient, "g", (2, 3)).T, alpha.T @ delta + noise[:3],
                       rtol=0, atol=1e-6)
    # weights far below the host's room: encoded with fewer bits, still right to float32's precision
    tiny = crypto.forward(by_columns, weights * 1e-6, noise).to_wire()
    assert np.allclose(crypto.unpack_decrypt(private_key, tiny, "t", (2, 37)).T, alpha @ weights * 1e-6 + noise,
                       rtol=0, atol=1e-9)
    predict_only = crypto.encrypt_layer_inputs(public_key, alpha)
    assert predict_only[1] is None and predict_only[2] is None

    with pytest.raises(ValueError, match="f has 2 lines, expected 36"):
        crypto.unpack_decrypt(private_key, forward, "f", (36, 2))
    with pytest.raises(ValueError, match="do not fit this key"):
        crypto.unpack_decrypt(private_key, dict(forward, slot_bits=4000), "f", (2, 37))
    with pytest.raises(ValueError, match="f holds [0-9]+ ciphertexts, expected 74"):
        crypto.unpack_decrypt(private_key, dict(forward, per_ciphertext=1), "f", (2, 37))


# ---------------------------------------------------------------- HomoNN

HOMO_CONF = {"config_type": "nn", "nn_define": [{"layer": "Dense", "units": 6, "activation": "relu"},
                                                {"layer": "Dense", "units": 1, "activation": "sigmoid"}],
             "batch_size": -1, "optimizer": {"optimizer": "SGD", "learning_rate": 0.5},
             "loss": "binary_crossentropy", "max_iter": 15, "early_stop": {"early_stop": "abs", "eps": 0.0}}


def test_homo_nn_matches_central_training_on_the_union():
    guest, host = read_csv(DATA / "breast_homo_guest.csv"), read_csv(DATA / "breast_homo_host.csv")
    roles = {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]}
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(host, "h")}},
              "arbiter": {"data": {"train_data": None}}}
    runs = run_parties("HomoNN", {"guest": HomoNNGuest, "host": HomoNNHost, "arbiter": HomoNNArbiter},
                       {"all": HOMO_CONF}, inputs, roles)

    central, _ = layers.build_model("nn", HOMO_CONF["nn_define"], guest.n_features, 0, "nn_define")
    x = torch.as_tensor(np.vstack([guest.features, host.features]), dtype=torch.float32)
    y = torch.as_tensor(np.concatenate([guest.labels, host.labels]).reshape(-1, 1), dtype=torch.float32)
    optim = torch.optim.SGD(central.parameters(), lr=0.5)
    loss_fn = layers.loss_function("binary_crossentropy")
    for _ in range(HOMO_CONF["max_iter"]):
        optim.zero_grad()
        loss_fn(central(x), y).backward()
        optim.step()
    model = runs["guest"]["component"].model_
    for (name, mine), theirs in zip(model.state_dict().items(), central.state_dict().values()):
        assert np.abs(mine.numpy() - theirs.numpy()).max() < 2e-3, (name, np.abs(mine.numpy() - theirs.numpy()).max())
    host_model = runs["host"]["component"].model_
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), host_model.state_dict().values()))

    arbiter = runs["arbiter"]["ctx"].tracker
    losses = [v for ns, name, data in arbiter.metrics if (ns, name) == ("train", "loss") for _, v in data]
    assert len(losses) == HOMO_CONF["max_iter"] and losses[-1] < losses[0]
    assert arbiter.metas[0][2]["metric_type"] == "LOSS"
    # the arbiter saw only masked models: no clear weight vector crossed
    sent = [obj for name, _, _, _, obj in runs["guest"]["federation"].sent if name.endswith("client_model")]
    assert all(np.asarray(m).dtype == np.uint64 for m in sent)

    # a predict job from the exported model scores as the trained one
    labels, trained = scores(runs["guest"]["output"])
    assert roc_auc_score(labels, trained) > 0.95
    messages = runs["guest"]["output"].model
    assert set(messages) == {"HomoNNModelMeta", "HomoNNModelParam"}
    json.dumps(messages)  # the model is plain JSON, weights as base64 bytes
    predictor = HomoNNGuest(get_spec("HomoNN").default_params())
    ctx = runs["guest"]["ctx"]
    out = predictor.run(ctx, {"data": {"eval_data": store(guest, "g2")}, "model": {"homo_nn_0": messages}})
    assert np.allclose(scores(out)[1], trained, atol=1e-6)


# ---------------------------------------------------------------- HeteroNN

def _dense(units: int, activation: str, init=None) -> dict:
    config = {"units": units, "activation": activation, "use_bias": True}
    if init:
        config["kernel_initializer"] = init
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense",
                                                                           "config": config}]}}


def test_hetero_nn_reaches_the_central_networks_auc_on_breast():
    guest, host = read_breast_hetero()
    common = {"bottom_nn_define": _dense(3, "relu"), "interactive_layer_lr": 0.3,
              "optimizer": {"optimizer": "SGD", "learning_rate": 0.3}, "loss": "binary_crossentropy", "epochs": 8,
              "batch_size": -1, "encrypt_param": {"key_length": 256}}
    conf = {"guest": {**common, "interactive_layer_define": _dense(2, "relu"),
                      "top_nn_define": _dense(1, "sigmoid")}, "host": common}
    roles = {"guest": [GUEST], "host": [HOST]}
    inputs = {"guest": {"data": {"train_data": store(guest, "g")}}, "host": {"data": {"train_data": store(host, "h")}}}
    runs = run_parties("HeteroNN", {"guest": HeteroNNGuest, "host": HeteroNNHost}, conf, inputs, roles)
    labels, federated = scores(runs["guest"]["output"])
    auc = roc_auc_score(labels, federated)

    # the same network trained centrally on the joined rows
    g = runs["guest"]["component"]
    bottom_g, _ = layers.build_model("keras", common["bottom_nn_define"], 10, 0, "b")
    bottom_h, _ = layers.build_model("keras", common["bottom_nn_define"], 20, 0, "b")
    top, _ = layers.build_model("keras", conf["guest"]["top_nn_define"], 2, 0, "t")
    generator = torch.Generator().manual_seed(1)
    w_g = torch.tensor(layers.initial_values("glorot_uniform", (3, 2), generator, "i"), dtype=torch.float32,
                       requires_grad=True)
    generator = torch.Generator().manual_seed(1)
    w_h = torch.tensor(layers.initial_values("glorot_uniform", (3, 2), generator, "i"), dtype=torch.float32,
                       requires_grad=True)
    bias = torch.zeros(2, requires_grad=True)
    order_g, order_h = np.argsort(guest.ids.to_pylist()), np.argsort(host.ids.to_pylist())
    xg = torch.as_tensor(guest.features[order_g], dtype=torch.float32)
    xh = torch.as_tensor(host.features[order_h], dtype=torch.float32)
    y = torch.as_tensor(guest.labels[order_g].reshape(-1, 1), dtype=torch.float32)
    params = [*bottom_g.parameters(), *bottom_h.parameters(), *top.parameters(), w_g, w_h, bias]
    optim = torch.optim.SGD(params, lr=0.3)
    for _ in range(common["epochs"]):
        optim.zero_grad()
        out = top(torch.relu(bottom_g(xg) @ w_g + bottom_h(xh) @ w_h + bias))
        layers.loss_function("binary_crossentropy")(out, y).backward()
        optim.step()
    with torch.no_grad():
        central = top(torch.relu(bottom_g(xg) @ w_g + bottom_h(xh) @ w_h + bias)).numpy()[:, 0]
    central_auc = roc_auc_score(y.numpy()[:, 0], central)
    assert auc >= central_auc - 0.01 and auc > 0.9, (auc, central_auc)
    # the host block the guest holds is off by the host's noise A; with it, it is the central one
    acc = runs["host"]["component"].acc_noise_
    assert np.abs(acc).max() > 0.1
    assert np.allclose(g.w_h_ + acc, w_h.detach().numpy(), atol=1e-3)

    tracker = runs["guest"]["ctx"].tracker
    losses = [v for ns, name, data in tracker.metrics if (ns, name) == ("train", "loss") for _, v in data]
    assert len(losses) == common["epochs"] and losses[-1] < losses[0]

    # predict from the exported models: the same scores
    models = {role: runs[role]["output"].model for role in ("guest", "host")}
    assert set(models["guest"]) == {"HeteroNNGuestMeta", "HeteroNNGuestParam"}
    assert set(models["host"]) == {"HeteroNNHostMeta", "HeteroNNHostParam"}
    inputs = {"guest": {"data": {"eval_data": store(guest, "g3")}, "model": {"hetero_nn_0": models["guest"]}},
              "host": {"data": {"eval_data": store(host, "h3")}, "model": {"hetero_nn_0": models["host"]}}}
    again = run_parties("HeteroNN", {"guest": HeteroNNGuest, "host": HeteroNNHost}, {"all": {}}, inputs, roles)
    assert np.allclose(scores(again["guest"]["output"])[1], federated, atol=1e-5)
    assert again["host"]["output"].data is None
