"""Safe checkpoint loading: ``weights_only`` unpickling, key and shape checks with readable errors.

Accepted files: mmsegmentation's official layout (``{'meta', 'state_dict'}``), bare state
dicts, keys prefixed ``module.`` (a DDP-wrapped model saved as is), and the checkpoints our
own training writes (official layout with extra ``meta`` entries), and those of mmengine /
mmcv training runs (read by :mod:`.unpickle`: unknown objects stay inert and are dropped). A
file whose unpickling would call any function is refused: nothing in it is executed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from .download import CheckpointError
from .unpickle import RefusedCall, load_restricted

AUX_PREFIX = "auxiliary_head."


class UnsafeCheckpointError(CheckpointError):
    """The file needs arbitrary Python objects to unpickle; we refuse to execute it."""


class IncompatibleCheckpointError(CheckpointError):
    """The weights do not fit the model: missing or unexpected keys, or other shapes."""


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint file into ``(state_dict, meta)`` without executing any code in it."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a training run's extra objects, or no checkpoint at all: see below
        obj = _read_restricted(path)
    return split_checkpoint(obj, source=str(path))


def _read_restricted(path: Path) -> Any:
    """The restricted unpickler (:mod:`.unpickle`): other classes inert, any call refused."""
    try:
        return load_restricted(path)
    except RefusedCall as refused:
        raise UnsafeCheckpointError(
            f"refused to load {path}: it needs arbitrary Python objects (it would call "
            f"{refused.name}) to unpickle, which could run code. It was not executed. Use a "
            "checkpoint that holds only tensors and plain data (mmsegmentation's published files, mmengine/mmcv training checkpoints and ours do)."
        ) from None
    except Exception as error:  # torch and pickle raise many kinds for corrupt data
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint: the file is truncated, corrupt or of another "
            f"kind ({_first_line(error)})"
        ) from None


def split_checkpoint(obj: Any, source: str = "checkpoint") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Find the state dict (official layout or bare) and strip a DDP ``module.`` prefix."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{source} holds a {type(obj).__name__}, not a state dict")
    meta = obj.get("meta") if isinstance(obj.get("meta"), Mapping) else {}
    state = obj["state_dict"] if isinstance(obj.get("state_dict"), Mapping) else obj
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{source} contains no weights (no tensors in its state dict)")
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors, dict(meta)


def checkpoint_num_classes(state_dict: Mapping[str, torch.Tensor]) -> int | None:
    """Classes the checkpoint's decode head predicts (rows of ``conv_seg``)."""
    weight = state_dict.get("decode_head.conv_seg.weight")
    return int(weight.shape[0]) if weight is not None else None


def checkpoint_depth(state_dict: Mapping[str, torch.Tensor]) -> int | None:
    """ResNet depth of the checkpoint's backbone (layer3 has 6 blocks for R50, 23 for R101)."""
    blocks = {int(k.split(".")[2]) for k in state_dict if k.startswith("backbone.layer3.")}
    return {6: 50, 23: 101}.get(len(blocks)) if blocks else None


def load_weights(model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> list[str]:
    """Load weights strictly except for the auxiliary head; return notes about what was skipped.

    The auxiliary head only matters for training: its weights are dropped when the model
    has none, and left at their initial values (with a note) when the file has none.
    """
    has_aux = any(k.startswith(AUX_PREFIX) for k in model.state_dict())
    notes = []
    state = dict(state_dict)
    if not has_aux:
        state = {k: v for k, v in state.items() if not k.startswith(AUX_PREFIX)}
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if has_aux and missing and all(k.startswith(AUX_PREFIX) for k in missing):
        notes.append(f"{source} has no auxiliary-head weights; that head starts from scratch")
        missing = []
    mismatched = [
        f"{k}: checkpoint {list(state[k].shape)}, model {list(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mismatched:
        raise IncompatibleCheckpointError(_describe_mismatch(source, missing, unexpected, mismatched, state))
    refuse_non_finite(state, source)
    model.load_state_dict(state, strict=False)
    return notes


class NonFiniteWeightsError(CheckpointError):
    """Some weights are NaN or infinite: the file is damaged, or the training that wrote it diverged."""


def refuse_non_finite(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise :class:`NonFiniteWeightsError` naming every floating tensor that holds NaN or Inf
    (such a model would predict one class everywhere without a word)."""
    bad = []
    for key, tensor in state.items():
        # a NaN or Inf makes the sum non-finite: one fast reduction per tensor (isfinite's full-size
        # mask cost seconds per R50 on a busy CPU); only a non-finite sum is looked at value by value
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor.sum())) \
                and not bool(torch.isfinite(tensor).all()):
            count = int((~torch.isfinite(tensor)).sum())
            bad.append(f"{key} ({count} of {tensor.numel()} values)")
    if bad:
        shown = ", ".join(bad[:5]) + (f", ... ({len(bad)} tensors in all)" if len(bad) > 5 else "")
        raise NonFiniteWeightsError(f"refused {source}: non-finite weights (NaN or Inf) in {shown}; the file is "
                                    "damaged or its training diverged")


def _describe_mismatch(source, missing, unexpected, mismatched, state) -> str:
    lines = [f"{source} does not fit this model:"]
    for title, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                        ("mismatched shapes", mismatched)):
        if keys:
            shown = ", ".join(keys[:5]) + (f", ... ({len(keys)} in all)" if len(keys) > 5 else "")
            lines.append(f"  {title}: {shown}")
    classes, depth = checkpoint_num_classes(state), checkpoint_depth(state)
    if classes is not None or depth is not None:
        lines.append(f"  (the file looks like a GCNet R-{depth or '?'} with {classes or '?'} classes)")
    return "\n".join(lines)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
