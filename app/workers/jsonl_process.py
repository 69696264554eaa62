"""A ``gcnet ... --progress jsonl`` worker process, read line by line (QProcess).

Batch segmentation and training both run as separate ``gcnet`` processes, so a crash, an
out-of-memory or a kill of the worker never takes the window down. Both speak the one event
stream of :mod:`gcnet_core.cli.events` on stdout; this class is the one reader of it:
complete lines that are JSON objects with an ``"event"`` key become ``event`` signals (the
raw line comes along for logs), anything else on stdout is ignored, and the end of stderr is
kept to explain a crash.
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from gcnet_core.paths import worker_environment

STDERR_TAIL = 8000  # bytes of stderr kept for the message of a crashed worker


class JsonLinesProcess(QObject):
    """One process at a time. Signals: ``event(dict, bytes line)``, ``finished(exit code,
    crashed)`` after the last event, ``failedToStart(message)`` when the program cannot run."""

    event = Signal(dict, bytes)
    finished = Signal(int, bool)
    failedToStart = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: QProcess | None = None
        self._stdout = b""
        self._stderr = b""
        self._kill_timer = QTimer(self, singleShot=True)
        self._kill_timer.timeout.connect(self.kill)

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, program: str, arguments: list[str]) -> None:
        if self.running:
            raise RuntimeError("a worker process is already running")
        self._stdout, self._stderr = b"", b""
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments(list(arguments))
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")  # events arrive as they happen, not at exit
        for name, value in worker_environment().items():  # the cache and data folders of this window
            env.insert(name, value)
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start()

    def terminate(self, kill_after_ms: int | None = None) -> None:
        """SIGTERM (the worker saves and says "cancelled"); killed after ``kill_after_ms`` if
        given. On Windows console programs ignore terminate(), so it is a kill there."""
        if self.process is None or self.process.state() == QProcess.ProcessState.NotRunning:
            return
        if os.name == "nt":
            self.process.kill()
            return
        self.process.terminate()
        if kill_after_ms is not None:
            self._kill_timer.start(kill_after_ms)

    def kill(self) -> None:
        if self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning:
            self.process.kill()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the process ends (closing the window, tests)."""
        return self.process is None or self.process.waitForFinished(msecs)

    def stderr_tail(self, lines: int) -> list[str]:
        """The last ``lines`` non-empty lines the worker wrote on stderr."""
        return self._stderr.decode("utf-8", "replace").strip().splitlines()[-lines:]

    # -- plumbing -----------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._stdout += bytes(self.process.readAllStandardOutput())
        *lines, self._stdout = self._stdout.split(b"\n")
        for line in lines:
            self._handle(line)

    def _read_stderr(self) -> None:
        if self.process is not None:
            self._stderr = (self._stderr + bytes(self.process.readAllStandardError()))[-STDERR_TAIL:]

    def _handle(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        try:
            event = json.loads(line)
        except ValueError:
            return  # not an event (a library printing to stdout)
        if isinstance(event, dict) and "event" in event:
            self.event.emit(event, line)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            message = f"could not start {self.process.program()}: {self.process.errorString()}"
            self._release()
            self.failedToStart.emit(message)

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        if self.process is None:
            return
        self._read_stdout()
        if self._stdout.strip():
            self._handle(self._stdout)
        self._stdout = b""
        self._read_stderr()
        self._release()
        self.finished.emit(int(exit_code), status == QProcess.ExitStatus.CrashExit)

    def _release(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.deleteLater()


__all__ = ["JsonLinesProcess", "STDERR_TAIL"]
