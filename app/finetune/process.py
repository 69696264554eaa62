"""The training worker: ``gcnet train --progress jsonl`` in a separate process (QProcess).

Training runs outside the window's process so that a crash, an out-of-memory or a kill
of the worker can never take the window (or a person's unsaved work) down. Every JSON
line the worker prints becomes an ``event`` signal and is appended to the run's
``events.jsonl``; when the process ends, ``ended`` says how, in words a person can act on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from .runs import EVENTS_NAME

STDERR_TAIL = 8000


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
        self.process: QProcess | None = None
        self._buffer = b""
        self._stderr = b""
        self._log: Path | None = None
        self._final: dict | None = None  # the done / cancelled / error event, when one came
        self._last_iter: int | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.process is not None

    @property
    def stopping(self) -> bool:
        """Cancel was asked: the worker finishes its iteration and saves a checkpoint."""
        return self._stopping

    def start(self, arguments: list[str], run_folder: Path) -> None:
        if self.running:
            raise RuntimeError("a training process is already running")
        self._buffer, self._stderr, self._final, self._last_iter = b"", b"", None, None
        self._stopping = False
        self._log = Path(run_folder) / EVENTS_NAME
        process = QProcess(self)
        process.setProgram(self.command[0])
        process.setArguments(self.command[1:] + list(arguments))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start()

    def cancel(self) -> None:
        """Ask the worker to stop (SIGTERM): it saves a checkpoint and reports "cancelled".
        Asked twice, it is killed at once (the last saved checkpoint stays)."""
        if self.process is None:
            return
        if self._stopping or os.name == "nt":  # console programs ignore terminate() on Windows
            self.process.kill()
        else:
            self._stopping = True
            self.process.terminate()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the worker ends (closing the window, tests)."""
        return self.process is None or self.process.waitForFinished(msecs)

    # -- plumbing -----------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle(line)

    def _read_stderr(self) -> None:
        if self.process is not None:
            self._stderr = (self._stderr + bytes(self.process.readAllStandardError()))[-STDERR_TAIL:]

    def _handle(self, line: bytes) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return  # not an event (stdout carries only JSON lines; be lenient anyway)
        if not isinstance(event, dict) or "event" not in event:
            return
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
                log.write(line.rstrip(b"\r") + b"\n")
        except OSError:
            pass  # the log is a convenience; the run goes on without it

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            message = f"could not start {self.command[0]}: {self.process.errorString()}"
            self._end(RunEnd("failed", message))

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._buffer.strip():
            self._handle(self._buffer)
        self._buffer = b""
        self._read_stderr()
        final = self._final or {}
        kind = final.get("event")
        if status == QProcess.ExitStatus.NormalExit and exit_code == 0 and kind in ("done", "cancelled"):
            self._end(RunEnd(kind, exit_code=exit_code, last_iter=final.get("iter")))
        elif kind == "error":
            self._end(RunEnd("failed", str(final.get("message") or "the training failed"), exit_code,
                             self._last_iter))
        else:
            self._end(RunEnd("crashed", self._crash_message(exit_code, status), exit_code, self._last_iter))

    def _crash_message(self, exit_code: int, status: QProcess.ExitStatus) -> str:
        tail = self._stderr.decode("utf-8", "replace").strip().splitlines()[-4:]
        if status == QProcess.ExitStatus.CrashExit:
            how = "was killed or crashed (out of memory, for example)"
        else:
            how = f"stopped with exit code {exit_code} without finishing"
        text = f"The training process {how}"
        if any("out of memory" in line.lower() for line in tail):
            text += " (out of memory)"
        return text + (":\n" + "\n".join(tail) if tail else ".")

    def _end(self, outcome: RunEnd) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        process.deleteLater()
        self._stopping = False
        self.ended.emit(outcome)


__all__ = ["RunEnd", "TrainProcess"]
