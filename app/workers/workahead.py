"""Work ahead: the model segments the image being opened and the next ones before they are asked for.

The scheduler owns the background use of the inference worker. It hands the worker one
request at a time and only while nothing else waits there, so a person's own request
(Pre-segment) never queues behind more than the one pass already running. Its plan is rebuilt whenever the current image, the list, the model
or an image's state changes: the current image first (a coarse preview on a CPU, then the
full pass), then the next ``ahead`` images in the list's order; a pass for an image that left
the plan is taken back (stopped if it is running). The window's ``needs``
predicate decides which images qualify (never corrected or imported ones). A result made
with a model other than the selected one is dropped; so is all pending work when the model
changes. While a training run or a batch holds the machine the scheduler pauses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from .inference import InferenceResult, InferenceService, ModelConfig

DEFAULT_AHEAD_CPU = 2
DEFAULT_AHEAD_GPU = 4


@dataclass(frozen=True)
class Job:
    rel: str
    preview: bool = False  # a coarse pass first (CPU, current image only)


class WorkAhead(QObject):
    """Background pre-segmentation for ``service``; the window applies what it emits.

    Signals: ``predicted(InferenceResult, rel)`` for each fresh result of the selected model,
    ``failed(rel, message)``, ``changed()`` when the set of queued images changes.
    """

    predicted = Signal(object, str)
    failed = Signal(str, str)
    changed = Signal()

    def __init__(self, service: InferenceService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.on_open = True  # pre-segment the current image when it opens
        self.ahead = DEFAULT_AHEAD_CPU  # images after the current one (0: none)
        self.preview = True  # a coarse preview of the current image first (the window sets it off on a GPU)
        self._config: ModelConfig | None = None
        self._paused: str | None = None
        self._plan: list[Job] = []
        self._in_flight: tuple[int, Job, ModelConfig] | None = None
        self._failed: set[str] = set()  # failed once with this model: not retried by itself
        self._issued: set[int] = set()  # every request id this scheduler submitted
        self._needs: Callable[[str], bool] = lambda rel: False
        self.held: Callable[[], str | None] = lambda: None  # e.g. "training": asked before each job
        self._path_of: Callable[[str], Path] = Path
        service.finished.connect(self._finished)
        service.failed.connect(self._failed_request)
        service.withdrawn.connect(self._withdrawn)

    # -- what the window tells it ------------------------------------------------------------
    @property
    def config(self) -> ModelConfig | None:
        return self._config

    def set_config(self, config: ModelConfig | None) -> None:
        """The selected model (None: none usable without a download). A change drops
        everything planned; a pass already running is dropped when it comes back."""
        if config == self._config:
            return
        self._config = config
        self._failed.clear()
        self._set_plan([])

    def set_paused(self, reason: str | None) -> None:
        """Pause (e.g. ``"training"``) or resume (None) the background work."""
        self._paused = reason
        if reason is None:
            self._pump()

    @property
    def paused(self) -> str | None:
        return self._paused

    def plan(self, order: list[str], current: str | None, needs: Callable[[str], bool],
             path_of: Callable[[str], Path]) -> None:
        """Rebuild the plan from the list ``order`` and the ``current`` image; ``needs(rel)``
        says whether an image wants a prediction of the selected model now."""
        self._needs, self._path_of = needs, path_of
        jobs: list[Job] = []
        if self._config is not None:
            if current is not None and self.on_open and self._wanted(current):
                if self.preview:
                    jobs.append(Job(current, preview=True))
                jobs.append(Job(current))
            if self.ahead > 0 and current in order:
                start = order.index(current) + 1
                for rel in order[start:]:
                    if len([j for j in jobs if not j.preview and j.rel != current]) >= self.ahead:
                        break
                    if self._wanted(rel):
                        jobs.append(Job(rel))
        running = self._in_flight[1] if self._in_flight else None
        if running is not None:
            if running.rel not in {j.rel for j in jobs}:  # an image the person left: its pass is stopped
                self.service.withdraw(self._in_flight[0])
            jobs = [j for j in jobs if j != running and not (running.rel == j.rel and not running.preview)]
        self._set_plan(jobs)

    def forget(self, rel: str) -> None:
        """A person took over ``rel`` (edited it, or asked for their own pass)."""
        self._set_plan([j for j in self._plan if j.rel != rel])

    # -- what the file list shows --------------------------------------------------------------
    def queued(self) -> set[str]:
        """Images planned or being segmented in the background."""
        names = {job.rel for job in self._plan}
        if self._in_flight is not None:
            names.add(self._in_flight[1].rel)
        return names

    def owns(self, request_id: int) -> bool:
        """Whether a result belongs to work-ahead (the window leaves those to :attr:`predicted`)."""
        return request_id in self._issued

    @property
    def running(self) -> Job | None:
        return self._in_flight[1] if self._in_flight else None

    # -- plumbing ------------------------------------------------------------------------------------
    def _wanted(self, rel: str) -> bool:
        return rel not in self._failed and self._needs(rel)

    def _set_plan(self, jobs: list[Job]) -> None:
        before = self.queued()
        self._plan = jobs
        if self.queued() != before:
            self.changed.emit()
        self._pump()

    def _pump(self) -> None:
        """Start the next job when the worker is free and nothing of a person's waits."""
        if self._in_flight is not None or self._paused or self._config is None or self.service.busy \
                or self.held():
            return
        while self._plan:
            job = self._plan.pop(0)
            if not self._wanted(job.rel):  # corrected, imported or already fresh meanwhile
                continue
            request = self.service.submit(self._path_of(job.rel), self._config, preview=job.preview)
            self._issued.add(request)
            self._in_flight = (request, job, self._config)
            break
        self.changed.emit()

    def _finished(self, result: InferenceResult) -> None:
        if self._in_flight is None or self._in_flight[0] != result.request_id:
            self._pump()  # someone else's request finished: the worker may be free now
            return
        _, job, config = self._in_flight
        self._in_flight = None
        if config == self._config:  # stale results (another model) are dropped
            self.predicted.emit(result, job.rel)
        self._pump()

    def _withdrawn(self, request_id: int) -> None:
        """A request taken back (ours, or a person's), before it started or stopped while it ran:
        the worker is free."""
        if self._in_flight is not None and self._in_flight[0] == request_id:
            self._in_flight = None
        self._pump()

    def _failed_request(self, request_id: int, message: str) -> None:
        if self._in_flight is None or self._in_flight[0] != request_id:
            self._pump()
            return
        _, job, config = self._in_flight
        self._in_flight = None
        if config == self._config:
            self._failed.add(job.rel)
            self._plan = [j for j in self._plan if j.rel != job.rel]
            self.failed.emit(job.rel, message)
        self._pump()
