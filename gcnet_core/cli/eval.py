"""``gcnet eval``: mIoU of a model on a labelled dataset or project (:mod:`gcnet_core.evaluation`)."""

from __future__ import annotations

import json
import sys

from ..data.readers import SegDataset
from ..evaluation.evaluate import DEFAULT_SPLITS, evaluate_report
from ..files.atomic import atomic_write_text
from ..project.store import ProjectError
from .common import add_model_options, load_model


def add_eval_command(subparsers) -> None:
    """Register ``gcnet eval`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("eval", help="mIoU of a model on a labelled dataset or project")
    add_model_options(sub, default_path="exact")
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
    sub.set_defaults(func=run)


def run(args) -> int:
    split = args.split if args.split is not None else DEFAULT_SPLITS[args.dataset]
    try:
        dataset = SegDataset(args.dataset, args.data_root, split)
    except (OSError, ProjectError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if len(dataset) == 0:
        print(f"error: no labelled images in {args.data_root} (split {split or 'corrected,exported'})", file=sys.stderr)
        return 1
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    model = load_model(args, fast=None if args.fast else False)  # --fast: the device's default path
    report = evaluate_report(model, dataset, tta=args.tta, limit=args.limit,
                             progress=not args.quiet, batch_size=args.batch_size)
    if report.images == 0:
        print(f"error: none of the {report.skipped} images could be read", file=sys.stderr)
        _print_failures(report.failures)
        return 1
    print(report.metrics.format_table())
    note = f", {report.skipped} left out (listed below)" if report.skipped else ""
    print(f"{report.images} images evaluated{note}")
    if args.json:
        text = json.dumps(report.metrics.to_json(), indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write_text(args.json, text)
        except OSError as error:
            print(f"error: could not write {args.json}: {error}", file=sys.stderr)
            return 1
        print(f"metrics written to {args.json}")
    if report.failures:  # the metrics stand for the others; the run still says it was incomplete
        _print_failures(report.failures)
        return 1
    return 0


def _print_failures(failures: list[tuple[str, str]]) -> None:
    print(f"{len(failures)} image(s) could not be evaluated:", file=sys.stderr)
    for path, reason in failures:
        print(f"  {path}: {reason}", file=sys.stderr)


__all__ = ["add_eval_command", "run"]
