"""Training events: the engine emits them to a sink; a tqdm bar shows them to people.

Every event is a name (start, iter, val, checkpoint, warning, done, cancelled, error; see
:mod:`gcnet_core.train`) with keyword fields. The JSON-lines sink that programs read is the
one every ``gcnet`` command shares (:class:`gcnet_core.cli.events.JsonLinesSink`); which
sink a run gets is chosen by ``gcnet train --progress`` (:func:`gcnet_core.cli.train.make_sink`).
"""

from __future__ import annotations

import logging
import sys
from typing import Any


class EventSink:
    """Receives events; the base class drops them (used on ranks other than 0)."""

    def emit(self, event: str, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


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
                skipped = fields.get("unreadable") or []
                if skipped:
                    self._write(f"{len(skipped)} training image(s) could not be read and were skipped:")
                    for line in skipped:
                        self._write(f"  {line}")
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


__all__ = ["BarSink", "EventSink", "WarningEvents"]
