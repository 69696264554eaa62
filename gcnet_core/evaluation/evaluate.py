"""mIoU of a model on a labelled dataset (SPEC §5), and the ``gcnet eval`` command.

Images stream through one at a time (decoded a few ahead in threads) and only the
confusion matrix of :class:`~gcnet_core.evaluation.metrics.IoUAccumulator` is kept, so memory does
not grow with the dataset. Predictions are made exactly as ``gcnet predict`` makes them
(:class:`~gcnet_core.predict.exact.Predictor`), at the original image size, against the
unresized ground truth. Unreadable samples are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..data.readers import SegDataset, load_sample_safe
from ..predict.exact import predictor_for
from .metrics import IoUAccumulator, MetricResult

log = logging.getLogger("gcnet_core.evaluation.evaluate")

#: The split evaluated when none is given (project: images marked "corrected").
DEFAULT_SPLITS = {"cityscapes": "val", "ade20k": "validation", "voc": "val", "project": None}

_Item = tuple[np.ndarray, np.ndarray, str]


@dataclass
class EvaluationReport:
    """Metrics plus how many samples were used and how many could not be read."""

    metrics: MetricResult
    images: int
    skipped: int


# ------------------------------------------------------------------------------ classes
def _normalise(names) -> tuple[str, ...]:
    return tuple(str(n).strip().lower() for n in names)


def check_classes(model, dataset: SegDataset) -> None:
    """Refuse a model whose classes cannot be scored against the dataset's labels.

    The count must always match. For an annotation project the names must match too
    (a project's ids mean nothing to a model trained on other classes); for the public
    datasets a name mismatch only warns (e.g. a checkpoint that spells them differently).
    """
    model_classes = getattr(model, "classes", None)
    count = len(model_classes) if model_classes is not None else int(model.num_classes)
    data_names = dataset.classes.names
    if count != len(data_names):
        raise ValueError(f"the model predicts {count} classes but the {dataset.kind} dataset "
                         f"has {len(data_names)}; evaluate a model trained on these classes")
    if model_classes is None or _normalise(model_classes.names) == _normalise(data_names):
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
def _stream(dataset: SegDataset, count: int, workers: int = 2) -> Iterator[_Item | None]:
    """Samples ``0..count-1`` in order, decoded a few ahead in threads; None if unusable."""
    ahead = 2 * workers
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for index in range(count):
            pending.append(pool.submit(load_sample_safe, dataset, index))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _predict(predictor, images: list[np.ndarray], tta: bool) -> list[np.ndarray]:
    """Label maps at the original size: one pass per batch, or ms+flip per image."""
    if tta:
        return [predictor.predict_tta(image).labels for image in images]
    return [result.labels for result in predictor.predict_batch(images)]


def evaluate_report(model, dataset: SegDataset, tta: bool = False, limit: int | None = None,
                    progress: bool = True, batch_size: int = 1) -> EvaluationReport:
    """:func:`evaluate`, also saying how many images were scored and how many skipped."""
    from tqdm import tqdm

    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    check_classes(model, dataset)
    count = len(dataset) if limit is None else min(limit, len(dataset))
    accumulator = IoUAccumulator(len(dataset.classes), reduce_zero_label=False)  # readers reduced already
    predictor = predictor_for(model)
    was_training = model.training
    model.eval()  # BatchNorm must use its running statistics
    images = skipped = 0
    batch: list[_Item] = []

    def flush() -> None:
        for (_, label, _), pred in zip(batch, _predict(predictor, [item[0] for item in batch], tta)):
            accumulator.update(pred, label)
        batch.clear()

    try:
        with tqdm(total=count, desc="evaluating", unit="img", disable=not progress) as bar:
            for item in _stream(dataset, count):
                bar.update(1)
                if item is None:
                    skipped += 1
                    continue
                if batch and (item[0].shape != batch[0][0].shape or len(batch) >= max(1, batch_size)):
                    flush()
                batch.append(item)
                images += 1
            flush()
    finally:
        model.train(was_training)
    return EvaluationReport(accumulator.compute(dataset.classes.names), images, skipped)


def evaluate(model, dataset: SegDataset, tta: bool = False, limit: int | None = None,
             progress: bool = True, batch_size: int = 1) -> MetricResult:
    """aAcc/mIoU/mAcc (percent) of ``model`` on ``dataset``, histograms summed over all images.

    ``limit`` scores only the first N samples; ``batch_size`` groups consecutive images
    of equal size into one pass (same result); ``tta`` is the ms+flip rule.
    """
    return evaluate_report(model, dataset, tta, limit, progress, batch_size).metrics


# ----------------------------------------------------------------------------------- CLI
def add_eval_command(subparsers) -> None:
    """Register ``gcnet eval`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("eval", help="mIoU of a model on a labelled dataset or project")
    sub.add_argument("--model", required=True, metavar="NAME", help="zoo model (1.x or 0.x config name)")
    sub.add_argument("--checkpoint", metavar="PATH", help="use this file instead of the official one")
    sub.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    sub.add_argument("--precision", default="fp32", choices=("auto", "fp32", "fp16", "bf16"),
                     help="fp32 (default) reproduces the published numbers; auto: fp16 on CUDA")
    sub.add_argument("--fast", dest="exact", action="store_false",
                     help="the fast GPU path (default: the exact reference path, as published)")
    sub.add_argument("--dataset", required=True, choices=tuple(DEFAULT_SPLITS),
                     help="layout of --data-root (project = an annotation project folder)")
    sub.add_argument("--data-root", required=True, metavar="DIR")
    sub.add_argument("--split", metavar="NAME",
                     help="cityscapes/voc: val; ade20k: validation; project: image state(s), "
                          "comma-separated (default: corrected)")
    sub.add_argument("--tta", action="store_true", help="multi-scale + flip (the published ms+flip rule)")
    sub.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N images")
    sub.add_argument("--batch-size", type=int, default=1, help="images of equal size per network pass")
    sub.add_argument("--json", metavar="OUT", help="also write the metrics to this JSON file")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from ..cli.main import _load_model
    from ..files.masks import atomic_write_text
    from ..project.store import ProjectError

    split = args.split if args.split is not None else DEFAULT_SPLITS[args.dataset]
    try:
        dataset = SegDataset(args.dataset, args.data_root, split)
    except (OSError, ProjectError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if len(dataset) == 0:
        print(f"error: no labelled images in {args.data_root} (split {split or 'corrected'})", file=sys.stderr)
        return 1
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    model = _load_model(args)
    report = evaluate_report(model, dataset, tta=args.tta, limit=args.limit,
                             progress=not args.quiet, batch_size=args.batch_size)
    if report.images == 0:
        print(f"error: none of the {report.skipped} images could be read", file=sys.stderr)
        return 1
    print(report.metrics.format_table())
    note = f", {report.skipped} unreadable skipped" if report.skipped else ""
    print(f"{report.images} images evaluated{note}")
    if args.json:
        text = json.dumps(report.metrics.to_json(), indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write_text(args.json, text)
        except OSError as error:
            print(f"error: could not write {args.json}: {error}", file=sys.stderr)
            return 1
        print(f"metrics written to {args.json}")
    return 0


__all__ = ["DEFAULT_SPLITS", "EvaluationReport", "add_eval_command", "check_classes", "cmd_eval",
           "evaluate", "evaluate_report"]
