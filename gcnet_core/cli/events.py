"""``--progress jsonl``: the one event stream of every ``gcnet`` command that programs read.

Every line on stdout is one JSON object, flushed at once, with an ``"event"`` key naming
what happened; nothing else is printed on stdout in this mode (people's messages go to
stderr). Values are plain JSON: a non-finite float (an undefined metric) is ``null``,
anything JSON cannot hold (a path) is its ``str``. The GUI reads these streams through
``app.workers.jsonl_process.JsonLinesProcess``.

Events by command::

    gcnet predict   start {total, skipped}
                    model {classes, palette}
                    image {path, ok, done, total, uncertainty | error, note?}
                    warning {message}  (--features: the feature cache cannot write; said once)
                    done  {written, skipped, failed: [{path, error}]}
    gcnet train     start, iter, val, checkpoint, warning, done, cancelled, error
                    (--estimate: estimate, or error)
                    (fields listed in :mod:`gcnet_core.train`)
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, TextIO

from ..train.progress import EventSink


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class JsonLinesSink(EventSink):
    """Writes each event as one JSON line (stdout by default), flushed."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        line = json.dumps(json_safe({"event": event, **fields}), allow_nan=False, default=str)
        stream = self.stream or sys.stdout  # looked up per event: tests and pipes swap sys.stdout
        stream.write(line + "\n")
        stream.flush()


__all__ = ["JsonLinesSink", "json_safe"]
