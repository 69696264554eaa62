"""``gcnet benchmark``: the published method, our fast path, the CPU engine and a folder run, side by side.

Every row is measured in the same process on the same device and the same inputs (the
bundled photographs resized to the entry's typical test size), so the ratios hold even
where absolute numbers vary between machines. The main rows are set up one after the
other, then timed in turns (image i for every row, then image i + 1), so a machine whose
speed drifts (a shared CPU, clocks) hits them alike:

* **fp32 eager**: the exact path, timed as mmsegmentation times its published fps
  (docs/speed.md, "How the published fps were measured"): batch 1, the first ``warmup``
  images discarded, each timed image including the host-to-device copy, the network, both
  resizes, argmax and the copy of the labels to the CPU. Decoding is excluded. It is the
  baseline of the ratio column.
* **fast**: :class:`~gcnet_core.predict.fast.FastPredictor`, timed the same way, with the
  share of pixels whose label equals the fp32 eager label ("agreement").
* **engine** (CPU): the network through onnxruntime (:mod:`.onnx_engine`); its one-off
  export is made before the row and its time noted.
* **mmseg** (whenever mmsegmentation is importable): mmseg's own model built from its
  config with the same checkpoint, ``test_step`` timed the same way.
* **folder**: ``gcnet predict``'s pipeline on PNG files written beforehand: decoding,
  inference and writing the index PNGs, end to end.
* ``--ablation``: the fast path with one switch changed at a time, and in the other precisions.

Each row also has its peak memory (above what was in use when it started), its first-image
latency (predictor creation + first image) and the achieved GFLOP/s from the network's
counted floating-point work, against the CPU's fp32 peak (:mod:`.measure`).
"""

from __future__ import annotations

import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
import torch

from ..files.atomic import atomic_write_text
from ..files.images import read_image_rgb
from . import mmseg_bridge
from .acceleration import release_gpu_memory
from .fast import FastOptions, FastPredictor
from .folder import segment_files
from .measure import MemoryProbe, cpu_fp32_peak, network_flops
from .onnx_engine import EngineError, EnginePredictor, onnxruntime_version
from .network_input import rescale_size
from .predictor import Predictor, resolve_precision

if TYPE_CHECKING:
    from .loaded import LoadedModel

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
ABLATION_SWITCHES = ("channels_last", "fold_bn", "autotune", "cuda_graphs", "pinned_upload")
CUDA_ONLY_SWITCHES = ("autotune", "cuda_graphs", "pinned_upload")


@dataclass
class Timing:
    """One row: a way of running the model, its per-image times, memory and first image."""

    mode: str
    seconds: list[float] = field(default_factory=list)
    peak_memory_bytes: int | None = None  # added above what was in use when the row started
    agreement: float | None = None  # share of pixels labelled as fp32 eager labels them
    first_image_seconds: float | None = None  # predictor creation + first image (warm model)

    @property
    def images_per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds) if self.seconds else 0.0

    @property
    def ms_per_image(self) -> float:
        return 1000 * statistics.mean(self.seconds) if self.seconds else 0.0

    @property
    def best_ms(self) -> float:
        """The fastest image: on a shared machine the steadier figure (others' load only adds)."""
        return 1000 * min(self.seconds) if self.seconds else 0.0


@dataclass
class BenchmarkReport:
    model: str
    device: str
    input_size: tuple[int, int]  # (h, w) of the images fed in
    timings: list[Timing] = field(default_factory=list)
    process_peak_rss_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    flops_per_image: int | None = None  # the network's fp32 work per image (multiply-add = 2)
    peak_gflops: float | None = None  # the CPU's fp32 peak for the threads used (None on CUDA)

    def timing(self, mode_prefix: str) -> Timing | None:
        return next((t for t in self.timings if t.mode.startswith(mode_prefix)), None)

    def achieved_gflops(self, timing: Timing) -> float | None:
        if not self.flops_per_image or not timing.seconds:
            return None
        return self.flops_per_image * timing.images_per_second / 1e9

    def format(self) -> str:
        height, width = self.input_size
        lines = [f"model   {self.model}", f"device  {self.device}",
                 f"input   {width}x{height} (w x h), batch 1", ""]
        header = (f"{'mode':44} {'images/s':>9} {'ms/image':>9} {'best ms':>8} {'vs exact':>8} "
                  f"{'agreement':>10} {'peak MiB':>9} {'first s':>8} {'GFLOP/s':>8} {'of peak':>8}")
        lines += [header, "-" * len(header)]
        baseline = self.timings[0].images_per_second if self.timings else 0.0
        for t in self.timings:
            memory = f"{t.peak_memory_bytes / 2**20:9.0f}" if t.peak_memory_bytes is not None else f"{'-':>9}"
            agreement = f"{100 * t.agreement:9.3f}%" if t.agreement is not None else f"{'-':>10}"
            first = f"{t.first_image_seconds:8.2f}" if t.first_image_seconds is not None else f"{'-':>8}"
            ratio = t.images_per_second / baseline if baseline else 0.0
            achieved = self.achieved_gflops(t)
            rate = f"{achieved:8.1f}" if achieved is not None else f"{'-':>8}"
            share = f"{100 * achieved / self.peak_gflops:7.1f}%" if achieved and self.peak_gflops else f"{'-':>8}"
            lines.append(f"{t.mode:44} {t.images_per_second:9.2f} {t.ms_per_image:9.2f} {t.best_ms:8.1f} "
                         f"{ratio:7.2f}x {agreement} {memory} {first} {rate} {share}")
        lines.append("")
        lines.append("vs exact: mean speed relative to fp32 eager (> 1 is faster); peak MiB: memory a row added above "
                     "what was in use when it started (" + ("CUDA allocator" if "CUDA" in self.device else
                                                            "sampled process RSS") + "), its own weight copy "
                     "included; first s: predictor creation + first image")
        if self.flops_per_image:
            lines.append(f"network work: {self.flops_per_image / 1e9:.1f} GFLOP per image (FlopCounterMode, "
                         f"multiply-add = 2)")
        lines.append(f"process peak RSS: {self.process_peak_rss_bytes / 2**20:.0f} MiB")
        lines += self.notes
        return "\n".join(lines)

    def to_json(self) -> dict:
        rows = []
        for t in self.timings:
            row = asdict(t)
            row.update(images_per_second=t.images_per_second, ms_per_image=t.ms_per_image, best_ms=t.best_ms,
                       achieved_gflops=self.achieved_gflops(t))
            rows.append(row)
        return {"model": self.model, "device": self.device, "input_size": list(self.input_size),
                "rows": rows, "process_peak_rss_bytes": self.process_peak_rss_bytes, "notes": self.notes,
                "flops_per_image": self.flops_per_image, "peak_gflops": self.peak_gflops}

    def write_json(self, path: str | Path) -> None:
        atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")


def test_input_size(entry) -> tuple[int, int]:
    """(h, w) of a typical test image: 1024x2048 for Cityscapes, short side 512 (4:3) otherwise."""
    if entry.dataset.key == "cityscapes":
        return 1024, 2048
    width, height = rescale_size(500, 375, entry.test_scale)
    return height, width


def sample_images(size: tuple[int, int], count: int = 5) -> list[np.ndarray]:
    """The bundled photographs resized to ``size`` (different content, same shape)."""
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg"))[:count]
    if not paths:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (*size, 3), dtype=np.uint8)]
    return [cv2.resize(read_image_rgb(p), (size[1], size[0]), interpolation=cv2.INTER_AREA) for p in paths]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}, torch {torch.__version__})"
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Runner = Callable[[int], np.ndarray]  # image index -> labels of inputs[index % len(inputs)]


@dataclass
class _Row:
    """A candidate being measured: its timing, runner and labels (in call order)."""

    timing: Timing
    run: Runner
    labels: list[np.ndarray] = field(default_factory=list)


def _set_up(mode: str, device: torch.device, make: Callable[[], Runner], warmup: int) -> _Row:
    """Create a candidate and run its warm-up images: first-image latency and peak memory."""
    timing = Timing(mode)
    row = None
    with MemoryProbe(device) as memory:
        _synchronize(device)
        start = time.perf_counter()
        run = make()
        row = _Row(timing, run)
        for index in range(max(warmup, 1)):
            row.labels.append(run(index))
            _synchronize(device)
            if index == 0:
                timing.first_image_seconds = time.perf_counter() - start
    timing.peak_memory_bytes = memory.peak_bytes
    return row


def _time_round(row: _Row, index: int, device: torch.device) -> None:
    _synchronize(device)
    start = time.perf_counter()
    row.labels.append(row.run(index))
    _synchronize(device)
    row.timing.seconds.append(time.perf_counter() - start)


def measure_alternating(candidates: list[tuple[str, Callable[[], Runner]]], device: torch.device, count: int,
                        warmup: int) -> list[_Row]:
    """Set every candidate up, then time them in turns (image i for each, then image i + 1),
    so that a machine whose speed drifts (other programs, clocks) hits all rows alike."""
    rows = [_set_up(mode, device, make, warmup) for mode, make in candidates]
    for index in range(max(warmup, 1), max(warmup, 1) + count):
        for row in rows:
            _time_round(row, index, device)
    return rows


def agreement(labels: list[np.ndarray], reference: list[np.ndarray], inputs: int) -> float:
    """Share of equal pixels over one prediction per distinct input."""
    equal = total = 0
    for ours, theirs in zip(labels[:inputs], reference[:inputs]):
        equal += int(np.count_nonzero(ours == theirs))
        total += theirs.size
    return equal / total if total else 1.0


def _predictor_runner(make_predictor: Callable[[], Predictor], inputs: list[np.ndarray]) -> Callable[[], Runner]:
    def make() -> Runner:
        predictor = make_predictor()
        return lambda i: predictor.predict_batch([inputs[i % len(inputs)]])[0].labels
    return make


def run_benchmark(model: "LoadedModel", images: int = 50, warmup: int = 5, precision: str | None = None,
                  folder_images: int = 0, ablation: bool = False, mmseg: bool = False,
                  size: tuple[int, int] | None = None) -> BenchmarkReport:
    """Measure the rows described in the module docstring; ``folder_images=0`` skips the folder row.

    The main rows (exact, fast, the CPU engine, mmseg's model) are timed in turns on the same
    images; mmseg's row appears whenever mmsegmentation is importable (``mmseg`` adds a note
    when it is not). The fast rows run in ``precision`` (default: the model's) with the
    model's ``fast_options``. ``size`` (h, w) replaces the entry's typical test size, e.g. to
    have every path resize the photos."""
    network, entry, device = model.network, model.entry, model.device
    size = tuple(size) if size else test_input_size(entry)
    inputs = sample_images(size)
    report = BenchmarkReport(entry.name, device_name(device), size)
    new_w, new_h = rescale_size(size[1], size[0], entry.test_scale)
    report.flops_per_image = network_flops(model, (1, 3, new_h, new_w))
    if device.type == "cpu":
        peak = cpu_fp32_peak()
        if peak is not None:
            report.peak_gflops = peak.gflops
            report.notes.append(f"fp32 peak: {peak.describe()} (FMA units assumed, not detected)")

    options = model.fast_options or FastOptions()
    fast_precision = resolve_precision(device, precision or model.precision)

    def fast_path(in_precision: str = fast_precision, with_options: FastOptions = options) -> Callable[[], Predictor]:
        return lambda: FastPredictor(network, entry, in_precision, with_options)

    fast_description = FastPredictor.describe(device, fast_precision, options)
    candidates = [("fp32 eager (published method)",
                   _predictor_runner(lambda: Predictor(network, entry, "fp32"), inputs)),
                  (f"fast path, {fast_description}", _predictor_runner(fast_path(), inputs))]
    if device.type == "cpu":
        candidates += _engine_candidates(report, model, inputs)
    candidates += _mmseg_candidates(report, model, inputs, device, mmseg)
    rows = measure_alternating(candidates, device, images, warmup)
    reference = rows[0].labels
    for row in rows:
        if row is not rows[0]:
            row.timing.agreement = agreement(row.labels, reference, len(inputs))
        report.timings.append(row.timing)

    def variant_row(mode: str, make_predictor: Callable[[], Predictor]) -> None:
        timing, labels = time_alone(mode, device, _predictor_runner(make_predictor, inputs), images, warmup)
        timing.agreement = agreement(labels, reference, len(inputs))
        report.timings.append(timing)

    if ablation:
        switches = [s for s in ABLATION_SWITCHES if device.type == "cuda" or s not in CUDA_ONLY_SWITCHES]
        for switch in switches:  # on ones turned off, opt-in ones (CUDA graphs, pinned uploads) turned on
            on = getattr(options, switch)
            changed = options.without(switch) if on else options.with_(switch)
            variant_row(f"  {'without' if on else 'with'} {switch.replace('_', ' ')}", fast_path(with_options=changed))
        others = ("fp32", "fp16", "bf16") if device.type == "cuda" else ("fp32", "bf16")
        for other in (p for p in others if p != fast_precision):
            variant_row(f"  in {FastPredictor.describe(device, other, options)}", fast_path(in_precision=other))
        for window_batch in (1, 9) if entry.test_mode == "slide" else ():
            variant_row(f"  {window_batch} window(s) per pass",
                        fast_path(with_options=replace(options, window_batch=window_batch)))

    if folder_images:
        fast_model = replace(model, backend="fast", precision=fast_precision, fast_options=options)
        fast_model.predictor().predict_batch([inputs[0]])  # warm, as in the fast row
        report.timings.append(_folder_row(fast_model, inputs, folder_images, device))
        fast_model.release()
    release_gpu_memory()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    report.process_peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    weights = sum(t.numel() * t.element_size() for t in (*network.parameters(), *network.buffers()))
    report.notes.append(f"the model's own weights ({weights / 2**20:.0f} MiB) are in no row's peak")
    return report


def time_alone(mode: str, device: torch.device, make: Callable[[], Runner], count: int,
               warmup: int) -> tuple[Timing, list[np.ndarray]]:
    """One candidate built by ``make`` (so its creation counts in its first-image latency)."""
    (row,) = measure_alternating([(mode, make)], device, count, warmup)
    return row.timing, row.labels


def _engine_candidates(report: BenchmarkReport, model: "LoadedModel", inputs: list[np.ndarray]) -> list:
    """The onnxruntime engine's row; its one-off export is made (or found) first and noted."""
    if onnxruntime_version() is None:
        report.notes.append("engine: onnxruntime is not installed (pip install onnxruntime); row skipped")
        return []
    try:
        exported = EnginePredictor(model.network, model.entry)
    except EngineError as error:
        report.notes.append(f"engine: {error}; row skipped")
        return []
    report.notes.append(f"engine: one-off export {exported.export_seconds:.1f} s" if exported.export_seconds
                        else "engine: export found in the cache")
    del exported
    return [(f"engine, fp32 onnxruntime {onnxruntime_version()}",
             _predictor_runner(lambda: EnginePredictor(model.network, model.entry), inputs))]


def _folder_row(model: "LoadedModel", inputs: list[np.ndarray], count: int, device: torch.device) -> Timing:
    """``gcnet predict``'s pipeline over ``count`` PNG files: decode + inference + mask write,
    with ``model``'s predictor (warmed up beforehand: no second autotuning)."""
    with tempfile.TemporaryDirectory(prefix="gcnet-bench-") as folder:
        root = Path(folder)
        sources = []
        for index in range(count):
            path = root / "images" / f"{index:05d}.png"
            path.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(path), cv2.cvtColor(inputs[index % len(inputs)], cv2.COLOR_RGB2BGR))
            sources.append(path)
        targets = {path: root / "masks" / path.name for path in sources}
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _synchronize(device)
        start = time.perf_counter()
        outcomes = list(segment_files(model, sources, targets))
        _synchronize(device)
        elapsed = time.perf_counter() - start
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"folder benchmark: {failed[0].source}: {failed[0].error}")
    timing = Timing(f"folder: decode + fast + PNG write ({count} files)", [elapsed / count] * count)
    if device.type == "cuda":
        timing.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
    return timing


def _mmseg_candidates(report: BenchmarkReport, model: "LoadedModel", inputs: list[np.ndarray], device: torch.device,
                      asked: bool) -> list:
    """mmsegmentation's own model (built from its config with the same checkpoint) when it is
    importable; its first-image latency includes building it and loading the checkpoint."""
    if not mmseg_bridge.mmseg_available():
        if asked:
            report.notes.append("mmseg: not installed (pip install mmsegmentation==1.2.2 mmengine mmcv-lite); "
                                "row skipped")
        return []
    import mmseg

    checkpoint = model.checkpoint_path

    def make() -> Runner:
        reference_model = mmseg_bridge.build_mmseg_model(model.entry.name, checkpoint, device=str(device))
        data = [mmseg_bridge.prepare_inputs(reference_model, image) for image in inputs]  # the data loader's work
        return lambda i: mmseg_bridge.predict_labels(reference_model, data[i % len(data)])

    return [(f"mmseg {mmseg.__version__} own model, fp32 eager", make)]
