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

    At least one image is held out once there are 4 or more and ``share`` > 0; with fewer
    every image trains and there is no validation.
    """
    n_val = min(max(int(round(count * share)), 1), count - 1) if share > 0 and count >= 4 else 0
    order = np.random.default_rng([int(seed), 0x0DA7A]).permutation(count)
    val = sorted(int(i) for i in order[:n_val])
    train = sorted(int(i) for i in order[n_val:])
    return train, val


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


__all__ = ["IterationBatches", "Subset", "batch_loader", "epoch_order", "holdout_split", "normalise_batch"]
