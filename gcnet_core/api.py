"""``init_model``: a zoo name (and optionally a checkpoint file) to a ready-to-run GCNet."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .model import GCNet
from .model.build import build_model
from .predict.predictor import resolve_device, resolve_precision
from .predict.onnx_engine import default_cpu_engine
from .weights.checkpoint import checkpoint_num_classes, load_weights, read_checkpoint
from .weights.class_meta import classes_from_meta
from .weights.download import CheckpointError, ensure_checkpoint
from .weights.zoo import get_entry


def init_model(name: str | None = None, checkpoint: str | Path | None = None, device: str = "auto",
               precision: str = "auto", progress: Callable[[int, int | None], None] | None = None,
               with_auxiliary_head: bool = False, fast: bool | None = None) -> GCNet:
    """Build the zoo entry ``name`` and load its weights, ready for :func:`inference`.

    Without ``checkpoint`` the official file is taken from the cache or downloaded. With one,
    official files, bare state dicts, ``module.``-prefixed keys and our own fine-tuned
    checkpoints are accepted; a fine-tuned file names its base entry, so ``name`` may be
    omitted, and its class set (stored in ``meta``) replaces the entry's.

    ``precision="auto"`` is fp16 on a GPU (closer to fp32 than bf16, with overflowing passes redone
    in fp32) and fp32 on the CPU.
    ``fast`` (default: on CUDA) selects :class:`~gcnet_core.predict.fast.FastPredictor`; on the
    CPU, ``fast=None`` with fp32 runs the network through onnxruntime
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
    classes = None
    if num_classes != entry.num_classes and meta.get("base_model"):
        classes = classes_from_meta(meta, num_classes)  # our fine-tuned class set
    # Anything else must fit the entry as it is; load_weights names what does not.
    model = build_model(entry, classes, with_auxiliary_head)
    notes = load_weights(model, state, source=str(path))
    target = resolve_device(device)
    precision = resolve_precision(target, precision)  # reject an unusable precision before any work
    model.to(target).eval()
    model.checkpoint_path, model.checkpoint_meta, model.load_notes = path, meta, notes
    model.precision = precision
    model.fast = target.type == "cuda" if fast is None else bool(fast)
    # The CPU default runs the network through onnxruntime (predict/onnx_engine.py, exported
    # once per weights); fast=False keeps the exact torch path, bit-identical to mmsegmentation.
    model.engine = default_cpu_engine() if target.type == "cpu" and fast is None and precision == "fp32" else None
    return model


__all__ = ["build_model", "classes_from_meta", "init_model"]
