"""Training speed and memory at the Cityscapes recipe (512x1024 crops, batch 2; docs/training.md).

Runs the real training step (SGD, poly lr, decode + 0.4 aux CE) on random crops and
reports crops/s and peak CUDA memory for each precision, beside the published fp32
figures (5.8 GB R50 / 9.2 GB R101 on a V100). All variants run in one process, so
their ratios are comparable:  python benchmarks/train_bench.py [--depths 50 101]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from gcnet_core import build_model, get_entry
from gcnet_core.train.recipe import build_optimizer, total_loss

PUBLISHED_GB = {50: 5.8, 101: 9.2}


def run(depth: int, precision: str, channels_last: bool, with_cp: bool, fused: bool, iters: int, warmup: int,
        batch: int, crop: tuple[int, int]) -> tuple[float, float]:
    entry = get_entry(f"gcnet_r{depth}-d8_4xb2-40k_cityscapes-512x1024")
    torch.manual_seed(0)
    model = build_model(entry, with_auxiliary_head=True)
    model.init_weights()
    model.backbone.with_cp = with_cp
    model = model.cuda().train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, 0.01, 0.9, 5e-4, fused=fused)
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
    image = torch.randn(batch, 3, *crop, device="cuda")
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    label = torch.randint(0, 19, (batch, *crop), device="cuda")
    start = 0.0
    for step in range(warmup + iters):
        if step == warmup:  # cuDNN autotuning (and its scratch memory) happens during the warm-up
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
        context = torch.autocast("cuda", dtype=dtype) if dtype else contextlib.nullcontext()
        with context:
            decode, aux = model.forward_train(image)
        loss, _, _ = total_loss(decode, aux, label, model.align_corners)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / iters
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, optimizer
    torch.cuda.empty_cache()
    return batch / seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=int, nargs="+", default=[50, 101])
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, crop 512x1024, batch {args.batch}")
    print(f"{'model':6} {'precision':9} {'layout':13} {'with_cp':7} {'SGD':7} {'crops/s':>8} {'peak GB':>8} "
          f"{'vs fp32 speed':>13}")
    # (precision, channels_last, with_cp, fused SGD)
    variants = [("fp32", False, False, False), ("bf16", False, False, False), ("bf16", False, False, True),
                ("fp16", False, False, True), ("bf16", True, False, True), ("bf16", True, True, True)]
    for depth in args.depths:
        baseline = None
        for precision, channels_last, with_cp, fused in variants:
            rate, peak = run(depth, precision, channels_last, with_cp, fused, args.iters, args.warmup, args.batch,
                             (512, 1024))
            baseline = baseline or rate
            layout = "channels_last" if channels_last else "NCHW"
            sgd = "fused" if fused else "foreach"
            print(f"R{depth:<5} {precision:9} {layout:13} {str(with_cp):7} {sgd:7} {rate:8.1f} {peak:8.2f} "
                  f"{rate / baseline:12.2f}x")
        print(f"       published fp32 (V100, 4 GPUs x 2 crops): {PUBLISHED_GB[depth]} GB")


if __name__ == "__main__":
    main()
