"""The training worker: ``gcnet train --progress jsonl`` in a separate process (QProcess).

Training runs outside the window's process so that a crash, an out-of-memory or a kill
of the worker can never take the window (or a person's unsaved work) down. The process is
read by :class:`~app.workers.jsonl_process.JsonLinesProcess` (shared with batch runs); every
event becomes an ``event`` signal and is appended to the run's ``events.jsonl``; when the
process ends, ``ended`` says how, in words a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..workers.jsonl_process import JsonLinesProcess
from .runs import EVENTS_NAME


@dataclass
class RunEnd:
    """How a worker ended: ``status`` is done | cancelled | failed (an error event, or the
    program could not start) | crashed (killed, out of memory, or died without a word)."""

    status: str
    message: str = ""
    exit_code: int | None = None
    last_iter: int | None = None


class TrainProcess(QObject):
    """Runs one training command at a time; ``event(dict)`` per JSON line, ``ended(RunEnd)``."""

    event = Signal(dict)
    ended = Signal(object)

    def __init__(self, command: list[str] | tuple[str, ...], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = list(command)
        self.worker = JsonLinesProcess(self)
        self.worker.event.connect(self._handle)
        self.worker.finished.connect(self._finished)
        self.worker.failedToStart.connect(lambda message: self._end(RunEnd("failed", message)))
        self._log: Path | None = None
        self._final: dict | None = None  # the done / cancelled / error event, when one came
        self._last_iter: int | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.worker.running

    @property
    def stopping(self) -> bool:
        """Cancel was asked: the worker finishes its iteration and saves a checkpoint."""
        return self._stopping

    def start(self, arguments: list[str], run_folder: Path) -> None:
        if self.running:
            raise RuntimeError("a training process is already running")
        self._final, self._last_iter, self._stopping = None, None, False
        self._log = Path(run_folder) / EVENTS_NAME
        self.worker.start(self.command[0], self.command[1:] + list(arguments))

    def cancel(self) -> None:
        """Ask the worker to stop (SIGTERM): it saves a checkpoint and reports "cancelled".
        Asked twice, it is killed at once (the last saved checkpoint stays)."""
        if not self.running:
            return
        if self._stopping:
            self.worker.kill()
        else:
            self._stopping = True
            self.worker.terminate()

    def kill(self) -> None:
        self.worker.kill()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the worker ends (closing the window, tests)."""
        return self.worker.wait(msecs)

    # -- events and the end -------------------------------------------------------------------
    def _handle(self, event: dict, line: bytes) -> None:
        self._append_log(line)
        kind = event["event"]
        if kind in ("done", "cancelled", "error"):
            self._final = event
        elif kind == "iter":
            self._last_iter = int(event.get("iter", 0))
        self.event.emit(event)

    def _append_log(self, line: bytes) -> None:
        try:
            with open(self._log, "ab") as log:
                log.write(line + b"\n")
        except OSError:
            pass  # the log is a convenience; the run goes on without it

    def _finished(self, exit_code: int, crashed: bool) -> None:
        final = self._final or {}
        kind = final.get("event")
        if not crashed and exit_code == 0 and kind in ("done", "cancelled"):
            self._end(RunEnd(kind, exit_code=exit_code, last_iter=final.get("iter")))
        elif kind == "error":
            self._end(RunEnd("failed", str(final.get("message") or "the training failed"), exit_code,
                             self._last_iter))
        else:
            self._end(RunEnd("crashed", self._crash_message(exit_code, crashed), exit_code, self._last_iter))

    def _crash_message(self, exit_code: int, crashed: bool) -> str:
        tail = self.worker.stderr_tail(4)
        how = ("was killed or crashed (out of memory, for example)" if crashed
               else f"stopped with exit code {exit_code} without finishing")
        text = f"The training process {how}"
        if any("out of memory" in line.lower() for line in tail):
            text += " (out of memory)"
        return text + (":\n" + "\n".join(tail) if tail else ".")

    def _end(self, outcome: RunEnd) -> None:
        self._stopping = False
        self.ended.emit(outcome)


__all__ = ["RunEnd", "TrainProcess"]
