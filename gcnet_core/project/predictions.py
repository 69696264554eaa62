"""A prediction kept with the project: what the model-aware tools need after a restart.

The mask file holds the labels a person sees and edits; once they edit, the model's own
labels are gone from it. So each prediction also goes to a sidecar (one compressed
``.npz`` per image, written atomically, at :meth:`Project.prediction_path`) holding:

- ``labels`` (H, W) uint8: the model's labels, in the model's class ids;
- ``confidence`` (H, W) uint8: the top softmax probability times 255;
- ``rank_classes`` / ``rank_probs`` (k, h, w) uint8: :class:`ClassRankings` on a coarse grid;
- ``class_names``: the model's classes (what the ids mean), ``model``: the model id the
  prediction was made with, ``format``: :data:`FORMAT_VERSION`.

The same file is written by the window (in-app pre-segmentation and work-ahead) and by
``gcnet predict --predictions DIR`` (batch runs), so the tools work whichever made it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files.arrays import UNREADABLE, write_arrays
from ..model.classes import IGNORE_INDEX
from ..predict.rankings import ClassRankings

FORMAT_VERSION = 1
SUFFIX = ".npz"


class PredictionFileError(Exception):
    """A prediction sidecar that cannot be used; the message names the file and the reason."""


@dataclass
class StoredPrediction:
    """One image's prediction as kept on disk (class ids of ``class_names``)."""

    labels: np.ndarray  # (H, W) uint8
    confidence: np.ndarray  # (H, W) float32 in 0..1
    rankings: ClassRankings | None
    class_names: tuple[str, ...]
    model: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape[0], self.labels.shape[1]

    def for_classes(self, names: tuple[str, ...] | list[str]) -> "StoredPrediction":
        """The prediction in the ids of another class list (matched by name); a class the
        list lacks becomes ignore (255) and drops out of the rankings."""
        names = tuple(names)
        if names == self.class_names:
            return self
        index = {name: i for i, name in enumerate(names)}
        lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        for i, name in enumerate(self.class_names):
            if name in index and index[name] < IGNORE_INDEX:
                lut[i] = index[name]
        rankings = self.rankings.remapped(lut) if self.rankings is not None else None
        return StoredPrediction(lut[self.labels], self.confidence, rankings, names, self.model)


def save_prediction(path: str | os.PathLike, prediction: StoredPrediction) -> None:
    """Write the sidecar atomically (a crash leaves the old file or the new one)."""
    arrays = {
        "format": np.array(FORMAT_VERSION),
        "labels": np.ascontiguousarray(prediction.labels, dtype=np.uint8),
        "confidence": np.clip(np.round(np.asarray(prediction.confidence, dtype=np.float32) * 255), 0, 255)
        .astype(np.uint8),
        "class_names": np.array(list(prediction.class_names), dtype=str),
        "model": np.array(prediction.model or ""),
    }
    if prediction.rankings is not None:
        arrays["rank_classes"] = prediction.rankings.classes
        arrays["rank_probs"] = prediction.rankings.probabilities
    write_arrays(path, arrays, compressed=True)


def load_prediction(path: str | os.PathLike, shape: tuple[int, int] | None = None) -> StoredPrediction:
    """Read a sidecar; ``shape`` (H, W) is the image's size, checked when given.

    Raises :class:`PredictionFileError` naming the file and what is wrong with it.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format"])
            if version > FORMAT_VERSION:
                raise ValueError(f"format {version} is newer than this program ({FORMAT_VERSION})")
            labels = np.array(data["labels"], dtype=np.uint8)
            confidence = data["confidence"].astype(np.float32) / np.float32(255)
            names = tuple(str(n) for n in data["class_names"])
            model = str(data["model"]) or None
            rankings = None
            if "rank_classes" in data.files:
                rankings = ClassRankings(data["rank_classes"], data["rank_probs"], labels.shape)
    except FileNotFoundError:
        raise PredictionFileError(f"{path}: no such prediction file") from None
    except UNREADABLE as error:
        raise PredictionFileError(f"{path}: not a usable prediction file ({error})") from error
    if labels.ndim != 2 or confidence.shape != labels.shape:
        raise PredictionFileError(f"{path}: labels {labels.shape} and confidence {confidence.shape} differ")
    if shape is not None and labels.shape != tuple(shape):
        raise PredictionFileError(f"{path}: made for a {labels.shape[1]}x{labels.shape[0]} image, "
                                  f"not {shape[1]}x{shape[0]}; segment the image again")
    return StoredPrediction(labels, confidence, rankings, names, model)

