"""The window's side of prediction sidecars: read one for a document, write one off the UI thread.

The format is :mod:`gcnet_core.project.predictions`; here the prediction is mapped to the
project's classes (by name) and handed to the document, so Accept prediction, Show low
confidence and the model-aware tools work on images segmented in an earlier session or
by a batch run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gcnet_core.model.classes import ClassSet
from gcnet_core.project.document import MaskDocument
from gcnet_core.project.predictions import PredictionFileError, StoredPrediction, load_prediction, save_prediction
from gcnet_core.project.store import Project


def load_for_project(project: Project, image: Path, shape: tuple[int, int]) -> tuple[StoredPrediction | None,
                                                                                     str | None]:
    """The image's stored prediction in the project's class ids, or (None, why not) when the
    file is unusable; (None, None) when there is none."""
    path = project.prediction_path(image)
    if not path.exists():
        return None, None
    try:
        stored = load_prediction(path, shape)
    except PredictionFileError as error:
        return None, f"the stored prediction is not used: {error}"
    return stored.for_classes(project.classes.names), None


def attach(doc: MaskDocument, stored: StoredPrediction | None) -> None:
    """Give the document the model output (no label changes, no undo step)."""
    if stored is not None:
        doc.keep_model_output(stored.labels, stored.confidence, stored.rankings)


def stored_from_result(labels: np.ndarray, confidence: np.ndarray, rankings, classes: ClassSet,
                       model: str | None) -> StoredPrediction:
    """A model output (in the model's class ids) as it goes to disk."""
    return StoredPrediction(labels, confidence, rankings, tuple(classes.names), model)


def save_job(path: Path, prediction: StoredPrediction) -> Callable[[], None]:
    """A job for the project's serial writer (compressing 12 megapixels takes a while)."""
    return lambda: save_prediction(path, prediction)


def adopt_staged(staged: Path, target: Path) -> bool:
    """Move a batch's staged sidecar into the project; False when the batch wrote none."""
    if not staged.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    return True
