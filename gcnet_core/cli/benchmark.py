"""``gcnet benchmark``: the published method against the fast path, the CPU engine and a folder
run, on this machine (:mod:`gcnet_core.predict.benchmark`)."""

from __future__ import annotations

import argparse

from ..predict.benchmark import run_benchmark
from .common import add_model_options, load_model


def add_benchmark_command(subparsers) -> None:
    """Register ``gcnet benchmark`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("benchmark", help="fp32 eager vs the fast path vs a folder run (images/s, memory)")
    add_model_options(sub)
    sub.add_argument("--images", type=int, default=50, help="timed images (after the warm-up)")
    sub.add_argument("--size", type=_size, metavar="WxH",
                     help="the photos at this size (default: the entry's typical test size; e.g. 451x300 "
                          "makes every path resize them)")
    sub.add_argument("--warmup", type=int, default=5, help="images run before timing (mmseg: 5)")
    sub.add_argument("--folder", type=int, default=40, metavar="N",
                     help="also time a folder run over N PNG files, decode and mask writing included (0: skip)")
    sub.add_argument("--ablation", action="store_true",
                     help="also time the fast path with each switch off and in the other precisions")
    sub.add_argument("--mmseg", action="store_true",
                     help="also time mmsegmentation's own model (needs mmsegmentation installed)")
    sub.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    sub.set_defaults(func=run)


def run(args) -> int:
    model = load_model(args, fast=False if args.exact else None)
    report = run_benchmark(model, images=args.images, warmup=args.warmup, precision=args.precision,
                           folder_images=args.folder, ablation=args.ablation, mmseg=args.mmseg, size=args.size)
    print(report.format())
    if args.json:
        report.write_json(args.json)
        print(f"written to {args.json}")
    return 0


def _size(text: str) -> tuple[int, int]:
    """``WxH`` to (height, width)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 451x300, not {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be at least 1")
    return height, width


__all__ = ["add_benchmark_command", "run"]

