"""The window's menu bar, tool bar and status bar, laid out from the action table.

:data:`MENUS` says which action goes where (by its key in ``app/actions/table.py``); the
builders return small records of the widgets the window talks to afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QActionGroup, QKeySequence, QPainter
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QLabel, QMainWindow, QMenu, QSlider, QSpinBox, QToolBar,
                               QToolButton)

from gcnet_core.model.classes import IGNORE_INDEX
from gcnet_core.project.document import MaskDocument

from app.actions.table import Actions
from app.panels.class_panel import ClassPanel, class_title, swatch
from app.settings.table import THEMES

RECENT, TOOLS, DOCKS, THEME = "<recent folders>", "<tools>", "<docks>", "<theme>"  # not one action each
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open", RECENT, "import", "import_labels", "export", "save", None, "quit")),
    ("&Edit", ("undo", "redo", None, "done", None, "ignore", "next_class", "replace_class", None, "preferences")),
    ("&Tools", (TOOLS, None, "smaller_brush", "larger_brush")),
    ("&View", ("fit", "zoom", "outline", "confidence", None, THEME, None, DOCKS)),
    ("&Model", ("segment", "segment_all", "cancel_batch", "workahead.on_open", "workahead.ahead", None,
                "finetune.start", "finetune.resegment", None, "live.enabled", "live.publish")),
    ("&Go", ("next", "previous")),
    ("&Help", ("welcome", "shortcut_sheet", "about", "log_folder")),
)
"""Menu title -> its entries: an action key, a place marker, or None for a separator."""


@dataclass(frozen=True)
class ToolbarWidgets:
    brush: QSpinBox  # brush size in pixels
    opacity: QSlider  # mask opacity, 0-100
    threshold: QDoubleSpinBox  # the confidence threshold of "mark low confidence as ignore"
    only_over: QCheckBox  # paint only over the class chosen when it was ticked
    current_class: QToolButton  # the class being painted: its colour, number and name
    rows: "ToolbarRows"  # keeps both tool bars in view by giving the second its own row when needed


@dataclass(frozen=True)
class StatusLabels:
    cursor: QLabel  # pixel and class under the mouse
    size: QLabel  # the image's size
    zoom: QLabel
    time: QLabel  # the last inference's time
    live: QLabel  # what live adaptation's last round did, in one line

    def show_pixel(self, doc: MaskDocument | None, x: int, y: int) -> None:
        """The pixel under the mouse, its class and confidence ((-1, -1): outside the image)."""
        if doc is None or x < 0:
            self.cursor.clear()
            return
        value = int(doc.labels[y, x])
        name = doc.classes.names[value] if value < len(doc.classes) else \
            "ignore" if value == IGNORE_INDEX else f"unknown class {value}"  # kept from the file, not converted
        text = f"({x}, {y})  {name}"
        if doc.confidence is not None:
            text += f"  conf {doc.confidence[y, x]:.2f}"
        self.cursor.setText(text)


class ElidedLabel(QLabel):
    """A one-line status label that ends in "…" where its text does not fit (a long line
    would push the status bar's messages and the image size off a 1366-pixel screen); it asks
    for at most :attr:`widest` pixels, and ``text()`` stays whole."""

    widest = 560

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(min(hint.width(), self.widest), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(super().minimumSizeHint().width(), 120), super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        area = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, area.width())
        painter.drawText(area, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


def build_status_labels(window: QMainWindow) -> StatusLabels:
    labels = StatusLabels(QLabel(), QLabel(), QLabel(), QLabel(), ElidedLabel())
    for label in (labels.live, labels.cursor, labels.size, labels.zoom, labels.time):
        label.setContentsMargins(6, 0, 6, 0)
        window.statusBar().addPermanentWidget(label)
    labels.cursor.setMinimumWidth(260)
    return labels


def build_menus(window: QMainWindow, actions: Actions, docks) -> QMenu:
    """The menu bar of :data:`MENUS`; returns the (empty) Recent Folders menu."""
    editable = actions.editable()
    recent = None
    for title, entries in MENUS:
        menu = window.menuBar().addMenu(title)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
            elif entry == RECENT:
                recent = menu.addMenu("Recent &Folders")
            elif entry == TOOLS:
                menu.addActions(list(actions.tools.values()))
            elif entry == THEME:
                _theme_menu(window, menu.addMenu("T&heme"))
            elif entry == DOCKS:
                menu.addActions([dock.toggleViewAction() for dock in docks])
            else:
                menu.addAction(editable[entry])
    return recent


def _theme_menu(window: QMainWindow, menu: QMenu) -> None:
    """System / Light / Dark, one checked: the remembered choice."""
    group = QActionGroup(menu)
    for choice in THEMES:
        action = menu.addAction(choice.capitalize())
        action.setCheckable(True)
        action.setData(choice)
        action.setChecked(choice == window.settings.get("theme"))
        action.triggered.connect(lambda _checked=False, c=choice: window.set_theme(c))
        group.addAction(action)


def build_toolbar(window: QMainWindow, actions: Actions) -> ToolbarWidgets:
    """Tools, the class being painted, undo/redo, done, brush size, opacity, outline, confidence,
    ignore and "only over"."""
    canvas, panel = window.canvas, window.classes_panel
    bar = QToolBar("Tools", window)
    bar.setObjectName("tools")
    window.addToolBar(bar)
    bar.addActions(list(actions.tools.values()))
    bar.addSeparator()
    current_class = _current_class_button(panel)
    bar.addWidget(current_class)
    bar.addSeparator()
    bar.addActions([actions.undo, actions.redo])
    bar.addSeparator()
    bar.addAction(actions.done)
    bar.addSeparator()
    brush = QSpinBox(minimum=1, maximum=1000, value=canvas.brush_size(), suffix=" px")
    _tip_with_keys(brush, "Brush size ({} and {} change it)", actions.smaller_brush, actions.larger_brush)
    brush.valueChanged.connect(canvas.set_brush_size)
    canvas.brushSizeChanged.connect(brush.setValue)
    bar.addWidget(QLabel(" Brush "))
    bar.addWidget(brush)
    bar = QToolBar("View", window)
    bar.setObjectName("view")
    window.addToolBar(bar)
    opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
    opacity.setFixedWidth(110)
    opacity.setToolTip("Mask opacity (hold H to hide the mask)")
    opacity.valueChanged.connect(lambda v: canvas.set_opacity(v / 100))
    bar.addWidget(QLabel(" Opacity "))
    bar.addWidget(opacity)
    bar.addActions([actions.outline, actions.confidence])
    bar.addSeparator()
    threshold = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
    threshold.setToolTip("Confidence threshold for 'mark low confidence as ignore'")
    bar.addAction(actions.ignore)
    bar.addWidget(threshold)
    only_over = QCheckBox("Only over current")
    only_over.setToolTip("Paint only over pixels of the class selected when this was ticked")
    only_over.toggled.connect(lambda on: canvas.set_only_over(panel.current() if on else None))
    bar.addWidget(only_over)
    rows = ToolbarRows(window, window.findChild(QToolBar, "tools"), bar)
    return ToolbarWidgets(brush, opacity, threshold, only_over, current_class, rows)


class ToolbarRows(QObject):
    """Puts the View tool bar on a row of its own whenever both do not fit side by side.

    Qt never wraps tool bars: on a laptop screen the items past the window's width would hide
    behind the overflow arrow, so every resize of the window decides again."""

    def __init__(self, window: QMainWindow, first: QToolBar, second: QToolBar) -> None:
        super().__init__(window)
        self.window, self.first, self.second = window, first, second
        window.installEventFilter(self)

    def two_rows(self) -> bool:
        return self.window.toolBarBreak(self.second)

    def arrange(self) -> None:
        needed = self.first.sizeHint().width() + self.second.sizeHint().width() + 16
        wrap = self.window.width() < needed
        if wrap != self.two_rows():
            if wrap:
                self.window.insertToolBarBreak(self.second)
            else:
                self.window.removeToolBarBreak(self.second)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.arrange()
        return False


def _tip_with_keys(widget, template: str, *actions) -> None:
    """``widget``'s tooltip names the first key of each of ``actions`` as it is now."""

    def update() -> None:
        keys = [a.shortcuts()[0].toString(QKeySequence.SequenceFormat.NativeText) if a.shortcuts() else "(no key)"
                for a in actions]
        widget.setToolTip(template.format(*keys))

    for action in actions:
        action.changed.connect(update)
    update()


def _current_class_button(panel: ClassPanel) -> QToolButton:
    """The class being painted, in its colour; it follows the class list (a click, 1-9/0, a
    search, a rename or new colour) and a click on it searches the classes."""
    button = QToolButton(toolButtonStyle=Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setObjectName("current_class")
    button.setToolTip("The class being painted (1-9, 0 or the class list choose it); click to search the classes")

    def show(index: int) -> None:
        classes = panel.classes
        if 0 <= index < len(classes):
            button.setIcon(swatch(classes.palette[index]))
            button.setText(class_title(index, classes.names[index]))

    panel.currentClassChanged.connect(show)
    button.clicked.connect(panel.focus_search)
    show(panel.current())
    return button
