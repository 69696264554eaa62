"""The window's side of prediction sidecars: read one for a document.

The format is :mod:`gcnet_core.project.predictions`; here the prediction is mapped to the
project's classes (by name) and handed to the document, so Accept prediction, Show low
confidence and the model-aware tools work on images segmented in an earlier session or
by a batch run. The files themselves are the project's (:meth:`Project.read_prediction`,
:meth:`Project.write_prediction`, :meth:`Project.adopt_prediction`).
"""

from __future__ import annotations

from pathlib import Path

from gcnet_core.project.document import MaskDocument
from gcnet_core.project.predictions import PredictionFileError, StoredPrediction
from gcnet_core.project.store import Project


def load_for_project(project: Project, image: Path, shape: tuple[int, int]) -> tuple[StoredPrediction | None,
                                                                                     str | None]:
    """The image's stored prediction in the project's class ids, or (None, why not) when the
    file is unusable; (None, None) when there is none."""
    try:
        stored = project.read_prediction(image, shape)
    except PredictionFileError as error:
        return None, f"the stored prediction is not used: {error}"
    return (None if stored is None else stored.for_classes(project.classes.names)), None


def attach(doc: MaskDocument, stored: StoredPrediction | None) -> None:
    """Give the document the model output (no label changes, no undo step)."""
    if stored is not None:
        doc.keep_model_output(stored.labels, stored.confidence, stored.rankings)
