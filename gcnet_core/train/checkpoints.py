"""Checkpoints our training writes, and the class-set change of a starting checkpoint.

``last.pth`` / ``best.pth`` are in mmsegmentation's published layout -- ``{'meta',
'state_dict'}`` with the official keys, auxiliary head included, no optimizer -- and hold
only plain Python values and tensors, so ``torch.load(weights_only=True)`` and
:func:`gcnet_core.init_model` (which reads ``meta['base_model']``) load them. What resuming
needs besides the weights (optimizer, scaler, RNG, iteration, best score) goes into
``resume.pth`` beside them. Every file is written to a temporary name, fsync'ed, then
renamed, so each is always whole (old or new). The pair is not one atomic step: the
renames run back to back once both files are on disk, and a kill between them (a window
of microseconds) leaves a new ``last.pth`` beside the previous ``resume.pth``; both record
their iteration, and resuming refuses a pair that differs, saying which files to delete.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..version import read_version
from ..files.atomic import FILE_MODE, link_or_copy, temporary_beside
from ..model.classes import ClassSet

LAST, BEST, RESUME = "last.pth", "best.pth", "resume.pth"
CLASSIFIERS = ("decode_head.conv_seg", "auxiliary_head.conv_seg")
RESUME_FORMAT = 1


# ------------------------------------------------------------------------------ writing
def atomic_save(items: Sequence[tuple[Any, Path]]) -> None:
    """``torch.save`` each object to a temporary file beside its target, then rename them all.

    The renames happen only once every file is fully on disk, one right after the other,
    so a kill leaves the previous set of files or the new one (and no partial file). An
    object given twice (best = last) is written once and hard-linked where possible.
    """
    temps: list[tuple[str, Path]] = []
    written: dict[int, str] = {}
    try:
        for obj, path in items:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = temporary_beside(path)
            temps.append((tmp, path))
            if id(obj) in written:
                os.close(fd)
                os.unlink(tmp)
                link_or_copy(written[id(obj)], tmp)
                continue
            with os.fdopen(fd, "wb") as fh:
                torch.save(obj, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, FILE_MODE)
            written[id(obj)] = tmp
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def build_meta(entry, classes: ClassSet, iteration: int, metrics: Mapping[str, Any] | None,
               config_text: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` of a checkpoint: class set (0.x and 1.x spellings), base model, provenance."""
    names = [str(n) for n in classes.names]
    palette = [[int(c) for c in rgb] for rgb in classes.palette]
    meta = {
        "CLASSES": names,
        "PALETTE": palette,
        "dataset_meta": {"classes": list(names), "palette": [list(p) for p in palette]},
        "base_model": entry.name,
        "iter": int(iteration),
        "metrics": plain(dict(metrics or {})),
        "config": config_text,
        "gcnet_annotator_version": read_version(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    meta.update(plain(dict(extra or {})))
    return meta


def model_checkpoint(model: nn.Module, meta: Mapping[str, Any]) -> dict[str, Any]:
    """``{'meta', 'state_dict'}`` with CPU tensors under the official keys (no ``module.``)."""
    # contiguous: a channels-last run still writes plain NCHW tensors, as official files hold
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    return {"meta": dict(meta), "state_dict": state}


def plain(value: Any) -> Any:
    """Only types ``weights_only`` unpickling accepts: dict/list/str/int/float/bool/None/tensor."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, torch.Tensor) or value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


# ------------------------------------------------------------------------------ resume
def resume_state(iteration: int, optimizer: torch.optim.Optimizer, scaler, best: Mapping[str, Any],
                 seed: int, config_text: str) -> dict[str, Any]:
    """Everything but the weights that continuing at ``iteration`` needs.

    Data order and augmentation are functions of (seed, iteration); the torch generator
    states are stored too (as uint8 tensors) so dropout continues where it stopped.
    """
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = list(torch.cuda.get_rng_state_all())
    return {
        "format": RESUME_FORMAT,
        "iter": int(iteration),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "rng": rng,
        "seed": int(seed),
        "best": plain(dict(best)),
        "config": config_text,
    }


def load_resume(out: Path) -> dict[str, Any] | None:
    """The resume state in ``out`` (None if there is none); weights-only unpickling."""
    path = Path(out) / RESUME
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != RESUME_FORMAT:
        raise ValueError(f"{path} is not a resume state written by this program")
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    rng = state.get("rng") or {}
    if "torch" in rng:
        torch.set_rng_state(rng["torch"])
    if rng.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


# ------------------------------------------------------------------------- class change
def _key(name: str) -> str:
    return name.strip().lower()


def adapt_classifiers(state: Mapping[str, torch.Tensor], source: ClassSet | None, target: ClassSet,
                      generator: torch.Generator | None = None) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Fit a state dict to another class set: new ``conv_seg`` layers, matching rows copied.

    Both classifiers (decode and auxiliary) are re-initialised as mmseg initialises them
    (normal std 0.01, zero bias); then each target class whose name also is a source class
    (compared stripped and case-insensitive) gets that class's row and bias. Every other
    weight is kept. Returns the new state dict and the names copied. A state whose classes
    already are ``target`` (same names, same order) is returned unchanged.
    """
    state = dict(state)
    if source is not None and list(source.names) == list(target.names):
        return state, list(target.names)
    source_names = [_key(n) for n in source.names] if source is not None else []
    copied: list[str] = []
    for prefix in CLASSIFIERS:
        weight_key, bias_key = f"{prefix}.weight", f"{prefix}.bias"
        if weight_key not in state:
            continue
        old_w, old_b = state[weight_key], state.get(bias_key)
        new_w = torch.empty((len(target), *old_w.shape[1:]), dtype=old_w.dtype)
        new_w.normal_(0.0, 0.01, generator=generator)
        new_b = torch.zeros(len(target), dtype=old_w.dtype)
        rows = old_w.shape[0]
        for row, name in enumerate(target.names):
            key = _key(name)
            if key in source_names and source_names.index(key) < rows:
                src = source_names.index(key)
                new_w[row] = old_w[src]
                if old_b is not None:
                    new_b[row] = old_b[src]
                if prefix == CLASSIFIERS[0]:
                    copied.append(name)
        state[weight_key], state[bias_key] = new_w, new_b
    return state, copied


__all__ = ["BEST", "CLASSIFIERS", "LAST", "RESUME", "adapt_classifiers", "atomic_save", "build_meta",
           "load_resume", "model_checkpoint", "plain", "restore_rng", "resume_state"]
