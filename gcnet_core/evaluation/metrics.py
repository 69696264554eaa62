"""Streaming mIoU, computed the way mmsegmentation does (docs/metrics.md).

The four per-class pixel histograms (intersection, prediction, label, union) are
summed over the whole dataset before any division: IoU is *not* averaged per image.
We keep them as one confusion matrix so memory stays constant however many images
are evaluated, and so several processes can add their matrices (all-reduce) and get
exactly the single-process result.

The matrix has one extra row and column (index ``num_classes``) collecting values
outside ``[0, num_classes)``: such a prediction still leaves its label pixel counted
in the label histogram, and vice versa, as the histogram formulation does.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..model.classes import IGNORE_INDEX


def _as_numpy(array: Any) -> np.ndarray:
    """Accept numpy arrays and torch tensors without importing torch here."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def reduce_zero_label(label: np.ndarray) -> np.ndarray:
    """ADE20K convention: 0 ("other") becomes ignore, classes 1..N shift to 0..N-1."""
    label = label.astype(np.int64, copy=True)
    ignore = (label == 0) | (label == IGNORE_INDEX)
    label -= 1
    label[ignore] = IGNORE_INDEX
    return label


def _nanmean(values: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slice -> NaN, on purpose
        return float(np.nanmean(values)) if values.size else math.nan


def _percent(value: float | np.ndarray) -> Any:
    return np.round(np.asarray(value, dtype=np.float64) * 100, 2)


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass
class MetricResult:
    """Dataset-level metrics in percent (2 decimals); NaN where a value is undefined."""

    aAcc: float
    mIoU: float
    mAcc: float
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; NaN becomes ``None`` (``null``) since JSON has no NaN."""
        return {
            "aAcc": _json_number(self.aAcc),
            "mIoU": _json_number(self.mIoU),
            "mAcc": _json_number(self.mAcc),
            "per_class": {
                name: {key: _json_number(val) for key, val in values.items()}
                for name, values in self.per_class.items()
            },
        }

    def format_table(self) -> str:
        """Human-readable table: one row per class, then the summary line."""
        width = max([len("Class")] + [len(name) for name in self.per_class])
        rule = "-" * (width + 20)

        def cell(value: float) -> str:
            return f"{'nan' if math.isnan(value) else f'{value:.2f}':>8}"

        lines = [f"{'Class':<{width}} | {'IoU':>8} | {'Acc':>8}", rule]
        for name, values in self.per_class.items():
            lines.append(f"{name:<{width}} | {cell(values['IoU'])} | {cell(values['Acc'])}")
        lines.append(rule)
        lines.append(f"aAcc: {cell(self.aAcc).strip()}  mIoU: {cell(self.mIoU).strip()}  "
                     f"mAcc: {cell(self.mAcc).strip()}")
        return "\n".join(lines)


class IoUAccumulator:
    """Accumulates a confusion matrix over images; ``compute`` gives docs/metrics.md's metrics.

    ``reduce_zero_label`` is applied to labels passed to :meth:`update`. Leave it False
    when the labels already went through a dataset reader that reduced them.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX,
                 reduce_zero_label: bool = False) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.reduce_zero_label = reduce_zero_label
        size = self.num_classes + 1
        self._matrix = np.zeros((size, size), dtype=np.int64)  # rows: label, cols: pred

    # -- accumulation ---------------------------------------------------------------
    def update(self, pred: Any, label: Any) -> None:
        """Add one prediction/label pair (any shape, same for both; integer class ids)."""
        pred = _as_numpy(pred).astype(np.int64, copy=False)
        label = _as_numpy(label).astype(np.int64, copy=False)
        if pred.shape != label.shape:
            raise ValueError(f"prediction shape {pred.shape} != label shape {label.shape}")
        if self.reduce_zero_label:
            label = reduce_zero_label(label)
        keep = label != self.ignore_index
        pred, label = pred[keep], label[keep]
        size = self.num_classes + 1
        pred = np.where((pred >= 0) & (pred < self.num_classes), pred, self.num_classes)
        label = np.where((label >= 0) & (label < self.num_classes), label, self.num_classes)
        counts = np.bincount(size * label + pred, minlength=size * size)
        self._matrix += counts.reshape(size, size)

    def merge(self, other: "IoUAccumulator") -> None:
        """Add another accumulator's counts (e.g. from another worker)."""
        if other.num_classes != self.num_classes:
            raise ValueError(f"cannot merge {other.num_classes} classes into {self.num_classes}")
        self._matrix += other._matrix

    def reset(self) -> None:
        self._matrix[:] = 0

    @property
    def state(self) -> np.ndarray:
        """A copy of the counts as an int64 array, for all-reduce across processes."""
        return self._matrix.copy()

    def load_state(self, state: Any) -> None:
        """Replace the counts, e.g. with the all-reduced sum of every worker's state."""
        state = _as_numpy(state).astype(np.int64)
        if state.shape != self._matrix.shape:
            raise ValueError(f"state shape {state.shape} != expected {self._matrix.shape}")
        self._matrix = state.copy()

    # -- results ----------------------------------------------------------------------
    def histograms(self) -> dict[str, np.ndarray]:
        """Summed area_intersect/area_pred/area_label/area_union per class (int64)."""
        nc = self.num_classes
        intersect = np.diagonal(self._matrix)[:nc].copy()
        area_label = self._matrix.sum(axis=1)[:nc]
        area_pred = self._matrix.sum(axis=0)[:nc]
        return {
            "intersect": intersect,
            "pred": area_pred,
            "label": area_label,
            "union": area_pred + area_label - intersect,
        }

    def compute(self, class_names: Sequence[str] | None = None) -> MetricResult:
        """aAcc, mIoU, mAcc and per-class IoU/Acc in percent, NaN where 0/0."""
        if class_names is None:
            class_names = [str(k) for k in range(self.num_classes)]
        if len(class_names) != self.num_classes:
            raise ValueError(f"{len(class_names)} class names for {self.num_classes} classes")
        h = self.histograms()
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = h["intersect"] / h["union"]
            acc = h["intersect"] / h["label"]
            all_acc = h["intersect"].sum() / h["label"].sum()
        per_class = {
            name: {"IoU": float(_percent(i)), "Acc": float(_percent(a))}
            for name, i, a in zip(class_names, iou, acc)
        }
        return MetricResult(
            aAcc=float(_percent(_nanmean(np.asarray([all_acc])))),
            mIoU=float(_percent(_nanmean(iou))),
            mAcc=float(_percent(_nanmean(acc))),
            per_class=per_class,
        )
