"""Figures of a set: every way on every image, per seed, then mean and spread over seeds."""

from __future__ import annotations

from collections import Counter

import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet

from .annotator import TARGET, Effort
from .costs import ACTIONS
from .ways import Way, annotate, worked_as


def annotate_set(pairs, state, way: Way, classes: ClassSet, seed: int) -> list[Effort]:
    """Each image worked the ``way``, one after another: the model ``state`` predicts it and
    learns from its finished labels (a frozen model learns nothing)."""
    efforts = []
    for index, (rgb, gt) in enumerate(pairs):
        effort, labels = annotate(rgb, gt, state.predict(index, rgb), way, classes, seed=seed * 1000 + index)
        state.learn(rgb, labels)
        efforts.append(effort)
    return efforts


def start_accuracy(pairs, state) -> float:
    right = [np.mean(state.predict(i, rgb).labels[gt != IGNORE_INDEX] == gt[gt != IGNORE_INDEX])
             for i, (rgb, gt) in enumerate(pairs)]
    return float(np.mean(right))


def way_row(efforts: list[Effort]) -> dict:
    n = len(efforts)
    counts = sum((e.cost.counts for e in efforts), Counter())
    return {"seconds": sum(e.seconds for e in efforts) / n, "actions": sum(e.actions for e in efforts) / n,
            **{k: counts[k] / n for k in (*ACTIONS, "look")},
            "corrections": dict(sum((e.corrections for e in efforts), Counter())),
            "snaps_tried": sum(e.attempts["snap"] for e in efforts) / n,
            "snaps_undone": sum(e.undone["snap"] for e in efforts) / n,
            "final_accuracy": float(np.mean([e.accuracy for e in efforts])),
            "reached_target": sum(e.accuracy >= TARGET for e in efforts)}


def seed_figures(pairs, state, classes: ClassSet, ways: dict[str, Way], seed: int) -> dict:
    """One seed's figures: each way's row, the way it is worked as, model / manual ratios."""
    rows = {name: way_row(annotate_set(pairs, state.for_way(), way, classes, seed)) for name, way in ways.items()}
    used = worked_as({name: row["seconds"] for name, row in rows.items()}, ways)
    figures = {"images": len(pairs), "start_accuracy": start_accuracy(pairs, state), "ways": rows, "worked_as": used}
    if "model" in rows and "manual" in rows:
        model, manual = rows[used["model"]], rows[used["manual"]]
        figures["model_vs_manual_seconds"] = model["seconds"] / manual["seconds"]
        figures["model_vs_manual_actions"] = model["actions"] / manual["actions"]
        figures["model_vs_manual_seconds_own_tools"] = rows["model"]["seconds"] / rows["manual"]["seconds"]
    return figures


def spread(values) -> dict:
    values = np.asarray(list(values), np.float64)
    return {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "values": values.tolist()}


def summary(per_seed: list[dict]) -> dict:
    """Mean and sample standard deviation over seeds of each way's time and actions, and of the ratios."""
    ways = per_seed[0]["ways"]
    out = {"seeds": len(per_seed), "images_per_seed": per_seed[0]["images"],
           "start_accuracy": spread(f["start_accuracy"] for f in per_seed), "ways": {}, "per_seed": per_seed}
    for name in ways:
        rows = [f["ways"][name] for f in per_seed]
        out["ways"][name] = {key: spread(r[key] for r in rows)
                             for key in ("seconds", "actions", *ACTIONS, "look", "snaps_tried", "snaps_undone",
                                         "final_accuracy")}
        out["ways"][name]["worked_as"] = sorted({f["worked_as"][name] for f in per_seed})
        out["ways"][name]["corrections"] = dict(sum((Counter(r["corrections"]) for r in rows), Counter()))
    for key in ("model_vs_manual_seconds", "model_vs_manual_actions", "model_vs_manual_seconds_own_tools"):
        if key in per_seed[0]:
            out[key] = spread(f[key] for f in per_seed)
    return out


def _pm(s: dict, digits: int = 1) -> str:
    return f"{s['mean']:.{digits}f} ± {s['sd']:.{digits}f}"


def print_summary(title: str, figures: dict) -> None:
    print(f"\n{title}: {figures['images_per_seed']} images x {figures['seeds']} seeds, until >= {TARGET:.0%} of "
          f"the pixels are right; the model's pixel accuracy at the start {_pm(figures['start_accuracy'], 3)}")
    print(f"{'way':9} {'s/image':>13} {'actions/image':>13} {'keys':>5} {'point':>5} {'click':>5} {'vertex':>6} "
          f"{'drag':>5} {'look':>5} {'snaps tried/undone':>18}  worked as; corrections (all seeds)")
    for name, row in figures["ways"].items():
        print(f"{name:9} {_pm(row['seconds']):>13} {_pm(row['actions']):>13} {row['key']['mean']:5.1f} "
              f"{row['point']['mean']:5.1f} {row['click']['mean']:5.1f} {row['vertex']['mean']:6.1f} "
              f"{row['drag']['mean']:5.1f} {row['look']['mean']:5.1f} "
              f"{row['snaps_tried']['mean']:8.1f} / {row['snaps_undone']['mean']:<7.1f}  "
              f"{'/'.join(row['worked_as'])}; "
              + ", ".join(f"{k} {v}" for k, v in sorted(row["corrections"].items())))
    if "model_vs_manual_seconds" in figures:
        print(f"model-aware / manual: time {_pm(figures['model_vs_manual_seconds'], 2)}, actions "
              f"{_pm(figures['model_vs_manual_actions'], 2)} (each way with its own tools only: time "
              f"{_pm(figures['model_vs_manual_seconds_own_tools'], 2)}; goal <= 0.50)")
