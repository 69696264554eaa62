"""The optimisation recipe of docs/training.md: SGD, poly learning rate, the two-head loss, BN freezing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..model.classes import IGNORE_INDEX


def poly_lr(iteration: int, max_iters: int, lr: float, min_lr: float, power: float = 0.9) -> float:
    """lr(i) = (lr0 - min)·(1 - i/max_iters)^power + min, i 0-based (mmseg's per-iteration poly)."""
    progress = min(max(iteration, 0), max_iters) / max_iters
    return (lr - min_lr) * (1.0 - progress) ** power + min_lr


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def build_optimizer(model: nn.Module, lr: float, momentum: float, weight_decay: float,
                    fused: bool | None = None) -> torch.optim.SGD:
    """Plain SGD with weight decay on every parameter (no paramwise rules, as the zoo configs).

    ``fused`` updates all parameters in one kernel instead of one per tensor group (the
    same arithmetic); ``None`` means on CUDA, where launch overhead is what it saves.
    """
    if fused is None:
        fused = next(model.parameters()).device.type == "cuda"
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                           fused=True if fused else None)  # None: torch picks foreach


def seg_loss(logits: torch.Tensor, label: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Cross-entropy as mmsegmentation averages it (docs/training.md, "Loss").

    The 1/8-resolution logits are resized to the label first; the per-pixel loss is then
    averaged over *all* pixels, ignored ones counting as zeros, so the loss is
    (sum over valid pixels) / (N·H·W) -- not a mean over valid pixels only.
    """
    logits = F.interpolate(logits.float(), size=label.shape[-2:], mode="bilinear", align_corners=align_corners)
    per_pixel = F.cross_entropy(logits, label.long(), reduction="none", ignore_index=IGNORE_INDEX)
    return per_pixel.mean()


def total_loss(decode: torch.Tensor, aux: torch.Tensor | None, label: torch.Tensor, align_corners: bool,
               aux_weight: float = 0.4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(decode CE + aux_weight · aux CE, decode CE, aux CE); aux CE is 0 without that head."""
    loss_decode = seg_loss(decode, label, align_corners)
    loss_aux = seg_loss(aux, label, align_corners) if aux is not None else torch.zeros_like(loss_decode)
    return loss_decode + aux_weight * loss_aux, loss_decode, loss_aux


def set_train_mode(model: nn.Module, freeze_bn: bool) -> None:
    """``model.train()``; with ``freeze_bn`` every BatchNorm stays in eval mode.

    Frozen BN normalises with its running statistics and does not update them, while its
    weight and bias still receive gradients: what small per-GPU batches need.
    """
    model.train()
    if freeze_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


__all__ = ["build_optimizer", "poly_lr", "seg_loss", "set_lr", "set_train_mode", "total_loss"]
