"""The default CPU call against plain onnxruntime running the same network, same process.

Candidates, run in turn within each round so that drift in a shared machine's speed hits
all alike:

* ``inference``: ``gcnet_core.inference(model, image)`` with the default CPU engine
  (onnxruntime): labels, confidence, class rankings;
* ``inference+features``: the same call with ``keep_features=True`` (the decode head's
  last features kept, float16);
* ``plain``: the recipe anyone would write around onnxruntime: a one-output export of the
  same backbone and decode head, OpenCV keep-ratio resize, numpy normalisation, the
  session, torch's bilinear resize to the network input (and to the image), then
  ``softmax`` + ``max`` (confidence and labels);
* ``plain, two-output graph``: the plain recipe on the engine's own graph (logits and
  features out), to tell the graph's cost from the Python around it;
* ``old rankings step``: what the call spent before the rankings came from the network's
  grid, alone: rankings pooled from the full-size logits (``rankings_from_logits`` of a
  [1, C, H, W] map), to show what moving them saved.

Reports each candidate's median and spread (min-max) over the rounds, and the medians'
ratios to ``plain``, in wall time and in this process's CPU time (less disturbed by other
programs on a shared machine: waiting for a core is not counted); the labels of
``inference`` and ``plain`` are compared too. Random weights
(``tests/helpers.random_checkpoint``) are fine: the arithmetic is the same::

    .venv/bin/python benchmarks/cpu_call.py --threads 2 --rounds 10 --warmup 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
IMAGES = REPO.parent / "shared" / "data" / "images"


def plain_recipe(model, onnx_path: Path, threads: int, session=None):
    """A closure segmenting an RGB image the plain way through a one-output export (or
    through ``session``, whose first output is the logits)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from gcnet_core.predict.network_input import MEAN_RGB, STD_RGB, resize_keep_ratio

    if session is None:
        session = _plain_session(model, onnx_path, threads)
    mean, std = np.array(MEAN_RGB, np.float32), np.array(STD_RGB, np.float32)
    align = model.network.align_corners

    def run(image: np.ndarray):
        resized = resize_keep_ratio(image, model.entry.test_scale)
        x = ((resized.astype(np.float32) - mean) / std).transpose(2, 0, 1)[None]
        small = session.run(None, {"image": np.ascontiguousarray(x)})[0]
        logits = F.interpolate(torch.from_numpy(small), size=resized.shape[:2], mode="bilinear", align_corners=align)
        if resized.shape[:2] != image.shape[:2]:
            logits = F.interpolate(logits, size=image.shape[:2], mode="bilinear", align_corners=align)
        confidence, labels = torch.softmax(logits[0], dim=0).max(dim=0)
        return labels.to(torch.uint8).numpy(), confidence.numpy()

    return run


def _plain_session(model, onnx_path: Path, threads: int):
    """A one-output export of the backbone and decode head, in an onnxruntime session set up as ours."""
    import torch

    from gcnet_core.predict.onnx_engine import import_onnxruntime

    class Network(torch.nn.Module):
        def __init__(self, network):
            super().__init__()
            self.backbone, self.decode_head = network.backbone, network.decode_head

        def forward(self, x):
            return self.decode_head(self.backbone(x))

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's notice, as ours
        torch.onnx.export(Network(model.network).eval(), (torch.zeros(1, 3, 64, 64),), str(onnx_path), dynamo=False,
                          opset_version=17, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h8", 3: "w8"}})
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="gcnet_r50-d8_4xb4-80k_ade20k-512x512")
    parser.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"),
                        help="image size (default 512 512: a 512x512 network input for ADE20K)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import cv2
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from gcnet_core import inference, init_model
    from gcnet_core.predict.rankings import rankings_from_logits
    from gcnet_core.weights.zoo import get_entry
    from helpers import random_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        from gcnet_core import paths

        paths.set_cache_folder(Path(tmp) / "cache")  # a fresh engine export, not a user's cache
        checkpoint = random_checkpoint(get_entry(args.model), Path(tmp) / "random.pth")
        model = init_model(args.model, checkpoint, device="cpu")
        assert model.backend == "onnxruntime", model.backend
        source = cv2.cvtColor(cv2.imread(str(IMAGES / "coffee.png")), cv2.COLOR_BGR2RGB)
        image = cv2.resize(source, (args.size[1], args.size[0]), interpolation=cv2.INTER_AREA)
        plain = plain_recipe(model, Path(tmp) / "plain.onnx", args.threads)
        plain_two_outputs = plain_recipe(model, Path(tmp) / "unused.onnx", args.threads,
                                         session=model.predictor().session)
        full_logits = torch.randn(1, len(model.classes), *image.shape[:2])
        candidates = {
            "inference": lambda: inference(model, image),
            "inference+features": lambda: inference(model, image, keep_features=True),
            "plain": lambda: plain(image),
            "plain, two-output graph": lambda: plain_two_outputs(image),
            "old rankings step": lambda: rankings_from_logits(full_logits, image.shape[:2]),
        }
        for _ in range(args.warmup):
            for run in candidates.values():
                run()
        ours, theirs = inference(model, image), plain(image)
        agree = float(np.mean(ours.labels == theirs[0]))
        times: dict[str, list[float]] = {name: [] for name in candidates}
        cpu: dict[str, list[float]] = {name: [] for name in candidates}
        for round_index in range(args.rounds):
            order = list(candidates.items())
            order = order[round_index % len(order):] + order[:round_index % len(order)]  # rotate who goes first
            for name, run in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)

    print(f"model {args.model} (random weights), image {args.size[0]}x{args.size[1]}, {args.threads} threads, "
          f"{args.rounds} rounds; labels inference vs plain agree on {agree:.4%} of pixels")
    for label, table in (("wall", times), ("cpu", cpu)):
        plain_median = statistics.median(table["plain"])
        for name, values in table.items():
            median = statistics.median(values)
            print(f"  {label:4s} {name:24s} median {median:7.3f} s  (min {min(values):.3f}, max {max(values):.3f})"
                  f"  {median / plain_median:5.3f}x plain")
        for name in ("inference", "inference+features", "plain, two-output graph"):
            ratios = [a / b for a, b in zip(table[name], table["plain"])]
            print(f"  {label:4s} per-round {name}/plain: median {statistics.median(ratios):.3f}, "
                  f"min {min(ratios):.3f}, max {max(ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
