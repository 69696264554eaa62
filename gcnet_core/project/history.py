"""Each image keeps its undo history while the application runs.

Switching images used to start every document afresh from disk, losing its undo steps.
The annotation session parks the document it leaves here (it is saved first) and takes it back when the
image is shown again, as long as nothing else rewrote that image's mask meanwhile (a batch
or work-ahead result changes the recorded state or model; a class change clears them all).
Documents are large (labels, edited flags, prediction, confidence, diffs), so the oldest
are forgotten beyond a memory budget.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .document import MaskDocument

DEFAULT_BUDGET = 1 << 30  # bytes kept for parked documents


@dataclass
class Parked:
    document: MaskDocument
    opened_state: str  # the image's state when its history began (the state rules need it)
    record: tuple  # what the project said about the image when it was parked


def document_nbytes(doc: MaskDocument) -> int:
    arrays = (doc.labels, doc.edited, doc.prediction, doc.confidence)
    return sum(a.nbytes for a in arrays if a is not None) + doc.history_nbytes


class DocumentHistory:
    """Parked documents by image, least recently used forgotten first."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._parked: OrderedDict[str, Parked] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parked)

    def __contains__(self, rel: str) -> bool:
        return rel in self._parked

    def park(self, rel: str, doc: MaskDocument, opened_state: str, record: tuple) -> None:
        """Keep ``doc`` (with its history) for image ``rel``; only worth it with some history."""
        self._parked.pop(rel, None)
        if not (doc.can_undo or doc.can_redo):
            return
        self._parked[rel] = Parked(doc, opened_state, record)
        total = sum(document_nbytes(p.document) for p in self._parked.values())
        while len(self._parked) > 1 and total > self.budget:
            _, dropped = self._parked.popitem(last=False)
            total -= document_nbytes(dropped.document)

    def take(self, rel: str, shape: tuple[int, int], record: tuple) -> Parked | None:
        """The parked document of ``rel`` when it still fits the image and the project's record."""
        parked = self._parked.pop(rel, None)
        if parked is None or parked.document.shape != tuple(shape) or parked.record != record:
            return None
        return parked

    def clear(self) -> None:
        self._parked.clear()
