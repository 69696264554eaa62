"""Small text formatters shared by the window and its docks."""

from __future__ import annotations

import math


def duration_text(seconds: float | None) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min'; a dash for an unknown duration."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
