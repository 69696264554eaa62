"""The mask layers drawn over the photo: class colours (filled or outlines) and the heat map.

In filled mode the overlay QImage reads the document's ``labels`` array itself (zero copy),
so a change costs only the repaint of its rectangle. Outline mode keeps a second buffer
that is recomputed in the changed rectangle only. The low-confidence heat map is built once
per model output.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsScene

from gcnet_core.project.document import MaskDocument, Rect

from .items import ImageItem
from .layers import confidence_color_table, label_color_table, outline_into, uncertainty_indices, wrap_indexed

__all__ = ["MaskLayers"]


class MaskLayers:
    """Owns the overlay and heat-map items of one scene and keeps them in step with a document."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.labels_item = ImageItem(smooth=False)
        self.labels_item.setZValue(10)
        self.heat_item = ImageItem(smooth=False)
        self.heat_item.setZValue(20)
        self.heat_item.setVisible(False)
        scene.addItem(self.labels_item)
        scene.addItem(self.heat_item)
        self.doc: MaskDocument | None = None
        self.opacity = 0.5
        self.hidden: set[int] = set()
        self.outline = False
        self.mask_visible = True
        self.show_confidence = False
        self._outline_buf: np.ndarray | None = None
        self._heat_buf: np.ndarray | None = None
        self._heat_source: np.ndarray | None = None
        self._table: list[int] = []

    # ------------------------------------------------------------------ content

    def set_document(self, doc: MaskDocument | None) -> None:
        self.doc = doc
        self._outline_buf = None
        self._heat_buf = None
        self._heat_source = None
        self.heat_item.set_image(QImage())
        self._rebuild_labels()
        self._rebuild_heat()

    def _source(self) -> np.ndarray | None:
        if self.doc is None:
            return None
        if not self.outline:
            return self.doc.labels
        if self._outline_buf is None or self._outline_buf.shape != self.doc.labels.shape:
            self._outline_buf = np.empty_like(self.doc.labels)
            outline_into(self.doc.labels, self._outline_buf)
        return self._outline_buf

    def _rebuild_labels(self) -> None:
        """New wrapper over the current source buffer with the current colour table."""
        source = self._source()
        if source is None:
            self.labels_item.set_image(QImage())
            return
        self._table = label_color_table(self.doc.classes, self.opacity, self.hidden)
        self.labels_item.set_image(wrap_indexed(source, self._table), source)
        self.labels_item.setVisible(self.mask_visible)

    def _rebuild_heat(self) -> None:
        conf = self.doc.confidence if self.doc is not None else None
        visible = self.show_confidence and conf is not None
        self.heat_item.setVisible(visible)
        if not visible:
            return
        if self._heat_buf is None or self._heat_source is not conf:
            self._heat_buf = uncertainty_indices(conf)
            self._heat_source = conf
            self.heat_item.set_image(wrap_indexed(self._heat_buf, confidence_color_table()), self._heat_buf)

    def on_change(self, rect: Rect | None) -> None:
        """Bring the layers up to date in ``rect`` (None: everywhere) and schedule its repaint."""
        if self.doc is None:
            return
        if rect is None:
            rect = self.doc.full_rect
            if self.outline:
                self._outline_buf = None  # recomputed whole by _source()
                self._rebuild_labels()
        elif self.outline and self._outline_buf is not None:
            outline_into(self.doc.labels, self._outline_buf, rect)
        if self.show_confidence and self.doc.confidence is not self._heat_source:
            self._rebuild_heat()
        x, y, w, h = rect
        area = QRectF(x - 1, y - 1, w + 2, h + 2)  # outlines may change one pixel outside
        self.labels_item.update(area)

    # ------------------------------------------------------------------ appearance

    def color_table(self) -> list[int]:
        return list(self._table)

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(min(max(opacity, 0.0), 1.0))
        self._rebuild_labels()

    def set_class_visible(self, idx: int, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(int(idx))
        self._rebuild_labels()

    def set_outline(self, on: bool) -> None:
        self.outline = bool(on)
        if not on:
            self._outline_buf = None
        self._rebuild_labels()

    def set_mask_visible(self, visible: bool) -> None:
        self.mask_visible = bool(visible)
        self.labels_item.setVisible(self.mask_visible)

    def set_show_confidence(self, on: bool) -> None:
        self.show_confidence = bool(on)
        self._rebuild_heat()
