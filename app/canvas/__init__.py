"""The editing canvas: ``CanvasView`` (the widget) and its tools, editing a
:class:`~gcnet_core.project.document.MaskDocument`."""

from .tools import TOOLS
from .view import CanvasView

__all__ = ["TOOLS", "CanvasView"]
