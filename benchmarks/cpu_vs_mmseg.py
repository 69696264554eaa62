"""CPU time of one image through our inference vs mmsegmentation's ``inference_model``.

Same random checkpoint (official file layout), same image file, same thread count, one
process. Each side runs its full single-image API from the file path: ours
``gcnet_core.inference(model, path)`` (labels + confidence), mmseg's
``mmseg.apis.inference_model(model, path)`` (test pipeline, data preprocessor, predict,
resize to the original size). Rounds alternate ours/mmseg so that drift in the machine's
speed hits both alike. Needs the ``.refvenv`` (see ``tests/reference/mmseg_reference.py``)::

    .refvenv/bin/python benchmarks/cpu_vs_mmseg.py --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reference"))
IMAGES = ROOT.parent / "shared" / "data" / "images"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="gcnet_r50-d8_4xb4-80k_ade20k-512x512")
    parser.add_argument("--image", type=Path, default=None,
                        help="image file (default: coffee.png resized to 375x500, i.e. a "
                             "512x683 network input like an ADE20K/VOC validation image)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import cv2
    import numpy as np
    import torch

    import mmseg_reference as R
    R.import_mmseg()
    import gcnet_core

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    with tempfile.TemporaryDirectory() as tmp:
        image = args.image
        if image is None:
            image = Path(tmp) / "coffee_375x500.png"
            src = cv2.imread(str(IMAGES / "coffee.png"), cv2.IMREAD_COLOR)
            cv2.imwrite(str(image), cv2.resize(src, (500, 375), interpolation=cv2.INTER_AREA))
        checkpoint = Path(tmp) / "random.pth"
        R.make_random_checkpoint(args.model, checkpoint, seed=args.seed)
        ref_model = R.build_model(args.model, checkpoint)
        ours = gcnet_core.init_model(args.model, checkpoint=checkpoint, device="cpu", fast=False)  # exact

        def run_ours():
            return gcnet_core.inference(ours, image)

        def run_mmseg():
            return R.inference(ref_model, image)

        for _ in range(args.warmup):
            a, b = run_ours(), run_mmseg()
        agree = float((a.labels.astype(np.int64) == b.labels).mean())

        times = {"ours": [], "mmseg": []}
        for _ in range(args.repeats):
            for key, fn in (("ours", run_ours), ("mmseg", run_mmseg)):
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)

    h, w = b.labels.shape
    print(f"model {args.model}, image {h}x{w} (network input {b.input_shape[0]}x{b.input_shape[1]}), "
          f"torch {torch.__version__}, {threads} threads, warm-up {args.warmup}, {args.repeats} repeats")
    print(f"labels agree on {agree:.6f} of pixels")
    for key in ("ours", "mmseg"):
        t = times[key]
        print(f"{key:>6}: median {1000 * statistics.median(t):8.1f} ms/image   "
              f"mean {1000 * statistics.mean(t):8.1f}   min {1000 * min(t):8.1f}")
    ratio = statistics.median(times["mmseg"]) / statistics.median(times["ours"])
    best = min(times["mmseg"]) / min(times["ours"])
    print(f"mmseg / ours: median {ratio:.3f}, best-of {best:.3f}  (> 1 means ours is faster; "
          f"on a shared machine the best-of ratio is the steadier one)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
