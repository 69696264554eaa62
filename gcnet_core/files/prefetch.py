"""Decoding files ahead of the model: an ordered, bounded thread map."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


def prefetch(function: Callable[[int], T], count: int, workers: int = 2, ahead: int | None = None) -> Iterator[T]:
    """``function(0..count-1)`` run in threads, yielded in order, at most ``ahead`` started but
    not yet taken: a 10,000-image folder is decoded a few images ahead, never all at once."""
    workers = max(1, workers)
    ahead = max(ahead or 2 * workers, 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: deque = deque()
        submitted = 0
        while futures or submitted < count:
            while submitted < count and len(futures) < ahead:
                futures.append(pool.submit(function, submitted))
                submitted += 1
            yield futures.popleft().result()


__all__ = ["prefetch"]
