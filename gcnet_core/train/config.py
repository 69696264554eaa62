"""What a training run does, as plain data: :class:`TrainConfig` and its presets.

Defaults are the mmsegmentation recipe of docs/training.md (SGD 0.01, momentum 0.9, weight decay
5e-4, poly 0.9 down to 1e-4, decode CE + 0.4 aux CE). Values left as ``None`` are taken
from the zoo entry by :meth:`TrainConfig.resolved` (its schedule, batch per GPU, crop).
The ``finetune`` preset is for a few dozen labelled images: smaller learning rate, short
schedule, BatchNorm statistics frozen when the per-GPU batch is too small to estimate them;
``finetune-cpu`` is the same recipe shortened to minutes on a laptop (:func:`finetune_preset`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

DATASET_KINDS = ("cityscapes", "ade20k", "voc", "project")
AMP_MODES = ("off", "auto", "fp16", "bf16")
FREEZE_BN_MODES = ("auto", "on", "off")

#: Split trained on when none is given (VOC: the 10,582-image train+aug list, docs/datasets.md).
DEFAULT_TRAIN_SPLITS = {"cityscapes": "train", "ade20k": "training", "voc": "trainaug",
                        "project": "corrected,exported"}  # project: image states with human labels
#: Split validated on when none is given; a project holds out a share of its images instead.
DEFAULT_VAL_SPLITS = {"cityscapes": "val", "ade20k": "validation", "voc": "val", "project": None}

#: Below this many images per GPU, ``freeze_bn="auto"`` keeps BN in eval mode.
SMALL_BATCH = 4

PRESETS: dict[str, dict[str, Any]] = {
    # A few dozen images: the pretrained features must survive, so a 10x smaller step and
    # a short schedule; BN statistics of 1-3 images per GPU would be noise, so keep them.
    # Mixed precision where there is a GPU (nothing changes on the CPU).
    "finetune": {"lr": 1e-3, "min_lr": 1e-5, "iters": 500, "val_interval": 50, "freeze_bn": "auto", "amp": "auto"},
}
# The same on a CPU, sized to finish in minutes instead of hours. Measured (ADE20K R50, torch
# with 2 threads): a step on one 256x256 crop takes 12 s of CPU time, about 6 s on two free cores,
# against 59 s for the GPU recipe's two 512x512 crops; so 60 steps ~ 6 min where 500 would be ~4 h.
PRESETS["finetune-cpu"] = {**PRESETS["finetune"], "iters": 60, "val_interval": 20, "batch_size": 1,
                           "crop": (256, 256)}


def finetune_preset(device_type: str) -> str:
    """The fine-tuning preset for where training runs: the full one on a GPU ("cuda"), the
    short one on small crops anywhere else."""
    return "finetune" if device_type == "cuda" else "finetune-cpu"


@dataclass
class TrainConfig:
    """One training run. ``None`` means "the zoo entry's value" (see :meth:`resolved`)."""

    out: str
    data_root: str
    dataset: str = "project"
    model: str | None = None  # zoo name; may be omitted when ``checkpoint`` is one of ours
    checkpoint: str | None = None  # starting weights; None = the official zoo file
    split: str | None = None
    val_split: str | None = None  # "none" disables validation
    val_share: float = 0.1  # projects: share of images held out for validation
    iters: int | None = None
    batch_size: int | None = None  # per GPU (per process)
    crop: tuple[int, int] | None = None  # (h, w)
    lr: float = 0.01
    min_lr: float = 1e-4
    power: float = 0.9
    momentum: float = 0.9
    weight_decay: float = 5e-4
    aux_weight: float = 0.4
    seed: int = 0
    workers: int = 2
    val_interval: int | None = None  # also the checkpoint interval; default iters / 10
    val_at_start: bool = False  # score the starting weights first (iteration 0): a before/after pair
    compare_with: tuple[str, ...] = ()  # with val_at_start: checkpoints also scored first ("baseline" events)
    device: str = "auto"
    amp: str = "off"
    channels_last: bool = False  # NHWC activations (measured: no consistent gain at 512x1024)
    fused_optimizer: bool | None = None  # one fused SGD kernel; None = on CUDA
    freeze_bn: str = "off"
    preset: str | None = None
    resume: bool | None = None  # None: resume when ``out`` holds a resume state

    def __post_init__(self) -> None:
        if self.dataset not in DATASET_KINDS:
            raise ValueError(f"dataset must be one of {DATASET_KINDS}, not {self.dataset!r}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"amp must be one of {AMP_MODES}, not {self.amp!r}")
        if self.freeze_bn not in FREEZE_BN_MODES:
            raise ValueError(f"freeze_bn must be one of {FREEZE_BN_MODES}, not {self.freeze_bn!r}")
        if self.model is None and self.checkpoint is None:
            raise ValueError("training needs a zoo model name, a checkpoint of ours, or both")
        if self.crop is not None:
            self.crop = (int(self.crop[0]), int(self.crop[1]))
        self.compare_with = tuple(str(path) for path in self.compare_with)
        for name in ("iters", "batch_size", "val_interval"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0.0 <= self.val_share < 1.0:
            raise ValueError(f"val_share must be in [0, 1), got {self.val_share}")

    @classmethod
    def from_options(cls, preset: str | None = None, **options: Any) -> "TrainConfig":
        """Recipe defaults, then the preset's values, then every option that is not None."""
        values: dict[str, Any] = {}
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
            values.update(PRESETS[preset])
        values.update({k: v for k, v in options.items() if v is not None})
        return cls(preset=preset, **values)

    def resolved(self, entry) -> "TrainConfig":
        """A copy with every ``None`` filled in from the zoo ``entry``."""
        iters = self.iters or entry.iterations
        batch = self.batch_size or entry.dataset.batch_per_gpu
        split = self.split if self.split is not None else DEFAULT_TRAIN_SPLITS[self.dataset]
        val_split = self.val_split if self.val_split is not None else DEFAULT_VAL_SPLITS[self.dataset]
        return dataclasses.replace(
            self, model=entry.name, iters=iters, batch_size=batch, crop=self.crop or entry.crop_size,
            split=split, val_split=val_split, val_interval=self.val_interval or max(1, iters // 10))

    def bn_frozen(self) -> bool:
        """Whether BatchNorm layers run in eval mode (running statistics kept, affine trained)."""
        if self.freeze_bn == "auto":
            return (self.batch_size or SMALL_BATCH) < SMALL_BATCH
        return self.freeze_bn == "on"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples as lists)."""
        data = dataclasses.asdict(self)
        data["crop"] = list(self.crop) if self.crop else None
        data["compare_with"] = list(self.compare_with)
        return data

    def to_text(self) -> str:
        """The config as JSON text, stored in checkpoints' ``meta['config']``."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


__all__ = ["AMP_MODES", "DATASET_KINDS", "DEFAULT_TRAIN_SPLITS", "DEFAULT_VAL_SPLITS", "FREEZE_BN_MODES",
           "PRESETS", "SMALL_BATCH", "TrainConfig", "finetune_preset"]
