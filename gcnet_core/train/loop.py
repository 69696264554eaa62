"""The fine-tuning loop: one iteration at a time, validated and checkpointed at intervals.

Everything random is a function of (seed, iteration): the batches (see :mod:`.data`) and
the torch generator, reseeded before every iteration (dropout). A run resumed from
``resume.pth`` therefore continues bit for bit where it stopped. SIGINT/SIGTERM (or the
``stop`` callable) end the run after the iteration in progress, with a checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..data.readers import SegDataset, load_sample_safe
from ..data.transforms import TrainTransform
from ..evaluation.metrics import IoUAccumulator, MetricResult
from ..model.build import build_model
from ..model.classes import ClassSet
from ..predict.acceleration import release_gpu_memory
from ..predict.distributed import device_for_this_process
from ..predict.fast import FastOptions, FastPredictor
from ..predict.predictor import Predictor, resolve_device
from ..weights.checkpoint import checkpoint_num_classes, load_weights, read_checkpoint
from ..weights.class_meta import classes_from_meta
from ..weights.download import ensure_checkpoint
from ..weights.zoo import get_entry
from . import ddp
from .checkpoints import (
    BEST,
    LAST,
    RESUME,
    adapt_classifiers,
    atomic_save,
    build_meta,
    load_resume,
    model_checkpoint,
    restore_rng,
    resume_state,
)
from .config import TrainConfig
from .data import IterationBatches, batch_loader, normalise_batch, project_holdout
from .progress import EventSink, WarningEvents
from .recipe import build_optimizer, poly_lr, set_lr, set_train_mode, total_loss

log = logging.getLogger("gcnet_core.train")


@dataclass
class TrainResult:
    """How a run ended: ``status`` is "done" or "cancelled"."""

    status: str
    iter: int
    best_mIoU: float | None
    best_path: str | None
    last_path: str | None


class StopSignals:
    """SIGINT/SIGTERM ask the loop to stop after the current iteration; a second SIGINT
    interrupts at once. Handlers are only installed from the main thread."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def iteration_seed(seed: int, iteration: int, rank: int) -> int:
    """The torch seed of one iteration on one process (dropout draws)."""
    return int(np.random.SeedSequence([int(seed), int(iteration), int(rank), 0x70C4]).generate_state(1)[0])


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``--amp MODE``: ``auto`` is bf16 where the GPU has it, else fp16."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    if mode == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "fp16" and device.type != "cuda":
        raise ValueError("--amp fp16 needs a CUDA GPU; use bf16 or no --amp on the CPU")
    return torch.float16 if mode == "fp16" else torch.bfloat16


def _precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}[dtype]


def _metrics_dict(result: MetricResult) -> dict[str, Any]:
    return {"mIoU": result.mIoU, "aAcc": result.aAcc, "mAcc": result.mAcc,
            "per_class": {name: dict(v) for name, v in result.per_class.items()}}


class Trainer:
    """One training run on this process (rank): built by :func:`train`."""

    def __init__(self, cfg: TrainConfig, sink: EventSink, ctx: ddp.DistContext,
                 stop: Callable[[], bool] | None = None) -> None:
        self.sink, self.ctx, self.stop = sink, ctx, stop or (lambda: False)
        self.out = Path(cfg.out)
        self.device = ctx.device
        self.resume = load_resume(self.out) if cfg.resume is not False else None
        if cfg.resume and self.resume is None:
            raise FileNotFoundError(f"--resume: no {RESUME} in {self.out}")
        state, meta, entry, source_classes = self._starting_weights(cfg)
        self.entry = entry
        self.cfg = cfg.resolved(entry)
        self.config_text = self.cfg.to_text()
        self.train_set, self.val_set = self._datasets()
        self.classes: ClassSet = self.train_set.classes
        if len(self.classes) == 0:
            raise ValueError(f"{cfg.data_root} defines no classes to train")
        self.model, self.copied = self._build_model(state, source_classes)
        self.bn_frozen = self.cfg.bn_frozen()
        self.net = ddp.wrap(self.model, ctx)
        self.optimizer = build_optimizer(self.model, self.cfg.lr, self.cfg.momentum, self.cfg.weight_decay,
                                         fused=self.cfg.fused_optimizer)
        self.amp = amp_dtype(self.cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp is torch.float16)
        self.start_iter = 0
        self.best: dict[str, Any] = {"mIoU": None, "iter": None, "path": None}
        self.last_metrics: dict[str, Any] = {}
        self.resumed = self.resume is not None
        if self.resume is not None:
            self._restore(self.resume)
            self.resume = None  # the optimizer holds it now; free the copy

    # -------------------------------------------------------------------------- setup
    def _starting_weights(self, cfg: TrainConfig):
        """(state, meta, zoo entry, class set of the weights) to start or resume from."""
        if self.resume is not None:
            path = self.out / LAST
            if not path.is_file():
                raise FileNotFoundError(f"{self.out} has {RESUME} but no {LAST} to resume from")
            state, meta = read_checkpoint(path)
            if int(meta.get("iter", -1)) != int(self.resume["iter"]):
                raise ValueError(f"{LAST} (iteration {meta.get('iter')}) and {RESUME} (iteration "
                                 f"{self.resume['iter']}) in {self.out} do not match; delete {RESUME} "
                                 "to start over")
            entry = get_entry(str(meta["base_model"]))
        elif cfg.checkpoint is not None:
            state, meta = read_checkpoint(cfg.checkpoint)
            base = cfg.model or meta.get("base_model")
            if not base:
                raise ValueError(f"{cfg.checkpoint} does not name its zoo model; pass --model too")
            entry = get_entry(str(base))
        else:
            entry = get_entry(cfg.model)
            state, meta = read_checkpoint(ensure_checkpoint(entry))
        count = checkpoint_num_classes(state)
        classes = classes_from_meta(meta, count)
        if classes is None and count == entry.num_classes:
            classes = entry.classes
        return state, meta, entry, classes

    def _datasets(self) -> tuple[Any, Any]:
        cfg = self.cfg
        no_val = cfg.val_split is not None and str(cfg.val_split).lower() == "none"
        train = SegDataset(cfg.dataset, cfg.data_root, cfg.split)
        self.holdout = "split"  # how the held-out set was made: a split, held-out images or blocks, none
        if cfg.dataset == "project" and cfg.val_split is None:
            train, val, self.holdout = project_holdout(train, cfg.val_share, cfg.seed)
        elif no_val or cfg.val_split is None:
            val = None
        else:
            val = SegDataset(cfg.dataset, cfg.data_root, cfg.val_split, classes=train.classes)
        if len(train) == 0:
            raise ValueError(f"no labelled training images in {cfg.data_root} (split {cfg.split or 'corrected,exported'})")
        return train, (val if val is not None and len(val) > 0 else None)

    def _build_model(self, state, source_classes):
        torch.manual_seed(self.cfg.seed)
        model = build_model(self.entry, self.classes, with_auxiliary_head=True)
        copied: list[str] = list(self.classes.names)
        if self.resume is not None:
            if source_classes is None or list(source_classes.names) != list(self.classes.names):
                raise ValueError(f"the run in {self.out} was for other classes than {self.cfg.data_root} has")
        else:
            model.init_weights()  # what a file lacks (an auxiliary head) starts as mmseg starts it
            generator = torch.Generator().manual_seed(self.cfg.seed)
            state, copied = adapt_classifiers(state, source_classes, self.classes, generator)
        for note in load_weights(model, state, source="starting checkpoint"):
            log.warning(note)
        model = model.to(self.device)
        if self.cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model, copied

    def _restore(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        restore_rng(state)
        self.start_iter = int(state["iter"])
        self.best = dict(state.get("best") or self.best)
        if int(state.get("seed", self.cfg.seed)) != self.cfg.seed:
            log.warning("resuming with seed %d, the run started with %s", self.cfg.seed, state.get("seed"))

    # ------------------------------------------------------------------------ one step
    def step(self, iteration: int, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """One SGD step; returns [loss, loss_decode, loss_aux] (detached)."""
        torch.manual_seed(iteration_seed(self.cfg.seed, iteration, self.ctx.rank))
        set_train_mode(self.net, self.bn_frozen)
        lr = poly_lr(iteration, self.cfg.iters, self.cfg.lr, self.cfg.min_lr, self.cfg.power)
        set_lr(self.optimizer, lr)
        image, label = normalise_batch(batch, self.device)
        if self.cfg.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        autocast = (torch.autocast(self.device.type, dtype=self.amp) if self.amp is not None
                    else contextlib.nullcontext())
        with autocast:
            decode, aux = self.net(image)
        loss, loss_decode, loss_aux = total_loss(decode, aux, label, self.model.align_corners, self.cfg.aux_weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return torch.stack([loss.detach(), loss_decode.detach(), loss_aux.detach()]).float()

    # ---------------------------------------------------------------------- validation
    def validate(self, model: torch.nn.Module | None = None) -> MetricResult:
        """mIoU on the held-out images of the weights trained (or of ``model``, a baseline),
        predicted as ``gcnet predict`` does; each process scores its share and the confusion
        matrices are summed across processes."""
        model = model if model is not None else self.model
        if model is self.model:
            self.ctx.broadcast_buffers(self.model)  # plain-BN (CPU) processes score rank 0's statistics
        model.eval()
        precision = _precision_name(self.amp)
        if self.device.type == "cuda":  # the fast path on a fresh copy of this iteration's weights
            predictor = FastPredictor(model, self.entry, precision, FastOptions(cuda_graphs=False))
        else:
            predictor = Predictor(model, self.entry, precision=precision)
        accumulator = IoUAccumulator(len(self.classes))
        for index in range(self.ctx.rank, len(self.val_set), self.ctx.world_size):
            item = load_sample_safe(self.val_set, index)
            if item is not None:
                accumulator.update(predictor.predict_batch([item[0]])[0].labels, item[1])
        del predictor
        release_gpu_memory()  # the copy's memory goes back before training resumes
        counts = torch.from_numpy(accumulator.state).to(self.device)
        accumulator.load_state(self.ctx.all_reduce_sum(counts).cpu())
        set_train_mode(self.net, self.bn_frozen)
        return accumulator.compute(self.classes.names)

    # ---------------------------------------------------------------------- checkpoints
    def _save(self, iteration: int, result: MetricResult | None) -> None:
        """Write last.pth + resume.pth (and best.pth when the score improved); rank 0 only."""
        improved = False
        if result is not None:
            self.last_metrics = {"iter": iteration, **_metrics_dict(result)}
            best = self.best.get("mIoU")
            improved = not math.isnan(result.mIoU) and (best is None or result.mIoU > best)
            if improved:
                self.best = {"mIoU": result.mIoU, "iter": iteration, "path": str(self.out / BEST)}
        if not self.ctx.is_main:
            return
        meta = build_meta(self.entry, self.classes, iteration, self.last_metrics, self.config_text,
                          {"seed": self.cfg.seed})
        weights = model_checkpoint(self.model, meta)
        items = [(weights, self.out / LAST),
                 (resume_state(iteration, self.optimizer, self.scaler, self.best, self.cfg.seed,
                               self.config_text), self.out / RESUME)]
        if improved:
            items.append((weights, self.out / BEST))
        atomic_save(items)
        self.sink.emit("checkpoint", path=str(self.out / LAST), iter=iteration, kind="last")
        if improved:
            self.sink.emit("checkpoint", path=str(self.out / BEST), iter=iteration, kind="best")

    # ----------------------------------------------------------------------- the loop
    def _start_event(self) -> None:
        fields = self.cfg.to_dict()
        fields.update(
            total_iters=self.cfg.iters, start_iter=self.start_iter, resumed=self.resumed,
            num_train=len(self.train_set), num_val=len(self.val_set) if self.val_set is not None else 0,
            classes=list(self.classes.names), copied_classes=self.copied, world_size=self.ctx.world_size,
            device=str(self.device), bn_frozen=self.bn_frozen, amp=_precision_name(self.amp))
        if self.cfg.dataset == "project":  # a few dozen names: say exactly which images were used
            fields["train_images"] = [sample.name for sample in self.train_set.samples]
            fields["val_images"] = [sample.name for sample in self.val_set.samples] if self.val_set else []
            fields["holdout"] = self.holdout if self.val_set is not None else "none"
        self.sink.emit("start", **fields)

    def run(self) -> TrainResult:
        cfg = self.cfg
        self._start_event()
        batches = IterationBatches(
            self.train_set, TrainTransform(self.entry.dataset.base_scale, cfg.crop),
            cfg.batch_size, cfg.seed, self.ctx.rank, self.ctx.world_size)
        if cfg.val_at_start and self.start_iter == 0 and self.val_set is not None:
            self._val_event(0, self.validate())  # the starting weights: "before" of before/after
            for path in cfg.compare_with:  # other models the run must beat, on the same pixels
                self._baseline_event(path)
        durations: deque[float] = deque(maxlen=20)
        unreadable: set[str] = set()  # training images skipped (this process's share), listed at the end
        iteration = self.start_iter
        tick = time.perf_counter()
        with StopSignals() as signals:
            for batch in batch_loader(batches, self.start_iter, cfg.iters, cfg.workers):
                unreadable.update(batch.pop("unreadable", ()))
                losses = self.step(iteration, batch)
                iteration += 1
                stop_flag = float(signals.signal_name is not None or self.stop())
                reduced = self.ctx.all_reduce_sum(torch.cat([losses, losses.new_tensor([stop_flag])]))
                loss, loss_decode, loss_aux = (reduced[:3] / self.ctx.world_size).tolist()
                stopping = reduced[3].item() > 0
                now = time.perf_counter()
                durations.append(now - tick)
                rate = len(durations) / sum(durations)
                self._iter_event(iteration, loss, loss_decode, loss_aux, rate)
                if not math.isfinite(loss):
                    raise FloatingPointError(f"the loss became {loss} at iteration {iteration}; "
                                             "try a lower --lr")
                at_interval = iteration % cfg.val_interval == 0 or iteration == cfg.iters
                if at_interval:
                    result = self.validate() if self.val_set is not None else None
                    if result is not None:
                        self._val_event(iteration, result)
                    self._save(iteration, result)
                if stopping:
                    if not at_interval:
                        self._save(iteration, None)
                    self.sink.emit("cancelled", iter=iteration, total_iters=cfg.iters,
                                   signal=signals.signal_name, path=str(self.out / LAST),
                                   resume_path=str(self.out / RESUME))
                    return TrainResult("cancelled", iteration, self.best.get("mIoU"), self.best.get("path"),
                                       str(self.out / LAST))
                tick = time.perf_counter()
        self.sink.emit("done", iter=iteration, best_mIoU=self.best.get("mIoU"), best_iter=self.best.get("iter"),
                       best_path=self.best.get("path"), last_path=str(self.out / LAST),
                       unreadable=sorted(unreadable))
        return TrainResult("done", iteration, self.best.get("mIoU"), self.best.get("path"), str(self.out / LAST))

    def baseline_model(self, path: str) -> torch.nn.Module:
        """The checkpoint ``path`` in this run's classes, as a run started from it would begin
        (matching rows kept by name, other rows as mmseg initialises them, seeded)."""
        state, meta = read_checkpoint(path)
        count = checkpoint_num_classes(state)
        source = classes_from_meta(meta, count) or (self.entry.classes if count == self.entry.num_classes else None)
        torch.manual_seed(self.cfg.seed)
        model = build_model(self.entry, self.classes, with_auxiliary_head=True)
        model.init_weights()
        state, _ = adapt_classifiers(state, source, self.classes, torch.Generator().manual_seed(self.cfg.seed))
        for note in load_weights(model, state, source=str(path)):
            log.warning(note)
        return model.to(self.device)

    def _baseline_event(self, path: str) -> None:
        """Score ``path`` on the held-out images: a "baseline" event, which the run's before/after
        takes as its "before" when it scores better than the run's own starting weights."""
        model = self.baseline_model(path)
        result = self.validate(model)
        del model
        release_gpu_memory()
        self.sink.emit("baseline", checkpoint=str(path), mIoU=result.mIoU, aAcc=result.aAcc, mAcc=result.mAcc,
                       per_class={name: dict(v) for name, v in result.per_class.items()})

    def _val_event(self, iteration: int, result: MetricResult) -> None:
        self.sink.emit("val", iter=iteration, mIoU=result.mIoU, aAcc=result.aAcc, mAcc=result.mAcc,
                       per_class={name: dict(v) for name, v in result.per_class.items()})

    def _iter_event(self, iteration: int, loss: float, loss_decode: float, loss_aux: float, rate: float) -> None:
        fields = {"iter": iteration, "total_iters": self.cfg.iters, "loss": loss, "loss_decode": loss_decode,
                  "loss_aux": loss_aux, "lr": self.optimizer.param_groups[0]["lr"], "it_per_s": rate,
                  "eta_s": (self.cfg.iters - iteration) / rate if rate > 0 else None}
        if self.device.type == "cuda":
            fields["gpu_mem_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
        self.sink.emit("iter", **fields)


def train(cfg: TrainConfig, sink: EventSink | None = None, stop: Callable[[], bool] | None = None) -> TrainResult:
    """Run (or resume) the training ``cfg`` describes, in this process and its torchrun peers.

    Events go to ``sink`` (rank 0 only). ``stop`` is polled after every iteration, as are
    SIGINT/SIGTERM; either ends the run with a checkpoint and a "cancelled" event.
    """
    sink = sink or EventSink()
    device = resolve_device(device_for_this_process(cfg.device))
    ctx = ddp.setup(device)
    if not ctx.is_main:
        sink = EventSink()
    # Warnings (e.g. a skipped corrupt image) become events; a silent sink leaves them on stderr.
    handler = WarningEvents(sink) if type(sink) is not EventSink else None
    if handler is not None:
        logging.getLogger("gcnet_core").addHandler(handler)
    try:
        return Trainer(cfg, sink, ctx, stop).run()
    finally:
        if handler is not None:
            logging.getLogger("gcnet_core").removeHandler(handler)
        ctx.close()


__all__ = ["StopSignals", "TrainResult", "Trainer", "amp_dtype", "iteration_seed", "train"]
