"""``gcnet benchmark``: the published method, our fast path and a whole folder run, side by side.

Every row is measured in the same process on the same device and the same inputs (the
bundled photographs resized to the entry's typical test size), so the ratios hold even
where absolute numbers vary between machines:

* **fp32 eager**: the exact path, timed as mmsegmentation times its published fps (SPEC
  §8.1): batch 1, the first ``warmup`` images discarded, each timed image including the
  host-to-device copy, the network, both resizes, argmax and the copy of the labels to the
  CPU. Decoding is excluded. It is the baseline of the ratio column.
* **fast**: :class:`~gcnet_core.predict.fast.FastPredictor`, timed the same way, with the
  share of pixels whose label equals the fp32 eager label ("agreement").
* **folder**: ``gcnet predict``'s pipeline on PNG files written beforehand: decoding,
  inference and writing the index PNGs, end to end.
* **mmseg** (``--mmseg``, when mmsegmentation is installed): mmseg's own model built from
  its config with the same checkpoint, ``test_step`` timed the same way.
* ``--ablation``: the fast path with one switch off at a time, and in the other precisions.
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
from typing import Callable

import cv2
import numpy as np
import torch

from ..files.images import read_image_rgb
from .exact import Predictor, rescale_size

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"
ABLATION_SWITCHES = ("channels_last", "fold_bn", "autotune", "cuda_graphs", "pinned_upload")
CUDA_ONLY_SWITCHES = ("autotune", "cuda_graphs", "pinned_upload")


@dataclass
class Timing:
    """One row: a way of running the model, its per-image times and peak memory."""

    mode: str
    seconds: list[float] = field(default_factory=list)
    peak_memory_bytes: int | None = None
    agreement: float | None = None  # share of pixels labelled as fp32 eager labels them

    @property
    def images_per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds) if self.seconds else 0.0

    @property
    def ms_per_image(self) -> float:
        return 1000 * statistics.mean(self.seconds) if self.seconds else 0.0


@dataclass
class BenchmarkReport:
    model: str
    device: str
    input_size: tuple[int, int]  # (h, w) of the images fed in
    timings: list[Timing] = field(default_factory=list)
    process_peak_rss_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def timing(self, mode_prefix: str) -> Timing | None:
        return next((t for t in self.timings if t.mode.startswith(mode_prefix)), None)

    def format(self) -> str:
        height, width = self.input_size
        lines = [f"model   {self.model}", f"device  {self.device}",
                 f"input   {width}x{height} (w x h), batch 1", ""]
        header = f"{'mode':44} {'images/s':>9} {'ms/image':>9} {'peak MiB':>9} {'vs fp32':>8} {'agreement':>10}"
        lines += [header, "-" * len(header)]
        baseline = self.timings[0].images_per_second if self.timings else 0.0
        for t in self.timings:
            memory = f"{t.peak_memory_bytes / 2**20:9.0f}" if t.peak_memory_bytes is not None else f"{'-':>9}"
            agreement = f"{100 * t.agreement:9.3f}%" if t.agreement is not None else f"{'-':>10}"
            ratio = t.images_per_second / baseline if baseline else 0.0
            lines.append(f"{t.mode:44} {t.images_per_second:9.2f} {t.ms_per_image:9.2f} {memory} "
                         f"{ratio:7.2f}x {agreement}")
        lines.append("")
        lines.append("peak MiB: CUDA memory allocated during the row, weights included"
                     if "CUDA" in self.device else
                     f"process peak RSS: {self.process_peak_rss_bytes / 2**20:.0f} MiB (per-row peaks need CUDA)")
        lines += self.notes
        return "\n".join(lines)

    def to_json(self) -> dict:
        rows = []
        for t in self.timings:
            row = asdict(t)
            row.update(images_per_second=t.images_per_second, ms_per_image=t.ms_per_image)
            rows.append(row)
        return {"model": self.model, "device": self.device, "input_size": list(self.input_size),
                "rows": rows, "process_peak_rss_bytes": self.process_peak_rss_bytes, "notes": self.notes}

    def write_json(self, path: str | Path) -> None:
        from ..files.masks import atomic_write_text

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


def time_calls(mode: str, device: torch.device, call: Callable[[int], np.ndarray], count: int,
               warmup: int) -> tuple[Timing, list[np.ndarray]]:
    """Time ``call(i)`` for ``warmup + count`` indices; returns the timing and the labels of
    the first calls (one per input, for agreement)."""
    timing = Timing(mode)
    labels: list[np.ndarray] = []
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    for index in range(warmup + count):
        _synchronize(device)
        start = time.perf_counter()
        result = call(index)
        _synchronize(device)
        if index >= warmup:
            timing.seconds.append(time.perf_counter() - start)
        labels.append(result)
    if device.type == "cuda":
        timing.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
    return timing, labels


def agreement(labels: list[np.ndarray], reference: list[np.ndarray], inputs: int) -> float:
    """Share of equal pixels over one prediction per distinct input."""
    equal = total = 0
    for ours, theirs in zip(labels[:inputs], reference[:inputs]):
        equal += int(np.count_nonzero(ours == theirs))
        total += theirs.size
    return equal / total if total else 1.0


def run_benchmark(model, images: int = 50, warmup: int = 5, precision: str | None = None, fast_options=None,
                  folder_images: int = 0, ablation: bool = False, mmseg: bool = False) -> BenchmarkReport:
    """Measure the rows described in the module docstring; ``folder_images=0`` skips the folder row."""
    from .acceleration import release_gpu_memory
    from .fast import FastOptions, FastPredictor

    device = next(model.parameters()).device
    size = test_input_size(model.entry)
    inputs = sample_images(size)
    report = BenchmarkReport(model.entry.name, device_name(device), size)

    def predictor_row(mode: str, predictor: Predictor, reference: list[np.ndarray] | None):
        timing, labels = time_calls(mode, device, lambda i: predictor.predict_batch([inputs[i % len(inputs)]])[0].labels,
                                    images, warmup)
        if reference is not None:
            timing.agreement = agreement(labels, reference, len(inputs))
        report.timings.append(timing)
        return labels

    exact = Predictor(model, precision="fp32")
    reference = predictor_row("fp32 eager (published method)", exact, None)
    options = fast_options or FastOptions()
    fast_precision = precision or getattr(model, "precision", "auto")
    fast = FastPredictor(model, precision=fast_precision, options=options)
    predictor_row(f"fast path, {fast.description}", fast, reference)

    if ablation:
        switches = [s for s in ABLATION_SWITCHES if device.type == "cuda" or s not in CUDA_ONLY_SWITCHES]
        for switch in switches:  # on ones turned off, opt-in ones (CUDA graphs, pinned uploads) turned on
            on = getattr(options, switch)
            variant = FastPredictor(model, precision=fast.precision,
                                    options=options.without(switch) if on else options.with_(switch))
            predictor_row(f"  {'without' if on else 'with'} {switch.replace('_', ' ')}", variant, reference)
            variant.release()
        others = ("fp32", "fp16", "bf16") if device.type == "cuda" else ("fp32", "bf16")
        for other in (p for p in others if p != fast.precision):
            variant = FastPredictor(model, precision=other, options=options)
            predictor_row(f"  in {variant.description}", variant, reference)
            variant.release()
        for window_batch in (1, 9) if model.entry.test_mode == "slide" else ():
            variant = FastPredictor(model, precision=fast.precision, options=replace(options, window_batch=window_batch))
            predictor_row(f"  {window_batch} window(s) per pass", variant, reference)
            variant.release()

    if folder_images:
        report.timings.append(_folder_row(model, fast, inputs, folder_images, device))
    if mmseg:
        _mmseg_row(report, model, inputs, images, warmup, device, reference)
    fast.release()
    release_gpu_memory()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    report.process_peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    return report


def _folder_row(model, fast, inputs: list[np.ndarray], count: int, device: torch.device) -> Timing:
    """``gcnet predict``'s pipeline over ``count`` PNG files: decode + inference + mask write."""
    from .folder import segment_files

    with tempfile.TemporaryDirectory(prefix="gcnet-bench-") as folder:
        root = Path(folder)
        sources = []
        for index in range(count):
            path = root / "images" / f"{index:05d}.png"
            path.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(path), cv2.cvtColor(inputs[index % len(inputs)], cv2.COLOR_RGB2BGR))
            sources.append(path)
        targets = {path: root / "masks" / path.name for path in sources}
        saved = model.__dict__.get("_predictor")
        model._predictor = fast  # the warmed-up fast predictor: no second autotuning
        try:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            _synchronize(device)
            start = time.perf_counter()
            outcomes = list(segment_files(model, sources, targets))
            _synchronize(device)
            elapsed = time.perf_counter() - start
        finally:
            model.__dict__.pop("_predictor", None)
            if saved is not None:
                model._predictor = saved
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"folder benchmark: {failed[0].source}: {failed[0].error}")
    timing = Timing(f"folder: decode + fast + PNG write ({count} files)", [elapsed / count] * count)
    if device.type == "cuda":
        timing.peak_memory_bytes = torch.cuda.max_memory_allocated(device)
    return timing


def _mmseg_row(report: BenchmarkReport, model, inputs, images: int, warmup: int, device: torch.device,
               reference: list[np.ndarray]) -> None:
    from .mmseg_bridge import build_mmseg_model, mmseg_available, predict_labels, prepare_inputs

    if not mmseg_available():
        report.notes.append("mmseg: not installed (pip install mmsegmentation==1.2.2 mmengine mmcv-lite); row skipped")
        return
    checkpoint = getattr(model, "checkpoint_path", None)
    reference_model = build_mmseg_model(model.entry.name, checkpoint, device=str(device))
    import mmseg

    data = [prepare_inputs(reference_model, image) for image in inputs]  # the data loader's work
    timing, labels = time_calls(f"mmseg {mmseg.__version__} own model, fp32 eager", device,
                                lambda i: predict_labels(reference_model, data[i % len(data)]), images, warmup)
    timing.agreement = agreement(labels, reference, len(inputs))
    report.timings.append(timing)
