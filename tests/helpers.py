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
    from gcnet_core.zoo import get_entry

    entry = get_entry(name)
    dataset = dataclasses.replace(entry.dataset, base_scale=base_scale)
    if crop is not None:
        dataset = dataclasses.replace(dataset, crop_size=crop, slide_stride=stride)
    return dataclasses.replace(entry, dataset=dataset)


def register_entry(monkeypatch, entry) -> None:
    """Make ``get_entry`` (and so init_model and the CLI) resolve to ``entry``."""
    from gcnet_core import zoo

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
