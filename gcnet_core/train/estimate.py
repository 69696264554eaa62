"""How long a training run will take, from a few real steps timed before it starts.

:func:`estimate_run` builds the run exactly as :func:`gcnet_core.train.train` would (same
weights, data, crops, device), times a couple of training iterations and one held-out
prediction, and multiplies: ``setup + iters * step + validations * held-out images * prediction``.
Nothing is written: the weights it stepped are thrown away. ``gcnet train --estimate``
runs it and emits one "estimate" event.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from ..data.transforms import TrainTransform
from ..predict.predictor import resolve_device
from . import ddp
from .config import TrainConfig
from .data import IterationBatches, Subset
from .loop import Trainer
from .progress import EventSink


@dataclass(frozen=True)
class RunEstimate:
    """Measured parts of a run and what they add up to for its settings."""

    setup_s: float  # loading the weights and the images, building the model
    step_s: float  # one training iteration (after a warm-up one)
    val_image_s: float  # predicting one held-out image (0 without held-out images)
    iters: int
    val_interval: int
    num_val: int  # held-out images
    device: str

    @property
    def validations(self) -> int:
        """Times the held-out images are scored: before the first step, then every interval and at the end."""
        if self.num_val == 0:
            return 0
        return 1 + self.iters // self.val_interval + (1 if self.iters % self.val_interval else 0)

    @property
    def total_s(self) -> float:
        return self.setup_s + self.iters * self.step_s + self.validations * self.num_val * self.val_image_s

    def to_event(self) -> dict:
        fields = dataclasses.asdict(self)
        fields.update(validations=self.validations, total_s=self.total_s)
        return fields

    @classmethod
    def from_event(cls, event: dict) -> "RunEstimate":
        """The estimate an "estimate" event carries (its derived fields are recomputed)."""
        return cls(**{f.name: event[f.name] for f in dataclasses.fields(cls)})


def estimate_run(cfg: TrainConfig, steps: int = 2) -> RunEstimate:
    """Time ``steps`` iterations of the run ``cfg`` describes (the first one warms up and is
    not counted when there are more) and one prediction on a held-out image."""
    started = time.perf_counter()
    ctx = ddp.DistContext(device=resolve_device(cfg.device))  # one process, as the app runs it
    trainer = Trainer(dataclasses.replace(cfg, resume=False), EventSink(), ctx)
    run = trainer.cfg
    batches = IterationBatches(trainer.train_set, TrainTransform(trainer.entry.dataset.base_scale, run.crop),
                               run.batch_size, run.seed)
    first = batches[0]
    setup_s = time.perf_counter() - started
    timings = []
    for iteration in range(max(steps, 1)):
        batch = first if iteration == 0 else batches[iteration]
        batch.pop("unreadable", None)
        tick = time.perf_counter()
        trainer.step(iteration, batch).tolist()  # .tolist(): waits for the device to finish the step
        timings.append(time.perf_counter() - tick)
    step_s = min(timings[1:]) if len(timings) > 1 else timings[0]
    num_val = len(trainer.val_set) if trainer.val_set is not None else 0
    val_image_s = 0.0
    if num_val:
        trainer.val_set = Subset(trainer.val_set, [0])
        tick = time.perf_counter()
        trainer.validate()
        val_image_s = time.perf_counter() - tick
    return RunEstimate(setup_s, step_s, val_image_s, run.iters, run.val_interval, num_val, str(trainer.device))


__all__ = ["RunEstimate", "estimate_run"]
