"""One model pass is one undo step: a coarse preview's step is replaced by the full result."""

from __future__ import annotations

from gcnet_core.project.document import MaskDocument


class PreviewStep:
    """Remembers the undo depth right after a preview was shown in a document; before the full
    result goes in, :meth:`take_back` undoes the preview, while that step is still the last one
    and nothing is being drawn (so nothing a person did is ever undone)."""

    def __init__(self) -> None:
        self._document: MaskDocument | None = None
        self._depth: int | None = None

    def shown(self, document: MaskDocument | None) -> None:
        """A preview was just applied to ``document``."""
        self._document = document
        self._depth = document.undo_count if document is not None else None

    def take_back(self, document: MaskDocument | None) -> None:
        """Undo the preview's step in ``document`` if it is still the last one; forget it either way."""
        shown, depth = self._document, self._depth
        self._document = self._depth = None
        if document is not None and document is shown and document.preview and not document.in_stroke \
                and document.undo_count == depth and not document.can_redo:
            document.undo()
