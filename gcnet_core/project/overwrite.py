"""The one rule that protects a person's work: which pixels of which image a machine result
or a region tool may change.

Every path that writes labels a person did not paint right there asks :func:`may_overwrite`:
a pre-segmentation, work-ahead, a batch result being placed, an import, the region tools
(relabel, pick, next likely class) and live adaptation's re-labelled masks. The rule:

- pixels a person edited are never changed (only their own brush, polygon or fill does that);
- an image a person edited or finished (edited, corrected, exported, imported) is not touched at all unless
  the person asked for this result on this image, and then only its unedited pixels;
- nothing is changed in an image a person is working on right now;
- a result made with another model version than the one wanted now is stale: refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .states import MODEL_STATES

__all__ = ["Permission", "may_overwrite"]


@dataclass(frozen=True)
class Permission:
    """The rule's answer for one image: ``refused`` says why nothing may change (None: the
    write may go ahead); ``protected`` marks the pixels it must leave as they are (None: none)."""

    refused: str | None = None
    protected: np.ndarray | None = None

    def __bool__(self) -> bool:
        return self.refused is None

    def writable(self, shape: tuple[int, int], box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """The pixels that may change, over the whole image or its ``box`` = (y0, y1, x0, x1)."""
        y0, y1, x0, x1 = box if box is not None else (0, shape[0], 0, shape[1])
        if self.refused is not None:
            return np.zeros((y1 - y0, x1 - x0), bool)
        if self.protected is None:
            return np.ones((y1 - y0, x1 - x0), bool)
        return ~self.protected[y0:y1, x0:x1]


def may_overwrite(edited: np.ndarray | None, *, state: str | None = None, asked: bool = False,
                  busy: bool = False, made_with: str | None = None, wanted: str | None = None) -> Permission:
    """What a machine result or a region tool may change in one image.

    ``edited``: the pixels a person edited (None: none). ``state``: the image's state in the
    project; None for a person's own tool on the open image (only the edited pixels limit it).
    ``asked``: the person asked for this result on this image (Pre-segment, then yes), which
    lets it into a finished image or one being edited. ``busy``: a person is working on the image now (a stroke,
    changes of theirs not saved). ``made_with`` / ``wanted``: the model version that made the
    result and the one wanted now; when both are given and differ, the result is stale.
    """
    if made_with is not None and wanted is not None and made_with != wanted:
        return Permission(f"it was made with {made_with}, not with {wanted}")
    if busy and not asked:
        return Permission("a person is working on it")
    if state is not None and state not in MODEL_STATES and not asked:
        return Permission(f"a person's labels ({state}) are replaced only when they ask")
    protected = None if edited is None or not edited.any() else np.asarray(edited, dtype=bool)
    return Permission(None, protected)
