"""Run one plain function on the global QThreadPool and hear back on the UI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

_ACTIVE: set["FunctionTask"] = set()


class TaskSignals(QObject):
    """Signals live on a QObject created on the UI thread, so slots run there (queued)."""

    done = Signal(object)
    failed = Signal(str)


class FunctionTask(QRunnable):
    """Calls ``fn()`` on a pool thread; ``signals.done(result)`` or ``signals.failed(message)``."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it, so its signals outlive run()
        self.fn = fn
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as error:  # reported to the UI, never raised into Qt
            message = str(error) or type(error).__name__
            logging.getLogger("gcnet_annotator.tasks").exception("a background job failed")  # to the log file
            self.signals.failed.emit(message)
            return
        self.signals.done.emit(result)


def run_in_pool(fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                on_failed: Callable[[str], None] | None = None,
                pool: QThreadPool | None = None) -> FunctionTask:
    """Start ``fn`` off the UI thread; the callbacks run on the UI thread."""
    task = FunctionTask(fn)
    _ACTIVE.add(task)  # keep the signals object alive until its result is delivered
    task.signals.done.connect(lambda _result: _ACTIVE.discard(task))
    task.signals.failed.connect(lambda _message: _ACTIVE.discard(task))
    if on_done:
        task.signals.done.connect(on_done)
    if on_failed:
        task.signals.failed.connect(on_failed)
    (pool or QThreadPool.globalInstance()).start(task)
    return task
