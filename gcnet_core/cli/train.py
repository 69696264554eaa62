"""``gcnet train``: the command-line face of :func:`gcnet_core.train.train`.

Exit codes: 0 finished or cancelled by SIGINT/SIGTERM (the last event says which:
"done" or "cancelled"; the same command resumes), 1 any error (an "error" event in
``--progress jsonl``), 130 a second Ctrl-C that interrupted without saving.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from ..predict.distributed import rank_and_world_size
from ..train.config import AMP_MODES, DATASET_KINDS, FREEZE_BN_MODES, PRESETS, TrainConfig
from ..train.estimate import estimate_run
from ..train.loop import train
from ..train.progress import BarSink, EventSink
from .common import add_model_options
from .events import JsonLinesSink

PROGRESS_MODES = ("jsonl", "bar", "none")

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def add_train_command(subparsers) -> None:
    """Register ``gcnet train`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser(
        "train", help="fine-tune a zoo model or one of our checkpoints on a dataset or a project",
        description="Fine-tune GCNet with mmsegmentation's recipe (SGD, poly LR, decode + 0.4 aux CE). "
                    "Run under torchrun for several GPUs or nodes.")
    add_model_options(sub.add_argument_group("model"), default_path=None, required=False)
    data = sub.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASET_KINDS, help="layout of --data-root")
    data.add_argument("--data-root", metavar="DIR")
    data.add_argument("--project", metavar="DIR",
                      help="an annotation project (= --dataset project --data-root DIR)")
    data.add_argument("--split", metavar="NAME",
                      help="training split (cityscapes train, ade20k training, voc trainaug); "
                           "project: image states, comma-separated (default corrected,exported)")
    data.add_argument("--val-split", metavar="NAME",
                      help="validation split (default val / validation; 'none' for no validation); "
                           "projects hold out --val-share of their images instead unless this is given")
    data.add_argument("--val-share", type=float, metavar="F", help="project images held out (default 0.1)")
    recipe = sub.add_argument_group("recipe (defaults: the zoo entry's, docs/training.md)")
    recipe.add_argument("--preset", choices=sorted(PRESETS),
                        help="finetune: lr 1e-3, 500 iterations, BN frozen below 4 images per GPU; "
                             "finetune-cpu: the same in 60 iterations of one 256x256 crop (minutes on a CPU)")
    recipe.add_argument("--iters", type=int, metavar="N", help="total iterations (default: the entry's schedule)")
    recipe.add_argument("--batch-size", type=int, metavar="N", help="images per GPU/process")
    recipe.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="training crop size")
    recipe.add_argument("--lr", type=float, help="initial learning rate (default 0.01)")
    recipe.add_argument("--min-lr", type=float, help="poly schedule floor (default 1e-4)")
    recipe.add_argument("--freeze-bn", choices=FREEZE_BN_MODES,
                        help="keep BatchNorm statistics fixed (auto: when the batch per GPU is below 4)")
    recipe.add_argument("--seed", type=int, help="seed of data order, augmentation and new layers (default 0)")
    running = sub.add_argument_group("run")
    running.add_argument("--out", required=True, metavar="DIR", help="folder for last.pth, best.pth, resume.pth")
    running.add_argument("--resume", action=argparse.BooleanOptionalAction, default=None,
                         help="continue the run in --out (default: automatically when it holds resume.pth)")
    running.add_argument("--val-interval", type=int, metavar="N",
                         help="validate and save every N iterations (default iters / 10)")
    running.add_argument("--val-at-start", action="store_true", default=None,
                         help="also validate the starting weights before the first iteration (a 'val' event "
                              "with iter 0), to compare the model before and after fine-tuning")
    running.add_argument("--compare-with", action="append", metavar="FILE",
                         help="with --val-at-start: also score this checkpoint on the held-out images first (a "
                              "'baseline' event); the run counts as better only when it beats the best of them. "
                              "May be given more than once")
    running.add_argument("--workers", type=int, metavar="N", help="data-loading processes per GPU (default 2)")
    running.add_argument("--amp", nargs="?", const="auto", choices=AMP_MODES,
                         help="mixed precision on CUDA: bf16 where supported, else fp16 with a GradScaler")
    running.add_argument("--channels-last", action="store_true", default=None,
                         help="NHWC activations (try it with --amp on tensor-core GPUs)")
    running.add_argument("--fused-optimizer", action=argparse.BooleanOptionalAction, default=None,
                         help="one fused SGD update kernel (default: on CUDA)")
    running.add_argument("--estimate", action="store_true",
                         help="do not train: time two training steps and one held-out prediction with these "
                              "settings and print how long the run would take (an 'estimate' event)")
    running.add_argument("--progress", choices=PROGRESS_MODES, default="bar",
                         help="jsonl: one JSON event per line on stdout; bar: a progress bar (default)")
    sub.set_defaults(func=run)


def config_from_args(args):
    """A :class:`TrainConfig` from parsed arguments (explicit flags beat the preset)."""
    dataset, root = args.dataset, args.data_root
    if args.project:
        if dataset not in (None, "project") or (root and root != args.project):
            raise ValueError("--project DIR cannot be combined with another --dataset/--data-root")
        dataset, root = "project", args.project
    if root is None:
        raise ValueError("say what to train on: --project DIR, or --dataset KIND --data-root DIR")
    if dataset is None:
        raise ValueError("--data-root needs --dataset (cityscapes, ade20k, voc or project)")
    return TrainConfig.from_options(
        preset=args.preset, out=args.out, data_root=root, dataset=dataset, model=args.model,
        checkpoint=args.checkpoint, split=args.split, val_split=args.val_split, val_share=args.val_share,
        iters=args.iters, batch_size=args.batch_size, crop=tuple(args.crop) if args.crop else None,
        lr=args.lr, min_lr=args.min_lr, seed=args.seed, workers=args.workers, val_interval=args.val_interval,
        val_at_start=args.val_at_start, compare_with=tuple(args.compare_with) if args.compare_with else None,
        device=args.device, amp=args.amp, freeze_bn=args.freeze_bn,
        resume=args.resume, channels_last=args.channels_last, fused_optimizer=args.fused_optimizer)


def run(args) -> int:
    sink = make_sink(args.progress, enabled=rank_and_world_size()[0] == 0)
    try:
        if args.estimate:
            estimate = estimate_run(config_from_args(args))
            sink.emit("estimate", **estimate.to_event())
            if args.progress != "jsonl":
                print(f"about {estimate.total_s / 60:.1f} min on {estimate.device} ({estimate.step_s:.2f} s per "
                      f"iteration, {estimate.iters} iterations)")
            return EXIT_OK
        result = train(config_from_args(args), sink)
    except KeyboardInterrupt:
        sink.emit("error", message="interrupted before a checkpoint was saved", interrupted=True)
        return EXIT_INTERRUPTED
    except Exception as error:  # every failure is an event and a non-zero exit, never a hang
        sink.emit("error", message=f"{type(error).__name__}: {error}" if not str(error) else str(error),
                  type=type(error).__name__)
        if args.progress != "jsonl":
            traceback.print_exc(file=sys.stderr)
        return EXIT_ERROR
    finally:
        sink.close()
    return EXIT_OK if result.status in ("done", "cancelled") else EXIT_ERROR




def make_sink(mode: str, enabled: bool = True) -> EventSink:
    """The sink for ``--progress MODE``; a silent one when ``enabled`` is False (rank > 0)."""
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress must be one of {PROGRESS_MODES}, not {mode!r}")
    if not enabled or mode == "none":
        return EventSink()
    return JsonLinesSink() if mode == "jsonl" else BarSink()

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "add_train_command", "config_from_args", "make_sink",
           "run"]
