"""Small previews for the file list, decoded on pool threads only for rows that are shown."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

THUMB_SIZE = QSize(56, 42)
MIN_SIDE = 6  # pixels: a thin image's thumbnail is stretched to this, not scaled to nothing


def read_thumbnail(path: Path, size: QSize = THUMB_SIZE) -> QImage:
    """Decode ``path`` straight at thumbnail size (JPEG decoders scale while decoding); a
    side that would shrink below :data:`MIN_SIDE` (a 1 x 5000 image) is stretched to it."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and full.width() > 0 and full.height() > 0:
        fitted = full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio)
        reader.setScaledSize(fitted.expandedTo(QSize(MIN_SIDE, MIN_SIDE)).boundedTo(size))
    image = reader.read()
    return image  # a null QImage when the file cannot be decoded


class _ThumbSignals(QObject):
    ready = Signal(str, QImage)


class _ThumbJob(QRunnable):
    def __init__(self, key: str, path: Path, signals: _ThumbSignals) -> None:
        super().__init__()
        self.key, self.path, self.signals = key, path, signals

    def run(self) -> None:
        self.signals.ready.emit(self.key, read_thumbnail(self.path))


class ThumbnailCache(QObject):
    """Asks for a thumbnail once, caches the last ``capacity`` ones, says when one arrives.

    QImage (not QPixmap) crosses threads; the view turns it into a pixmap on the UI thread.
    A private pool with few threads keeps scrolling through thousands of files from
    starving the inference thread.
    """

    ready = Signal(str)

    def __init__(self, capacity: int = 2000, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._signals = _ThumbSignals()
        self._signals.ready.connect(self._arrived)

    def get(self, key: str, path: Path) -> QImage | None:
        """The cached thumbnail, or None after queuing its decoding."""
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        if key not in self._pending:
            self._pending.add(key)
            self.pool.start(_ThumbJob(key, path, self._signals))
        return None

    def clear(self) -> None:
        self.pool.clear()  # drop queued jobs of the previous folder
        self._images.clear()
        self._pending.clear()

    def _arrived(self, key: str, image: QImage) -> None:
        if key not in self._pending:
            return  # from a folder that was closed meanwhile
        self._pending.discard(key)
        self._images[key] = image
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)
        self.ready.emit(key)

    def shutdown(self) -> None:
        self.pool.clear()
        self.pool.waitForDone(2000)
