"""Writes the small rating tables of the FederatedRec examples (rec_*.csv beside this file).

    python examples/data/make_rec_data.py

Ratings of a rank-2 model plus noise, header ``id,uid,iid,rate`` as FATE's citeulike tables: the guest's
users are 0-29 and its items 0-19, the host's users 10-39 and its items 100-114, so they share users
10-29 and no item. ``rec_ratings_*``: explicit ratings (HeteroMF, HeteroSVD, HeteroSVDpp).
``rec_gmf_*``: implicit feedback for HeteroGMF (every row a positive, rate 1: the pairs whose true score
is in the top third), and ``rec_gmf_eval_*``: those positives plus as many unrated pairs with rate 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIDES = {"guest": (range(0, 30), range(0, 20), 320, "g"), "host": (range(10, 40), range(100, 115), 260, "h")}


def main() -> None:
    rng = np.random.default_rng(2020)
    true_user = rng.normal(size=(40, 2))
    for side, (users, items, rows, prefix) in SIDES.items():
        true_item = {i: rng.normal(size=2) for i in items}
        pairs = sorted({(int(rng.choice(list(users))), int(rng.choice(list(items)))) for _ in range(rows)})
        lines = ["id,uid,iid,rate"]
        for k, (u, i) in enumerate(pairs):
            rate = true_user[u] @ true_item[i] + rng.normal(0, 0.1)
            lines.append(f"{prefix}{k},{u},{i},{rate:.4f}")
        (HERE / f"rec_ratings_{side}.csv").write_text("\n".join(lines) + "\n")
        scores = {(u, i): true_user[u] @ true_item[i] for u in users for i in items}
        cut = np.quantile(list(scores.values()), 2 / 3)
        liked = [pair for pair, s in scores.items() if s > cut]
        positives = [liked[j] for j in sorted(rng.choice(len(liked), min(rows, len(liked)), replace=False))]
        unrated = [pair for pair, s in scores.items() if s <= cut]
        negatives = [unrated[j] for j in sorted(rng.choice(len(unrated), len(positives), replace=False))]
        train = ["id,uid,iid,rate"] + [f"{prefix}{k},{u},{i},1" for k, (u, i) in enumerate(positives)]
        (HERE / f"rec_gmf_{side}.csv").write_text("\n".join(train) + "\n")
        both = [(pair, 1) for pair in positives] + [(pair, 0) for pair in negatives]
        evaluate = ["id,uid,iid,rate"] + [f"{prefix}e{k},{u},{i},{r}" for k, ((u, i), r) in enumerate(both)]
        (HERE / f"rec_gmf_eval_{side}.csv").write_text("\n".join(evaluate) + "\n")


if __name__ == "__main__":
    main()
