"""Segment many image files into mask files with the network kept busy.

Three stages overlap: images are decoded a few ahead in reader threads, the network
runs on batches of equal-sized images, and masks are encoded and written behind it in
writer threads (OpenCV decoding and zlib encoding release the GIL). Outcomes come back
in input order once each mask is on disk, so progress never runs ahead of the files.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ..files.masks import write_mask
from .running import BatchItem, inference_many

if TYPE_CHECKING:
    from .loaded import LoadedModel

log = logging.getLogger("gcnet_core.predict.folder")


@dataclass
class ImageOutcome:
    """What happened to one input: written (with its uncertainty), or why not."""

    source: Path
    target: Path
    error: str | None = None
    uncertainty: float | None = None
    note: str | None = None  # e.g. a fallback to the CPU after running out of GPU memory

    @property
    def ok(self) -> bool:
        return self.error is None


def default_workers() -> tuple[int, int]:
    """(readers, writers): decoding a photo costs about three times writing its mask."""
    cpus = os.cpu_count() or 2
    return min(8, max(2, cpus // 2)), min(4, max(1, cpus // 4))


def segment_files(model: "LoadedModel", sources: list[Path], targets: dict[Path, Path], fmt: str = "index",
                  batch_size: int = 1, tta: bool = False, readers: int | None = None,
                  writers: int | None = None, also_write: Callable[[BatchItem], None] | None = None,
                  max_megapixels: float | None = None, keep_features: bool = False) -> Iterator[ImageOutcome]:
    """Segment ``sources`` and write each mask to ``targets[source]`` in format ``fmt``.

    ``also_write(item)``, when given, runs in the writer thread before each mask is written
    (``gcnet predict --predictions`` writes the project's prediction sidecars with it), so a
    written mask has its extra files and a failure of either is that image's error. An
    unreadable image (or one over ``max_megapixels``, see :func:`inference_many`) or an
    unwritable mask gives an outcome with ``error``; the run goes on. At most ``2 * writers``
    finished images wait. ``keep_features``: each item ``also_write`` sees carries its features.
    """
    default_readers, default_writers = default_workers()
    readers, writers = readers or default_readers, writers or default_writers
    waiting: deque[tuple[BatchItem, Future | None]] = deque()
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="mask-writer") as pool:
        for item in inference_many(model, sources, batch_size=batch_size, tta=tta, num_readers=readers,
                                   max_megapixels=max_megapixels, keep_features=keep_features):
            write = None
            if item.error is None:
                write = pool.submit(_write_outputs, item, targets[item.source], model.classes, fmt, also_write)
            waiting.append((item, write))
            while waiting and (waiting[0][1] is None or waiting[0][1].done() or len(waiting) > 2 * writers):
                yield _outcome(*waiting.popleft(), targets)
        while waiting:
            yield _outcome(*waiting.popleft(), targets)


def _write_outputs(item: BatchItem, target: Path, classes, fmt: str,
                   also_write: Callable[[BatchItem], None] | None) -> None:
    """The extra files first when asked (so a written mask has them), then the mask."""
    if also_write is not None:
        also_write(item)
    write_mask(target, item.result.labels, classes, fmt, image_rgb=item.image)


def _outcome(item: BatchItem, write: Future | None, targets: dict[Path, Path]) -> ImageOutcome:
    source = Path(item.source)
    target = targets.get(item.source, source)
    if item.error is not None:
        log.debug("%s failed", source, exc_info=item.error)  # gcnet --debug shows the traceback
        return ImageOutcome(source, target, error=str(item.error))
    try:
        write.result()
    except Exception as error:  # noqa: BLE001 - a full disk, a permission, an encoder error: per image
        log.debug("writing %s failed", target, exc_info=error)
        return ImageOutcome(source, target, error=f"could not write {target}: {error}")
    return ImageOutcome(source, target, uncertainty=item.result.uncertainty, note=item.result.note)
