"""How long a fine-tune will take, measured before Start: ``gcnet train --estimate`` in a process.

The worker builds the run with the dock's settings, times two real training steps and one
held-out prediction and reports them (:class:`gcnet_core.train.RunEstimate`); nothing runs on
the UI thread. One measurement at a time: a newer request stops the one in flight, so the
figure always belongs to the settings shown.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gcnet_core.train.estimate import RunEstimate

from ..workers.jsonl_process import JsonLinesProcess


class RunEstimator(QObject):
    """Signals: ``estimated(RunEstimate)``, ``failed(str)`` (why no figure could be measured)."""

    estimated = Signal(object)
    failed = Signal(str)

    def __init__(self, command: list[str] | tuple[str, ...], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = list(command)
        self.worker = JsonLinesProcess(self)
        self.worker.event.connect(self._event)
        self.worker.finished.connect(self._finished)
        self.worker.failedToStart.connect(self.failed)
        self._pending: list[str] | None = None
        self._result: RunEstimate | None = None
        self._error = ""
        self._cancelled = False

    @property
    def running(self) -> bool:
        return self.worker.running

    def request(self, arguments: list[str]) -> None:
        """Measure the run ``gcnet train <arguments>`` would be (``--estimate`` is added)."""
        self._pending = list(arguments) + ["--estimate"]
        if self.worker.running:
            self.worker.kill()  # its figure would be for settings no longer shown
        else:
            self._start_pending()

    def cancel(self) -> None:
        """Stop measuring; nothing is reported."""
        self._pending, self._cancelled = None, True
        self.worker.kill()

    def wait(self, msecs: int = 30000) -> bool:
        return self.worker.wait(msecs)

    def _start_pending(self) -> None:
        arguments, self._pending = self._pending, None
        self._result, self._error, self._cancelled = None, "", False
        self.worker.start(self.command[0], self.command[1:] + arguments)

    def _event(self, event: dict, _line: bytes) -> None:
        if event.get("event") == "estimate":
            self._result = RunEstimate.from_event(event)
        elif event.get("event") == "error":
            self._error = str(event.get("message") or "")

    def _finished(self, _exit_code: int, _crashed: bool) -> None:
        if self._pending is not None:
            self._start_pending()
        elif self._cancelled:
            return
        elif self._result is not None:
            self.estimated.emit(self._result)
        else:
            tail = self.worker.stderr_tail(1)
            self.failed.emit(self._error or (tail[0] if tail else "the measuring process stopped"))


__all__ = ["RunEstimator"]
