"""Dataset readers: (image, label) file pairs plus the one function that loads labels.

Training and evaluation both go through :func:`load_label` and :class:`SegDataset`, so a
label is decoded the same way everywhere: Pillow "unchanged" semantics (palette PNGs give
their indices, never colours), cast to uint8, then the dataset's own conversion
(Cityscapes labelIds -> trainIds, ADE20K reduce_zero_label). Labels coming out of a
:class:`SegDataset` are therefore final: class ids ``0..nc-1`` and 255 = ignore, so an
evaluator must use ``IoUAccumulator(..., reduce_zero_label=False)`` on them.

Layouts follow mmsegmentation (docs/datasets.md). Images without a label file are left out with
one warning per reader; corrupt files are only found when read, see :func:`iter_valid`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..files.class_list import CLASS_LIST, class_set_of
from ..files.images import ImageReadError, read_image_rgb
from ..files.masks import read_index_mask
from ..model.classes import DATASET_CLASSES, IGNORE_INDEX, ClassSet, cityscapes_labelid_to_trainid_lut
from ..project.states import DONE_STATES
from ..project.store import Project

log = logging.getLogger("gcnet_core.data")

KINDS = ("cityscapes", "ade20k", "voc", "project")
_ADE_SPLITS = {"train": "training", "val": "validation", "training": "training", "validation": "validation"}
_VOC_AUG_SPLITS = ("aug", "trainaug")


@dataclass(frozen=True)
class Sample:
    """One image and its label file; ``label_ids`` marks Cityscapes labelIds (not trainIds)."""

    image: Path
    label: Path
    name: str
    label_ids: bool = False


class SampleReadError(Exception):
    """A sample's image or label cannot be used; ``path`` is the offending file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# ------------------------------------------------------------------------------- labels
def _reduce_zero_label(label: np.ndarray) -> np.ndarray:
    """0 ("other") -> 255, k -> k-1, 255 stays 255 (ADE20K)."""
    out = label.astype(np.int16) - 1
    out[(label == 0) | (label == IGNORE_INDEX)] = IGNORE_INDEX
    return out.astype(np.uint8)


def load_label(sample: Sample | str | os.PathLike, reduce_zero_label: bool = False) -> np.ndarray:
    """Read a label map as (H, W) uint8 class ids, 255 = ignore.

    Raises :class:`~gcnet_core.files.images.ImageReadError` naming the file when it is missing,
    corrupt or not an index mask.
    """
    path = sample.label if isinstance(sample, Sample) else Path(sample)
    label = read_index_mask(path)
    if isinstance(sample, Sample) and sample.label_ids:
        label = cityscapes_labelid_to_trainid_lut()[label]
    if reduce_zero_label:
        label = _reduce_zero_label(label)
    return label


# ------------------------------------------------------------------------------ readers
def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


def _warn_unlabelled(missing: list[str], where: Path) -> None:
    if missing:
        log.warning("%d image(s) under %s have no label file and are left out (first: %s)",
                    len(missing), where, missing[0])


def cityscapes_samples(root: str | os.PathLike, split: str) -> list[Sample]:
    """``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with ``gtFine`` labelTrainIds.

    Where only ``*_gtFine_labelIds.png`` exists it is used and mapped to trainIds on load.
    """
    root = Path(root)
    image_root = _require_dir(root / "leftImg8bit" / split, "Cityscapes image folder")
    label_root = root / "gtFine" / split
    samples, missing = [], []
    for image in sorted(image_root.glob("*/*_leftImg8bit.png")):
        city, base = image.parent.name, image.name[: -len("_leftImg8bit.png")]
        train_ids = label_root / city / f"{base}_gtFine_labelTrainIds.png"
        label_ids = label_root / city / f"{base}_gtFine_labelIds.png"
        if train_ids.is_file():
            samples.append(Sample(image, train_ids, base))
        elif label_ids.is_file():
            samples.append(Sample(image, label_ids, base, label_ids=True))
        else:
            missing.append(base)
    _warn_unlabelled(missing, image_root)
    return samples


def ade20k_samples(root: str | os.PathLike, split: str) -> list[Sample]:
    """``images/<split>/*.jpg`` with ``annotations/<split>/*.png`` (split training/validation)."""
    root = Path(root)
    if split not in _ADE_SPLITS:
        raise ValueError(f"unknown ADE20K split {split!r}; expected one of {sorted(_ADE_SPLITS)}")
    split = _ADE_SPLITS[split]
    image_root = _require_dir(root / "images" / split, "ADE20K image folder")
    samples, missing = [], []
    for image in sorted(image_root.glob("*.jpg")):
        label = root / "annotations" / split / f"{image.stem}.png"
        if label.is_file():
            samples.append(Sample(image, label, image.stem))
        else:
            missing.append(image.stem)
    _warn_unlabelled(missing, image_root)
    return samples


def voc_samples(root: str | os.PathLike, split: str) -> list[Sample]:
    """Ids from ``ImageSets/Segmentation/<split>.txt``; ``root`` is VOC2012 or VOCdevkit.

    For the ``aug``/``trainaug`` splits a label missing from ``SegmentationClass`` is taken
    from ``SegmentationClassAug`` (the SBD conversion).
    """
    root = Path(root)
    if not (root / "ImageSets").is_dir() and (root / "VOC2012").is_dir():
        root = root / "VOC2012"
    split_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not split_file.is_file():
        raise FileNotFoundError(f"VOC split file not found: {split_file}")
    label_dirs = [root / "SegmentationClass"]
    if split in _VOC_AUG_SPLITS:
        label_dirs.append(root / "SegmentationClassAug")
    samples, missing = [], []
    for image_id in split_file.read_text(encoding="utf-8").split():
        image = root / "JPEGImages" / f"{image_id}.jpg"
        label = next((d / f"{image_id}.png" for d in label_dirs if (d / f"{image_id}.png").is_file()), None)
        if label is None:
            missing.append(image_id)
        else:
            samples.append(Sample(image, label, image_id))
    _warn_unlabelled(missing, root)
    return samples


def project_samples(root: str | os.PathLike, states: Iterable[str] = DONE_STATES) -> list[Sample]:
    """Images of a :class:`~gcnet_core.project.store.Project` in one of ``states`` that have a label
    (by default the ones a person marked done: corrected or exported)."""
    project = Project.open(root)
    samples = []
    for image in project.images_with_state(*states):
        label = project.label_path(image)
        if label.is_file():
            samples.append(Sample(image, label, project.relative(image)))
    return samples


# ------------------------------------------------------------------------------ dataset
class SegDataset:
    """Indexable (image RGB uint8 HxWx3, label uint8 HxW, name) samples of one dataset.

    ``kind`` is cityscapes | ade20k | voc | project. For ``project`` the ``split`` is the
    image state(s) to use: a state, comma-separated states, a sequence, or None for
    ``corrected``. ``classes`` defaults to the dataset's (or the project's) classes.
    """

    def __init__(self, kind: str, root: str | os.PathLike, split: str | Sequence[str] | None = None,
                 classes: ClassSet | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown dataset kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        self.root = Path(root)
        self.split = split
        self.reduce_zero_label = kind == "ade20k"
        if kind == "project":
            states = _states(split)
            self.samples = project_samples(root, states)
            self.classes = classes or Project.open(root).classes
        else:
            if not isinstance(split, str):
                raise ValueError(f"a {kind} dataset needs a split name")
            reader = {"cityscapes": cityscapes_samples, "ade20k": ade20k_samples, "voc": voc_samples}[kind]
            self.samples = reader(root, split)
            self.classes = classes or _exported_classes(self.root) or DATASET_CLASSES[kind]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, str]:
        """Decode one sample; raises :class:`SampleReadError` naming the unusable file."""
        sample = self.samples[index]
        try:
            image = read_image_rgb(sample.image)
        except ImageReadError as exc:
            raise SampleReadError(sample.image, exc.reason) from exc
        try:
            label = load_label(sample, self.reduce_zero_label)
        except ImageReadError as exc:
            raise SampleReadError(sample.label, exc.reason) from exc
        if label.shape != image.shape[:2]:
            raise SampleReadError(sample.label, f"label size {label.shape[::-1]} "
                                                f"differs from image size {image.shape[1::-1]}")
        return image, label, sample.name


def _exported_classes(root: Path) -> ClassSet | None:
    """The class list our exports write (``classes.txt``) when the layout's own set is not it."""
    folder = root / "VOC2012" if not (root / CLASS_LIST).is_file() and (root / "VOC2012").is_dir() else root
    return class_set_of(folder / CLASS_LIST, DATASET_CLASSES.values()) if (folder / CLASS_LIST).is_file() else None


def _states(split: str | Sequence[str] | None) -> tuple[str, ...]:
    if split is None:
        return DONE_STATES
    if isinstance(split, str):
        return tuple(s.strip() for s in split.split(",") if s.strip())
    return tuple(split)


def load_sample_safe(dataset: SegDataset, index: int,
                     failures: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``dataset[index]``, or None with a warning naming the corrupt file (also appended to
    ``failures`` as ``"<file>: <reason>"``, for a list at the end of the run)."""
    try:
        return dataset[index]
    except SampleReadError as exc:
        log.warning("skipping sample %s: cannot use %s: %s",
                    dataset.samples[index].name, exc.path, exc.reason)
        if failures is not None:
            failures.append(f"{exc.path}: {exc.reason}")
        return None


def iter_valid(dataset: SegDataset) -> Iterator[tuple[np.ndarray, np.ndarray, str]]:
    """Yield every readable sample; corrupt images or masks are logged and skipped."""
    for index in range(len(dataset)):
        item = load_sample_safe(dataset, index)
        if item is not None:
            yield item
