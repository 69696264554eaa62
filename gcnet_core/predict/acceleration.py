"""Building blocks of the fast CUDA path: an inference-only copy of the network, CUDA
math settings scoped to a call, CUDA graphs for repeated shapes, and memory release.

Nothing here changes the recipe (scales, windows, resizes); it changes how the same
arithmetic is scheduled: folded batch norms, channels-last layout, half-precision
weights, autotuned cuDNN kernels and replayed kernel launches.
"""

from __future__ import annotations

import contextlib
import copy
import gc
from collections import OrderedDict
from typing import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .features import head_features

HALF_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def best_precision(device: torch.device) -> str:
    """What ``precision="auto"`` means: fp16 on a GPU, exact fp32 on the CPU (where half
    precision is slower, not faster).

    fp16 rather than bf16: both run on the same tensor cores, but fp16 keeps 3 more
    mantissa bits, so its labels agree with fp32 on more pixels (measured on the CPU
    with random-weight checkpoints: 99.5-99.8 % against 98-99 % for bf16). Its narrower
    range is guarded: a pass that overflows is redone in fp32 (see FastPredictor).
    """
    return "fp16" if device.type == "cuda" else "fp32"


def _fold_pairs(module: nn.Module) -> None:
    """Replace every conv followed by its batch norm (our attribute pairs and Sequential
    neighbours) by one conv with the norm folded into its weight and bias."""
    for conv_name, bn_name in (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv", "bn")):
        conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm):
            setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(module, bn_name, nn.Identity())
    if isinstance(module, nn.Sequential):
        for index in range(len(module) - 1):
            conv, bn = module[index], module[index + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm):  # SyncBN too
                module[index] = fuse_conv_bn_eval(conv, bn)
                module[index + 1] = nn.Identity()


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold eval-mode batch norms into the preceding convolutions, in place.

    The result computes the same function (up to float rounding) with one kernel fewer
    per norm: 50-100 memory-bound passes over large activations saved per image.
    """
    for module in list(model.modules()):
        _fold_pairs(module)
    return model


class BackboneAndHead(nn.Module):
    """A GCNet's backbone and decode head (the same modules, not copies): (logits, features)
    at 1/8 of the input, before the first resize, the features being ``conv_seg``'s input
    (kept for live adaptation). What the fast path and the CPU engine run; the auxiliary head
    (training only) is left out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone, self.decode_head = model.backbone, model.decode_head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = head_features(self, x)
        return self.decode_head.conv_seg(features), features


def inference_copy(model: nn.Module, precision: str, channels_last: bool, fold_bn: bool) -> BackboneAndHead:
    """An eval-only copy of ``model``'s backbone and decode head arranged for speed; the
    original stays untouched (it can still be trained, evaluated exactly or saved)."""
    runner = copy.deepcopy(BackboneAndHead(model)).eval()
    if fold_bn:
        fold_batch_norms(runner)
    if precision in HALF_DTYPES:
        # Weights stored in half precision: autocast then has nothing to cast per call,
        # and still runs softmax and LayerNorm (the GC block) in float32.
        runner.to(HALF_DTYPES[precision])
    if channels_last:
        runner.to(memory_format=torch.channels_last)
    for parameter in runner.parameters():
        parameter.requires_grad_(False)
    return runner


def weights_fingerprint(model: nn.Module) -> tuple:
    """Identity and version counter of every parameter and buffer: it changes when the
    weights change in place (``load_state_dict``, an optimiser step, batch-norm statistics)
    or are replaced, so a copy made from them can tell that it is stale. Cheap (no data read)."""
    return tuple((t.data_ptr(), t._version) for t in (*model.parameters(), *model.buffers()))


class WeightsWatch:
    """Remembers a model's :func:`weights_fingerprint`; :meth:`changed` says whether it moved
    since the last look (and then remembers the new one)."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.seen = weights_fingerprint(model)

    def changed(self) -> bool:
        now = weights_fingerprint(self.model)
        if now == self.seen:
            return False
        self.seen = now
        return True


@contextlib.contextmanager
def cuda_math(tf32: bool, autotune: bool):
    """TF32 and cuDNN autotuning for one call, restored afterwards, so that an exact fp32
    predictor and a fast one can live in the same process."""
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.benchmark)
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = autotune
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.benchmark) = saved


class GraphCache:
    """CUDA graphs of ``function`` (a tensor in, a tuple of tensors out) for input shapes seen
    at least ``after`` times.

    A folder of same-sized images or the fixed slide-window batch of a Cityscapes model
    replays one recorded graph: one launch instead of several hundred, which matters most
    for small inputs where Python and launch overhead rival the arithmetic. A shape seen
    once (an interactive image of an odd size) runs eagerly and costs no capture.
    """

    def __init__(self, function: Callable[[torch.Tensor], tuple[torch.Tensor, ...]], after: int = 2,
                 max_graphs: int = 4) -> None:
        self.function = function
        self.after = after
        self.max_graphs = max_graphs
        self.seen: dict[tuple, int] = {}
        self.graphs: OrderedDict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, tuple]] = OrderedDict()
        self.pool = None

    def key(self, x: torch.Tensor) -> tuple:
        return (tuple(x.shape), x.dtype, x.is_contiguous(memory_format=torch.channels_last))

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        key = self.key(x)
        if key in self.graphs:
            self.graphs.move_to_end(key)
            graph, static_in, static_out = self.graphs[key]
            static_in.copy_(x)
            graph.replay()
            return tuple(t.clone() for t in static_out)  # the next replay overwrites static_out
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] < self.after:
            return self.function(x)
        return self._capture(key, x)

    def _capture(self, key: tuple, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(self.graphs) >= self.max_graphs:
            self.graphs.popitem(last=False)
        static_in = x.clone(memory_format=torch.preserve_format)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # cuDNN autotuning and allocator warm-up off the graph
            for _ in range(2):
                self.function(static_in)
        torch.cuda.current_stream().wait_stream(side)
        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            static_out = self.function(static_in)
        self.graphs[key] = (graph, static_in, tuple(static_out))
        graph.replay()
        return tuple(t.clone() for t in static_out)

    def clear(self) -> None:
        self.graphs.clear()
        self.seen.clear()
        self.pool = None


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA OOM (torch raises ``torch.OutOfMemoryError``) or cuDNN's own allocation failure."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("out of memory" in text or "CUDNN_STATUS_ALLOC_FAILED" in text
                                                or "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE" in text)


def release_gpu_memory() -> None:
    """Give cached GPU memory back to the driver, e.g. between jobs or after an OOM, so a
    training run or another program can use it."""
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
