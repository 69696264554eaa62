"""What a process launched by ``torchrun`` needs to know: its rank, its share, its GPU."""

from __future__ import annotations

import os
from typing import Sequence, TypeVar

T = TypeVar("T")


def rank_and_world_size() -> tuple[int, int]:
    """(RANK, WORLD_SIZE) as torchrun sets them; (0, 1) for a plain run."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0))


def shard_for_this_process(items: Sequence[T]) -> list[T]:
    """Every WORLD_SIZE-th item starting at RANK, so processes split a folder without overlap."""
    rank, world_size = rank_and_world_size()
    return list(items[rank::world_size])


def device_for_this_process(device: str) -> str:
    """Under torchrun, ``auto``/``cuda`` mean this process's own GPU (cuda:LOCAL_RANK)."""
    import torch

    if "LOCAL_RANK" in os.environ and device in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{local_rank() % torch.cuda.device_count()}"
    return device
