"""A small line chart drawn with QPainter: the live loss and validation-mIoU curves.

A few hundred points at most and two plots on one panel do not need a charting
library; this keeps the dependency list (and the packaged app) small.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values covering [low, high] (1, 2 or 5 times a power of 10)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    return ticks


class CurvePlot(QWidget):
    """One series of (x, y) points over iterations, with a title, the last value and axes.

    ``y_range`` fixes the vertical axis (e.g. 0-100 for mIoU); otherwise it follows the data.
    ``reference`` draws a dashed horizontal line (the base model's mIoU).
    """

    MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 34, 8, 18, 16

    def __init__(self, title: str, colour: str, y_range: tuple[float, float] | None = None,
                 value_format: str = "{:.3f}", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.colour = QColor(colour)
        self.y_range = y_range
        self.value_format = value_format
        self.points: list[tuple[float, float]] = []
        self.x_max: float | None = None  # the run's last iteration, so the x axis does not jump
        self.reference: float | None = None
        self.reference_label = ""
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(260, 110)

    # -- data -------------------------------------------------------------------------------
    def add_point(self, x: float, y: float | None) -> None:
        if y is None or not math.isfinite(y):
            return
        self.points.append((float(x), float(y)))
        self.update()

    def truncate(self, x: float) -> None:
        """Drop points after ``x`` (a resumed run repeats what followed its last checkpoint)."""
        self.points = [p for p in self.points if p[0] <= x]
        self.update()

    def clear(self) -> None:
        self.points = []
        self.reference = None
        self.update()

    def set_reference(self, value: float | None, label: str = "") -> None:
        self.reference, self.reference_label = value, label
        self.update()

    # -- drawing ----------------------------------------------------------------------------
    def _ranges(self) -> tuple[float, float, float, float]:
        xs = [p[0] for p in self.points] or [0.0]
        ys = [p[1] for p in self.points]
        if self.reference is not None:
            ys.append(self.reference)
        x_low, x_high = 0.0, max(max(xs), self.x_max or 0.0, 1.0)
        if self.y_range is not None:
            y_low, y_high = self.y_range
        elif ys:
            y_low, y_high = min(0.0, min(ys)), max(ys) * 1.1 or 1.0
        else:
            y_low, y_high = 0.0, 1.0
        return x_low, x_high, y_low, y_high

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.text().color()
        faint = QColor(text)
        faint.setAlpha(60)
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() * 0.8))
        painter.setFont(small)
        area = QRectF(self.MARGIN_LEFT, self.MARGIN_TOP, self.width() - self.MARGIN_LEFT - self.MARGIN_RIGHT,
                      self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM)
        x_low, x_high, y_low, y_high = self._ranges()

        def to_screen(x: float, y: float) -> QPointF:
            fx = (x - x_low) / (x_high - x_low)
            fy = (y - y_low) / (y_high - y_low) if y_high > y_low else 0.5
            return QPointF(area.left() + fx * area.width(), area.bottom() - fy * area.height())

        # title and the latest value
        painter.setPen(text)
        last = f"  {self.value_format.format(self.points[-1][1])}" if self.points else "  —"
        painter.drawText(QRectF(0, 0, self.width(), self.MARGIN_TOP), Qt.AlignmentFlag.AlignLeft
                         | Qt.AlignmentFlag.AlignVCenter, f" {self.title}{last}")
        # grid and y labels
        for tick in nice_ticks(y_low, y_high):
            point = to_screen(x_low, tick)
            painter.setPen(QPen(faint, 1))
            painter.drawLine(QPointF(area.left(), point.y()), QPointF(area.right(), point.y()))
            painter.setPen(text)
            painter.drawText(QRectF(0, point.y() - 7, self.MARGIN_LEFT - 4, 14),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{tick:g}")
        painter.setPen(QPen(faint, 1))
        painter.drawRect(area)
        painter.setPen(text)
        painter.drawText(QRectF(area.left(), area.bottom(), area.width(), self.MARGIN_BOTTOM),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"iteration {x_high:g}")
        painter.drawText(QRectF(area.left(), area.bottom(), area.width(), self.MARGIN_BOTTOM),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "0")
        # the base model's value
        if self.reference is not None:
            y = to_screen(x_low, self.reference).y()
            pen = QPen(text, 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            if self.reference_label:
                painter.drawText(QRectF(area.left() + 4, y - 14, area.width() - 8, 13),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, self.reference_label)
        # the series
        if self.points:
            path = QPainterPath(to_screen(*self.points[0]))
            for point in self.points[1:]:
                path.lineTo(to_screen(*point))
            painter.setPen(QPen(self.colour, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            if len(self.points) <= 30:  # sparse series (validations): mark each point
                painter.setBrush(self.colour)
                for point in self.points:
                    painter.drawEllipse(to_screen(*point), 2.5, 2.5)
        painter.end()


__all__ = ["CurvePlot", "nice_ticks"]
