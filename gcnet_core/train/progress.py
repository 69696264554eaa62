"""Training events: JSON lines for programs (the GUI), a tqdm bar for people, or nothing.

Every event is a dict with an ``"event"`` key (start, iter, val, checkpoint, warning,
done, cancelled, error; see :mod:`gcnet_core.train`). In ``jsonl`` mode each one is
printed as one JSON object per line on stdout and flushed at once, so a reader sees it
immediately; nothing else is printed on stdout. NaN (an undefined metric) becomes null.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from typing import Any, TextIO

PROGRESS_MODES = ("jsonl", "bar", "none")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class EventSink:
    """Receives events; the base class drops them (used on ranks other than 0)."""

    def emit(self, event: str, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


class JsonLinesSink(EventSink):
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps(_json_safe({"event": event, **fields}), allow_nan=False, default=str)
        self.stream.write(line + "\n")
        self.stream.flush()


class BarSink(EventSink):
    """A tqdm bar over iterations; other events are written above it as short lines."""

    def __init__(self) -> None:
        self.bar = None

    def _write(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)

    def emit(self, event: str, **fields: Any) -> None:
        from tqdm import tqdm

        if event == "start":
            self.bar = tqdm(total=fields["total_iters"], initial=fields.get("start_iter", 0),
                            desc="training", unit="it", file=sys.stderr, dynamic_ncols=True)
            self._write(f"training {fields['model']} on {fields['num_train']} images "
                        f"({fields['num_val']} for validation), {fields['total_iters']} iterations")
        elif event == "iter" and self.bar is not None:
            self.bar.set_postfix(loss=f"{fields['loss']:.4f}", lr=f"{fields['lr']:.2e}", refresh=False)
            self.bar.update(fields["iter"] - self.bar.n)
        elif event == "val":
            self._write(f"iter {fields['iter']}: mIoU {fields['mIoU']:.2f}  aAcc {fields['aAcc']:.2f}  "
                        f"mAcc {fields['mAcc']:.2f}")
        elif event == "checkpoint":
            self._write(f"saved {fields['kind']} checkpoint {fields['path']}")
        elif event == "warning":
            self._write(f"warning: {fields['message']}")
        elif event in ("done", "cancelled"):
            self.close()
            if event == "done":
                best = fields.get("best_mIoU")
                self._write(f"done: last {fields['last_path']}" +
                            (f", best {fields['best_path']} (mIoU {best:.2f})" if best is not None else ""))
            else:
                self._write(f"cancelled at iteration {fields['iter']}; resume with the same command "
                            f"({fields.get('path')})")
        elif event == "error":
            self.close()
            self._write(f"error: {fields['message']}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_sink(mode: str, enabled: bool = True) -> EventSink:
    """The sink for ``--progress MODE``; a silent one when ``enabled`` is False (rank > 0)."""
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress must be one of {PROGRESS_MODES}, not {mode!r}")
    if not enabled or mode == "none":
        return EventSink()
    return JsonLinesSink() if mode == "jsonl" else BarSink()


class WarningEvents(logging.Handler):
    """Turns warnings logged by gcnet_core (e.g. a skipped corrupt image) into events."""

    def __init__(self, sink: EventSink) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.emit("warning", message=record.getMessage())
        except Exception:  # a broken pipe must not take training down with it
            self.handleError(record)


__all__ = ["BarSink", "EventSink", "JsonLinesSink", "PROGRESS_MODES", "WarningEvents", "make_sink"]
