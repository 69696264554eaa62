"""Every value the annotator remembers between runs, as one table (no Qt here).

Each :class:`Setting` says where it is stored, its type, default and allowed values; the
QSettings store (:class:`app.settings.store.AppSettings`), Preferences and the fine-tune form read
their defaults and ranges from here. A value read back that is of the wrong type, out of
range or not one of the choices (an older version's, a hand-edited file) is the default:
a settings file can never stop the window from starting.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gcnet_core.predict.predictor import PRECISIONS
from gcnet_core.project.feature_cache import DEFAULT_DISK_MB
from gcnet_core.train.config import PRESETS, TrainConfig

DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")  # View ▸ Theme
_FINETUNE = PRESETS["finetune"]
_VAL_SHARE = next(f.default for f in fields(TrainConfig) if f.name == "val_share")


@dataclass(frozen=True)
class Setting:
    """One remembered value. ``type`` is str, int, float, bool or Path (a folder or None)."""

    name: str  # what the code asks for: settings.get("autosave_ms")
    key: str  # where QSettings keeps it ("preferences/autosave_ms"); never renamed, or it is forgotten
    type: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""

    def validated(self, value: Any) -> Any:
        """``value`` (as set, or as read back: INI files give strings) as this setting's type;
        ValueError when it is of the wrong type, out of range or not one of the choices."""
        value = _as_type(self.type, value)
        if self.minimum is not None and not value >= self.minimum:  # NaN fails too
            raise ValueError(f"{self.name}: {value!r} is below {self.minimum}")
        if self.maximum is not None and not value <= self.maximum:
            raise ValueError(f"{self.name}: {value!r} is above {self.maximum}")
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.name}: {value!r} is not one of {', '.join(self.choices)}")
        return value

    def stored(self, value: Any) -> Any:
        """The plain value QSettings keeps for a valid ``value`` (a folder as its text, none as "")."""
        if self.type is Path:
            return str(value) if value is not None else ""
        return value


def _as_type(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ValueError(f"{value!r} is not true or false")
    if kind is Path:
        if value is None or isinstance(value, (str, Path)):
            return Path(value) if value else None
        raise ValueError(f"{value!r} is not a folder")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{value!r} is not text")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"{value!r} is not a number")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return kind(value)  # int("12"), float("0.5"); ValueError for "twelve"


SETTINGS: tuple[Setting, ...] = (
    # -- project
    Setting("last_folder", "project/last_folder", Path, None, description="The folder open when the window closed"),
    Setting("last_images", "project/last_images", str, "",
            description="The image each folder was left at (JSON: folder -> image), to reopen it there"),
    # -- model (the model panel; Preferences sets where the next session starts)
    Setting("model_name", "model/name", str, "", description="The zoo entry of the selected model"),
    Setting("model_checkpoint", "model/checkpoint", str, "",
            description='The checkpoint file of the selected model when it is not a zoo entry ("": the entry)'),
    Setting("model_label", "model/label", str, "",
            description='The selected fine-tuned version\'s or imported file\'s id ("": a zoo entry)'),
    Setting("device", "model/device", str, "auto", choices=DEVICES,
            description="Where the model runs: auto is CUDA when there is one"),
    Setting("precision", "model/precision", str, "auto", choices=PRECISIONS,
            description="Auto: half precision through the fast path on a GPU, exact fp32 on the CPU"),
    Setting("tta", "model/tta", bool, False, description="Multi-scale + flip prediction"),
    # -- view
    Setting("opacity", "view/opacity", float, 0.5, 0.0, 1.0, description="How opaque the mask is drawn over the image"),
    Setting("theme", "view/theme", str, "system", choices=THEMES,
            description="System follows the desktop's light or dark preference"),
    Setting("brush_size", "view/brush_size", int, 20, 1, 1000, description="The brush's diameter in image pixels"),
    Setting("confidence_threshold", "view/confidence_threshold", float, 0.5, 0.0, 1.0,
            description="Mark low confidence as ignore (I) sets predicted pixels below this confidence to ignore"),
    # -- preferences
    Setting("cache_folder", "preferences/cache_folder", str, "",
            description="Empty: the default folder. Checkpoints already downloaded stay where they are "
                        "(move them over, or they are downloaded again)."),
    Setting("autosave_ms", "preferences/autosave_ms", int, 1000, 100, 600_000,
            description="How long after a change the mask is written to disk"),
    Setting("welcome_shown", "preferences/welcome_shown", bool, False, description="The welcome was shown once"),
    # -- work ahead (the model segments images before they are asked for)
    Setting("segment_on_open", "workahead/on_open", bool, True,
            description="Pre-segment an image without a fresh prediction when it opens"),
    Setting("work_ahead", "workahead/enabled", bool, True,
            description="Pre-segment the next images of the list in the background"),
    # -- live adaptation (the classifier re-fitted on the done images as a person works)
    Setting("live_adaptation", "adapt/live", bool, True,
            description="Re-fit the model's classifier on your done images as you work, keep it only when it "
                        "scores better on images it was not fitted on, and re-label the untouched images"),
    Setting("feature_cache_mb", "adapt/feature_cache_mb", int, DEFAULT_DISK_MB, 64, 1_000_000,
            description="Disk space per project for the image features each pre-segmentation keeps, which live "
                        "adaptation re-labels from (about 6 MB per 770x512 ADE20K image, 32 MB per Cityscapes "
                        "image; past the limit the least recently used go first)"),
    # -- fine-tune form (iterations, validation interval, batch and crop: the training device's preset for
    #    the base model, app/finetune/runs.device_defaults, until a person changes them)
    Setting("finetune_iters", "finetune/iters", int, int(_FINETUNE["iters"]), 1, 1_000_000,
            description="Training iterations (steps of one batch)"),
    Setting("finetune_batch_size", "finetune/batch_size", int, 2, 1, 64,
            description="Images per step; below 4, BatchNorm statistics stay as they are"),
    Setting("finetune_crop_height", "finetune/crop_height", int, 512, 16, 4096, description="Training crop height"),
    Setting("finetune_crop_width", "finetune/crop_width", int, 512, 16, 4096, description="Training crop width"),
    Setting("finetune_lr", "finetune/lr", float, float(_FINETUNE["lr"]), 1e-5, 1.0,
            description="Initial learning rate (poly schedule down to 1e-5)"),
    Setting("finetune_val_share", "finetune/val_share", float, _VAL_SHARE, 0.0, 0.9,
            description="Share of the corrected images held out to measure the model "
                        "(at least one once there are 2; a single image holds out a quarter of itself)"),
    Setting("finetune_val_interval", "finetune/val_interval", int, int(_FINETUNE["val_interval"]), 1, 1_000_000,
            description="Validate and save a checkpoint every N iterations"),
    Setting("finetune_device", "finetune/device", str, "auto", choices=DEVICES, description="Where training runs"),
)

SETTING: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}

__all__ = ["DEVICES", "SETTING", "SETTINGS", "THEMES", "Setting"]
