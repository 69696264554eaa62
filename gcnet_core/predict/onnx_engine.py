"""The CPU engine: the network through onnxruntime, our own pre- and post-processing around it.

On the CPU the network is ~94 % of an image's time and its convolutions are the runtime's
kernels; onnxruntime's (graph-optimised, NCHWc-blocked) run this GCNet faster than torch's
eager ones (``gcnet benchmark --device cpu`` shows both). Everything around the network
stays the exact path's: OpenCV resize and normalisation (:class:`Predictor.prepare`),
sliding windows, the float32 resizes, argmax and confidence.

The backbone and decode head are exported once per weights (zoo file, fine-tuned version,
or weights changed in this process) into ``<cache>/engines/``; the file name carries a hash
of the weights, the torch/onnxruntime versions and the graph's format, so a new checkpoint,
a fine-tune, an upgrade or a new graph makes a new export and an old one is never used. The
graph has two outputs: the logits at 1/8 of the input and ``conv_seg``'s input features
(kept for live adaptation at no extra cost: the network computes them anyway). When
onnxruntime is missing or an export fails, :func:`engine_or_exact` returns the exact torch
predictor with a note saying why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from ..paths import cache_folder
from .acceleration import BackboneAndHead, WeightsWatch
from .predictor import NetworkPass, Predictor, SegmentationResult
from .stopping import PassStopped, check_stopped, current_token
from .threads import process_threads

if TYPE_CHECKING:  # plain data from gcnet_core.weights.zoo
    from ..weights.zoo import ZooEntry

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # bump when the exported graph changes (inputs, outputs, wrapper); 2: + features
OPSET = 17
KEEP_ENGINES = 4  # engine files kept in the cache (least recently used removed)
# progress(stage, done, total): "export" (one-off, tens of seconds), "load", "ready"
Progress = Callable[[str, int, int], None]


ENGINE_ENV = "GCNET_CPU_ENGINE"  # "onnxruntime" (the default) or "torch" (the exact path)


def default_cpu_engine() -> str | None:
    """The CPU default's network runner: ``"onnxruntime"`` unless ``$GCNET_CPU_ENGINE`` is
    ``torch`` (then None: the exact torch path)."""
    choice = os.environ.get(ENGINE_ENV, "onnxruntime").strip().lower()
    if choice in ("torch", "exact", "off", "0", "none"):
        return None
    if choice != "onnxruntime":
        log.warning("%s=%r is not onnxruntime or torch: using onnxruntime", ENGINE_ENV, choice)
    return "onnxruntime"


class EngineError(RuntimeError):
    """The CPU engine cannot be used (onnxruntime missing, export or load failed)."""


TELEMETRY_OFF_ENV = "ORT_DISABLE_TELEMETRY"


def import_onnxruntime():
    """onnxruntime with its telemetry off. Its POSIX builds write a device id and an event
    cache under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` unless
    ``$ORT_DISABLE_TELEMETRY`` is set before it starts (``disable_telemetry_events()``
    alone does not stop that), and nothing of ours may leave a trace of the machine."""
    os.environ.setdefault(TELEMETRY_OFF_ENV, "1")
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def onnxruntime_version() -> str | None:
    """The installed onnxruntime's version, or None when it cannot be imported."""
    try:
        onnxruntime = import_onnxruntime()
    except Exception:  # noqa: BLE001 - ImportError, or a broken native library
        return None
    return onnxruntime.__version__


def weights_digest(model: nn.Module) -> str:
    """sha256 of the exported weights (names, dtypes, shapes, bytes): the checkpoint's
    content as it is in memory, so a weight changed after loading gives another digest."""
    digest = hashlib.sha256()
    for name, tensor in sorted(BackboneAndHead(model).state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def engines_dir() -> Path:
    return cache_folder() / "engines"


def engine_path(model: nn.Module, entry: "ZooEntry", digest: str | None = None) -> Path:
    """Where the engine of these weights (of ``entry``'s network) lives, for this torch and onnxruntime."""
    digest = digest or weights_digest(model)
    versions = f"torch{torch.__version__.split('+')[0]}-ort{onnxruntime_version()}-f{EXPORT_FORMAT}"
    return engines_dir() / f"{entry.name}-{digest[:20]}-{versions}.onnx"


def export_network(model: nn.Module, path: Path) -> None:
    """Export backbone + decode head (dynamic batch, height and width) to ``path``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    network = BackboneAndHead(model)
    modes = {module: module.training for module in network.modules()}
    network.eval()  # batch norms with their running statistics, no dropout
    example = torch.zeros(1, 3, 64, 64, device=next(model.parameters()).device)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter's notice
            torch.onnx.export(network, (example,), str(part), dynamo=False, opset_version=OPSET,
                              input_names=["image"], output_names=["logits", "features"],
                              do_constant_folding=True,
                              dynamic_axes={"image": {0: "n", 2: "h", 3: "w"},
                                            "logits": {0: "n", 2: "h8", 3: "w8"},
                                            "features": {0: "n", 2: "h8", 3: "w8"}})
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
        for module, training in modes.items():  # a model being trained stays in training mode
            module.train(training)


def open_session(path: Path, threads: int | None = None):
    """An onnxruntime CPU session with every graph optimisation, on the process's torch thread
    count (not one a live-adaptation fit lowered for a moment: the session keeps its pool)."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or process_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _mark_used_and_prune(keep: Path) -> None:
    """Mark ``keep`` as just used and remove all but the ``KEEP_ENGINES`` most recently used
    engine files. Best effort: a file another process holds open (Windows) or a read-only
    cache is left as it is."""
    try:
        os.utime(keep)
        files = sorted(engines_dir().glob("*.onnx"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in [p for p in files if p != keep][KEEP_ENGINES - 1:]:
        try:
            old.unlink(missing_ok=True)
        except OSError as error:
            log.info("could not remove an old engine %s: %s", old, error)


class EnginePredictor(Predictor):
    """:class:`Predictor` whose network pass runs in onnxruntime (fp32, CPU); the rest is
    the exact path's. Follows the model's weights: a change re-exports before the next image."""

    def __init__(self, model: nn.Module, entry: "ZooEntry", progress: Progress | None = None) -> None:
        super().__init__(model, entry, precision="fp32")
        if self.device.type != "cpu":
            raise EngineError("the onnxruntime engine runs on the CPU only")
        if onnxruntime_version() is None:
            raise EngineError("onnxruntime is not installed (pip install onnxruntime)")
        self.progress = progress
        self.export_seconds = 0.0  # 0 when the engine came from the cache
        self._weights = WeightsWatch(model)
        self.session = self._open()

    @property
    def description(self) -> str:
        return f"fp32, onnxruntime {onnxruntime_version()}"

    def _open(self):
        path = engine_path(self.model, self.entry)
        report = self.progress or (lambda stage, done, total: None)
        try:
            if path.is_file():
                try:
                    report("load", 1, 2)
                    session = open_session(path)
                except Exception as error:  # noqa: BLE001 - a damaged cache file: made again below
                    log.warning("the cached engine %s cannot be loaded (%s): exporting it again", path, error)
                    path.unlink(missing_ok=True)
            if not path.is_file():
                report("export", 0, 2)
                log.info("exporting %s for onnxruntime (once per checkpoint) to %s", self.entry.name, path)
                start = time.perf_counter()
                export_network(self.model, path)
                self.export_seconds = time.perf_counter() - start
                report("load", 1, 2)
                session = open_session(path)
        except Exception as error:  # noqa: BLE001 - turned into a note by engine_or_exact
            raise EngineError(f"exporting or loading the onnxruntime engine failed: "
                              f"{type(error).__name__}: {error}") from error
        _mark_used_and_prune(path)
        report("ready", 2, 2)
        return session

    def follow_weights(self) -> None:
        if not self._weights.changed():
            return
        log.info("the model's weights changed: a new onnxruntime engine is made")
        try:
            self.session = self._open()
        except EngineError as error:  # the new weights still run, through torch
            log.warning("%s; the exact torch path runs instead (slower)", error)
            self.session = None

    def head_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.session is None:
            return super().head_outputs(x)
        check_stopped()
        token = current_token()
        options = token.run_options(import_onnxruntime()) if token is not None else None
        try:
            small, features = self.session.run(None, {"image": np.ascontiguousarray(x.numpy(), dtype=np.float32)},
                                               options)
        except Exception as error:  # onnxruntime's own error type when RunOptions.terminate ended the run
            if token is not None and token.stopped:
                raise PassStopped("the pass was stopped") from error
            raise
        return torch.from_numpy(small), torch.from_numpy(features)

    def run(self, x: torch.Tensor, keep_features: bool = False) -> NetworkPass:
        self.follow_weights()  # every way in (batches, ms+flip, the preview) passes here
        return super().run(x, keep_features)


class ExactFallback(Predictor):
    """The exact torch path standing in for the engine; its first result carries ``note``."""

    def __init__(self, model: nn.Module, entry: "ZooEntry", note: str) -> None:
        super().__init__(model, entry, precision="fp32")
        self.note: str | None = note

    def _noted(self, results: list[SegmentationResult]) -> list[SegmentationResult]:
        if self.note and results and results[0].note is None:
            results[0].note, self.note = self.note, None
        return results

    def predict_batch(self, images: list[np.ndarray], return_logits: bool = False,
                      keep_features: bool = False) -> list[SegmentationResult]:
        return self._noted(super().predict_batch(images, return_logits, keep_features))

    def predict_tta(self, image: np.ndarray, return_logits: bool = False,
                    keep_features: bool = False) -> SegmentationResult:
        return self._noted([super().predict_tta(image, return_logits, keep_features)])[0]


def engine_or_exact(model: nn.Module, entry: "ZooEntry", progress: Progress | None = None) -> Predictor:
    """The CPU default: the onnxruntime engine, or the exact torch path whose first result
    notes why the engine is not used (also logged)."""
    try:
        return EnginePredictor(model, entry, progress)
    except EngineError as error:
        note = f"CPU engine not used ({error}); the exact torch path runs instead (slower)."
        log.warning(note)
        return ExactFallback(model, entry, note)


__all__ = ["ENGINE_ENV", "EngineError", "EnginePredictor", "ExactFallback", "default_cpu_engine", "engine_or_exact",
           "engine_path", "onnxruntime_version", "weights_digest"]
