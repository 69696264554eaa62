"""``init_model``: a zoo name (and optionally a checkpoint file) to a ready-to-run GCNet (a
:class:`~gcnet_core.predict.loaded.LoadedModel`)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from .model.build import build_model
from .predict.fast import FastOptions
from .predict.loaded import LoadedModel
from .predict.onnx_engine import default_cpu_engine
from .predict.predictor import resolve_device, resolve_precision
from .weights.checkpoint import checkpoint_num_classes, load_weights, read_checkpoint
from .weights.class_meta import classes_from_meta
from .weights.download import CheckpointError, ensure_checkpoint
from .weights.zoo import get_entry


def init_model(name: str | None = None, checkpoint: str | Path | None = None, device: str = "auto",
               precision: str = "auto", progress: Callable[[int, int | None], None] | None = None,
               with_auxiliary_head: bool = False, fast: bool | None = None,
               fast_options: FastOptions | None = None) -> LoadedModel:
    """Build the zoo entry ``name`` and load its weights, ready for :func:`inference`.

    Without ``checkpoint`` the official file is taken from the cache or downloaded. With one,
    official files, bare state dicts, ``module.``-prefixed keys and our own fine-tuned
    checkpoints are accepted; a fine-tuned file names its base entry, so ``name`` may be
    omitted, and its class set (stored in ``meta``) replaces the entry's.

    ``precision="auto"`` is fp16 on a GPU (closer to fp32 than bf16, with overflowing passes redone
    in fp32) and fp32 on the CPU.
    ``fast`` (default: on CUDA) selects :class:`~gcnet_core.predict.fast.FastPredictor` (with
    ``fast_options``); on the CPU, ``fast=None`` with fp32 runs the network through onnxruntime
    (:class:`~gcnet_core.predict.onnx_engine.EnginePredictor`, ``$GCNET_CPU_ENGINE=torch`` turns
    it off); ``fast=False, precision="fp32"`` is the exact reference path on any device.
    """
    if name is None and checkpoint is None:
        raise ValueError("init_model needs a zoo model name, a checkpoint, or both")
    entry = get_entry(name) if name else None
    path = Path(checkpoint) if checkpoint is not None else ensure_checkpoint(entry, progress)
    state, meta = read_checkpoint(path)
    if entry is None:
        base = meta.get("base_model")
        if not base:
            raise CheckpointError(f"{path} does not say which zoo model it was trained from; pass the model name too")
        entry = get_entry(str(base))
    num_classes = checkpoint_num_classes(state)
    classes = entry.classes
    if num_classes != entry.num_classes and meta.get("base_model"):
        classes = classes_from_meta(meta, num_classes) or classes  # our fine-tuned class set
    # Anything else must fit the entry as it is; load_weights names what does not.
    network = build_model(entry, classes, with_auxiliary_head)
    notes = load_weights(network, state, source=str(path))
    target = resolve_device(device)
    precision = resolve_precision(target, precision)  # reject an unusable precision before any work
    network.to(target).eval()
    return LoadedModel(network, entry, classes, _backend(target, fast, precision), precision, fast_options,
                       checkpoint_path=path, checkpoint_meta=meta, load_notes=tuple(notes))


def _backend(device: torch.device, fast: bool | None, precision: str) -> str:
    """``fast`` (default: on CUDA) is the fast path. The CPU default runs the network through
    onnxruntime (predict/onnx_engine.py, exported once per weights); ``fast=False`` keeps the
    exact torch path, bit-identical to mmsegmentation."""
    if fast or (fast is None and device.type == "cuda"):
        return "fast"
    if device.type == "cpu" and fast is None and precision == "fp32" and default_cpu_engine() == "onnxruntime":
        return "onnxruntime"
    return "exact"


__all__ = ["LoadedModel", "build_model", "classes_from_meta", "init_model"]
