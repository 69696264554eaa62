"""Training batches as a pure function of (seed, iteration): exact resume, any worker count.

Global sample slot ``g = iteration * global_batch + k`` lies in epoch ``g // n`` at
position ``g % n`` of that epoch's seeded permutation, and its augmentation draws from a
generator seeded with ``(seed, iteration, k)``. Nothing depends on what ran before, so a
run resumed at iteration ``i`` sees exactly the batches an uninterrupted one would, and
each of the ``world_size`` processes takes its own disjoint slice of every global batch.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import torch

from ..data.readers import SegDataset, load_sample_safe
from ..data.transforms import TrainTransform, clear_padding, sample_rng
from ..model.classes import IGNORE_INDEX
from ..predict.network_input import MEAN_RGB, STD_RGB

log = logging.getLogger("gcnet_core.train")


@lru_cache(maxsize=4)
def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The sample order of one epoch (a permutation of ``range(n)``)."""
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(n)


class IterationBatches(torch.utils.data.Dataset):
    """Item ``i`` is this process's share of the global batch of iteration ``i``.

    Each item is a dict of uint8 ``image`` (B, H, W, 3), uint8 ``label`` (B, H, W) and
    int64 ``valid_hw`` (B, 2): the unpadded part of each crop, to be set to 0 after
    normalisation (mmseg pads normalised images with 0). Unreadable samples are skipped
    with a warning and replaced by the next readable one of the same epoch's order; the
    item's ``unreadable`` lists them (``"<file>: <reason>"``) so the run can list them at its end.
    """

    def __init__(self, dataset: SegDataset, transform: TrainTransform, batch_size: int, seed: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if len(dataset) == 0:
            raise ValueError("the training set is empty")
        self.dataset = dataset
        self.transform = transform
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._unreadable: set[int] = set()

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def slots(self, iteration: int) -> range:
        """Global-batch positions this process takes at ``iteration``."""
        start = self.rank * self.batch_size
        return range(start, start + self.batch_size)

    def _load(self, iteration: int, slot: int, failures: list[str]):
        n = len(self.dataset)
        epoch, position = divmod(iteration * self.global_batch + slot, n)
        order = epoch_order(self.seed, epoch, n)
        for step in range(n):
            index = int(order[(position + step) % n])
            if index in self._unreadable:
                continue
            item = load_sample_safe(self.dataset, index, failures)  # warns once per unreadable file
            if item is not None:
                return item
            self._unreadable.add(index)
        raise RuntimeError(f"none of the {n} training images could be read")

    def __len__(self) -> int:  # iterations are addressed directly; the length is nominal
        return 2**62

    def __getitem__(self, iteration: int) -> dict[str, torch.Tensor]:
        images, labels, valid, failures = [], [], [], []
        for slot in self.slots(iteration):
            image, label, _ = self._load(iteration, slot, failures)
            sample = self.transform.sample(image, label, rng=sample_rng(self.seed, iteration, slot))
            images.append(sample.image)
            labels.append(sample.label)
            valid.append(sample.valid_hw)
        return {
            "image": torch.from_numpy(np.stack(images)),
            "label": torch.from_numpy(np.stack(labels)),
            "valid_hw": torch.tensor(valid, dtype=torch.int64),
            "unreadable": failures,  # files first found unreadable here (this worker process)
        }


def batch_loader(batches: IterationBatches, start: int, stop: int, workers: int) -> torch.utils.data.DataLoader:
    """Iterations ``start..stop-1`` in order, prepared ahead by ``workers`` processes."""
    return torch.utils.data.DataLoader(
        batches, batch_size=None, sampler=range(start, stop), num_workers=workers,
        persistent_workers=False, prefetch_factor=2 if workers > 0 else None)


def normalise_batch(batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised NCHW float images and int64 labels on ``device``.

    Normalisation happens on the device (uint8 travels, 4x less than float); the padded
    border is then set to 0, which is where mmseg pads a normalised image.
    """
    image = batch["image"].to(device, non_blocking=True).permute(0, 3, 1, 2).float()
    mean = torch.tensor(MEAN_RGB, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD_RGB, device=device).view(1, 3, 1, 1)
    image = (image - mean) / std
    for k, valid in enumerate(batch["valid_hw"].tolist()):
        clear_padding(image[k], valid)
    return image, batch["label"].to(device, non_blocking=True).long()


def holdout_split(count: int, share: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, val) indices: a seeded share of a project's images held out for validation.

    With ``share`` > 0 at least one image is held out once there are 2 or more, so even a run
    on two or three images is judged on an image it never trained on; a single image is split
    into held-out blocks instead (:class:`BlockHoldout`), so it keeps all of it here.
    """
    n_val = min(max(int(round(count * share)), 1), count - 1) if share > 0 and count >= 2 else 0
    order = np.random.default_rng([int(seed), 0x0DA7A]).permutation(count)
    val = sorted(int(i) for i in order[:n_val])
    train = sorted(int(i) for i in order[n_val:])
    return train, val


BLOCK_GRID = 4  # a single image is cut into 4x4 blocks; one block per row (and column) is held out


def held_out_blocks(seed: int, grid: int = BLOCK_GRID) -> list[tuple[int, int]]:
    """(row, column) of the held-out blocks: one in every row and every column (a seeded
    permutation), so the held-out quarter spreads over the whole image."""
    columns = np.random.default_rng([int(seed), 0xB10C]).permutation(grid)
    return [(row, int(column)) for row, column in enumerate(columns)]


def block_mask(shape: tuple[int, int], blocks: list[tuple[int, int]], grid: int = BLOCK_GRID) -> np.ndarray:
    """(H, W) bool: True on the pixels of ``blocks`` of an image cut into ``grid`` x ``grid``."""
    height, width = shape
    rows = np.minimum(np.arange(height) * grid // max(height, 1), grid - 1)
    cols = np.minimum(np.arange(width) * grid // max(width, 1), grid - 1)
    mask = np.zeros(shape, bool)
    for row, column in blocks:
        mask[np.ix_(rows == row, cols == column)] = True
    return mask


def block_labels(label: np.ndarray, seed: int, held: bool) -> np.ndarray:
    """``label`` kept only inside the held-out blocks (``held``: what validation scores) or only
    outside them (what training learns from); every other pixel ignore (255)."""
    inside = block_mask(label.shape, held_out_blocks(seed))
    return np.where(~inside if held else inside, IGNORE_INDEX, label).astype(label.dtype)


class BlockHoldout:
    """One image of a dataset, its labels kept only inside the held-out blocks (``held=True``:
    what validation scores) or only outside them (what training learns from); every other pixel
    is ignore (255). A run on a single done image is so judged on labels it never trained on."""

    def __init__(self, dataset: SegDataset, index: int, held: bool, seed: int) -> None:
        self.base, self.index, self.held, self.seed = dataset, index, held, seed
        self.samples = [dataset.samples[index]]
        self.classes = dataset.classes
        self.kind = dataset.kind

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int):
        if index != 0:
            raise IndexError(index)
        image, label, name = self.base[self.index]
        return image, block_labels(label, self.seed, self.held), name


def holdout_plan(count: int, share: float, seed: int) -> tuple[list[int], list[int], str]:
    """(train, val indices, how: "images", "blocks" or "none"): the one rule of what a run on a
    project's ``count`` done images holds out. Held-out images (:func:`holdout_split`) where
    there are 2 or more; blocks of the one image where there is one (it is then both: its
    blocks are held out, :class:`BlockHoldout`); nothing when ``share`` is 0."""
    if share > 0 and count == 1:
        return [0], [0], "blocks"
    train, val = holdout_split(count, share, seed)
    return train, val, "images" if val else "none"


def project_holdout(dataset: SegDataset, share: float, seed: int) -> tuple[object, object | None, str]:
    """(training set, held-out set or None, how it was held out) of a project (:func:`holdout_plan`)."""
    train_idx, val_idx, how = holdout_plan(len(dataset), share, seed)
    if how == "blocks":
        return BlockHoldout(dataset, 0, False, seed), BlockHoldout(dataset, 0, True, seed), how
    return Subset(dataset, train_idx), Subset(dataset, val_idx) if val_idx else None, how


def holdout_description(count: int, share: float) -> str:
    """What a run on ``count`` done images is judged on, as the dock says it."""
    if count == 0:
        return ""
    _, val, how = holdout_plan(count, share, 0)
    if how == "blocks":
        return "held-out blocks (a quarter) of the one image"
    return f"{len(val)} held-out image{'s' if len(val) != 1 else ''}" if val else "no held-out images"


class Subset:
    """A :class:`SegDataset` restricted to some indices (same samples, classes and kind)."""

    def __init__(self, dataset: SegDataset, indices: list[int]) -> None:
        self.base = dataset
        self.indices = list(indices)
        self.samples = [dataset.samples[i] for i in self.indices]
        self.classes = dataset.classes
        self.kind = dataset.kind

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.base[self.indices[index]]


__all__ = ["BLOCK_GRID", "BlockHoldout", "IterationBatches", "Subset", "batch_loader", "block_mask", "epoch_order",
           "block_labels", "held_out_blocks", "holdout_description", "holdout_plan", "holdout_split",
           "normalise_batch", "project_holdout"]
