"""Stopping a network pass under way, from another thread.

A person who presses Esc, or leaves the image a pre-segmentation is running for, should get
the CPU back at once, not after the seconds the pass still needs. The thread that runs the
pass wraps it in :func:`stoppable` with a :class:`StopToken`; another thread calls
:meth:`StopToken.stop`. onnxruntime ends a ``Run`` whose ``RunOptions.terminate`` is set
(between its kernels), and every way into the network (:meth:`~.predictor.Predictor.head_outputs`:
a whole image, each slide window, the fast path) checks the token before it starts, so the
exact torch path stops at the next window. The pass then raises :class:`PassStopped` and
leaves nothing behind: no result, no features.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class PassStopped(Exception):
    """The pass was stopped on request (:meth:`StopToken.stop`); it gave no result."""


class StopToken:
    """One pass's stop flag, and the onnxruntime run options that carry it into a running ``Run``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._run_options: list = []

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Ask the pass to stop (any thread); a ``Run`` under way ends at its next kernel."""
        with self._lock:
            self._stopped = True
            for options in self._run_options:
                options.terminate = True

    def run_options(self, ort):
        """Fresh ``ort.RunOptions`` for one ``Run`` that :meth:`stop` can end (already ended
        when the token was stopped before)."""
        options = ort.RunOptions()
        with self._lock:
            options.terminate = self._stopped
            self._run_options.append(options)
        return options

    def check(self) -> None:
        """Raise :class:`PassStopped` when a stop was asked for."""
        if self._stopped:
            raise PassStopped("the pass was stopped")


_current = threading.local()


@contextmanager
def stoppable(token: StopToken) -> Iterator[StopToken]:
    """Passes this thread runs inside the block stop when ``token`` is stopped."""
    previous = getattr(_current, "token", None)
    _current.token = token
    try:
        yield token
    finally:
        _current.token = previous


def current_token() -> StopToken | None:
    """The token of the block this thread is in (None: the pass cannot be stopped)."""
    return getattr(_current, "token", None)


def check_stopped() -> None:
    """Raise :class:`PassStopped` when this thread's pass was asked to stop."""
    token = current_token()
    if token is not None:
        token.check()


__all__ = ["PassStopped", "StopToken", "check_stopped", "current_token", "stoppable"]
