"""What several ``gcnet`` sub-commands share: the model options, loading that model, the download bar."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .. import api
from ..predict.distributed import device_for_this_process
from ..predict.fast import options_from_flags

if TYPE_CHECKING:
    from ..predict.loaded import LoadedModel


class DownloadBar:
    """A tqdm byte bar, opened only when a download really starts (callback ``(done, total)``)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.description, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def add_model_options(parser, default_path: str | None = "fast", required: bool = True) -> None:
    """Which model a command loads (``--model``, ``--checkpoint``, ``--device``) and how it runs,
    on ``parser`` (a sub-command's parser or one of its argument groups).

    ``default_path`` says how: ``"fast"`` (predict, benchmark: ``--precision auto``, ``--exact``
    and the fast path's opt-in switches), ``"exact"`` (eval: fp32 on the exact path, as
    published, and ``--fast``), or None (train: no inference options). With ``required=False``
    ``--model`` may be left out for a fine-tuned ``--checkpoint``, which names its zoo model.
    """
    if required:
        parser.add_argument("--model", required=True, metavar="NAME", help="zoo model (1.x or 0.x config name)")
        parser.add_argument("--checkpoint", metavar="PATH", help="use this file instead of the official one")
    else:
        parser.add_argument("--model", metavar="NAME", help="zoo model to start from (1.x or 0.x config name)")
        parser.add_argument("--checkpoint", metavar="PATH",
                            help="starting weights instead of the official file; our fine-tuned checkpoints "
                                 "name their zoo model, so --model may be left out")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    if default_path == "fast":
        parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                            help="auto: fp16 through the fast path on CUDA, exact fp32 on the CPU")
        parser.add_argument("--exact", action="store_true",
                            help="the reference path (no fast-path plumbing); with --precision fp32 it gives "
                                 "mmsegmentation's float32 results on any device")
        parser.add_argument("--compile", action="store_true",
                            help="torch.compile the network (fast path; slow first image, then faster)")
        parser.add_argument("--cuda-graphs", action="store_true",
                            help="opt-in, CUDA fast path: replay CUDA graphs for input sizes that repeat")
        parser.add_argument("--pinned-upload", action="store_true",
                            help="opt-in, CUDA fast path: upload images through reused page-locked buffers")
    elif default_path == "exact":
        parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                            help="fp32 (default) reproduces the published numbers; auto: fp16 on CUDA")
        parser.add_argument("--fast", action="store_true",
                            help="the fast GPU path (default: the exact reference path, as published)")
    elif default_path is not None:
        raise ValueError(f"default_path must be 'fast', 'exact' or None, not {default_path!r}")


def load_model(args: argparse.Namespace, fast: bool | None) -> "LoadedModel":
    """The model of :func:`add_model_options`' flags, loaded by :func:`~gcnet_core.init_model`
    (``fast`` as it takes it: None is the device's default path, False the exact one). The
    onnxruntime engine is built now, its one-off export said on stderr."""
    bar = DownloadBar(f"downloading {args.model or 'checkpoint'}")
    try:
        model = api.init_model(args.model, args.checkpoint, device=device_for_this_process(args.device),
                           precision=args.precision, progress=bar, fast=fast,
                           fast_options=options_from_flags(args))  # --compile, --cuda-graphs, --pinned-upload
    finally:
        bar.close()
    if model.backend == "onnxruntime":

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "export":
                print(f"exporting {model.entry.name} for onnxruntime (once per checkpoint)…", file=sys.stderr,
                      flush=True)

        model.predictor(progress=progress)
    return model


__all__ = ["DownloadBar", "PRECISIONS", "add_model_options", "load_model"]
