"""HeteroSVD, HeteroSVDpp and HeteroGMF on HeteroMF's synthetic ratings (whose protocol test_hetero_mf checks against a
central computation): the shared user side is the same on both parties, mu is FATE's global mean, the
loss falls, and predictions follow the model's formula from its saved weights."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fate_flow.components import get_spec

from tests.component_harness import rows_by_id
from tests.rec_harness import (  # noqa: F401 (an autouse fixture)
    _close_computing_sessions, logged_losses, rec_ratings, rmse, run_parties,
)
from tests.test_hetero_mf import ratings

CONF = {"max_iter": 6, "aggregate_every_n_epoch": 1, "batch_size": 100,
        "optimizer": {"optimizer": "Adam", "learning_rate": 0.05},
        "init_param": {"embed_dim": 3, "init_method": "random_normal", "random_seed": 4}}


def train(module: str, implicit: bool = False) -> tuple[dict, dict]:
    data = {"guest": ratings(1, range(0, 30), 20, 300, 0), "host": ratings(2, range(10, 40), 15, 250, 1000)}
    if implicit:  # GMF's data: every row a positive interaction
        data = {role: rows.with_features(np.column_stack([rows.features[:, :2], np.ones(len(rows))]))
                for role, rows in data.items()}
    return data, run_parties(module, CONF, data)


def saved(model: dict) -> dict:
    with np.load(io.BytesIO(base64.b64decode(model["MatrixModelParam"]["saved_model_bytes"])),
                 allow_pickle=False) as weights:
        return {name: weights[name] for name in weights.files}


@pytest.mark.parametrize("module", ["HeteroSVD", "HeteroSVDpp"])
def test_svd_variants_train_with_a_shared_user_side(module):
    data, runs = train(module)
    weights = {role: saved(runs[role]["output"].model) for role in ("guest", "host")}
    for name in ("user_embedding", "user_bias"):
        np.testing.assert_allclose(weights["guest"][name], weights["host"][name], atol=1e-6)
    counts = {role: len(rows) for role, rows in data.items()}
    means = {role: float(np.mean(rows.features[:, 2])) for role, rows in data.items()}
    mu = (means["guest"] + means["host"]) / (counts["guest"] + counts["host"])  # FATE's quirk
    assert float(weights["guest"]["global_mean"]) == pytest.approx(mu, abs=1e-12)
    logged = logged_losses(runs["arbiter"])
    assert len(logged) == 6 and logged[-1] < logged[0]

    guest, w = data["guest"], weights["guest"]
    users = np.union1d(data["guest"].features[:, 0], data["host"].features[:, 0])
    items = np.unique(guest.features[:, 1])
    rows = rows_by_id(runs["guest"]["output"].data)
    for k in (0, 9, 77):
        uid, iid, _ = guest.features[k]
        u, i = int(np.searchsorted(users, uid)), int(np.searchsorted(items, iid))
        vector = w["user_embedding"][u]
        if module == "HeteroSVDpp":
            rated = w["rating_matrix"][u]
            vector = vector + rated @ w["implicit_embedding"] / np.sqrt(rated.sum())
        score = mu + w["user_bias"][u] + w["item_bias"][i] + vector @ w["item_embedding"][i]
        assert float(rows[guest.ids[k].as_py()].split(",")[2]) == pytest.approx(score, abs=1e-9)
    if module == "HeteroSVDpp":
        matrix = runs["guest"]["output"].model["MatrixModelParam"]["rating_matrix"]
        assert (matrix["height"], matrix["width"]) == (len(users), len(items))
        assert sum(matrix["values"]) == len(guest)


def test_gmf_trains_with_negative_samples():
    data, runs = train("HeteroGMF", implicit=True)
    models = {role: runs[role]["output"].model for role in ("guest", "host")}
    assert set(models["guest"]) == {"GMFModelMeta", "GMFModelParam"}
    assert models["guest"]["GMFModelMeta"]["params"]["neg_count"] == 4
    param = models["guest"]["GMFModelParam"]
    assert param["user_num"] == 40 and param["item_num"] == 20
    weights = {role: saved({"MatrixModelParam": m["GMFModelParam"]}) for role, m in models.items()}
    np.testing.assert_allclose(weights["guest"]["user_embedding"], weights["host"]["user_embedding"], atol=1e-6)
    logged = logged_losses(runs["arbiter"])
    assert logged[-1] < logged[0]
    guest, w = data["guest"], weights["guest"]
    items = np.unique(guest.features[:, 1])
    rows = rows_by_id(runs["guest"]["output"].data)
    for k in (0, 9, 77):
        uid, iid, _ = guest.features[k]
        score = w["user_embedding"][int(uid)] @ w["item_embedding"][int(np.searchsorted(items, iid))]
        assert float(rows[guest.ids[k].as_py()].split(",")[2]) == pytest.approx(score, abs=1e-9)


# ---------------------------------------------------------------- learned quality against central training
#
# The federated models, trained on examples/data's rec_* tables (a rank-2 model plus noise; guest and host rate
# their own items for partly shared users), against the same factorisation trained centrally with torch on
# the joined ratings: same epochs, full batches, Adam at the same rate, the same mu. Tolerance: the federated
# train RMSE within 0.1 of the central one, the std of the ratings' noise (its user side is averaged once an
# epoch instead of trained on all ratings at once: 0.16 against 0.10 on the guest's ratings), and under a
# quarter of the mean predictor's; GMF's AUC (positives against unrated pairs of the same party) within 0.03
# of the central model's.

QUALITY = {"max_iter": 60, "batch_size": -1, "optimizer": {"optimizer": "Adam", "learning_rate": 0.05},
           "early_stop": {"early_stop": "diff", "eps": 1e-12},
           "init_param": {"embed_dim": 4, "init_method": "random_normal", "random_seed": 4}}


def central_factorisation(module: str, data: dict, mu: float, epochs: int, seed: int = 0):
    """Train ``module``'s model centrally on both parties' ratings; returns a scoring function (uid, iid) -> s."""
    torch = pytest.importorskip("torch", reason="the central reference trains with torch")
    joined = np.concatenate([data["guest"].features, data["host"].features])
    users, items = np.unique(joined[:, 0]), np.unique(joined[:, 1])
    u = torch.as_tensor(np.searchsorted(users, joined[:, 0]))
    i = torch.as_tensor(np.searchsorted(items, joined[:, 1]))
    r = torch.as_tensor(joined[:, 2], dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    dim = QUALITY["init_param"]["embed_dim"]

    def initial(*shape):
        return (0.05 * torch.randn(*shape, generator=generator, dtype=torch.float64)).requires_grad_()

    p, q, bu, bi, y = initial(len(users), dim), initial(len(items), dim), initial(len(users)), initial(len(items)), \
        initial(len(items), dim)
    rated = torch.zeros(len(users), len(items), dtype=torch.float64)
    rated[u, i] = 1.0
    implicit = rated / rated.sum(1, keepdim=True).clamp(min=1).sqrt()

    def score(uu, ii):
        vector = p[uu] + (implicit[uu] @ y if module == "HeteroSVDpp" else 0)
        return mu + bu[uu] + bi[ii] + (vector * q[ii]).sum(1)

    optimizer = torch.optim.Adam([p, q, bu, bi, y], lr=QUALITY["optimizer"]["learning_rate"])
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.mean((score(u, i) - r) ** 2).backward()
        optimizer.step()

    def predict(uid: np.ndarray, iid: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return score(torch.as_tensor(np.searchsorted(users, uid)), torch.as_tensor(np.searchsorted(items, iid))).numpy()
    return predict


@pytest.mark.parametrize("module", ["HeteroSVD", "HeteroSVDpp"])
def test_svd_variants_learn_as_well_as_central_training(module):
    data = rec_ratings()
    runs = run_parties(module, QUALITY, data)
    mu = float(saved(runs["guest"]["output"].model)["global_mean"])
    central = central_factorisation(module, data, mu, QUALITY["max_iter"])
    for role in ("guest", "host"):
        uid, iid, rate = data[role].features.T
        federated = rmse(runs[role]["component"].scores(uid, iid), rate)
        reference, trivial = rmse(central(uid, iid), rate), rmse(np.full(len(rate), rate.mean()), rate)
        assert federated < reference + 0.1 and federated < trivial / 4, (role, federated, reference, trivial)


def test_gmf_learns_as_well_as_central_training():
    torch = pytest.importorskip("torch", reason="the central reference trains with torch")
    data, evaluation = rec_ratings("gmf"), rec_ratings("gmf_eval")
    runs = run_parties("HeteroGMF", dict(QUALITY, max_iter=20), data)

    joined = np.concatenate([data["guest"].features, data["host"].features])
    users, items = np.arange(int(joined[:, 0].max()) + 1), np.unique(joined[:, 1])
    party_items = [np.searchsorted(items, np.unique(data[role].features[:, 1])) for role in ("guest", "host")]
    generator, rng = torch.Generator().manual_seed(0), np.random.default_rng(0)
    p = (0.05 * torch.randn(len(users), 4, generator=generator, dtype=torch.float64)).requires_grad_()
    q = (0.05 * torch.randn(len(items), 4, generator=generator, dtype=torch.float64)).requires_grad_()
    optimizer = torch.optim.Adam([p, q], lr=0.05)
    k = get_spec("HeteroGMF").default_params().neg_count
    u = np.repeat(joined[:, 0].astype(np.int64), k)
    pos = np.repeat(np.searchsorted(items, joined[:, 1]), k)
    in_guest = np.repeat(np.arange(len(joined)) < len(data["guest"]), k)
    for _ in range(20):  # negatives from the rating's own party's items, as each party draws them
        neg = np.where(in_guest, rng.choice(party_items[0], len(u)), rng.choice(party_items[1], len(u)))
        optimizer.zero_grad()
        s_pos, s_neg = (p[u] * q[pos]).sum(1), (p[u] * q[neg]).sum(1)
        loss = 0.3 * torch.mean((s_pos - 1) ** 2) + 0.3 * torch.mean(s_neg ** 2) - \
            0.4 * torch.mean(torch.nn.functional.logsigmoid(s_pos - s_neg))
        loss.backward()
        optimizer.step()
    for role in ("guest", "host"):
        uid, iid, label = evaluation[role].features.T
        federated = roc_auc_score(label, runs[role]["component"].scores(uid, iid))
        with torch.no_grad():
            central = (p[uid.astype(np.int64)] * q[np.searchsorted(items, iid)]).sum(1).numpy()
        reference = roc_auc_score(label, central)
        assert federated > reference - 0.03 and federated > 0.9, (role, federated, reference)
