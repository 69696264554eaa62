"""The editing canvas: ``MaskDocument`` (labels + undo, no Qt) and ``CanvasView`` (the widget)."""

from .document import MaskDocument
from .tools import TOOLS
from .view import CanvasView

__all__ = ["TOOLS", "CanvasView", "MaskDocument"]
