"""What :func:`gcnet_core.init_model` returns: the network, what it was loaded as, and how it runs.

Every runtime setting is a field of :class:`LoadedModel`, never an attribute hung on the
``nn.Module``, so a misspelt setting is an ``AttributeError`` instead of a silent default.
This module is the one that knows every predictor (exact, fast, onnxruntime) and which one a
model gets, so none of them has to know the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import torch

from .acceleration import release_gpu_memory
from .fast import FastOptions, FastPredictor
from .onnx_engine import Progress, engine_or_exact
from .predictor import Predictor

if TYPE_CHECKING:  # plain data from gcnet_core.model and gcnet_core.weights.zoo
    from ..model.classes import ClassSet
    from ..model.segmentor import GCNet
    from ..weights.zoo import ZooEntry

#: How a model's network runs: the exact reference path, the fast GPU path, or the CPU
#: engine (the network through onnxruntime, the exact path's pre- and post-processing).
BACKENDS = ("exact", "fast", "onnxruntime")


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A network ready for :func:`~gcnet_core.predict.running.inference`, and what it was loaded as.

    The settings are frozen: :func:`dataclasses.replace` makes a variant (another backend,
    precision or entry), which builds its own predictor. The network itself is a plain
    ``nn.Module`` whose weights may change (training, ``load_state_dict``); every predictor
    follows them.
    """

    network: "GCNet"
    entry: "ZooEntry"
    classes: "ClassSet"  # what the network predicts (index = label value); a fine-tune's own set
    backend: str = "exact"  # one of BACKENDS
    precision: str = "fp32"  # fp32, fp16 or bf16 (resolved: never "auto")
    fast_options: FastOptions | None = None  # the fast backend's switches; None: its defaults
    checkpoint_path: Path | None = None
    checkpoint_meta: Mapping[str, Any] = field(default_factory=dict)
    load_notes: tuple[str, ...] = ()  # what loading the weights had to say (keys skipped, ...)
    _predictor: Predictor | None = field(default=None, init=False, repr=False)  # built on first use

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.backend == "onnxruntime" and self.precision != "fp32":
            raise ValueError(f"the onnxruntime backend runs in fp32, not {self.precision}")

    @property
    def device(self) -> torch.device:
        """Where the network's weights are now."""
        return next(self.network.parameters()).device

    def predictor(self, progress: Progress | None = None) -> Predictor:
        """The predictor of this model's backend, built on first use and kept (built again
        when the network moved to another device). ``progress(stage, done, total)`` reports
        the onnxruntime engine's one-off export while it is built."""
        predictor = self._predictor
        if predictor is None or predictor.device != self.device:
            predictor = self._new_predictor(progress)
            object.__setattr__(self, "_predictor", predictor)  # the one mutable slot: a cache
        return predictor

    def _new_predictor(self, progress: Progress | None) -> Predictor:
        if self.backend == "fast":
            return FastPredictor(self.network, self.entry, self.precision, self.fast_options)
        if self.backend == "onnxruntime":
            return engine_or_exact(self.network, self.entry, progress)
        return Predictor(self.network, self.entry, self.precision)

    def release(self) -> None:
        """Forget the predictor (and the fast path's graphs, buffers and weight copy) and hand
        cached GPU memory back, e.g. between jobs or before training starts."""
        predictor = self._predictor
        object.__setattr__(self, "_predictor", None)
        if predictor is not None:
            predictor.release()
        del predictor
        release_gpu_memory()


__all__ = ["BACKENDS", "LoadedModel"]
