"""Helpers shared by the tests: small-scale zoo entries and random official-layout checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_IMAGES = REPO.parent / "shared" / "data" / "images"
if not SHARED_IMAGES.is_dir():  # a copy of the tree without ../shared (e.g. a GPU machine)
    SHARED_IMAGES = REPO / "resources" / "samples"
WHOLE_ADE = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"
SLIDE_CS = "gcnet_r50-d8_4xb2-40k_cityscapes-769x769"
WHOLE_CS = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"


def small_entry(name: str, base_scale=(64, 48), crop=None, stride=None):
    """A zoo entry whose test scale (and slide window) is shrunk for CPU tests."""
    from gcnet_core.weights.zoo import get_entry

    entry = get_entry(name)
    dataset = dataclasses.replace(entry.dataset, base_scale=base_scale)
    if crop is not None:
        dataset = dataclasses.replace(dataset, crop_size=crop, slide_stride=stride)
    return dataclasses.replace(entry, dataset=dataset)


def register_entry(monkeypatch, entry) -> None:
    """Make ``get_entry`` (and so init_model and the CLI) resolve to ``entry``."""
    from gcnet_core.weights import zoo

    monkeypatch.setitem(zoo._BY_NAME, entry.name, entry)
    monkeypatch.setitem(zoo._BY_NAME, entry.legacy_name, entry)


def random_checkpoint(entry, path: Path, seed: int = 0, prefix: str = "", official: bool = True) -> Path:
    """An official-layout checkpoint with random but non-trivial weights and BN statistics."""
    from gcnet_core.api import build_model

    torch.manual_seed(seed)
    model = build_model(entry, with_auxiliary_head=True)
    model.init_weights()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)  # undo zero_init_residual: every block contributes
                module.bias.normal_(0, 0.1)
        model.decode_head.conv_seg.weight.normal_(0, 0.05)
        model.decode_head.gc_block.channel_add_conv[-1].weight.normal_(0, 0.01)
    state = {prefix + k: v for k, v in model.state_dict().items()}
    obj = {"meta": {"CLASSES": entry.classes.names, "PALETTE": entry.classes.palette}, "state_dict": state}
    torch.save(obj if official else state, path)
    return path


# A tiny, learnable training setup shared by the training and in-app fine-tuning tests:
# 32x32 images with two colour-coded classes (a red textured background, a big green
# square) and the Cityscapes R50 entry shrunk to that size.
TINY_BASE = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"
TINY_SIZE = 32


def tiny_classes():
    from gcnet_core.model.classes import ClassSet

    return ClassSet(("road", "square"), ((200, 60, 60), (40, 200, 40)))


def tiny_entry():
    """The Cityscapes R50 entry with a 32x32 test scale and crop."""
    from gcnet_core.weights import zoo

    entry = zoo.get_entry(TINY_BASE)
    recipe = dataclasses.replace(entry.dataset, base_scale=(TINY_SIZE, TINY_SIZE), crop_size=(TINY_SIZE, TINY_SIZE))
    return dataclasses.replace(entry, dataset=recipe)


def tiny_sample(seed: int, size: int = TINY_SIZE):
    """(RGB image, label): a square covering 36% of the image (class 1) on a textured background (class 0)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    label = np.zeros((size, size), np.uint8)
    side = int(size * 0.6)
    top, left = rng.integers(0, size - side + 1, 2)
    label[top:top + side, left:left + side] = 1
    image = np.asarray(tiny_classes().palette, np.int16)[label] + rng.integers(-40, 40, (size, size, 3))
    return np.clip(image, 0, 255).astype(np.uint8), label


def tiny_start_checkpoint(path: Path, entry=None) -> Path:
    """A randomly initialised R50 (Cityscapes classes) in the official layout.

    Residual branches end in a zero BN weight, as mmcv's ``ResNet(zero_init_residual=True)``
    starts them: each block begins as the identity, which lets a from-scratch R50 learn
    the colour classes in a couple of dozen steps (with all-ones it needs 4-5 times more).
    """
    from gcnet_core.api import build_model
    from gcnet_core.model.resnet import Bottleneck

    entry = entry or tiny_entry()  # another entry: e.g. benchmarks/annotation_effort.py's size
    torch.manual_seed(0)
    model = build_model(entry, with_auxiliary_head=True)
    model.init_weights()
    for module in model.modules():
        if isinstance(module, Bottleneck):
            torch.nn.init.zeros_(module.bn3.weight)
    meta = {"CLASSES": list(entry.classes.names), "PALETTE": [list(c) for c in entry.classes.palette]}
    torch.save({"meta": meta, "state_dict": model.state_dict()}, path)
    return path


def tiny_gcnet_script(folder: Path) -> Path:
    """A ``gcnet`` entry script with the tiny entry registered (a new process has no monkeypatch)."""
    script = folder / "gcnet_tiny.py"
    script.write_text(
        "import dataclasses, sys\n"
        "from gcnet_core.weights import zoo\n"
        f"e = zoo.get_entry({TINY_BASE!r})\n"
        f"d = dataclasses.replace(e.dataset, base_scale=({TINY_SIZE}, {TINY_SIZE}), "
        f"crop_size=({TINY_SIZE}, {TINY_SIZE}))\n"
        "e = dataclasses.replace(e, dataset=d)\n"
        "zoo._BY_NAME[e.name] = zoo._BY_NAME[e.legacy_name] = e\n"
        "from gcnet_core.cli.main import main\n"
        "sys.exit(main())\n")
    return script


def small_scale_gcnet_command(name: str, base_scale: tuple[int, int]) -> list[str]:
    """A ``gcnet`` command line (for the window's batch runs) with zoo entry ``name`` at a tiny
    test scale: the worker process cannot see monkeypatches, so it registers the entry itself."""
    import sys

    code = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from helpers import small_entry; "
            "from gcnet_core.weights import zoo; e = small_entry(sys.argv.pop(1), "
            f"base_scale={tuple(base_scale)!r}); "
            "zoo._BY_NAME[e.name] = zoo._BY_NAME[e.legacy_name] = e; "
            "from gcnet_core.cli.main import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, str(Path(__file__).resolve().parent), name]

