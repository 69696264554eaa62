"""The model the simulated annotator starts from, and its state while a set is annotated.

The model is GCNet R50 (the Cityscapes entry at the set's size) fine-tuned for a few CPU
iterations on other images of the same set: partly right, as a model is on a new project.

:class:`FrozenModel` is the state a set is annotated with today: it does not change from
one image to the next. The images are annotated one after another through
:meth:`FrozenModel.predict` and :meth:`FrozenModel.learn`, so a sequence mode (a model that
adapts to each finished image) plugs in a state whose ``learn`` changes it, one state per
way (``for_way``), without changing the annotator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from gcnet_core.model.classes import ClassSet

ENTRY = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"


@dataclasses.dataclass
class Prediction:
    labels: np.ndarray
    confidence: np.ndarray | None
    rankings: object  # gcnet_core.predict.rankings.ClassRankings


def sized_entry(size: int):
    """The zoo entry at ``size`` x ``size``: passed as it is to whatever builds or runs the model
    (the zoo's own table is not changed; :func:`finetuned_model` alone lends it the name)."""
    from gcnet_core.weights import zoo

    entry = zoo.get_entry(ENTRY)
    recipe = dataclasses.replace(entry.dataset, base_scale=(size, size), crop_size=(size, size))
    return dataclasses.replace(entry, dataset=recipe)


@contextlib.contextmanager
def _named(entry):
    """``entry`` under its zoo name inside the block: training and ``init_model`` take a model by
    name only. The table is as it was afterwards."""
    from gcnet_core.weights import zoo

    saved = dict(zoo._BY_NAME)
    zoo._BY_NAME[entry.name] = zoo._BY_NAME[entry.legacy_name] = entry
    try:
        yield
    finally:
        zoo._BY_NAME.clear()
        zoo._BY_NAME.update(saved)


def _fingerprint(train_pairs, classes: ClassSet, iters: int, size: int, seed: int) -> str:
    digest = hashlib.sha256(repr((classes.names, iters, size, seed)).encode())
    for rgb, labels in train_pairs:
        digest.update(rgb.tobytes())
        digest.update(labels.tobytes())
    return digest.hexdigest()[:16]


def finetuned_model(work: Path, train_pairs, classes: ClassSet, iters: int, size: int, seed: int = 0,
                    keep: Path | None = None):
    """GCNet R50 trained briefly on ``train_pairs`` (training ``seed``). With ``keep``, the
    checkpoint is kept there under a name that fingerprints everything it was made from,
    and a later call with the same inputs loads it instead of training again."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from helpers import tiny_start_checkpoint

    from gcnet_core import init_model
    from gcnet_core.files.atomic import atomic_link_or_copy
    from gcnet_core.files.masks import write_index_mask
    from gcnet_core.project.store import Project
    from gcnet_core.train import TrainConfig, train

    entry = sized_entry(size)
    kept = keep / f"effort-{_fingerprint(train_pairs, classes, iters, size, seed)}.pth" if keep else None
    if kept is not None and kept.exists():
        print(f"fine-tuned model reused: {kept}")
        with _named(entry):
            return init_model(entry.name, kept, device="cpu")
    work.mkdir(parents=True, exist_ok=True)
    start = tiny_start_checkpoint(work / "start.pth", entry)  # residual branches start as the identity
    root = work / "train"
    root.mkdir()
    project = Project.create(root, classes)
    for i, (rgb, labels) in enumerate(train_pairs):
        cv2.imwrite(str(root / f"t{i:02d}.png"), rgb[:, :, ::-1])
        write_index_mask(project.label_path(f"t{i:02d}.png"), labels, classes)
        project.set_state(f"t{i:02d}.png", "corrected")
    project.save()
    started = time.perf_counter()
    with _named(entry):
        result = train(TrainConfig(out=str(work / "out"), data_root=str(root), dataset="project", checkpoint=str(start),
                                   model=entry.name, workers=0, device="cpu", iters=iters, val_share=0.0,
                                   val_split="none", lr=0.03, seed=seed))
    print(f"fine-tuned {iters} iterations on {len(train_pairs)} images in {time.perf_counter() - started:.0f} s")
    if kept is not None:
        keep.mkdir(parents=True, exist_ok=True)
        atomic_link_or_copy(result.last_path, kept)
    with _named(entry):
        return init_model(entry.name, result.last_path, device="cpu")


def predict(model, rgb: np.ndarray) -> Prediction:
    from gcnet_core.predict.running import inference

    result = inference(model, rgb)
    return Prediction(result.labels, result.confidence, result.rankings)


class FrozenModel:
    """A model that stays as it is while the images are annotated: each image's prediction
    is made once and shared by every way."""

    def __init__(self, model) -> None:
        self.model = model
        self._predictions: dict[int, Prediction] = {}

    def for_way(self) -> FrozenModel:
        """The state one way works with: this one (nothing changes it)."""
        return self

    def predict(self, index: int, rgb: np.ndarray) -> Prediction:
        if index not in self._predictions:
            self._predictions[index] = predict(self.model, rgb)
        return self._predictions[index]

    def learn(self, rgb: np.ndarray, labels: np.ndarray) -> None:
        """Nothing: a frozen model does not learn from the finished ``labels``."""


