"""Running a loaded model: one image, many images (decoded ahead, batched, errors per image).

Which predictor a model runs with is :class:`~gcnet_core.predict.loaded.LoadedModel`'s choice;
this module only feeds it images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from ..files.images import max_pixels
from ..files.prefetch import prefetch
from .predictor import Predictor, SegmentationResult, as_rgb_array

if TYPE_CHECKING:
    from .loaded import LoadedModel


def inference(model: "LoadedModel", image: np.ndarray | str | Path, tta: bool = False,
              return_logits: bool = False, keep_features: bool = False) -> SegmentationResult:
    """Segment one image (RGB uint8 array or path) with a model from :func:`init_model`;
    ``keep_features``: the result carries the decode head's last features (``result.features``)."""
    return model.predictor().predict(as_rgb_array(image), tta=tta, return_logits=return_logits,
                                     keep_features=keep_features)


@dataclass
class BatchItem:
    """One input of :func:`inference_many`: its result, or the error that stopped it."""

    source: Path | int
    image: np.ndarray | None
    result: SegmentationResult | None
    error: Exception | None = None


def inference_many(model: "LoadedModel", images: Iterable[np.ndarray | str | Path], batch_size: int = 1,
                   tta: bool = False, num_readers: int = 2, max_megapixels: float | None = None,
                   keep_features: bool = False) -> Iterator[BatchItem]:
    """Segment many images in order; files are decoded ahead in threads while the model runs.

    Consecutive images of the same size share one network pass (up to ``batch_size``).
    An unreadable input, or a file larger than ``max_megapixels`` million pixels (None:
    ``$GCNET_MAX_MEGAPIXELS`` or the default; 0: no limit), yields a :class:`BatchItem` with
    ``error`` set instead of raising, so one bad file never stops a folder run.
    ``keep_features``: each result carries its features, as :func:`inference`.
    """
    predictor = model.predictor()
    sources = list(images)
    limit = max_pixels(max_megapixels)

    def load(index: int):
        source = sources[index]
        name = Path(source) if isinstance(source, (str, Path)) else index
        try:
            return name, as_rgb_array(source, limit), None
        except Exception as error:  # reported per item, never raised
            return name, None, error

    pending: list[tuple] = []
    for name, image, error in prefetch(load, len(sources), workers=num_readers):
        if error is not None:
            yield from _flush(predictor, pending, tta, keep_features)
            pending = []
            yield BatchItem(name, None, None, error)
            continue
        if pending and (image.shape != pending[0][1].shape or len(pending) >= batch_size or tta):
            yield from _flush(predictor, pending, tta, keep_features)
            pending = []
        pending.append((name, image))
    yield from _flush(predictor, pending, tta, keep_features)


def _flush(predictor: Predictor, pending: list[tuple], tta: bool, keep_features: bool) -> Iterator[BatchItem]:
    """Run the pending images; a batch that fails is redone image by image, so only the
    image that cannot be segmented gets an error (one bad input never stops a folder run)."""
    if not pending:
        return
    if not tta and len(pending) > 1:
        try:
            results = predictor.predict_batch([image for _, image in pending], keep_features=keep_features)
        except Exception:  # noqa: BLE001 - retried one by one below, each failure named
            pass
        else:
            for (name, image), result in zip(pending, results):
                yield BatchItem(name, image, result)
            return
    for name, image in pending:
        try:
            result = predictor.predict(image, tta=tta, keep_features=keep_features)
        except Exception as error:  # noqa: BLE001 - reported per item, with its traceback kept
            yield BatchItem(name, image, None, _segmentation_error(name, image, error))
            continue
        yield BatchItem(name, image, result)


class SegmentationError(RuntimeError):
    """One image could not be segmented; the message names it, its size and the reason."""


def _segmentation_error(name, image: np.ndarray, error: Exception) -> SegmentationError:
    height, width = image.shape[:2]
    reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
    wrapped = SegmentationError(f"cannot segment {name} ({width}x{height}): {type(error).__name__}: {reason}")
    wrapped.__cause__ = error  # the traceback stays reachable for logs and --debug
    return wrapped


__all__ = ["BatchItem", "SegmentationError", "inference", "inference_many"]
