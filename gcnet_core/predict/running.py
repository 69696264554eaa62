"""Running a loaded model: which predictor it gets (exact or fast), one image, many images.

:mod:`.exact` and :mod:`.fast` are the two ways to run the network; this module is the only one
that knows both, so neither has to know the other's subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from ..files.prefetch import prefetch
from .predictor import Predictor, SegmentationResult, as_rgb_array
from .fast import FastPredictor


def predictor_for(model: torch.nn.Module, progress=None) -> Predictor:
    """The model's cached predictor, built on first use: the fast one when the model was
    loaded with ``fast`` (the default on CUDA), the onnxruntime engine when it was loaded
    with ``engine`` (the default on the CPU; ``progress(stage, done, total)`` reports its
    one-off export), else the exact one."""
    predictor = getattr(model, "_predictor", None)
    if predictor is None or predictor.device != next(model.parameters()).device:
        precision = getattr(model, "precision", "fp32")
        if getattr(model, "fast", False):
            predictor = FastPredictor(model, precision=precision, options=getattr(model, "fast_options", None))
        elif getattr(model, "engine", None) == "onnxruntime" and precision == "fp32":
            from .onnx_engine import engine_or_exact

            predictor = engine_or_exact(model, progress)
        else:
            predictor = Predictor(model, precision=precision)
        model._predictor = predictor
    return predictor


def release(model: torch.nn.Module) -> None:
    """Forget the model's predictor (and the fast path's graphs, buffers and weight copy)
    and hand cached GPU memory back, e.g. between jobs or before training starts."""
    from .acceleration import release_gpu_memory

    predictor = model.__dict__.pop("_predictor", None)
    if predictor is not None and hasattr(predictor, "release"):
        predictor.release()
    del predictor
    release_gpu_memory()


def inference(model: torch.nn.Module, image: np.ndarray | str | Path, tta: bool = False,
              return_logits: bool = False) -> SegmentationResult:
    """Segment one image (RGB uint8 array or path) with a model from :func:`init_model`."""
    return predictor_for(model).predict(as_rgb_array(image), tta=tta, return_logits=return_logits)


@dataclass
class BatchItem:
    """One input of :func:`inference_many`: its result, or the error that stopped it."""

    source: Path | int
    image: np.ndarray | None
    result: SegmentationResult | None
    error: Exception | None = None


def inference_many(model: torch.nn.Module, images: Iterable[np.ndarray | str | Path], batch_size: int = 1,
                   tta: bool = False, num_readers: int = 2) -> Iterator[BatchItem]:
    """Segment many images in order; files are decoded ahead in threads while the model runs.

    Consecutive images of the same size share one network pass (up to ``batch_size``).
    An unreadable input yields a :class:`BatchItem` with ``error`` set instead of raising,
    so one bad file never stops a folder run.
    """
    predictor = predictor_for(model)
    sources = list(images)

    def load(index: int):
        source = sources[index]
        name = Path(source) if isinstance(source, (str, Path)) else index
        try:
            return name, as_rgb_array(source), None
        except Exception as error:  # reported per item, never raised
            return name, None, error

    pending: list[tuple] = []
    for name, image, error in prefetch(load, len(sources), workers=num_readers):
        if error is not None:
            yield from _flush(predictor, pending, tta)
            pending = []
            yield BatchItem(name, None, None, error)
            continue
        if pending and (image.shape != pending[0][1].shape or len(pending) >= batch_size or tta):
            yield from _flush(predictor, pending, tta)
            pending = []
        pending.append((name, image))
    yield from _flush(predictor, pending, tta)


def _flush(predictor: Predictor, pending: list[tuple], tta: bool) -> Iterator[BatchItem]:
    """Run the pending images; a batch that fails is redone image by image, so only the
    image that cannot be segmented gets an error (one bad input never stops a folder run)."""
    if not pending:
        return
    if not tta and len(pending) > 1:
        try:
            results = predictor.predict_batch([image for _, image in pending])
        except Exception:  # noqa: BLE001 - retried one by one below, each failure named
            pass
        else:
            for (name, image), result in zip(pending, results):
                yield BatchItem(name, image, result)
            return
    for name, image in pending:
        try:
            result = predictor.predict_tta(image) if tta else predictor.predict_batch([image])[0]
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


__all__ = ["BatchItem", "SegmentationError", "inference", "inference_many", "predictor_for", "release"]
