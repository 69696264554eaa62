"""mIoU of a model on a labelled dataset (docs/metrics.md), and the ``gcnet eval`` command.

Images stream through one at a time (decoded a few ahead in threads) and only the
confusion matrix of :class:`~gcnet_core.evaluation.metrics.IoUAccumulator` is kept, so memory does
not grow with the dataset. Predictions are made exactly as ``gcnet predict`` makes them
(:class:`~gcnet_core.predict.predictor.Predictor`), at the original image size, against the
unresized ground truth. Unreadable samples are skipped with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..data.readers import SampleReadError, SegDataset
from ..files.prefetch import prefetch
from .metrics import IoUAccumulator, MetricResult

if TYPE_CHECKING:
    from ..predict.loaded import LoadedModel

log = logging.getLogger("gcnet_core.evaluation.evaluate")

#: The split evaluated when none is given (project: images a person marked done, corrected or exported).
DEFAULT_SPLITS = {"cityscapes": "val", "ade20k": "validation", "voc": "val", "project": None}

_Item = tuple[np.ndarray, np.ndarray, str]


@dataclass
class EvaluationReport:
    """Metrics plus how many samples were used and how many could not be read."""

    metrics: MetricResult
    images: int
    skipped: int
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, why) of each skipped image


# ------------------------------------------------------------------------------ classes
def _normalise(names) -> tuple[str, ...]:
    return tuple(str(n).strip().lower() for n in names)


def check_classes(model: "LoadedModel", dataset: SegDataset) -> None:
    """Refuse a model whose classes cannot be scored against the dataset's labels.

    The count must always match. For an annotation project the names must match too
    (a project's ids mean nothing to a model trained on other classes); for the public
    datasets a name mismatch only warns (e.g. a checkpoint that spells them differently).
    """
    model_classes, data_names = model.classes, dataset.classes.names
    if len(model_classes) != len(data_names):
        raise ValueError(f"the model predicts {len(model_classes)} classes but the {dataset.kind} dataset "
                         f"has {len(data_names)}; evaluate a model trained on these classes")
    if _normalise(model_classes.names) == _normalise(data_names):
        return
    diff = next((i, m, d) for i, (m, d) in enumerate(zip(model_classes.names, data_names))
                if _normalise([m]) != _normalise([d]))
    message = (f"model class {diff[0]} is {diff[1]!r} but the {dataset.kind} dataset's class "
               f"{diff[0]} is {diff[2]!r}")
    if dataset.kind == "project":
        raise ValueError(f"the model's classes do not match the project's: {message}; "
                         "evaluate a model fine-tuned on this project")
    log.warning("class names differ (%s); scoring by class index", message)


# ------------------------------------------------------------------------------ streaming
def _stream(dataset: SegDataset, count: int, workers: int = 2) -> Iterator[tuple[_Item | None, tuple | None]]:
    """(sample, None) or (None, (file, why)) for samples ``0..count-1`` in order, decoded a few
    ahead in threads."""
    return prefetch(lambda index: _load(dataset, index), count, workers=workers)


def _load(dataset: SegDataset, index: int) -> tuple[_Item | None, tuple[str, str] | None]:
    try:
        return dataset[index], None
    except SampleReadError as exc:
        logging.getLogger("gcnet_core.data").warning("skipping sample %s: cannot use %s: %s",
                                                     dataset.samples[index].name, exc.path, exc.reason)
        return None, (str(exc.path), exc.reason)


def _predict(predictor, images: list[np.ndarray], tta: bool) -> list[np.ndarray]:
    """Label maps at the original size: one pass per batch, or ms+flip per image."""
    if tta:
        return [predictor.predict_tta(image).labels for image in images]
    return [result.labels for result in predictor.predict_batch(images)]


def evaluate_report(model: "LoadedModel", dataset: SegDataset, tta: bool = False, limit: int | None = None,
                    progress: bool = True, batch_size: int = 1) -> EvaluationReport:
    """:func:`evaluate`, also saying how many images were scored and how many skipped."""
    from tqdm import tqdm

    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    check_classes(model, dataset)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    accumulator = IoUAccumulator(len(dataset.classes), reduce_zero_label=False)  # readers reduced already
    predictor = model.predictor()
    network = model.network
    was_training = network.training
    network.eval()  # BatchNorm must use its running statistics
    images = 0
    batch: list[_Item] = []

    failures: list[tuple[str, str]] = []

    def flush() -> None:
        nonlocal images
        try:
            predictions = _predict(predictor, [item[0] for item in batch], tta)
        except Exception:  # noqa: BLE001 - one image at a time, so only the failing one is left out
            predictions = []
            for image, _label, name in batch:
                try:
                    predictions.extend(_predict(predictor, [image], tta))
                except Exception as error:  # noqa: BLE001 - named in the report, traceback in the log
                    log.debug("segmenting %s failed", name, exc_info=True)
                    failures.append((name, f"cannot segment it ({image.shape[1]}x{image.shape[0]}): "
                                           f"{type(error).__name__}: {error}"))
                    predictions.append(None)
        for (_, label, _), pred in zip(batch, predictions):
            if pred is not None:
                accumulator.update(pred, label)
            else:
                images -= 1
        batch.clear()

    try:
        with tqdm(total=count, desc="evaluating", unit="img", disable=not progress) as bar:
            for item, failure in _stream(dataset, count):
                bar.update(1)
                if item is None:
                    failures.append(failure)
                    continue
                if batch and (item[0].shape != batch[0][0].shape or len(batch) >= max(1, batch_size)):
                    flush()
                batch.append(item)
                images += 1
            flush()
    finally:
        network.train(was_training)
    return EvaluationReport(accumulator.compute(dataset.classes.names), images, len(failures), failures)


def evaluate(model: "LoadedModel", dataset: SegDataset, tta: bool = False, limit: int | None = None,
             progress: bool = True, batch_size: int = 1) -> MetricResult:
    """aAcc/mIoU/mAcc (percent) of ``model`` on ``dataset``, histograms summed over all images.

    ``limit`` scores only the first N samples; ``batch_size`` groups consecutive images
    of equal size into one pass (same result); ``tta`` is the ms+flip rule.
    """
    return evaluate_report(model, dataset, tta, limit, progress, batch_size).metrics

__all__ = ["DEFAULT_SPLITS", "EvaluationReport", "check_classes", "evaluate", "evaluate_report"]
