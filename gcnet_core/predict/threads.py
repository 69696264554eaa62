"""Torch's thread count: the one the process chose, and a block that lowers it for a while.

``torch.set_num_threads`` sets the count of the calling thread and of every thread started
after it (a thread that has already run torch keeps its own: measured with torch 2.13's OpenMP
build), so while live adaptation runs its small fits on one thread
(:func:`gcnet_core.adapt.head.few_threads`), a thread started meanwhile would read the lowered
count. What is built to last on that count (an onnxruntime session keeps its thread pool for
good) reads :func:`process_threads` instead, which names the count the process had outside
every lowering block.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import torch

_lock = threading.Lock()
_lowering = 0  # blocks that lowered the count and are still running
_chosen = 0  # the count before the first of them


def process_threads() -> int:
    """Torch's thread count as the process chose it (never a count a block lowered)."""
    with _lock:
        return _chosen if _lowering else torch.get_num_threads()


@contextmanager
def fewer_threads(count: int):
    """Torch on at most ``count`` threads inside the block, the process's count given back after
    the last lowering block ends (a block that finds the count low enough changes nothing)."""
    global _lowering, _chosen
    with _lock:
        current = torch.get_num_threads()
        lowers = current > count
        if lowers:
            if _lowering == 0:
                _chosen = current
            _lowering += 1
            torch.set_num_threads(count)
    try:
        yield
    finally:
        if lowers:
            with _lock:
                _lowering -= 1
                if _lowering == 0:
                    torch.set_num_threads(_chosen)
