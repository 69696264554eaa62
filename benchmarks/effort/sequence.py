"""Sequence mode: the images of a project corrected one after another, live adaptation off and on.

The set (:func:`effort.images.sequence_pair`) holds a class the starting model
(:func:`effort.live.starting_model`) does not know. Each column works through the same
images in the same order, from its own project (:class:`effort.live.LiveModel`):

| column | tools | after each finished image |
| --- | --- | --- |
| manual, frozen | the manual way's (the fair manual way of the effort benchmark) | nothing: the model stays |
| model-aware, frozen | the model-aware way's | nothing |
| manual, live | the manual way's | one live round: adapt, then re-label the untouched images, their boundaries on the image's edges (as the app does) |
| model-aware, live | the model-aware way's | the same |
| manual, live, grid | the manual way's | one live round, re-labelled from the features alone (the labels' boundaries where the 1/8 grid puts them, as before edges were followed) |
| model-aware, live, grid | the model-aware way's | the same |

The two kinds of live column run in the same process, one after the other on each seed, so a
comparison of edges against grid labels sees the same machine and images.

Per image: the wrong pixels of the pre-segmentation it was opened with, the annotator's
actions and seconds, the round's seconds (``adapt_project``) and the seconds from "image
corrected" to the untouched images' new labels (adapt + re-label, the masks' writing not
counted), and the wrong pixels left on the images nobody touched yet. A full fine-tune
between rounds is not a column: on CPU it takes minutes per round.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet

from .live import LiveModel
from .report import annotate_set, spread
from .ways import MANUAL, MODEL

COLUMNS = {"manual, frozen": (MANUAL, False, True), "model-aware, frozen": (MODEL, False, True),
           "manual, live": (MANUAL, True, True), "model-aware, live": (MODEL, True, True),
           "manual, live, grid": (MANUAL, True, False), "model-aware, live, grid": (MODEL, True, False)}
BASELINE = "manual, frozen"  # the fair manual way
HALVED_AFTER = 5  # corrected images after which the untouched images' wrong pixels are compared
UNKNOWN_AFTER = 3  # corrected images after which the unknown class's IoU is read


def sequence_column(state: LiveModel, way, classes: ClassSet, seed: int) -> dict:
    """One column: every image worked the ``way`` in order through ``state``."""
    efforts = annotate_set(state.sequence.pairs, state, way, classes, seed)
    rows = []
    for index, (effort, done) in enumerate(zip(efforts, state.rounds)):
        gt = state.sequence.pairs[index][1]
        wrong = (state.shown[index] != gt) & (gt != IGNORE_INDEX)
        unknown = wrong & (gt == len(classes) - 1)
        rows.append({"wrong_before": int(wrong.sum()), "wrong_unknown_before": int(unknown.sum()),
                     "actions": effort.actions, "seconds": effort.seconds, "accuracy": effort.accuracy, **done})
    return {"per_image": rows, "actions": sum(r["actions"] for r in rows), "seconds": sum(r["seconds"] for r in rows)}


def sequence_seed(model, classes: ClassSet, pairs, work: Path, seed: int, columns=tuple(COLUMNS)) -> dict:
    """The ``columns`` (names of :data:`COLUMNS`; the baseline and "manual, live" at least) on
    one seed's images, and the goals' figures."""
    images = LiveModel(model, classes, pairs, work / f"seed{seed}", adapt=False)  # features computed once
    columns = {name: sequence_column(images.for_way(*COLUMNS[name][1:]), COLUMNS[name][0], classes, seed)
               for name in columns}
    return {"images": len(pairs), "columns": columns, **goal_figures(columns)}


def goal_figures(columns: dict) -> dict:
    """The goals' figures of one seed (None where the sequence is too short to tell)."""
    frozen, live = columns[BASELINE]["per_image"], columns["manual, live"]["per_image"]
    out = {f"{name} / {BASELINE} actions": column["actions"] / columns[BASELINE]["actions"]
           for name, column in columns.items() if name != BASELINE}
    after = HALVED_AFTER - 1
    for name, suffix in (("manual, live", ""), ("manual, live, grid", ", grid")):
        rows = columns[name]["per_image"] if name in columns else []
        out[f"untouched wrong pixels, live{suffix} / frozen, after 5"] = (
            rows[after]["untouched_wrong"] / frozen[after]["untouched_wrong"]
            if len(rows) > HALVED_AFTER and frozen[after]["untouched_wrong"] else None)
    out["unknown IoU on untouched images after 3"] = (live[UNKNOWN_AFTER - 1]["unknown_iou"]
                                                      if len(live) > UNKNOWN_AFTER else None)
    rounds = [r for r in live if r["adapt_s"] is not None]
    out["median adapt s"] = float(np.median([r["adapt_s"] for r in rounds])) if rounds else None
    out["max corrected -> masks updated s"] = max((r["update_s"] for r in rounds), default=None)
    return out


GOALS = {"manual, live / manual, frozen actions": ("<=", 0.5),
         "model-aware, live / manual, frozen actions": ("<=", 0.5),
         "manual, live, grid / manual, frozen actions": ("<=", 0.5),
         "model-aware, live, grid / manual, frozen actions": ("<=", 0.5),
         "untouched wrong pixels, live / frozen, after 5": ("<=", 0.5),
         "untouched wrong pixels, live, grid / frozen, after 5": ("<=", 0.5),
         "unknown IoU on untouched images after 3": (">=", 0.7)}


def summary(per_seed: list[dict]) -> dict:
    """Mean and spread over seeds of each column's actions and of each goal's figure."""
    out = {"seeds": len(per_seed), "images_per_seed": per_seed[0]["images"], "per_seed": per_seed,
           "actions": {name: spread(s["columns"][name]["actions"] / s["images"] for s in per_seed)
                       for name in per_seed[0]["columns"]}}
    for key in per_seed[0]:
        if key not in ("images", "columns") and all(s[key] is not None for s in per_seed):
            out[key] = spread(s[key] for s in per_seed)
    return out


def print_seed(title: str, figures: dict) -> None:
    names = list(figures["columns"])
    print(f"\n{title}: per image (wrong pixels of the pre-segmentation it opened with; actions) for "
          + "; ".join(names))
    print(f"{'image':>5} {'wrong px before':>33} {'actions':>19} {'adapt s':>8} {'->masks s':>9} {'adopted':>7} "
          f"{'untouched wrong frozen/live':>27} {'unknown IoU':>11}")
    live = figures["columns"]["manual, live"]["per_image"]
    frozen = figures["columns"][BASELINE]["per_image"]
    for index, row in enumerate(live):
        before = " / ".join(f"{figures['columns'][n]['per_image'][index]['wrong_before']:5d}" for n in names)
        actions = " / ".join(f"{figures['columns'][n]['per_image'][index]['actions']:3d}" for n in names)
        adapt = f"{row['adapt_s']:8.2f}" if row["adapt_s"] is not None else f"{'-':>8}"
        update = f"{row['update_s']:9.2f}" if row["update_s"] is not None else f"{'-':>9}"
        iou = f"{row['unknown_iou']:11.2f}" if row["unknown_iou"] is not None else f"{'-':>11}"
        print(f"{index + 1:5d} {before:>33} {actions:>19} {adapt} {update} {str(row['adopted']):>7} "
              f"{frozen[index]['untouched_wrong']:13d} / {row['untouched_wrong']:<11d} {iou}")


def print_summary(title: str, figures: dict) -> None:
    print(f"\n{title}: {figures['images_per_seed']} images x {figures['seeds']} seeds")
    for name, row in figures["actions"].items():
        print(f"  actions per image, {name:20}: {row['mean']:5.1f} ± {row['sd']:.1f}")
    for key, value in figures.items():
        if isinstance(value, dict) and "mean" in value:
            goal = GOALS.get(key)
            verdict = ""
            if goal:
                met = value["mean"] <= goal[1] if goal[0] == "<=" else value["mean"] >= goal[1]
                verdict = f"  (goal {goal[0]} {goal[1]}: {'met' if met else 'missed'})"
            per_seed = ", ".join(f"{v:.2f}" for v in value["values"])
            print(f"  {key}: {value['mean']:.2f} ± {value['sd']:.2f} ({per_seed}){verdict}")
