"""Interactive pre-segmentation on a worker QThread that keeps the model loaded.

torch releases the GIL inside its kernels, so the window stays responsive while the
network runs. Requests are queued; the model is (re)loaded only when the configuration
changes (another entry, checkpoint, device or precision).

A full pass also keeps the decode head's last features it computed anyway in the open
project's :class:`~gcnet_core.project.feature_cache.FeatureCache` (``InferenceService.feature_cache``),
keyed by the image file's content and the model's feature version, for live adaptation;
a cache that cannot write to disk (a full disk) is said once per project
(``cache_problem``), and the features stay in memory.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from gcnet_core.api import init_model
from gcnet_core.files.images import ImageReadError
from gcnet_core.model.classes import ClassSet
from gcnet_core.predict import running
from gcnet_core.predict.acceleration import release_gpu_memory
from gcnet_core.predict.features import FeatureMap, feature_version
from gcnet_core.predict.preview import preview_inference
from gcnet_core.predict.stopping import PassStopped, StopToken, stoppable
from gcnet_core.project.feature_cache import FeatureCache, content_key

log = logging.getLogger("gcnet_annotator.inference")


@dataclass(frozen=True)
class ModelConfig:
    """Which network to run and how: what init_model and inference need."""

    name: str  # zoo entry (1.x name)
    checkpoint: Path | None = None  # None: the official file from the cache
    device: str = "auto"
    precision: str = "auto"
    tta: bool = False
    label: str = ""  # what the UI and the project record call it (a fine-tuned version id)

    @property
    def model_id(self) -> str:
        return self.label or self.name

    def load_key(self) -> tuple:
        return (self.name, str(self.checkpoint) if self.checkpoint else None, self.device, self.precision)


@dataclass
class InferenceRequest:
    request_id: int
    image: Path
    config: ModelConfig
    preview: bool = False  # a coarse pass at a fraction of the test scale (gcnet_core.predict.preview)
    features: FeatureCache | None = None  # where a full pass keeps the image's features (None: nowhere)


@dataclass
class InferenceResult:
    request_id: int
    image: Path
    config: ModelConfig
    labels: np.ndarray
    confidence: np.ndarray
    classes: ClassSet  # the classes the model predicts (index = value in labels)
    seconds: float  # network time, model loading excluded
    load_seconds: float  # 0 when the model was already loaded
    device: str = ""  # where the network ran ("cpu", "cuda:0"), for the status bar
    note: str | None = None  # how the run deviated, e.g. sliding windows after running out of GPU memory
    rankings: object = None  # gcnet_core.predict.rankings.ClassRankings (model-aware tools)
    preview: bool = False  # from a coarse pass; the full result follows


class InferenceWorker(QObject):
    """Lives on the inference thread; only ever touched through queued signals."""

    finished = Signal(object)  # InferenceResult
    failed = Signal(int, str)  # request id, message
    skipped = Signal(int)  # request id: withdrawn before it started, nothing ran
    loading = Signal(str)  # model id
    preparing = Signal(str)  # one-off step before the first image (the CPU engine's export), for the status bar

    warmed = Signal(str, float, str)  # model id, seconds, error ("" when it loaded)
    cache_problem = Signal(str)  # the feature cache could not write to disk (once per cache)

    def __init__(self, latest_warm=lambda: None, withdrawn=lambda request_id: False) -> None:
        super().__init__()
        self._model = None  # gcnet_core.LoadedModel
        self._key: tuple | None = None
        self._latest_warm = latest_warm  # the service's newest warm-up request: older ones are skipped
        self._withdrawn = withdrawn  # whether the service took a request back before it started
        self._running: tuple[int, StopToken] | None = None  # the request whose pass runs now, and its stop
        self._feature_version: str | None = None  # the loaded model's (hashing its weights once)
        self._told: Path | None = None  # the cache folder whose disk problem was said already (not the
        # cache itself: that would keep a closed project's features in memory)

    @Slot(object)
    def warm(self, config: ModelConfig) -> None:
        """Load ``config``'s model (and build its CPU engine) before any image asks for it,
        so the first pre-segmentation only runs the network."""
        if config != self._latest_warm() or self._key == config.load_key():
            return
        start = time.perf_counter()
        try:
            self._load(config)
        except Exception as error:  # the first image's own request reports it in full
            log.exception("loading %s ahead of use failed", config.model_id)
            self.warmed.emit(config.model_id, time.perf_counter() - start, str(error) or type(error).__name__)
            return
        self.warmed.emit(config.model_id, time.perf_counter() - start, "")

    def _load(self, config: ModelConfig) -> None:
        self.loading.emit(config.model_id)
        self._drop_model()  # free the old one first (GPU memory)
        self._model = init_model(config.name, config.checkpoint, device=config.device, precision=config.precision)
        self._key = config.load_key()
        self._prepare(config.model_id)

    @Slot(object)
    def run(self, request: InferenceRequest) -> None:
        if self._withdrawn(request.request_id):
            self.skipped.emit(request.request_id)
            return
        try:
            load_seconds = 0.0
            if self._key != request.config.load_key():
                start = time.perf_counter()
                self._load(request.config)
                load_seconds = time.perf_counter() - start
            start = time.perf_counter()
            token = StopToken()
            self._running = (request.request_id, token)
            with stoppable(token):
                if request.preview:
                    result = preview_inference(self._model, request.image)
                else:
                    result = running.inference(self._model, request.image, tta=request.config.tta,
                                               keep_features=request.features is not None)
            seconds = time.perf_counter() - start
        except PassStopped:  # withdrawn while it ran: the CPU is free again, nothing comes of it
            log.info("the pass for %s was stopped", request.image)
            self.skipped.emit(request.request_id)
            return
        except ImageReadError as error:  # an expected bad file: one line naming it and why
            log.warning("pre-segmenting failed: %s", error)
            self.failed.emit(request.request_id, str(error))
            return
        except Exception as error:  # any failure is the user's to read, not a crash
            log.exception("pre-segmenting %s failed", request.image)  # the traceback, for the log file
            self.failed.emit(request.request_id, str(error) or type(error).__name__)
            return
        finally:
            self._running = None
        how = (f"{self._model.precision}, fast path" if self._model.backend == "fast"
               else self._model.predictor().description)  # "fp32, exact" or "fp32, onnxruntime 1.31.1"
        device = f"{self._model.device} ({how})"
        if result.features is not None:  # kept before the result goes out, so live adaptation finds them
            self._keep_features(request.image, result.features, request.features)
        self.finished.emit(InferenceResult(request.request_id, request.image, request.config, result.labels,
                                           result.confidence, self._model.classes, seconds, load_seconds,
                                           device, result.note, result.rankings, request.preview))

    def stop_if_running(self, request_id: int) -> None:
        """Stop ``request_id``'s pass if it is the one running (called from the UI thread: it
        only sets the pass's stop flag; the pass ends at its next kernel and is reported skipped)."""
        running_now = self._running
        if running_now is not None and running_now[0] == request_id:
            running_now[1].stop()

    def _keep_features(self, image: Path, features: FeatureMap, cache: FeatureCache) -> None:
        """Put the pass's features in ``cache``; a disk problem is said once per cache, a
        failure here never fails the prediction."""
        try:
            if self._feature_version is None:
                self._feature_version = feature_version(self._model.network, self._model.entry)
            problem = cache.put(content_key(image), self._feature_version, features)
        except OSError as error:  # the image vanished or cannot be read again: nothing to key them by
            log.warning("features of %s not kept: %s", image, error)
            return
        if problem:
            log.warning("%s", problem)
            if cache.folder != self._told:
                self._told = cache.folder
                self.cache_problem.emit(problem)

    def _prepare(self, model_id: str) -> None:
        """Build the model's predictor now, so a one-off step (exporting the CPU engine, tens
        of seconds, once per checkpoint) is reported as such instead of looking like a hang."""
        steps = {"export": "one-off export of the CPU engine (step 1 of 2)",
                 "load": "loading the CPU engine (step 2 of 2)"}

        def progress(stage: str, done: int, total: int) -> None:
            if stage in steps:
                self.preparing.emit(f"{model_id}: {steps[stage]}…")

        self._model.predictor(progress=progress)

    @Slot(bool)
    def unload(self, gpu_only: bool = False) -> None:
        if self._model is not None and (not gpu_only or self._model.device.type == "cuda"):
            self._drop_model()

    def _drop_model(self) -> None:
        """Forget the model and hand its cached GPU memory back to the driver, so a batch
        or training process (or another program) can use it."""
        model, self._model, self._key = self._model, None, None
        self._feature_version = None
        if model is not None:
            model.release()  # its predictor: graphs, pinned buffers, the fast weight copy
            del model
            release_gpu_memory()  # now the weights too


class InferenceService(QObject):
    """The UI side: owns the thread, hands out request ids, forwards results.

    ``busy`` is True from :meth:`submit` until that request's result or failure arrives.
    """

    finished = Signal(object)
    failed = Signal(int, str)
    loading = Signal(str)
    preparing = Signal(str)  # e.g. the CPU engine's one-off export, for the status bar
    warmed = Signal(str, float, str)  # model id, seconds, error ("" when it loaded)
    cache_problem = Signal(str)  # the open project's feature cache could not write (said once per project)
    withdrawn = Signal(int)  # a request taken back before it started: no result comes for it
    _run = Signal(object)
    _warm = Signal(object)
    _unload = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("inference")
        self._warm_target: ModelConfig | None = None
        self._withdrawn: set[int] = set()  # taken back; the worker skips them when it gets to them
        self._worker = InferenceWorker(lambda: self._warm_target, self._withdrawn.__contains__)
        self._worker.moveToThread(self._thread)
        self._run.connect(self._worker.run)
        self._warm.connect(self._worker.warm)
        self._worker.warmed.connect(self.warmed)
        self._unload.connect(self._worker.unload)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.skipped.connect(self._on_skipped)
        self._worker.loading.connect(self.loading)
        self._worker.preparing.connect(self.preparing)
        self._worker.cache_problem.connect(self.cache_problem)
        # Where full passes keep their features: the window points it at the session's cache.
        self.feature_cache: Callable[[], FeatureCache | None] = lambda: None
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()
        self._next_id = 0
        self._pending: set[int] = set()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(self, image: Path, config: ModelConfig, preview: bool = False) -> int:
        self._next_id += 1
        self._pending.add(self._next_id)
        features = None if preview else self.feature_cache()
        self._run.emit(InferenceRequest(self._next_id, Path(image), config, preview, features))
        return self._next_id

    def withdraw(self, request_id: int) -> None:
        """Take a request back: if it has not started it never runs; one already running is
        stopped (:mod:`gcnet_core.predict.stopping`: onnxruntime at its next kernel, the torch
        paths before their next window) and gives no result. ``withdrawn`` says so either way,
        unless the pass finished before the stop reached it (then its result comes)."""
        if request_id in self._pending:
            self._withdrawn.add(request_id)
            self._worker.stop_if_running(request_id)

    def warm(self, config: ModelConfig) -> None:
        """Load ``config``'s model on the inference thread now (skipped when another warm-up
        is asked for before it starts, or the model is loaded already)."""
        self._warm_target = config
        self._warm.emit(config)

    def unload(self, gpu_only: bool = False) -> None:
        """Drop the loaded model (e.g. before a batch process wants the GPU); with
        ``gpu_only``, only a model that lives on a GPU."""
        self._unload.emit(gpu_only)

    def _on_finished(self, result: InferenceResult) -> None:
        self._pending.discard(result.request_id)
        self._withdrawn.discard(result.request_id)
        self.finished.emit(result)

    def _on_failed(self, request_id: int, message: str) -> None:
        self._pending.discard(request_id)
        self._withdrawn.discard(request_id)
        self.failed.emit(request_id, message)

    def _on_skipped(self, request_id: int) -> None:
        self._pending.discard(request_id)
        self._withdrawn.discard(request_id)
        self.withdrawn.emit(request_id)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the thread: the pass under way stops (the window closes without waiting for it),
        and nothing queued runs."""
        if self._thread.isRunning():
            self._withdrawn.update(self._pending)
            for request_id in list(self._pending):
                self._worker.stop_if_running(request_id)
            self._thread.quit()
            self._thread.wait(timeout_ms)
