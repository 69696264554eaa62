"""The frozen cost model: what each action of the simulated annotator costs, in seconds.

Every figure of the effort benchmark rests on this table. Changing a number (or what an
action counts) changes every way's cost: re-run every way and say so in the commit.

The times are the Keystroke-Level Model's operators (Card, Moran & Newell, 1980): K a key
press, P pointing the mouse at a target, B a button press or release, M the mental
preparation before an action. A drag adds the steering law's term (Accot & Zhai, 1997):
its time grows with the path's length measured in brush widths, so a thin brush along a
long sliver is slow.

| action | seconds | what counts as one |
| --- | --- | --- |
| key | 0.28 | K: a tool key (B, P, F, K, S), a class key, each [ / ] brush-size step, N, Enter, a pick's 1-5, Ctrl+Z |
| point | 1.10 | P: the cursor moved onto a region without a click (before N) |
| click | 1.30 | P + B B: a flood fill, a pick, a click into the brush-size box |
| vertex | 1.30 | P + B B: one polygon vertex |
| drag | 1.30 + 0.08 per brush width of path | P + B B, plus the steering term: a brush or snap stroke |
| look | 1.35 | M: deciding each correction, and judging what an unforeseeable tool did |

How attempts and undo are charged:
- an attempt is one use of a tool a person cannot foresee (the snap: GrabCut). It is paid
  in full (look, keys, drag) whether it is kept or not; judging the result is part of its look;
- an attempt that leaves more work than undoing it and taking the best foreseeable fix is
  undone: Ctrl+Z, one key; that fix is then paid too;
- foreseeable tools (polygon, brush, flood fill, pick, next likely class) show what they
  will do before the click (the outline, the brush cursor, the region, the ranked list), so
  only the one chosen is paid;
- switching tool or class, and every brush-size step, is a key; the brush size is set by
  [ / ] (20 % per step, as the app steps it) or, when cheaper, a click into the size box and
  its digits.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

SECONDS = {"key": 0.28, "point": 1.10, "click": 1.30, "vertex": 1.30, "drag": 1.30, "look": 1.35}
SECONDS_PER_BRUSH_WIDTH = 0.08  # a drag's steering term, per brush width of path length
ACTIONS = ("key", "point", "click", "vertex", "drag")  # what a person does with hands; "look" is thinking


@dataclasses.dataclass
class Cost:
    """Counts of each action (see :data:`SECONDS`) and the drags' total length in brush widths."""

    counts: Counter = dataclasses.field(default_factory=Counter)
    drag_widths: float = 0.0

    @classmethod
    def of(cls, drag_widths: float = 0.0, **counts: int) -> Cost:
        return cls(Counter({k: v for k, v in counts.items() if v}), float(drag_widths))

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.counts + other.counts, self.drag_widths + other.drag_widths)

    @property
    def actions(self) -> int:
        """Hand actions: keys, points, clicks, vertices and drags (looks are not counted)."""
        return sum(self.counts[k] for k in ACTIONS)

    @property
    def seconds(self) -> float:
        return sum(SECONDS[k] * n for k, n in self.counts.items()) + SECONDS_PER_BRUSH_WIDTH * self.drag_widths


def brush_steps(start: int, goal: int) -> tuple[int, int]:
    """(presses of [ or ], the size reached): the app's steps of 20 % (one pixel at least)
    from ``start`` until ``goal`` is reached or passed."""
    size, presses = start, 0
    while size != goal and presses < 100:
        size = min(size - 1, round(size / 1.2)) if goal < size else max(size + 1, round(size * 1.2))
        size = max(1, size)
        presses += 1
        if (goal < start and size <= goal) or (goal > start and size >= goal):
            break
    return presses, size


def brush_size_cost(current: int | None, goal: int) -> tuple[Cost, int]:
    """What setting the brush to ``goal`` px costs from ``current`` (None: the app's default
    20 px), and the size then in use: [ / ] steps, or a click into the size box, the digits
    and Enter when that is quicker (then the size is exactly ``goal``)."""
    current = 20 if current is None else current
    if current == goal:
        return Cost(), goal
    presses, reached = brush_steps(current, goal)
    stepped = Cost.of(key=presses)
    typed = Cost.of(click=1, key=len(str(goal)) + 1)
    return (stepped, reached) if stepped.seconds <= typed.seconds else (typed, goal)
