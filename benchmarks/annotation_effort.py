"""Annotation effort: seconds and actions per finished mask for three ways of working.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/annotation_effort.py [--images 8] [--seeds 3]
[--sets flat,photo] [--folder IMAGES --labels MASKS] [--window] [--json OUT] [--keep-models DIR]
[--sequence IMAGES [--sequence-size PX] [--sequence-sets flat,photo] [--threads N]]``.

A simulated annotator corrects masks with the app's own tool functions (the real
``MaskDocument``, ``app.canvas.model_tools.snap_stroke``) until >= 98 % of the pixels are
right, always taking the largest wrong region next:

| way | starts from | tools |
| --- | --- | --- |
| polygons | an empty mask | polygon |
| manual | the pre-segmentation's labels (no model output kept) | polygon, brush, flood fill, snap from the stroke alone |
| model | the pre-segmentation with the model's output | manual's, pick (K), next likely class (N), snap with the model's labels and rankings |

Placement is what a person can do from what they see (``effort.placement``: never the
ground truth): brush drags along the whole middle of the wrong region from 1 px up,
polygons traced where the region borders other classes and cutting straight through pixels
already of its class, snap strokes inside the object at the brush width. Foreseeable
tools (polygon, brush, fill, pick, next) are weighed by their cost plus the work they
leave; the snap (GrabCut, seeded: ``cv2.setRNGSeed`` before each call) is tried, paid,
kept or undone, never re-run. A way never costs more than the way it extends (a person
with more tools can work as with fewer). The model: GCNet R50 fine-tuned for a few CPU
iterations on other images of the set, tuned once per set; the seeds draw the annotated
images and GrabCut's random state.

The cost model is frozen in ``effort/costs.py`` (its docstring holds the table, the README the
same table; a change re-runs every way and is said in the commit). Every snap attempt is paid
in full whether kept or not; one that is undone adds Ctrl+Z.
Image sets: ``flat`` (flat colours, hard edges: GrabCut's best case), ``photo`` (the same
geometry textured with the real photos of ``shared/data/images``) and ``--folder``
(real photos with class-index masks of the same stem; tuned on the first half, annotated
on the second). ``--window``: the real window's wait from "next image" to a mask
(``effort.window``). ``--sequence``: the images of a set with a class the model does not know,
corrected one after another with live adaptation off and on, its re-labelled boundaries on the
image's edges and, beside them, where the 1/8 grid puts them (``effort.sequence``;
``--sequence-sets flat,photo`` adds the same scenes photo-textured; its timing goals at the real
size are ``benchmarks/adapt_bench.py``'s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from effort import images, live, sequence  # noqa: E402
from effort.costs import SECONDS, SECONDS_PER_BRUSH_WIDTH  # noqa: E402
from effort.model import FrozenModel, finetuned_model  # noqa: E402
from effort.report import print_summary, seed_figures, summary  # noqa: E402
from effort.ways import WAYS  # noqa: E402
from gcnet_core.files.images import ImageReadError  # noqa: E402

TRAIN_SEED = 1000  # the synthetic images a set's model is tuned on: seeds 1000, 1001, ...


def annotated_seeds(seed: int, count: int) -> range:
    """The synthetic images annotated under ``seed``: 100 * seed + 0, 1, ..."""
    return range(100 * seed, 100 * seed + count)


def synthetic_figures(name: str, args, work: Path) -> dict:
    train_pairs = images.image_set(name, range(TRAIN_SEED, TRAIN_SEED + args.train_images))
    model = finetuned_model(work / name, train_pairs, images.CLASSES, args.iters, images.SIZE, keep=args.keep_models)
    per_seed = []
    for seed in range(args.seeds):
        pairs = images.image_set(name, annotated_seeds(seed, args.images))
        per_seed.append(seed_figures(pairs, FrozenModel(model), images.CLASSES, WAYS, seed))
    figures = summary(per_seed)
    print_summary(f"{name} set", figures)
    return figures


def folder_figures(args, work: Path) -> dict:
    pairs = images.labelled_folder(args.folder, args.labels)
    if len(pairs) < 2:
        raise ValueError(f"{args.folder}: {len(pairs)} labelled image; the model is tuned on the first half, "
                         "so at least 2 are needed")
    half = len(pairs) // 2
    classes = images.folder_classes(pairs)
    side = max(max(gt.shape) for _, gt in pairs)
    model = finetuned_model(work / "folder", pairs[:half], classes, args.iters, side, keep=args.keep_models)
    state = FrozenModel(model)
    figures = summary([seed_figures(pairs[half:], state, classes, WAYS, seed) for seed in range(args.seeds)])
    print_summary(str(args.folder), figures)
    return figures


def sequence_figures(args, work: Path, kind: str = "flat") -> dict:
    """The sequence mode over ``args.seeds`` seeds of ``args.sequence`` images each, on the
    sequence set's ``kind`` (flat colours or photo-textured, :data:`effort.images.SEQUENCE_SETS`);
    its starting model is fitted on images of the same kind."""
    size = args.sequence_size
    known, make = images.CLASSES, images.SEQUENCE_SETS[kind]
    train = [make(s, size, unknown=False) for s in range(TRAIN_SEED, TRAIN_SEED + args.start_images)]
    model = live.starting_model(known, train, size)
    per_seed = []
    for seed in range(args.seeds):
        pairs = [make(s, size) for s in annotated_seeds(seed, args.sequence)]
        per_seed.append(sequence.sequence_seed(model, images.SEQUENCE_CLASSES, pairs, work / f"sequence-{kind}", seed))
        sequence.print_seed(f"sequence mode ({kind}), seed {seed}", per_seed[-1])
    figures = sequence.summary(per_seed)
    sequence.print_summary(f"sequence mode ({kind}, {size}x{size}, the starting model's classifier fitted on "
                           f"{args.start_images} images without {images.UNKNOWN!r})", figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="synthetic images annotated per seed (0: none)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds: the images drawn and GrabCut's random state")
    parser.add_argument("--sets", default=",".join(images.SETS), help="synthetic sets, comma-separated: flat, photo")
    parser.add_argument("--train-images", type=int, default=12, help="synthetic images each set's model is tuned on")
    parser.add_argument("--iters", type=int, default=60, help="fine-tuning iterations (CPU)")
    parser.add_argument("--keep-models", type=Path, help="keep the fine-tuned models here and reuse them")
    parser.add_argument("--folder", type=Path, help="a labelled folder of images ...")
    parser.add_argument("--labels", type=Path, help="... and its class-index masks (same stems)")
    parser.add_argument("--window", action="store_true", help="also time next image -> mask in the window")
    parser.add_argument("--window-images", type=int, default=4)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--sequence", type=int, default=0, help="sequence mode: images per seed (0: off)")
    parser.add_argument("--sequence-size", type=int, default=images.SEQUENCE_SIZE, help="its images' side in pixels")
    parser.add_argument("--start-images", type=int, default=4,
                        help="images without the unknown class the starting classifier is fitted on")
    parser.add_argument("--sequence-sets", default="flat",
                        help="the sequence set's kinds, comma-separated: flat (flat colours), photo (photo-textured)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    unknown = set(sets) - set(images.SETS)
    if unknown:
        parser.error(f"unknown sets {sorted(unknown)}")
    if not 1 <= args.seeds <= 10 or not 0 <= args.images <= 100 or not 0 <= args.sequence <= 100:
        parser.error("--seeds goes from 1 to 10, --images and --sequence from 0 to 100 (each seed draws its own "
                     "100 images)")
    if args.sequence and not (args.sequence_size >= 32 and args.start_images >= 1):
        parser.error("--sequence-size is 32 pixels at least, --start-images 1 at least")
    sequence_sets = [s for s in args.sequence_sets.split(",") if s]
    if set(sequence_sets) - set(images.SEQUENCE_SETS) or not sequence_sets:
        parser.error(f"--sequence-sets takes {', '.join(images.SEQUENCE_SETS)}, not {args.sequence_sets!r}")
    if args.threads:
        torch.set_num_threads(args.threads)
    if bool(args.folder) != bool(args.labels):
        parser.error("--folder and --labels go together")
    report = {"command": " ".join(["benchmarks/annotation_effort.py", *(argv if argv is not None else sys.argv[1:])]),
              "cost_model": {"seconds": SECONDS, "seconds_per_brush_width": SECONDS_PER_BRUSH_WIDTH}}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ.setdefault("GCNET_CACHE_DIR", str(work / "cache"))
        os.environ.setdefault("GCNET_DATA_DIR", str(work / "data"))
        try:
            if args.images > 0:
                for name in sets:
                    report[name] = synthetic_figures(name, args, work)
            if args.folder:
                report["folder"] = folder_figures(args, work)
            if args.sequence:
                for kind in sequence_sets:
                    report["sequence" if kind == "flat" else f"sequence {kind}"] = sequence_figures(args, work, kind)
        except (ValueError, OSError, ImageReadError) as error:
            print(f"annotation_effort: {error}", file=sys.stderr)
            return 2
        if args.window:
            from effort.window import window_latency

            report["window"] = window_latency(work, args.window_images)
    if args.json:
        from gcnet_core.files.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(report, indent=2))
        print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
