"""Live adaptation off the UI thread: one job at a time on its own thread, the newest wins.

A job is a plain function ``job(cancel, report)`` run on the adaptation thread: ``cancel`` is a
:class:`threading.Event` that :meth:`AdaptationService.submit` sets when a newer job arrives
(the fit checks it between iterations and stops with
:class:`~gcnet_core.adapt.head.Cancelled`), ``report(piece)`` hands a piece of the result
to the UI thread at once (one re-labelled image), and what the job returns comes back as
``done``. A job submitted while another waits replaces it, so a burst of corrections costs
one round. :class:`AdapterHolder` keeps the thread's own CPU copy of the model and what the
rounds learnt, so the inference thread and its model are never touched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from gcnet_core.adapt.head import Cancelled
from gcnet_core.adapt.job import LiveAdapter
from gcnet_core.api import init_model
from gcnet_core.project.feature_cache import FeatureCache
from gcnet_core.project.store import Project

log = logging.getLogger("gcnet_annotator.adaptation")

Job = Callable[[threading.Event, Callable[[Any], None]], Any]


class _Runner(QObject):
    """Lives on the adaptation thread; runs the jobs the service sends, skipping replaced ones."""

    done = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    partial = Signal(int, object)

    def __init__(self, latest: Callable[[], int]) -> None:
        super().__init__()
        self._latest = latest

    @Slot(int, object, object)
    def run(self, job_id: int, job: Job, cancel: threading.Event) -> None:
        if job_id != self._latest() or cancel.is_set():
            self.cancelled.emit(job_id)  # replaced before it started
            return
        try:
            result = job(cancel, lambda piece: self.partial.emit(job_id, piece))
        except Cancelled:
            self.cancelled.emit(job_id)
            return
        except Exception as error:  # the person reads one line; the traceback goes to the log
            log.exception("live adaptation failed")
            self.failed.emit(job_id, str(error) or type(error).__name__)
            return
        self.done.emit(job_id, result)


class AdaptationService(QObject):
    """The UI side: owns the thread, hands out job ids, forwards results.

    Signals: ``done(job_id, result)``, ``failed(job_id, message)``, ``cancelled(job_id)``,
    ``partial(job_id, piece)``; ``busy`` is True from :meth:`submit` until the job's end.
    """

    done = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    partial = Signal(int, object)
    _run = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread(self)
        self._thread.setObjectName("adaptation")
        self._latest = 0
        self._cancel = threading.Event()
        self._pending: set[int] = set()
        self._runner = _Runner(lambda: self._latest)
        self._runner.moveToThread(self._thread)
        self._run.connect(self._runner.run)
        self._runner.done.connect(lambda job_id, result: self._ended(job_id, self.done, result))
        self._runner.failed.connect(lambda job_id, message: self._ended(job_id, self.failed, message))
        self._runner.cancelled.connect(lambda job_id: self._ended(job_id, self.cancelled))
        self._runner.partial.connect(self._partial)
        self._thread.finished.connect(self._runner.deleteLater)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @property
    def latest(self) -> int:
        """The id of the newest job (results of older ones are stale)."""
        return self._latest

    def submit(self, job: Job) -> int:
        """Run ``job`` next: the job running now is cancelled, one still waiting is skipped."""
        self.cancel()
        self._latest += 1
        self._cancel = threading.Event()
        self._pending.add(self._latest)
        self._run.emit(self._latest, job, self._cancel)
        return self._latest

    def cancel(self) -> None:
        """Stop the running job (at its next check) and skip any waiting one."""
        self._cancel.set()

    def _partial(self, job_id: int, piece: Any) -> None:
        if job_id == self._latest and not self._cancel.is_set():
            self.partial.emit(job_id, piece)

    def _ended(self, job_id: int, signal, *args) -> None:
        self._pending.discard(job_id)
        signal.emit(job_id, *args)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop the thread after the current job (cancelled first)."""
        self.cancel()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(timeout_ms)


class AdapterHolder:
    """The :class:`~gcnet_core.adapt.job.LiveAdapter` of one project and model, made and used
    only on the adaptation thread: the model is loaded there on the CPU (the network's
    features need no GPU; a training run may hold it); another model or project starts afresh."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._adapter: LiveAdapter | None = None

    def get(self, name: str, checkpoint, project: Project, cache: FeatureCache) -> LiveAdapter:
        """The adapter for this model and project (the session's feature ``cache``), with what
        it learnt in an earlier session (kept in the project's live-model folder)."""
        key = (name, str(checkpoint) if checkpoint else None, str(project.root))
        if self._adapter is None or key != self._key:
            self._adapter = None  # the old model goes before the new one loads
            model = init_model(name, checkpoint, device="cpu")
            self._adapter = LiveAdapter(model, cache, kept_in=project.live_model_root)
            self._key = key
        self._adapter.cache = cache  # the session's, e.g. made anew with another size limit
        return self._adapter

    @property
    def adapter(self) -> LiveAdapter | None:
        return self._adapter


__all__ = ["AdapterHolder", "AdaptationService", "Job"]
