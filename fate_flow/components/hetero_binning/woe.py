"""Per-bin event counts, WOE and IV, and the IVParam messages of the binning model."""
from __future__ import annotations

import numpy as np


def event_counts(bins: np.ndarray, labels: np.ndarray, bin_counts: list[int]) -> tuple[list, list]:
    """Event (label 1) and non-event counts per bin of every column, by one ``bincount``.

    Args:
        bins: (n x d) bin index of every value.
        labels: (n,) 1 for an event, 0 otherwise.
        bin_counts: the number of bins of each column.

    Returns:
        ``(events, non_events)``: one int64 array per column.
    """
    offsets = bin_offsets(bin_counts)
    flat = (bins + offsets[:-1][None, :]).ravel()
    total = int(offsets[-1])
    events = np.bincount(flat, weights=np.repeat(labels, bins.shape[1]), minlength=total)
    everything = np.bincount(flat, minlength=total)
    events = np.rint(events).astype(np.int64)
    non_events = everything - events
    return split_by_column(events, offsets), split_by_column(non_events, offsets)


def split_by_column(values, offsets: np.ndarray) -> list:
    """Cut a flat per-bin sequence into one piece per column (column j is ``offsets[j]:offsets[j+1]``)."""
    return [values[offsets[j]:offsets[j + 1]] for j in range(len(offsets) - 1)]


def bin_offsets(bin_counts: list[int]) -> np.ndarray:
    """Where each column's bins start in a flat per-bin sequence, plus the total at the end."""
    return np.concatenate([[0], np.cumsum(bin_counts)]).astype(np.int64)


def woe_iv(events: np.ndarray, non_events: np.ndarray, adjustment_factor: float) -> dict:
    """FATE's ``woe_1d`` for one column: rates, WOE and IV per bin and the column's IV.

    With E and N the column's event and non-event totals (1 when 0) and a the adjustment
    factor, a bin with a zero count uses ``(e+a)/E`` and ``(ne+a)/N`` as its rates, others
    ``e/E`` and ``ne/N``; ``woe = ln(event_rate / non_event_rate)``,
    ``iv_i = (event_rate - non_event_rate) * woe`` and ``iv = sum(iv_i)``.
    """
    events = np.asarray(events, dtype=np.float64)
    non_events = np.asarray(non_events, dtype=np.float64)
    total_events = events.sum() or 1.0
    total_non_events = non_events.sum() or 1.0
    adjust = np.where((events == 0) | (non_events == 0), adjustment_factor, 0.0)
    event_rate = (events + adjust) / total_events
    non_event_rate = (non_events + adjust) / total_non_events
    woe = np.log(event_rate / non_event_rate)
    iv = (event_rate - non_event_rate) * woe
    return {"woe_array": woe.tolist(), "iv_array": iv.tolist(),
            "event_count_array": events.astype(np.int64).tolist(),
            "non_event_count_array": non_events.astype(np.int64).tolist(),
            "event_rate_array": event_rate.tolist(), "non_event_rate_array": non_event_rate.tolist(),
            "iv": float(iv.sum()), "is_woe_monotonic": is_monotonic(woe)}


def is_monotonic(values: np.ndarray) -> bool:
    """True when ``values`` never decrease or never increase (one value counts as monotonic)."""
    steps = np.diff(values)
    return bool(np.all(steps >= 0) or np.all(steps <= 0))


def iv_param(split_points, bin_nums: int, stats: dict | None = None) -> dict:
    """One column's IVParam: split points (empty for a host column seen by the guest), bin count,
    and the WOE/IV fields (``stats`` from :func:`woe_iv`; zeros/empty when unknown, as a host's)."""
    message = {"woe_array": [], "iv_array": [], "event_count_array": [], "non_event_count_array": [],
               "event_rate_array": [], "non_event_rate_array": [], "iv": 0.0, "is_woe_monotonic": False}
    message.update(stats or {})
    message["split_points"] = [float(v) for v in split_points]
    message["bin_nums"] = int(bin_nums)
    message["bin_anonymous"] = [f"bin_{i}" for i in range(bin_nums)]
    return message
