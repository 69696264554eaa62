"""View ▸ Theme (System / Light / Dark, remembered) and Help ▸ Keyboard Shortcuts (issue 24
item 17), through the window's menus."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QColor, QKeySequence, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.actions.table import ACTIONS  # noqa: E402
from app.dialogs.shortcut_sheet import ShortcutSheet  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.shell.theme import is_dark  # noqa: E402

from test_own_outputs import folder_with_predict_output  # noqa: E402
from test_window import make_window  # noqa: E402,F401


def menu_action(window, menu_title: str, text: str):
    """The entry of the menu bar's ``menu_title`` (or of a submenu of it) whose text starts with ``text``."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == menu_title)
    entries = list(menu.actions())
    for entry in list(entries):
        if entry.menu() is not None:
            entries += entry.menu().actions()
    return next(a for a in entries if a.text().replace("&", "").startswith(text))


@pytest.fixture
def light_afterwards(qapp):
    yield
    from app.shell.theme import application_theme

    application_theme(qapp).set_choice("light")


def test_view_theme_switches_the_palette_and_is_remembered(qtbot, make_window, tmp_path, light_afterwards):
    window = make_window()
    assert menu_action(window, "View", "System").isChecked()  # the default follows the desktop
    menu_action(window, "View", "Dark").trigger()
    assert is_dark(QApplication.instance().palette())
    assert QApplication.instance().palette().color(QPalette.ColorRole.Text).lightness() > 200
    assert AppSettings.at(tmp_path / "settings.ini").get("theme") == "dark"
    window.close()

    again = make_window()  # a restart keeps the choice
    assert menu_action(again, "View", "Dark").isChecked()
    assert is_dark(QApplication.instance().palette())
    menu_action(again, "View", "Light").trigger()
    assert not is_dark(QApplication.instance().palette())
    assert not menu_action(again, "View", "Dark").isChecked()


def test_help_keyboard_shortcuts_lists_every_action_with_its_current_key(qtbot, make_window):
    window = make_window()
    window.preferences.shortcuts.set("save", QKeySequence("Ctrl+Shift+W"))  # as Preferences changes it
    menu_action(window, "Help", "Keyboard Shortcuts").trigger()
    sheet = window.findChild(ShortcutSheet)
    qtbot.waitExposed(sheet)
    rows = dict(sheet.visible_rows())
    assert len(rows) == len(sheet.visible_rows()) > len(ACTIONS)  # one row each, and the fixed keys
    assert rows["Save"] == QKeySequence("Ctrl+Shift+W").toString(QKeySequence.SequenceFormat.NativeText)
    assert rows["Brush"] == "B" and rows["Redo"].count(",") == 1  # both of Redo's keys
    assert rows["Import Checkpoint"] == "—"  # an action without a key is listed too
    assert "Keyboard Shortcuts" in rows

    sheet.search.setText("brush")
    shown = [title for title, _keys in sheet.visible_rows()]
    assert shown and all("brush" in title.lower() for title in shown)
    assert "Smaller Brush" in shown and "Save" not in shown
    sheet.search.setText("ctrl+shift+w")
    assert [title for title, _keys in sheet.visible_rows()] == ["Save"]
    sheet.search.clear()
    assert len(sheet.visible_rows()) == len(rows)


def test_the_shortcut_sheet_shows_every_action_title_whole_and_wraps_the_long_keys(qtbot, make_window):
    """The long fixed-key texts (the polygon's) once took the width and left the action titles
    a few letters ("O… Fo…") at the sheet's size."""
    window = make_window()
    menu_action(window, "Help", "Keyboard Shortcuts").trigger()
    sheet = window.findChild(ShortcutSheet)
    qtbot.waitExposed(sheet)
    QApplication.processEvents()
    table = sheet.table
    metrics = table.fontMetrics()
    viewport = table.viewport().width()
    assert table.columnWidth(0) + table.columnWidth(1) <= viewport + 1  # no sideways scrolling
    for row in range(table.rowCount()):
        title, keys = table.item(row, 0).text(), table.item(row, 1).text()
        assert table.columnWidth(0) >= metrics.horizontalAdvance(title), title
        wrapped = metrics.boundingRect(QRect(0, 0, table.columnWidth(1) - 8, 0), Qt.TextFlag.TextWordWrap, keys)
        assert table.rowHeight(row) >= wrapped.height(), keys
    assert sheet.width() <= 1366 - 16  # fits a laptop screen
    sheet.close()


def test_links_follow_a_switch_to_dark(qtbot, make_window, tmp_path, light_afterwards):
    """The file list's "Include" links kept the light theme's dark blue on the dark theme's grey."""
    window = make_window()
    window.show()
    assert window.open_folder(folder_with_predict_output(tmp_path / "photos"))
    qtbot.waitUntil(lambda: not window.scanning and window.files.skipped_label.isVisible(), timeout=10000)
    menu_action(window, "View", "Dark").trigger()
    QApplication.processEvents()
    label = window.files.skipped_label
    link = label.palette().color(QPalette.ColorRole.Link)
    image = label.grab().toImage()
    colours = {image.pixelColor(x, y).rgb() for x in range(image.width()) for y in range(image.height())}
    assert any(max(abs(QColor(c).red() - link.red()), abs(QColor(c).green() - link.green()),
                   abs(QColor(c).blue() - link.blue())) < 24 for c in colours)
    window.close()
