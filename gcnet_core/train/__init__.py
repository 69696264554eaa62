"""Fine-tuning GCNet: mmsegmentation's recipe, exact resume, clean cancel, JSON events, DDP.

Public API: :class:`TrainConfig` (with ``TrainConfig.from_options(preset="finetune", ...)``, and
:func:`finetune_preset` choosing the preset for a device), :func:`train`, :func:`estimate_run` (the
time a run will take, from two timed steps), :func:`adapt_classifiers` and the ``gcnet train``
command (:mod:`gcnet_core.cli.train`).

Files written in ``out``: ``last.pth`` and ``best.pth`` (official layout, loadable with
``gcnet_core.init_model(checkpoint=path)``) and ``resume.pth`` (optimizer, scaler, RNG,
iteration, best score). Events (``--progress jsonl``, one JSON object per line)::

    {"event": "start", <resolved TrainConfig fields>, "total_iters", "start_iter", "resumed",
     "num_train", "num_val", "classes", "copied_classes", "world_size", "device", "bn_frozen", "amp",
     "train_images", "val_images" (projects only: relative paths)}
    {"event": "iter", "iter", "total_iters", "loss", "loss_decode", "loss_aux", "lr", "it_per_s",
     "eta_s", "gpu_mem_mb" (CUDA only)}
    {"event": "val", "iter", "mIoU", "aAcc", "mAcc", "per_class": {name: {"IoU", "Acc"}}}
                                       (percent; null if undefined; iter 0 = the starting weights,
                                        with --val-at-start)
    {"event": "checkpoint", "path", "iter", "kind": "last" | "best"}
    {"event": "warning", "message"}                                   (e.g. a corrupt image skipped)
    {"event": "done", "iter", "best_mIoU", "best_iter", "best_path", "last_path"}
    {"event": "cancelled", "iter", "total_iters", "signal", "path", "resume_path"}
    {"event": "error", "message", "type"}
    {"event": "estimate", "setup_s", "step_s", "val_image_s", "iters", "val_interval", "num_val", "device",
     "validations", "total_s"}                     (``--estimate`` only: no training, nothing written)

``iter`` counts completed iterations (1-based).
"""

from .checkpoints import adapt_classifiers
from .config import PRESETS, TrainConfig, finetune_preset
from .estimate import RunEstimate, estimate_run
from .loop import TrainResult, train

__all__ = ["PRESETS", "RunEstimate", "TrainConfig", "TrainResult", "adapt_classifiers", "estimate_run",
           "finetune_preset", "train"]
