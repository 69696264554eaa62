"""``gcnet predict``: images and folders segmented into mask files (:mod:`gcnet_core.predict.folder`).

Exit codes: 0 every mask written, 1 some inputs could not be segmented (listed on stderr, and
in the ``done`` event with ``--progress jsonl``), 2 no images found or a bad request.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from ..files.images import DEFAULT_MAX_MEGAPIXELS, find_images
from ..files.masks import MASK_FORMATS
from ..files.outputs import mark_output_folder
from ..predict.distributed import shard_for_this_process
from ..predict.features import feature_version
from ..predict.folder import segment_files
from ..project.feature_cache import DEFAULT_DISK_MB, FeatureCache, content_key
from ..project.predictions import StoredPrediction, save_prediction
from .common import add_model_options, load_model
from .events import JsonLinesSink
from .outputs import check_writable, output_names


def add_predict_command(subparsers) -> None:
    """Register ``gcnet predict`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("predict", help="segment images and folders into mask PNGs")
    add_model_options(sub)
    sub.add_argument("--out", required=True, metavar="DIR")
    sub.add_argument("--format", default="index", choices=MASK_FORMATS)
    sub.add_argument("--tta", action="store_true", help="multi-scale + flip (slower, a little better)")
    sub.add_argument("--batch-size", type=int, default=1, help="images of equal size per network pass")
    sub.add_argument("--readers", type=int, metavar="N", help="image-decoding threads (default: from the CPU count)")
    sub.add_argument("--writers", type=int, metavar="N", help="mask-writing threads (default: from the CPU count)")
    sub.add_argument("--skip-existing", action="store_true", help="resume: keep masks already written")
    sub.add_argument("--predictions", metavar="DIR",
                     help="also keep each prediction (confidence, top-5 class rankings) as DIR/<name>.npz, "
                          "as the annotator does for its model-aware tools")
    sub.add_argument("--model-id", metavar="ID", help="the model name the prediction files record "
                                                       "(default: --model)")
    sub.add_argument("--features", metavar="DIR",
                     help="also keep each image's decode-head features (what live adaptation re-labels from) "
                          "in the feature cache DIR, as the annotator does in its project's .gcnet/features")
    sub.add_argument("--features-mb", type=float, default=DEFAULT_DISK_MB, metavar="MB",
                     help=f"the feature cache's size limit on disk (default {DEFAULT_DISK_MB}; the least "
                          "recently used files go first)")
    sub.add_argument("--max-megapixels", type=float, metavar="MP",
                     help="refuse images larger than this many million pixels, from their header "
                          f"(default {DEFAULT_MAX_MEGAPIXELS:g}; 0: no limit)")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_argument("--progress", choices=("bar", "jsonl"), default="bar",
                     help="jsonl: one JSON event per line on stdout (start, model, image, done) for programs")
    sub.add_argument("--relative-to", metavar="ROOT",
                     help="mirror loose image files' paths relative to ROOT under --out (a project root)")
    sub.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders (recursive)")
    sub.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

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
    model = load_model(args, fast=False if args.exact else None)
    if args.format == "cityscapes-labelids" and len(model.classes) != 19:
        print("error: --format cityscapes-labelids needs a Cityscapes model (19 classes)", file=sys.stderr)
        return 2
    mark_output_folder(out_dir, "gcnet predict")  # a project scan does not list these masks as photos
    if report:  # what the mask values mean (a fine-tuned model may have its own classes)
        report.emit("model", classes=list(model.classes.names),
                    palette=[list(color) for color in model.classes.palette])
    failures: list[tuple[Path, str]] = []
    written = 0
    keeper = FeatureKeeper(args.features, args.features_mb, model) if args.features else None
    outcomes = segment_files(model, todo, targets, args.format, batch_size=args.batch_size, tta=args.tta,
                             readers=args.readers, writers=args.writers,
                             also_write=_extra_writer(_sidecar_writer(sidecars, model, args.model_id or args.model),
                                                      keeper),
                             max_megapixels=args.max_megapixels, keep_features=keeper is not None)
    with tqdm(total=len(todo), desc="segmenting", unit="img", disable=args.quiet or report is not None) as bar:
        for done, outcome in enumerate(outcomes, 1):
            bar.update(1)
            if outcome.ok:
                written += 1
            else:
                failures.append((outcome.source, outcome.error))
            if outcome.note:
                (tqdm.write if report is None else _stderr)(f"{outcome.source}: {outcome.note}")
            problem = keeper.new_problem() if keeper else None
            if problem:  # once: the masks are written all the same
                (tqdm.write if report is None else _stderr)(f"warning: {problem}")
                if report:
                    report.emit("warning", message=problem)
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

    names = tuple(model.classes.names)

    def write(item) -> None:
        result = item.result
        save_prediction(sidecars[item.source],
                        StoredPrediction(result.labels, result.confidence, result.rankings, names, model_id))

    return write


class FeatureKeeper:
    """``--features``: each image's features into a :class:`FeatureCache` folder (disk only),
    keyed by the image file's content and the model's feature version. Runs in the writer
    threads; the first disk problem is kept for the main loop to say once."""

    def __init__(self, folder: str | Path, limit_mb: float, model) -> None:
        self.cache = FeatureCache(folder, memory_mb=0, disk_mb=limit_mb)  # this process reads none back
        self.version = feature_version(model.network, model.entry)
        self.problem: str | None = None
        self._said = False
        self._lock = threading.Lock()

    def __call__(self, item) -> None:
        try:
            key = content_key(item.source)
        except OSError as error:  # the image went away meanwhile: its mask is written all the same
            _stderr(f"note: features of {item.source} not kept: {error}")
            return
        problem = self.cache.put(key, self.version, item.result.features)
        if problem:
            with self._lock:
                self.problem = self.problem or problem

    def new_problem(self) -> str | None:
        """The disk problem, the first time it is asked for after it happened."""
        with self._lock:
            if self.problem is None or self._said:
                return None
            self._said = True
            return self.problem


def _extra_writer(*writers):
    """One ``also_write`` running each of ``writers`` that is not None (None when none is)."""
    active = [writer for writer in writers if writer is not None]
    if not active:
        return None

    def write(item) -> None:
        for writer in active:
            writer(item)

    return write


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


__all__ = ["add_predict_command", "run"]
