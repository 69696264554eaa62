"""What a canvas tool may use of the view it draws on.

The tools are handed the ``CanvasView`` at run time; typing them against this protocol instead
of the view class keeps the view -> tools import one-way (the view builds its tools).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene, QWidget

from gcnet_core.project.document import MaskDocument


class ToolHost(Protocol):
    """The view's side of a tool: the document, the current class and brush, the scene."""

    edited: Any  # Signal(): a stroke changed the document
    message: Any  # Signal(str): a hint for the status bar
    picker: Any  # the pick tool's list of likely classes
    run_in_background: Callable[..., Any]

    def document(self) -> MaskDocument | None: ...
    def image_array(self) -> np.ndarray | None: ...
    def class_color(self, idx: int | None) -> QColor: ...
    def current_class(self) -> int: ...
    def only_over(self) -> int | None: ...
    def brush_size(self) -> int: ...
    def scale_factor(self) -> float: ...  # screen pixels per image pixel
    def scene(self) -> QGraphicsScene: ...
    def viewport(self) -> QWidget: ...
    def mapFromScene(self, point: QPointF) -> QPoint: ...  # noqa: N802 (Qt's name)
