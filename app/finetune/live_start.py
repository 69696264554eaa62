"""The live model as a full fine-tune's start: its classifier, re-fitted without the run's held-out labels.

The live head was fitted on every done image, but a run holds some of them out to judge itself,
and a start that already learnt their labels would be scored on what it was taught: on 12 tiny
images a head fitted on all of them gets 83.9 held-out mIoU against 74.6 for the same fit without
the held-out ones (86.5 against 82.2 on 50). So the run starts from the same fit (the same pixel
samples of each image, the project's classes, a class the model never knew included) on the images
the run trains on only; of a single image, its held-out blocks are left out. No Qt here: it runs
on a worker thread, reading the adapter's images and network without changing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from gcnet_core.adapt.head import LinearHead, fit_head, image_samples, initial_head
from gcnet_core.adapt.job import CorrectedImage, sample_seed
from gcnet_core.data.readers import project_samples
from gcnet_core.train.data import block_labels, holdout_plan

if TYPE_CHECKING:
    from gcnet_core.predict.loaded import LoadedModel


@dataclass(frozen=True)
class RunSplit:
    """What a run on a project trains on and holds out (as :class:`gcnet_core.train.loop.Trainer`
    splits it): image names, and whether a single image holds out blocks of itself."""

    train: frozenset[str]
    held_out: frozenset[str]
    blocks: bool


def run_split(project_root: Path, share: float, seed: int = 0) -> RunSplit:
    """The split the run will make of the project's done images (read from disk: off the UI thread)."""
    names = [sample.name for sample in project_samples(project_root)]
    train, val, how = holdout_plan(len(names), share, seed)
    if how == "blocks":  # the one image trains outside its held-out blocks
        return RunSplit(frozenset(names), frozenset(), True)
    return RunSplit(frozenset(names[i] for i in train), frozenset(names[i] for i in val), False)


def start_head(corrected: Sequence[CorrectedImage], model: "LoadedModel", classes: Sequence[str],
               project_root: Path, split: RunSplit, seed: int = 0) -> tuple[LinearHead, int]:
    """(head, images it was fitted on): the live fit on the run's training images only. Raises
    ValueError when none of them has features yet (the live model knows none of them)."""
    chosen = []
    for image in corrected:
        try:
            name = Path(image.path).relative_to(project_root).as_posix()
        except ValueError:  # another folder's image
            continue
        if name not in split.train:
            continue  # held out by the run, or no longer done
        labels = block_labels(image.labels, seed, held=False) if split.blocks else image.labels
        chosen.append(image_samples(image.features, labels, image.edited, len(classes), seed=sample_seed(image)))
    if not chosen:
        raise ValueError("the live model was fitted on none of the images the run trains on")
    conv_seg = model.network.decode_head.conv_seg
    start = initial_head(conv_seg.weight, conv_seg.bias, model.classes.names, tuple(classes), chosen)
    return fit_head(start, chosen), len(chosen)


__all__ = ["RunSplit", "run_split", "start_head"]
