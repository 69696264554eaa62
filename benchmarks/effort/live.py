"""The sequence mode's model: a small GCNet that knows every class of the set but one, and its
state while the images are corrected one after another, adapting live or not.

The starting model (:func:`starting_model`) is GCNet R50 at the set's size with random,
fixed weights whose residual blocks start as the identity (the rule of
``tests/helpers.tiny_start_checkpoint``): its features keep colour and texture, as a trained
network's keep what tells classes apart, and nothing changes them, as nothing changes a zoo
model's. Its classifier ``conv_seg`` is fitted on a few images that hold only the known
classes, with the app's own fit (:func:`~gcnet_core.adapt.head.fit_head` from the classes'
mean features), so the model starts mostly right on the classes it knows and never predicts
the one it does not, as a zoo model on a person's own project. Random ``conv_seg`` weights
would give labels that mean nothing; fine-tuning the whole network takes minutes of CPU per
set and changes nothing that is measured here (live adaptation re-fits only ``conv_seg``).

:class:`LiveModel` is the state :func:`effort.report.annotate_set` works with
(``for_way``, ``predict``, ``learn``). It keeps a real project on disk with every image of
the sequence and each image's features in a :class:`FeatureCache`, as the app keeps them
with its pre-segmentations. When an image is finished its labels are written, the pixels
the person changed marked edited, and its state set to corrected; with ``adapt`` the round
the window's worker runs follows (:class:`~gcnet_core.adapt.job.LiveAdapter`): ``round``
(``adapt_project``, the guard included), then, when adopted, ``relabel_untouched`` for every
image nobody touched (their boundaries on the image's edges, as the app does, or with ``edges``
off from the features alone, as before). Each
round's figures (its seconds, whether the new head was adopted, the wrong pixels left on the
untouched images) go to :attr:`LiveModel.rounds`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from gcnet_core.adapt.head import LinearHead, fit_head, grid_logits, image_samples, initial_head, relabel
from gcnet_core.adapt.winners import resize_as_predictor
from gcnet_core.adapt.job import LiveAdapter, NothingToLearn, starting_head
from gcnet_core.model.build import build_model
from gcnet_core.model.classes import IGNORE_INDEX, ClassSet
from gcnet_core.model.resnet import Bottleneck
from gcnet_core.predict.features import FeatureExtractor, FeatureMap
from gcnet_core.predict.loaded import LoadedModel
from gcnet_core.predict.rankings import rankings_from_logits
from gcnet_core.project.feature_cache import FeatureCache
from gcnet_core.project.store import Project

from .model import Prediction, sized_entry

START_ITERATIONS = 100  # L-BFGS iterations of the starting classifier's fit (the live fit stops at 25)


def starting_model(known: ClassSet, train_pairs, size: int) -> LoadedModel:
    """R50 at ``size`` x ``size`` (random, fixed, identity-start blocks) whose ``conv_seg``
    is fitted on ``train_pairs`` (labels of the ``known`` classes only)."""
    entry = sized_entry(size)
    torch.manual_seed(0)
    network = build_model(entry, known)
    network.init_weights()
    for module in network.modules():
        if isinstance(module, Bottleneck):
            torch.nn.init.zeros_(module.bn3.weight)
    network.eval()
    extractor = FeatureExtractor(network, entry)
    # balanced weights, as the starting classifier was always fitted (the ruler stays where it was)
    samples = [image_samples(extractor(rgb), labels, None, len(known), seed=i, pixel_share=False)
               for i, (rgb, labels) in enumerate(train_pairs)]
    conv_seg = network.decode_head.conv_seg  # its random rows name no class: each starts from its mean
    start = initial_head(conv_seg.weight, conv_seg.bias, (), known.names, samples)
    weight, bias = fit_head(start, samples, max_iterations=START_ITERATIONS).conv_seg()
    with torch.no_grad():
        conv_seg.weight.copy_(weight)
        conv_seg.bias.copy_(bias)
    return LoadedModel(network, entry, known)


def head_prediction(head: LinearHead, feature_map: FeatureMap, labels: np.ndarray) -> Prediction:
    """``labels`` with the confidence and class rankings of the head that gave them (what the
    model-aware tools read)."""
    with torch.inference_mode():
        logits = resize_as_predictor(grid_logits(head, feature_map), feature_map)
        confidence = torch.softmax(logits, dim=0).max(dim=0).values.numpy()
        lut = np.full(256, IGNORE_INDEX, np.uint8)
        lut[:head.rows] = head.output_ids
        rankings = rankings_from_logits(logits, feature_map.image_size).remapped(lut)
    return Prediction(labels, confidence, rankings)


@dataclasses.dataclass(frozen=True)
class Sequence:
    """The images of a sequence on disk and their features, shared by every way's project."""

    pairs: list
    files: list[Path]
    features: list[FeatureMap]


class LiveModel:
    """A project being corrected image after image; ``adapt``: live adaptation on."""

    _folders = itertools.count()

    def __init__(self, model: LoadedModel, classes: ClassSet, pairs, work: Path, adapt: bool,
                 sequence: Sequence | None = None, cache: FeatureCache | None = None, edges: bool = True) -> None:
        self.model, self.classes, self.work, self.adapt, self.edges = model, classes, work, adapt, edges
        self.cache = cache or FeatureCache(None, memory_mb=1024)
        self.adapter = LiveAdapter(model, self.cache)
        self.sequence = sequence or self._write_sequence(pairs)
        self.root = work / f"project-{next(self._folders)}"
        self.project = Project.create(self.root, classes)
        self.paths = []
        for i, source in enumerate(self.sequence.files):  # the same bytes: the same cache keys
            path = self.root / source.name
            path.write_bytes(source.read_bytes())
            self.project.set_state(path, "predicted")
            self.paths.append(path)
            self.cache.put(self.adapter.keys.of(path), self.adapter.version, self.sequence.features[i])
        self.project.save()
        self.head = starting_head(model, self.project)
        self.labels = {path: self._relabel(self.head, i) for i, path in enumerate(self.paths)}
        self.heads = dict.fromkeys(self.paths, self.head)
        self.shown: dict[int, np.ndarray] = {}  # the pre-segmentation each image was opened with
        self.rounds: list[dict] = []
        self._current: int | None = None

    def _write_sequence(self, pairs) -> Sequence:
        folder = self.work / "images"
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for i, (rgb, _) in enumerate(pairs):
            files.append(folder / f"seq{i:03d}.png")
            cv2.imwrite(str(files[-1]), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return Sequence(list(pairs), files, [self.adapter.extractor(rgb) for rgb, _ in pairs])

    def _relabel(self, head: LinearHead, index: int) -> np.ndarray:
        return relabel(head, self.sequence.features[index])

    def for_way(self, adapt: bool | None = None, edges: bool | None = None) -> LiveModel:
        """A fresh project over the same images and features: one way's own corrections
        (``adapt``: live adaptation on or off; ``edges``: re-labelled boundaries on the image's
        edges or not; default as here)."""
        return LiveModel(self.model, self.classes, None, self.work, self.adapt if adapt is None else adapt,
                         self.sequence, self.cache, self.edges if edges is None else edges)

    def predict(self, index: int, rgb: np.ndarray) -> Prediction:
        path = self.paths[index]
        self._current = index
        self.shown[index] = self.labels[path].copy()
        return head_prediction(self.heads[path], self.sequence.features[index], self.labels[path])

    def learn(self, rgb: np.ndarray, labels: np.ndarray) -> None:
        """The image opened last is finished with ``labels``: saved as corrected; with
        ``adapt`` one live round, timed from here to the untouched images' new labels."""
        index = self._current
        path = self.paths[index]
        self.project.write_masks(path, labels, labels != self.shown[index])
        self.project.set_state(path, "corrected")
        self.project.save()
        done = {"image": index, "corrected": index + 1, "adapt_s": None, "update_s": None, "adopted": False,
                "summary": "adaptation off"}
        if self.adapt:
            began = time.perf_counter()
            try:
                result = self.adapter.round(self.project)
            except NothingToLearn as reason:
                done.update(adapt_s=time.perf_counter() - began, summary=str(reason))
            else:
                done.update(adapt_s=time.perf_counter() - began, adopted=result.adopted, summary=result.summary)
                if result.adopted:
                    self.head = result.head
                    for untouched, new in self.adapter.relabel_untouched(self.project, edges=self.edges):
                        self.labels[untouched], self.heads[untouched] = new, self.head
            done["update_s"] = time.perf_counter() - began
        done.update(self.untouched_figures(index + 1))
        self.rounds.append(done)

    def untouched_figures(self, start: int) -> dict:
        """Wrong pixels on the images after ``start`` (nobody touched them yet) and the unknown
        class's IoU there (pooled over those images)."""
        unknown = len(self.classes) - 1
        wrong, both, either = 0, 0, 0
        for index in range(start, len(self.paths)):
            gt = self.sequence.pairs[index][1]
            labels, valid = self.labels[self.paths[index]], gt != IGNORE_INDEX
            wrong += int(((labels != gt) & valid).sum())
            both += int(((labels == unknown) & (gt == unknown)).sum())
            either += int((((labels == unknown) | (gt == unknown)) & valid).sum())
        return {"untouched_images": len(self.paths) - start, "untouched_wrong": wrong,
                "unknown_iou": both / either if either else None}
