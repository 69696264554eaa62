"""The file list dock: every image of the folder with its state, a filter and done count.

The model grows as the background scan delivers chunks, so thousands of files show up at
once; thumbnails are decoded on pool threads only for rows the view actually paints.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QRect, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QLineEdit, QListView, QMenu, QStyle,
                               QStyledItemDelegate, QStyleOptionViewItem, QToolButton, QVBoxLayout, QWidget)

from gcnet_core.files.images import ImageReadError, read_image_rgb
from gcnet_core.project.states import DONE_STATES, TITLES

from ..workers.tasks import run_in_pool
from ..workers.thumbnails import THUMB_SIZE, ThumbnailCache

STATE_TITLES = TITLES  # the project's words, shown in the list
STATE_COLOURS = {"new": QColor("#8a8f98"), "predicted": QColor("#2f80d1"), "edited": QColor("#d68910"),
                 "corrected": QColor("#2e9d4f"), "exported": QColor("#8e44ad")}
UNSURE_MEANING = ("unsure: how unsure the model was about this image's last pre-segmentation "
                  "(the mean over its pixels of 1 − the model's confidence); higher means more to correct. "
                  "Gone once the image is done: the mask is then the person's")
DONE_MEANING = ("done: images a person marked done (Ctrl+D) or exported, of the readable images listed; "
                "an edited image is not done until it is marked")

BROKEN_COLOUR = QColor("#c0392b")
PathRole = Qt.ItemDataRole.UserRole + 1
StateRole = Qt.ItemDataRole.UserRole + 2
UncertaintyRole = Qt.ItemDataRole.UserRole + 3  # "unsure": mean 1 - confidence of the last prediction, or None
ProblemRole = Qt.ItemDataRole.UserRole + 4  # why the file cannot be read, or None
WorkRole = Qt.ItemDataRole.UserRole + 5  # work-ahead: "fresh" (prediction of the selected model), "queued", None
WORK_MARKS = {"fresh": "⚡ ready", "queued": "… queued"}
WORK_SYMBOLS = {"fresh": "⚡", "queued": "…"}  # the marks on a row short of room
WORK_MEANINGS = {"fresh": "⚡ ready: the selected model's mask is waiting for it (work-ahead)",
                 "queued": "… queued: work-ahead segments it soon"}
ORDERS = (("name", "Name"), ("uncertainty", "Most unsure first"))


class FileListModel(QAbstractListModel):
    """Rows of (relative path, state); thumbnails come from a :class:`ThumbnailCache`."""

    countsChanged = Signal()

    def __init__(self, thumbnails: ThumbnailCache | None = None, parent=None) -> None:
        super().__init__(parent)
        self.root: Path | None = None
        self._rows: list[str] = []
        self._row_of: dict[str, int] = {}
        self._states: dict[str, str] = {}
        self._uncertainty: dict[str, float] = {}
        self._problems: dict[str, str] = {}  # unreadable files: left out of counts and batches
        self._work: dict[str, str] = {}  # work-ahead marks (WorkRole)
        self.counts: Counter[str] = Counter()
        self.thumbnails = thumbnails
        self._pixmaps: dict[str, QPixmap] = {}
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    # -- content ------------------------------------------------------------------------
    def reset(self, root: Path | None) -> None:
        self.beginResetModel()
        self.root = root
        self._rows, self._row_of, self._states, self._uncertainty, self._problems = [], {}, {}, {}, {}
        self._work = {}
        self.counts = Counter()
        self._pixmaps.clear()
        if self.thumbnails is not None:
            self.thumbnails.clear()
        self.endResetModel()
        self.countsChanged.emit()

    def append(self, items: list[tuple[str, str]], uncertainties: dict[str, float | None] | None = None) -> None:
        """Add (relative path, state) rows at the end (the scan delivers them sorted), with the
        recorded uncertainty of each where known."""
        items = [(rel, state) for rel, state in items if rel not in self._row_of]
        if not items:
            return
        for rel, value in (uncertainties or {}).items():
            if value is not None:
                self._uncertainty[rel] = float(value)
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(items) - 1)
        for rel, state in items:
            self._row_of[rel] = len(self._rows)
            self._rows.append(rel)
            self._states[rel] = state
            self.counts[state] += 1
        self.endInsertRows()
        self.countsChanged.emit()

    def set_state(self, rel: str, state: str) -> None:
        row = self._row_of.get(rel)
        if row is None or self._states[rel] == state:
            return
        if rel not in self._problems:
            self.counts[self._states[rel]] -= 1
            self.counts[state] += 1
        self._states[rel] = state
        index = self.index(row)
        self.dataChanged.emit(index, index, [StateRole, Qt.ItemDataRole.ToolTipRole])
        self.countsChanged.emit()

    def state(self, rel: str) -> str | None:
        return self._states.get(rel)

    def set_problem(self, rel: str, reason: str | None) -> None:
        """Mark ``rel`` unreadable (``reason`` says why) or readable again (None)."""
        row = self._row_of.get(rel)
        if row is None or self._problems.get(rel) == reason:
            return
        was_broken = rel in self._problems
        if reason is None:
            del self._problems[rel]
            self.counts[self._states[rel]] += 1
        else:
            self._problems[rel] = reason
            if not was_broken:
                self.counts[self._states[rel]] -= 1
        index = self.index(row)
        self.dataChanged.emit(index, index, [ProblemRole, Qt.ItemDataRole.ToolTipRole])
        self.countsChanged.emit()

    def problem(self, rel: str) -> str | None:
        return self._problems.get(rel)

    @property
    def broken_count(self) -> int:
        return len(self._problems)

    def readable_paths(self) -> list[str]:
        """Every listed image except the unreadable ones (what counts and batches use)."""
        return [rel for rel in self._rows if rel not in self._problems]

    def set_uncertainty(self, rel: str, value: float | None) -> None:
        row = self._row_of.get(rel)
        if value is None:
            self._uncertainty.pop(rel, None)
        else:
            self._uncertainty[rel] = float(value)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [UncertaintyRole, Qt.ItemDataRole.ToolTipRole])

    def uncertainty(self, rel: str) -> float | None:
        return self._uncertainty.get(rel)

    def paths(self) -> list[str]:
        return list(self._rows)

    def row_of(self, rel: str) -> int | None:
        return self._row_of.get(rel)

    @property
    def done(self) -> int:
        return sum(self.counts[s] for s in DONE_STATES)

    # -- Qt model -----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        rel = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rel
        if role == PathRole:
            return rel
        if role == StateRole:
            return self._states[rel]
        if role == UncertaintyRole:
            return self._uncertainty.get(rel)
        if role == ProblemRole:
            return self._problems.get(rel)
        if role == WorkRole:
            return self._work.get(rel)
        if role == Qt.ItemDataRole.ToolTipRole:
            if rel in self._problems:
                return f"{rel}\ncannot be read: {self._problems[rel]}"
            value = self._uncertainty.get(rel)
            unsure = f"\n{value:.0%} {UNSURE_MEANING}" if value is not None else ""
            work = f"\n{WORK_MEANINGS[self._work[rel]]}" if rel in self._work else ""
            return f"{rel}\n{STATE_TITLES[self._states[rel]]}{unsure}{work}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(rel)
        return None

    def set_work_marks(self, marks: dict[str, str]) -> None:
        """Which images have a fresh prediction of the selected model and which are queued."""
        changed = {rel for rel in set(marks) | set(self._work) if marks.get(rel) != self._work.get(rel)}
        self._work = {rel: mark for rel, mark in marks.items() if rel in self._row_of}
        for rel in changed:
            if rel in self._row_of:
                index = self.index(self._row_of[rel])
                self.dataChanged.emit(index, index, [WorkRole])

    def work_mark(self, rel: str) -> str | None:
        return self._work.get(rel)

    def _thumbnail(self, rel: str) -> QPixmap | None:
        pixmap = self._pixmaps.get(rel)
        if pixmap is not None or self.thumbnails is None or self.root is None:
            return pixmap
        image = self.thumbnails.get(str(self.root / rel), self.root / rel)
        if image is None:
            return None
        pixmap = QPixmap.fromImage(image)  # UI thread: QPixmap is only allowed here
        if len(self._pixmaps) > 3000:
            self._pixmaps.clear()
        self._pixmaps[rel] = pixmap
        return pixmap

    def _thumbnail_ready(self, key: str) -> None:
        if self.root is None:
            return
        try:
            rel = Path(key).relative_to(self.root).as_posix()
        except ValueError:
            return
        row = self._row_of.get(rel)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class StateFilterProxy(QSortFilterProxyModel):
    """Filters by a case-insensitive substring of the path and, optionally, by state."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._state: str | None = None

    def set_state(self, state: str | None) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+; invalidateFilter is deprecated there
            self.beginFilterChange()
            self._state = state
            self.endFilterChange()
        else:
            self._state = state
            self.invalidateFilter()

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        """By uncertainty (images never predicted count as least uncertain), then by row."""
        a, b = left.data(UncertaintyRole), right.data(UncertaintyRole)
        a = -1.0 if a is None else a
        b = -1.0 if b is None else b
        if a != b:
            return a < b
        return left.row() > right.row()  # descending order then keeps ties in name order

    def set_order(self, order: str) -> None:
        """"name" (the folder order) or "uncertainty" (most uncertain first: label those next)."""
        if order == "uncertainty":
            self.setSortRole(UncertaintyRole)
            self.sort(0, Qt.SortOrder.DescendingOrder)
        else:
            self.sort(-1)  # back to the source order

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        if self._state is not None:
            index = self.sourceModel().index(row, 0, parent)
            if self.sourceModel().data(index, StateRole) != self._state:
                return False
        return super().filterAcceptsRow(row, parent)


class FileItemDelegate(QStyledItemDelegate):
    """Thumbnail, file name and a coloured state pill on one row."""

    ROW_HEIGHT = THUMB_SIZE.height() + 8

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return QSize(200, self.ROW_HEIGHT)

    @staticmethod
    def pill_font(option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        font.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.85))
        return font

    @staticmethod
    def pill_title(index: QModelIndex) -> str:
        return "unreadable" if index.data(ProblemRole) else STATE_TITLES[index.data(StateRole) or "new"]

    def texts(self, option: QStyleOptionViewItem, index: QModelIndex) -> tuple[str, str]:
        """What :meth:`paint` writes after the state pill of ``index`` in ``option.rect``: (hint, work mark)."""
        metrics = QFontMetrics(self.pill_font(option))
        text_left = option.rect.left() + 8 + THUMB_SIZE.width() - 1 + 8  # as paint: the thumbnail's right + 8
        pill_right = text_left + metrics.horizontalAdvance(self.pill_title(index)) + 12 - 1
        return self.row_texts(metrics, option.rect.right() - 2 - (pill_right + 6), index.data(UncertaintyRole),
                              index.data(WorkRole), index.data(ProblemRole))

    @staticmethod
    def row_texts(metrics, space: int, uncertainty: float | None, work: str | None,
                  problem: str | None) -> tuple[str, str]:
        """(hint, work mark) for the ``space`` pixels after the state pill. "N% unsure" keeps
        its word on every row (the mark shrinks to its symbol first); only a list too narrow
        for both keeps the bare number."""
        mark = WORK_MARKS[work] if work and not problem else ""
        if problem or uncertainty is None:
            return problem or "", mark
        hint = f"{uncertainty:.0%} unsure"

        def fits(mark_text: str) -> bool:
            taken = metrics.horizontalAdvance(mark_text) + 8 if mark_text else 0
            return metrics.horizontalAdvance(hint) + taken <= space

        if mark and not fits(mark):
            mark = WORK_SYMBOLS[work]
        if not fits(mark):
            hint = f"{uncertainty:.0%}"
        return hint, mark

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
            text_colour = option.palette.highlightedText().color()
        else:
            text_colour = option.palette.text().color()
        rect = option.rect
        state = index.data(StateRole) or "new"
        problem = index.data(ProblemRole)
        colour = BROKEN_COLOUR if problem else STATE_COLOURS[state]
        painter.fillRect(QRect(rect.left(), rect.top() + 2, 4, rect.height() - 4), colour)
        thumb_rect = QRect(rect.left() + 8, rect.top() + 4, THUMB_SIZE.width(), THUMB_SIZE.height())
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pixmap)
        else:
            painter.fillRect(thumb_rect, QColor(128, 128, 128, 60))
        text_left = thumb_rect.right() + 8
        name_rect = QRect(text_left, rect.top() + 4, rect.right() - text_left - 4, rect.height() // 2 - 2)
        painter.setPen(text_colour)
        name = option.fontMetrics.elidedText(index.data() or "", Qt.TextElideMode.ElideMiddle, name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        painter.setFont(self.pill_font(option))
        title = self.pill_title(index)
        width = painter.fontMetrics().horizontalAdvance(title) + 12
        pill = QRect(text_left, rect.top() + rect.height() // 2 + 1, width, painter.fontMetrics().height() + 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        painter.setPen(QColor("white"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, title)
        metrics = painter.fontMetrics()
        hint_text, mark = self.texts(option, index)
        hint_right = rect.right() - 2  # the hint beside the pill ends where the work mark starts
        if mark:  # work-ahead: the mask is ready, or on its way
            mark_width = metrics.horizontalAdvance(mark) + 4
            mark_rect = QRect(rect.right() - mark_width - 2, pill.top(), mark_width, pill.height())
            ready = index.data(WorkRole) == "fresh"
            painter.setPen(STATE_COLOURS["predicted"] if ready else option.palette.placeholderText().color())
            painter.drawText(mark_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, mark)
            hint_right = mark_rect.left() - 4
        if hint_text:
            hint = QRect(pill.right() + 6, pill.top(), max(0, hint_right - pill.right() - 6), pill.height())
            painter.setPen(BROKEN_COLOUR if problem else option.palette.placeholderText().color())
            painter.drawText(hint, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(hint_text, Qt.TextElideMode.ElideRight, hint.width()))
        painter.restore()


class LinkLabel(QLabel):
    """A rich-text label whose links follow the theme: Qt colours a link from the palette when
    the text is set, so a switch to dark left the "Include" links dark blue on dark grey."""

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.text():
            text = self.text()
            self.clear()  # setText ignores the text it already has
            self.setText(text)


def _decode_problem(path: Path) -> str | None:
    """Why ``path`` cannot be decoded (its reason, without the path), or None when it can."""
    try:
        read_image_rgb(path)
    except ImageReadError as error:
        return error.reason
    return None


class FileListDock(QDockWidget):
    """The folder's images: filter box, state filter, list, previous/next and done count.

    Emits ``imageActivated(relative path)`` when the user picks an image.
    """

    imageActivated = Signal(str)
    segmentRequested = Signal(str)  # context menu: pre-segment this image
    doneRequested = Signal(str, bool)  # context menu: (image, done or not done)
    revealRequested = Signal(str)  # context menu: show the file in the file manager
    includeRequested = Signal(str)  # a skipped output folder to list after all (rescan the folder)

    def __init__(self, parent=None) -> None:
        super().__init__("Images", parent)
        self.setObjectName("files")
        self.thumbnails = ThumbnailCache(parent=self)
        self.model = FileListModel(self.thumbnails, self)
        self.proxy = StateFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.state_combo = QComboBox()
        self.state_combo.addItem("All", None)
        for state, title in STATE_TITLES.items():
            self.state_combo.addItem(title, state)
        self.state_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_state(self.state_combo.currentData()))
        self.order_combo = QComboBox()
        for order, title in ORDERS:
            self.order_combo.addItem(title, order)
        self.order_combo.setToolTip("Most unsure first: the images the model was least sure about come first; "
                                    "correcting them teaches it most. " + UNSURE_MEANING)
        self.order_combo.currentIndexChanged.connect(lambda _i: self.set_order(self.order_combo.currentData()))

        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)  # constant-time layout for thousands of rows
        self.view.setItemDelegate(FileItemDelegate(self.view))
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the canvas shortcuts
        self.view.clicked.connect(self._clicked)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.context_menu: QMenu | None = None  # the last one shown (tests pick its actions)

        self.count_label = QLabel(toolTip=DONE_MEANING)
        self.skipped_label = LinkLabel(wordWrap=True, visible=False)  # our own output folders left out
        self.skipped_label.linkActivated.connect(self.include_folder)
        self._included: dict[Path, set[str]] = {}  # per folder root, for this run of the app
        self._root: Path | None = None
        self.previous_button = QToolButton(text="◀")  # the window's Go actions (set_step_actions)
        self.next_button = QToolButton(text="▶")

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.state_combo)
        order = QHBoxLayout()
        order.addWidget(QLabel("Order"))
        order.addWidget(self.order_combo, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.previous_button)
        bottom.addWidget(self.next_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(order)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.skipped_label)
        layout.addLayout(bottom)
        self.setWidget(body)
        self.model.countsChanged.connect(self._update_count)
        self._current: str | None = None
        self._scanning = False
        self._update_count()

    # -- API --------------------------------------------------------------------------------
    def reset(self, root: Path | None) -> None:
        self._current = None
        self._root = root
        self.show_skipped({})
        self._scanning = root is not None
        self.model.reset(root)

    def set_step_actions(self, previous: QAction, next_: QAction) -> None:
        """The ◀ / ▶ buttons run the window's Previous / Next Image and show their keys now."""
        self.previous_button.setDefaultAction(previous)
        self.next_button.setDefaultAction(next_)

    def set_order(self, order: str) -> None:
        """Sort the list by "name" or "uncertainty" (previous/next follow the shown order)."""
        index = self.order_combo.findData(order)
        if index >= 0 and index != self.order_combo.currentIndex():
            self.order_combo.setCurrentIndex(index)  # comes back here through the signal
            return
        self.proxy.set_order(order)
        if self._current is not None:
            self.set_current(self._current)

    def included_outputs(self, root: Path) -> set[str]:
        """Output folders under ``root`` a person chose to list as images after all."""
        return set(self._included.get(Path(root), ()))

    def show_skipped(self, skipped: dict[str, str]) -> None:
        """Say which folders the scan left out as our own outputs, each with a link to include it."""
        lines = [f"Skipped <b>{html.escape(folder)}/</b> ({html.escape(why)}) "
                 f"<a href=\"{html.escape(folder, quote=True)}\">Include</a>" for folder, why in sorted(skipped.items())]
        self.skipped_label.setText("<br>".join(lines))
        self.skipped_label.setToolTip("Folders that hold masks or exports, not photos: not listed as images "
                                      "to annotate. Include lists one as images (until the app closes).")
        self.skipped_label.setVisible(bool(lines))

    def include_folder(self, folder: str) -> None:
        """List the skipped output ``folder`` as images: remembered for this root, then rescanned."""
        if self._root is None:
            return
        self._included.setdefault(Path(self._root), set()).add(folder)
        self.includeRequested.emit(folder)

    def check_failed(self, paths: Iterable[str | Path]) -> None:
        """Images a background pass or Segment all failed on (relative or absolute paths):
        those that cannot be decoded are marked unreadable with the reason. The header check
        of the scan passes a JPEG cut inside its data; only decoding it finds that out."""
        if self._root is None:
            return
        root, suspects = Path(self._root), []
        for path in paths:
            full = root / path
            try:
                rel = full.relative_to(root).as_posix()
            except ValueError:
                continue  # not in this folder (a scan of another one)
            if self.model.row_of(rel) is not None and self.model.problem(rel) is None:
                suspects.append((rel, full))
        if suspects:  # decoding is a file read: on a pool thread, never the UI's
            run_in_pool(lambda: [(rel, _decode_problem(full)) for rel, full in suspects],
                        lambda found: self._mark_unreadable(root, found))

    def _mark_unreadable(self, root: Path, found: list[tuple[str, str | None]]) -> None:
        if self._root is None or Path(self._root) != root:
            return  # another folder was opened meanwhile
        for rel, problem in found:
            if problem and self.model.row_of(rel) is not None:
                self.model.set_problem(rel, problem)

    def scan_finished(self) -> None:
        self._scanning = False
        self._update_count()

    def current(self) -> str | None:
        return self._current

    @property
    def scanning(self) -> bool:
        """True until the folder scan has delivered every image."""
        return self._scanning

    def set_current(self, rel: str | None) -> None:
        """Select ``rel`` in the list without emitting (the window already opened it)."""
        self._current = rel
        row = self.model.row_of(rel) if rel else None
        if row is None:
            self.view.clearSelection()
            return
        proxy_index = self.proxy.mapFromSource(self.model.index(row))
        if proxy_index.isValid():
            self.view.setCurrentIndex(proxy_index)
            self.view.scrollTo(proxy_index)

    def step(self, delta: int) -> None:
        """Open the previous (-1) or next (+1) image in the list's current order and filter."""
        count = self.proxy.rowCount()
        if count == 0:
            return
        row = -1
        if self._current is not None and (source := self.model.row_of(self._current)) is not None:
            row = self.proxy.mapFromSource(self.model.index(source)).row()
        target = min(max(row + delta, 0), count - 1) if row >= 0 else (0 if delta > 0 else count - 1)
        if target == row:
            return
        self._activate(self.proxy.index(target, 0))

    # -- internals ----------------------------------------------------------------------------
    def _clicked(self, index) -> None:
        self._activate(index)

    def _context_menu(self, pos) -> None:
        """Right-click: the image under the mouse becomes the one shown, then its actions."""
        index = self.view.indexAt(pos)
        rel = index.data(PathRole) if index.isValid() else None
        if not rel:
            return
        self._activate(index)
        menu = QMenu(self)
        problem = self.model.problem(rel)
        state = self.model.state(rel) or "new"
        segment = menu.addAction("Pre-segment this image", lambda: self.segmentRequested.emit(rel))
        segment.setEnabled(problem is None)
        if state in DONE_STATES:
            menu.addAction("Mark as not done", lambda: self.doneRequested.emit(rel, False))
        else:
            done = menu.addAction("Mark as done", lambda: self.doneRequested.emit(rel, True))
            done.setEnabled(problem is None)
        menu.addSeparator()
        menu.addAction("Reveal in folder", lambda: self.revealRequested.emit(rel))
        if problem:
            menu.addSeparator()
            menu.addAction(f"Unreadable: {problem}").setEnabled(False)
        self.context_menu = menu
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _activate(self, proxy_index) -> None:
        rel = proxy_index.data(PathRole)
        if rel and rel != self._current:
            self.imageActivated.emit(rel)

    def _update_count(self) -> None:
        broken = self.model.broken_count
        total = self.model.rowCount() - broken
        scanning = " (scanning…)" if self._scanning else ""
        unreadable = f", {broken} unreadable" if broken else ""
        self.count_label.setText(f"{self.model.done} / {total} done{unreadable}{scanning}")
