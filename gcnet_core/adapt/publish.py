"""The live head as an ordinary checkpoint: mmsegmentation's layout with the project's classes.

``{'meta', 'state_dict'}`` with the official keys, the starting model's weights everywhere
but ``decode_head.conv_seg`` (the head's, one row per project class in the project's order)
and ``auxiliary_head.conv_seg`` (matching rows kept by class name, new ones initialised as
mmsegmentation does), and a ``meta`` naming the project's classes and palette (0.x and 1.x
spellings) and the zoo entry (``base_model``). So ``init_model(name, checkpoint=...)``,
``gcnet predict --checkpoint`` (which then writes the project's class ids), ``gcnet eval``
and mmsegmentation with ``num_classes`` set to the project's count all load it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch

from ..version import read_version
from ..files.atomic import FILE_MODE, fsync_dir, temporary_beside
from .head import LinearHead, class_key

if TYPE_CHECKING:
    from ..model.classes import ClassSet
    from ..weights.zoo import ZooEntry

DECODE, AUXILIARY = "decode_head.conv_seg", "auxiliary_head.conv_seg"


def adapted_state(base_state: Mapping[str, torch.Tensor], head: LinearHead,
                  model_classes: Sequence[str]) -> dict[str, torch.Tensor]:
    """The starting weights with both classifiers in the head's (the project's) classes."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in base_state.items()}
    weight, bias = head.conv_seg()
    state[f"{DECODE}.weight"], state[f"{DECODE}.bias"] = weight.contiguous(), bias.contiguous()
    if f"{AUXILIARY}.weight" in state:
        state[f"{AUXILIARY}.weight"], state[f"{AUXILIARY}.bias"] = _auxiliary_rows(
            state[f"{AUXILIARY}.weight"], state.get(f"{AUXILIARY}.bias"), model_classes, head.class_names)
    return state


def _auxiliary_rows(weight: torch.Tensor, bias: torch.Tensor | None, model_classes: Sequence[str],
                    project_classes: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of the training-time head for the project's classes: the model's row by name,
    else mmsegmentation's initialisation (normal std 0.01, zero bias), seeded."""
    generator = torch.Generator().manual_seed(0)
    new_weight = torch.empty((len(project_classes), *weight.shape[1:]), dtype=weight.dtype)
    new_weight.normal_(0.0, 0.01, generator=generator)
    new_bias = torch.zeros(len(project_classes), dtype=weight.dtype)
    known = {class_key(name): i for i, name in enumerate(model_classes)}
    for row, name in enumerate(project_classes):
        source = known.get(class_key(name))
        if source is not None and source < weight.shape[0]:
            new_weight[row] = weight[source]
            if bias is not None:
                new_bias[row] = bias[source]
    return new_weight, new_bias


def adapted_meta(entry: "ZooEntry", classes: "ClassSet", details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``meta``: the project's class set (0.x and 1.x spellings), base model, provenance."""
    names = [str(n) for n in classes.names]
    palette = [[int(c) for c in rgb] for rgb in classes.palette]
    return {
        "CLASSES": names,
        "PALETTE": palette,
        "dataset_meta": {"classes": list(names), "palette": [list(p) for p in palette]},
        "base_model": entry.name,
        "adapted": dict(details or {}),
        "gcnet_annotator_version": read_version(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_adapted_checkpoint(path: str | os.PathLike, base_state: Mapping[str, torch.Tensor], head: LinearHead,
                             entry: "ZooEntry", model_classes: Sequence[str], classes: "ClassSet",
                             details: Mapping[str, Any] | None = None) -> Path:
    """Write the checkpoint atomically (a temporary beside ``path``, fsync'ed, renamed)."""
    if tuple(classes.names) != tuple(head.class_names):
        raise ValueError("the head was fitted for other classes than the ones to publish")
    path = Path(path)
    checkpoint = {"meta": adapted_meta(entry, classes, details),
                  "state_dict": adapted_state(base_state, head, model_classes)}
    fd, temporary = temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(checkpoint, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    fsync_dir(path.parent)
    return path


__all__ = ["adapted_meta", "adapted_state", "write_adapted_checkpoint"]
