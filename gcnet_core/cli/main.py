"""The ``gcnet`` command: a thin layer over the library (models, download, predict, benchmark...)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from .. import __version__
from .common import DownloadBar, load_model
from .events import JsonLinesSink
from .outputs import check_writable, output_names


def cmd_models(args) -> int:
    from ..weights.download import cached_checkpoint
    from ..weights.zoo import ZOO

    header = f"{'name':44} {'dataset':11} {'backbone':9} {'crop':8} {'sched':5} {'mIoU':>6} {'ms+flip':>7}  downloaded"
    print(header)
    print("-" * len(header))
    for entry in ZOO:
        crop = "x".join(str(v) for v in entry.crop_size)
        have = "yes" if cached_checkpoint(entry) else "no"
        print(f"{entry.name:44} {entry.dataset.title.split()[0]:11} {entry.backbone:9} {crop:8} "
              f"{entry.schedule:5} {entry.miou:6.2f} {entry.miou_ms_flip:7.2f}  {have}")
    return 0


def cmd_download(args) -> int:
    from ..weights.download import CheckpointError, cached_checkpoint, ensure_checkpoint, import_checkpoint
    from ..weights.zoo import get_entry

    status = 0
    for name in args.names:
        entry = get_entry(name)
        try:
            if args.source:
                path = import_checkpoint(entry.checkpoint_filename, args.source, entry.sha256_prefix)
            elif cached_checkpoint(entry):
                path = cached_checkpoint(entry)
            else:
                bar = DownloadBar(entry.name)
                try:
                    path = ensure_checkpoint(entry, progress=bar)
                finally:
                    bar.close()
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        print(f"{entry.name}: {path}")
    return status


def cmd_predict(args) -> int:
    from tqdm import tqdm

    from ..files.images import find_images
    from ..predict.distributed import shard_for_this_process
    from ..predict.folder import segment_files

    report = JsonLinesSink() if args.progress == "jsonl" else None
    inputs = find_images(args.inputs)
    if not inputs:
        print("error: no images found in the given inputs", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    roots = [Path(p) for p in args.inputs if Path(p).is_dir()]
    if args.relative_to:
        roots.append(Path(args.relative_to))
    names, renamed = output_names(inputs, roots)  # same-stem inputs keep their full names
    for group in renamed:
        _stderr(f"note: {', '.join(str(p) for p in group)} share a name: their masks are "
                + ", ".join(names[p].name for p in group))
    check_writable(out_dir)  # a read-only or full disk is said now, not after the last image
    targets = {path: out_dir / names[path] for path in inputs}
    sidecars = ({path: Path(args.predictions) / names[path].with_suffix(".npz") for path in inputs}
                if args.predictions else None)
    todo = [p for p in inputs if not (args.skip_existing and targets[p].exists())]
    todo = shard_for_this_process(todo)
    skipped = len(inputs) - len(todo)
    if report:
        report.emit("start", total=len(todo), skipped=skipped)
    model = load_model(args)
    if args.format == "cityscapes-labelids" and model.num_classes != 19:
        print("error: --format cityscapes-labelids needs a Cityscapes model (19 classes)", file=sys.stderr)
        return 2
    if report:  # what the mask values mean (a fine-tuned model may have its own classes)
        report.emit("model", classes=list(model.classes.names),
                    palette=[list(color) for color in model.classes.palette])
    failures: list[tuple[Path, str]] = []
    written = 0
    outcomes = segment_files(model, todo, targets, args.format, batch_size=args.batch_size, tta=args.tta,
                             readers=args.readers, writers=args.writers,
                             also_write=_sidecar_writer(sidecars, model, args.model_id or args.model))
    with tqdm(total=len(todo), desc="segmenting", unit="img", disable=args.quiet or report is not None) as bar:
        for done, outcome in enumerate(outcomes, 1):
            bar.update(1)
            if outcome.ok:
                written += 1
            else:
                failures.append((outcome.source, outcome.error))
            if outcome.note:
                (tqdm.write if report is None else _stderr)(f"{outcome.source}: {outcome.note}")
            if report:
                extra = {"uncertainty": round(outcome.uncertainty, 6)} if outcome.ok else {"error": outcome.error}
                if outcome.note:
                    extra["note"] = outcome.note
                report.emit("image", path=str(outcome.source), ok=outcome.ok, mask=str(outcome.target), **extra,
                            done=done, total=len(todo))
    if report:
        report.emit("done", written=written, skipped=skipped,
                    failed=[{"path": str(path), "error": message} for path, message in failures])
    summary = sys.stderr if report else sys.stdout  # stdout carries only JSON lines then
    print(f"{written} masks written to {out_dir}" + (f", {skipped} already there" if skipped else ""),
          file=summary)
    if failures:
        print(f"{len(failures)} input(s) could not be segmented:", file=sys.stderr)
        for path, message in failures:
            print(f"  {path}: {message}", file=sys.stderr)
        return 1
    return 0


def _sidecar_writer(sidecars: dict[Path, Path] | None, model, model_id: str | None):
    """``--predictions``: each image's prediction (confidence, class rankings, model id) to its
    sidecar (:mod:`gcnet_core.project.predictions`), for the annotator's model-aware tools."""
    if sidecars is None:
        return None
    from ..project.predictions import StoredPrediction, save_prediction

    names = tuple(model.classes.names)

    def write(item) -> None:
        result = item.result
        save_prediction(sidecars[item.source],
                        StoredPrediction(result.labels, result.confidence, result.rankings, names, model_id))

    return write


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _size(text: str) -> tuple[int, int]:
    """``WxH`` to (height, width)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 451x300, not {text!r}") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be at least 1")
    return height, width


def cmd_benchmark(args) -> int:
    from ..predict.benchmark import run_benchmark

    model = load_model(args)
    report = run_benchmark(model, images=args.images, warmup=args.warmup, precision=args.precision,
                           fast_options=getattr(model, "fast_options", None), folder_images=args.folder,
                           ablation=args.ablation, mmseg=args.mmseg, size=args.size)
    print(report.format())
    if args.json:
        report.write_json(args.json)
        print(f"written to {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ..files.images import DEFAULT_MAX_MEGAPIXELS

    parser = argparse.ArgumentParser(prog="gcnet", description="GCNet semantic segmentation (mmsegmentation zoo).")
    parser.add_argument("--version", action="version", version=f"gcnet {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of every failure (each image's too)")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the 16 zoo models")
    models.set_defaults(func=cmd_models)

    download = commands.add_parser("download", help="download (or import) official checkpoints into the cache")
    download.add_argument("names", nargs="+", metavar="NAME")
    download.add_argument("--from", dest="source", metavar="PATH",
                          help="import a checkpoint file downloaded elsewhere (its hash is checked)")
    download.set_defaults(func=cmd_download)

    def model_options(sub, precision: bool = True):
        sub.add_argument("--model", required=True, metavar="NAME", help="zoo model (1.x or 0.x config name)")
        sub.add_argument("--checkpoint", metavar="PATH", help="use this file instead of the official one")
        sub.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
        if precision:
            sub.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"),
                             help="auto: fp16 through the fast path on CUDA, exact fp32 on the CPU")
            sub.add_argument("--exact", action="store_true",
                             help="the reference path (no fast-path plumbing); with --precision fp32 it gives "
                                  "mmsegmentation's float32 results on any device")
            sub.add_argument("--compile", action="store_true",
                             help="torch.compile the network (fast path; slow first image, then faster)")
            sub.add_argument("--cuda-graphs", action="store_true",
                             help="opt-in, CUDA fast path: replay CUDA graphs for input sizes that repeat")
            sub.add_argument("--pinned-upload", action="store_true",
                             help="opt-in, CUDA fast path: upload images through reused page-locked buffers")

    predict = commands.add_parser("predict", help="segment images and folders into mask PNGs")
    model_options(predict)
    predict.add_argument("--out", required=True, metavar="DIR")
    predict.add_argument("--format", default="index",
                         choices=("index", "color", "overlay", "cityscapes-labelids"))
    predict.add_argument("--tta", action="store_true", help="multi-scale + flip (slower, a little better)")
    predict.add_argument("--batch-size", type=int, default=1, help="images of equal size per network pass")
    predict.add_argument("--readers", type=int, metavar="N", help="image-decoding threads (default: from the CPU count)")
    predict.add_argument("--writers", type=int, metavar="N", help="mask-writing threads (default: from the CPU count)")
    predict.add_argument("--skip-existing", action="store_true", help="resume: keep masks already written")
    predict.add_argument("--predictions", metavar="DIR",
                         help="also keep each prediction (confidence, top-5 class rankings) as DIR/<name>.npz, "
                              "as the annotator does for its model-aware tools")
    predict.add_argument("--model-id", metavar="ID", help="the model name the prediction files record "
                                                           "(default: --model)")
    predict.add_argument("--max-megapixels", type=float, metavar="MP",
                         help="refuse images larger than this many million pixels, from their header "
                              f"(default {DEFAULT_MAX_MEGAPIXELS:g}; 0: no limit)")
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.add_argument("--progress", choices=("bar", "jsonl"), default="bar",
                         help="jsonl: one JSON event per line on stdout (start, model, image, done) for programs")
    predict.add_argument("--relative-to", metavar="ROOT",
                         help="mirror loose image files' paths relative to ROOT under --out (a project root)")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders (recursive)")
    predict.set_defaults(func=cmd_predict)

    from .formats import add_format_commands
    add_format_commands(commands)

    benchmark = commands.add_parser("benchmark", help="fp32 eager vs the fast path vs a folder run (images/s, memory)")
    model_options(benchmark)
    benchmark.add_argument("--images", type=int, default=50, help="timed images (after the warm-up)")
    benchmark.add_argument("--size", type=_size, metavar="WxH",
                           help="the photos at this size (default: the entry's typical test size; e.g. 451x300 "
                                "makes every path resize them)")
    benchmark.add_argument("--warmup", type=int, default=5, help="images run before timing (mmseg: 5)")
    benchmark.add_argument("--folder", type=int, default=40, metavar="N",
                           help="also time a folder run over N PNG files, decode and mask writing included (0: skip)")
    benchmark.add_argument("--ablation", action="store_true",
                           help="also time the fast path with each switch off and in the other precisions")
    benchmark.add_argument("--mmseg", action="store_true",
                           help="also time mmsegmentation's own model (needs mmsegmentation installed)")
    benchmark.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    benchmark.set_defaults(func=cmd_benchmark)

    from .eval import add_eval_command
    add_eval_command(commands)
    from .train import add_train_command
    add_train_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..files.images import MAX_MEGAPIXELS_ENV, ImageReadError
    from ..weights.download import CheckpointError
    from ..weights.zoo import UnknownModelError

    if args.debug:  # every failure logged with exc_info (each image's too) is printed in full
        _debug_logging()
    limit = getattr(args, "max_megapixels", None)
    previous_limit = os.environ.get(MAX_MEGAPIXELS_ENV)
    if limit is not None:  # read by every image read, reader threads included
        os.environ[MAX_MEGAPIXELS_ENV] = f"{limit:g}"
    try:
        return args.func(args)
    except (CheckpointError, UnknownModelError, ImageReadError, ValueError, RuntimeError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}" + ("" if args.debug else "  (gcnet --debug ... shows the traceback)"),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if limit is not None:  # main() may run again in this process (tests, embedding)
            if previous_limit is None:
                os.environ.pop(MAX_MEGAPIXELS_ENV, None)
            else:
                os.environ[MAX_MEGAPIXELS_ENV] = previous_limit


def _debug_logging() -> None:
    """gcnet_core's log records, debug ones and their tracebacks included, on stderr."""
    logger = logging.getLogger("gcnet_core")
    logger.setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        if getattr(handler, "gcnet_debug", False):
            logger.removeHandler(handler)  # a previous main() in this process: its stream may be gone
    handler = logging.StreamHandler(sys.stderr)
    handler.gcnet_debug = True
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
