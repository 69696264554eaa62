"""The fast inference path, the default on CUDA: the exact path's recipe, GPU plumbing.

The same scales, windows, resizes and argmax as :class:`~gcnet_core.predict.predictor.Predictor`;
what changes is how the arithmetic runs:

* an inference copy of the network: batch norms folded into the convolutions, weights
  in bf16/fp16 under autocast (softmax and LayerNorm stay float32), channels-last layout;
* cuDNN autotuning, and TF32 when asked for with fp32;
* the exact path's network input, bit for bit (OpenCV resize on the host, uint8 upload,
  the same normalisation on the device), so any label difference is the arithmetic's;
* opt-in (``FastOptions``, ``--cuda-graphs`` / ``--pinned-upload``): CUDA graphs for input
  shapes that repeat (folders, the fixed slide windows) and uploads through reused pinned
  buffers. Both are CUDA-only and have never run on a GPU of ours, so the default CUDA
  path holds only plain torch operations; ``torch.compile`` is opt-in too;
* out of GPU memory: fewer images or windows per pass, then sliding windows, then the
  CPU, each noted on the result (``SegmentationResult.note``) instead of a crash.

Labels agree with the exact fp32 path on >= 99.5 % of pixels (``gcnet benchmark``
measures it on real photographs); the remaining differences sit on class boundaries.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..model.segmentor import GCNet
from .acceleration import GraphCache, WeightsWatch, cuda_math, inference_copy, is_out_of_memory, release_gpu_memory
from .network_input import normalize_uploaded, resize_for_network
from .predictor import NetworkPass, Predictor, SegmentationResult, autocast_context, resolve_precision
from .stopping import check_stopped

if TYPE_CHECKING:  # plain data from gcnet_core.weights.zoo
    from ..weights.zoo import ZooEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FastOptions:
    """Switches of the fast path; the benchmark turns them off (or the opt-in ones on) one
    at a time to show what each is worth.

    On by default: plain torch operations that the CPU tests cover. Off by default: the
    CUDA-only machinery not yet run on a GPU (``cuda_graphs``, ``pinned_upload``), plus
    ``compile`` and ``tf32``."""

    channels_last: bool = True
    fold_bn: bool = True
    autotune: bool = True
    cuda_graphs: bool = False  # opt-in: CUDA graphs replayed for repeated input shapes
    pinned_upload: bool = False  # opt-in: uint8 uploads through reused page-locked buffers
    compile: bool = False
    tf32: bool = False  # only matters for fp32: TF32 tensor-core convolutions
    window_batch: int = 3  # sliding windows per pass: 3 keeps R50 Cityscapes under 1.5 GB

    def without(self, name: str) -> "FastOptions":
        return replace(self, **{name: False})

    def with_(self, name: str) -> "FastOptions":
        return replace(self, **{name: True})


OPT_IN_SWITCHES = ("compile", "cuda_graphs", "pinned_upload")  # the --compile/--cuda-graphs/--pinned-upload flags


def options_from_flags(args) -> FastOptions | None:
    """FastOptions with the opt-in switches a command line turned on (None: the defaults)."""
    switches = {name: True for name in OPT_IN_SWITCHES if getattr(args, name, False)}
    return FastOptions(**switches) if switches else None


class PinnedStaging:
    """Reused page-locked host buffers, one per batch shape, so uint8 images reach the GPU
    by asynchronous DMA. A buffer is refilled only after its previous copy has finished."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.buffers: OrderedDict[tuple, tuple[torch.Tensor, torch.cuda.Event | None]] = OrderedDict()

    def upload(self, images: list[np.ndarray], device: torch.device) -> torch.Tensor:
        shape = (len(images), *images[0].shape)
        buffer, copied = self.buffers.pop(shape, (None, None))
        if buffer is None:
            if len(self.buffers) >= self.keep:
                self.buffers.popitem(last=False)
            buffer = torch.empty(shape, dtype=torch.uint8, pin_memory=True)
        if copied is not None:
            copied.synchronize()
        host = buffer.numpy()
        for index, image in enumerate(images):
            host[index] = image
        on_device = buffer.to(device, non_blocking=True)
        copied = torch.cuda.Event()
        copied.record(torch.cuda.current_stream(device))
        self.buffers[shape] = (buffer, copied)
        return on_device

    def clear(self) -> None:
        self.buffers.clear()


class FastPredictor(Predictor):
    """:class:`Predictor` with the fast plumbing above; works on the CPU too (where the
    tests run it), minus the CUDA-only parts (autotuning, and the opt-in pinned uploads
    and graphs)."""

    def __init__(self, model: torch.nn.Module, entry: "ZooEntry", precision: str = "auto",
                 options: FastOptions | None = None) -> None:
        options = options or FastOptions()
        super().__init__(model, entry, precision, window_batch=options.window_batch)
        self.options = options
        on_cuda = self.device.type == "cuda"
        self.runner = inference_copy(model, self.precision, options.channels_last, options.fold_bn)
        self._weights = WeightsWatch(model)
        self._forward = self._eager_forward
        if options.compile:
            self._forward = torch.compile(self._eager_forward, dynamic=False)
        self._graphs = GraphCache(self._forward) if on_cuda and options.cuda_graphs else None
        self._staging = PinnedStaging() if on_cuda and options.pinned_upload else None
        self._cpu_predictor: Predictor | None = None
        self._overflow: torch.Tensor | None = None  # fp16: did any pass give inf/NaN logits?

    @property
    def description(self) -> str:
        return self.describe(self.device, self.precision, self.options)

    @staticmethod
    def describe(device: torch.device, precision: str, options: FastOptions) -> str:
        """``fp16 (channels last, fold bn)``: the precision and the switches that apply on ``device``."""
        precision = resolve_precision(device, precision)
        names = ["channels_last", "fold_bn", "compile"]
        if device.type == "cuda":
            names += ["cuda_graphs", "pinned_upload"]
            names += ["tf32"] if precision == "fp32" else []
        switches = [name.replace("_", " ") for name in names if getattr(options, name)]
        return f"{precision} ({', '.join(switches) or 'plain'})"

    @contextlib.contextmanager
    def math_settings(self):
        """The CUDA flags of these options, with the model's GPU as the current device (the
        streams and events of graphs and pinned uploads belong to the current device)."""
        if self.device.type != "cuda":
            yield
            return
        with torch.cuda.device(self.device), cuda_math(tf32=self.options.tf32, autotune=self.options.autotune):
            yield

    def follow_weights(self) -> None:
        """Rebuild the inference copy (and drop graphs and the CPU copy) when the model's
        weights changed since it was made: after ``load_state_dict`` or training in this
        process, the fast path answers with the new weights, as the exact path does."""
        if not self._weights.changed():
            return
        log.info("the model's weights changed: rebuilding the fast path's inference copy")
        if self._graphs is not None:
            self._graphs.clear()
        self._cpu_predictor = None
        self.runner = inference_copy(self.model, self.precision, self.options.channels_last, self.options.fold_bn)

    def run(self, x: torch.Tensor, keep_features: bool = False) -> NetworkPass:
        self.follow_weights()  # every way in (batches, ms+flip, the preview) passes here
        return super().run(x, keep_features)

    # ------------------------------------------------------------------ network

    def _eager_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone + decode head at 1/8 resolution: float32 logits (resized outside, in fp32)
        and the features as computed."""
        with autocast_context(self.device, self.precision, cache_enabled=False):
            logits, features = self.runner(x)
            return logits.float(), features

    def head_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_stopped()  # a pass asked to stop ends before its next window (:mod:`.stopping`)
        if self.options.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        small, features = self._graphs(x) if self._graphs is not None else self._forward(x)
        if self.precision == "fp16":  # recorded on the device; read once per image (no extra sync)
            bad = ~torch.isfinite(small).all()
            self._overflow = bad if self._overflow is None else self._overflow | bad
        return small, features  # the first resize follows in float32, so close logits keep their order

    # ------------------------------------------------------------------ input

    def prepare(self, images: list[np.ndarray], scale: tuple[int, int], flip: bool = False) -> torch.Tensor:
        """The exact path's input, bit for bit: OpenCV resize and flip on the host, uint8
        upload (through pinned buffers when asked for), the shared normalisation on the
        device; only the memory layout differs (channels-last)."""
        resized = resize_for_network(images, scale, flip)
        if self._staging is not None:
            batch = self._staging.upload(resized, self.device)
        else:
            batch = torch.from_numpy(np.stack(resized)).to(self.device, non_blocking=True)
        x = normalize_uploaded(batch)
        return x.contiguous(memory_format=torch.channels_last) if self.options.channels_last else x

    # ------------------------------------------------------------------ memory fallbacks

    @torch.inference_mode()
    def predict_batch(self, images: list[np.ndarray], return_logits: bool = False,
                      keep_features: bool = False) -> list[SegmentationResult]:
        try:
            self._overflow = None
            results = super().predict_batch(images, return_logits, keep_features)
            if self._overflowed():
                results = self._in_fp32(lambda exact: exact.predict_batch(images, return_logits, keep_features),
                                        images)
            return results
        except Exception as error:  # out of memory only; anything else is a real error
            if not is_out_of_memory(error):
                raise
        self._after_out_of_memory()
        if len(images) > 1:  # one image at a time first
            log.warning("out of GPU memory for a batch of %d images: continuing one by one", len(images))
            return [result for image in images for result in self.predict_batch([image], return_logits, keep_features)]
        return [self._fallback(images[0], return_logits, keep_features)]

    @torch.inference_mode()
    def predict_tta(self, image: np.ndarray, return_logits: bool = False,
                    keep_features: bool = False) -> SegmentationResult:
        try:
            self._overflow = None
            result = super().predict_tta(image, return_logits, keep_features)
            if self._overflowed():
                result = self._in_fp32(lambda exact: [exact.predict_tta(image, return_logits, keep_features)],
                                       [image])[0]
            return result
        except Exception as error:
            if not is_out_of_memory(error):
                raise
        self._after_out_of_memory()
        result = self.cpu_predictor().predict_tta(image, return_logits, keep_features)
        return self._noted(result, image, "segmented with ms+flip on the CPU (slower)")

    def _overflowed(self) -> bool:
        overflow, self._overflow = self._overflow, None
        return overflow is not None and bool(overflow)

    def _in_fp32(self, run, images: list[np.ndarray]) -> list[SegmentationResult]:
        """Redo images whose fp16 logits overflowed with the exact fp32 path on this device."""
        results = run(Predictor(self.model, self.entry, precision="fp32"))
        for result, image in zip(results, images):
            height, width = image.shape[:2]
            result.note = f"fp16 overflowed on this {width}x{height} image: segmented again in fp32."
            log.warning(result.note)
        return results

    def _fallback(self, image: np.ndarray, return_logits: bool, keep_features: bool) -> SegmentationResult:
        """One window per pass (sliding windows for a whole-image model), then the CPU."""
        saved = (self.force_slide, self.window_batch)
        self.force_slide, self.window_batch = True, 1
        try:
            result = super().predict_batch([image], return_logits, keep_features)[0]
            how = "one sliding window at a time" if self.entry.test_mode == "slide" else "sliding windows"
            return self._noted(result, image, f"used {how} on the GPU")
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            self._after_out_of_memory()
        finally:
            self.force_slide, self.window_batch = saved
        result = self.cpu_predictor().predict_batch([image], return_logits, keep_features)[0]
        return self._noted(result, image, "segmented on the CPU (slower)")

    def _noted(self, result: SegmentationResult, image: np.ndarray, action: str) -> SegmentationResult:
        height, width = image.shape[:2]
        result.note = f"Not enough GPU memory for this {width}x{height} image: {action}."
        log.warning(result.note)
        return result

    def cpu_predictor(self) -> Predictor:
        """An exact fp32 predictor on a CPU copy of the weights (built once, when needed)."""
        if self._cpu_predictor is None:
            model = self.model  # the same shape on the CPU, made there (a GPU copy would not fit)
            cpu_model = GCNet(model.num_classes, model.depth, model.align_corners,
                              with_auxiliary_head=model.auxiliary_head is not None)
            cpu_model.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
            self._cpu_predictor = Predictor(cpu_model.eval(), self.entry, precision="fp32")
        return self._cpu_predictor

    def _after_out_of_memory(self) -> None:
        if self._graphs is not None:
            self._graphs.clear()
        release_gpu_memory()

    def release(self) -> None:
        """Drop graphs and staging buffers and return cached GPU memory (between jobs)."""
        if self._graphs is not None:
            self._graphs.clear()
        if self._staging is not None:
            self._staging.clear()
        release_gpu_memory()
