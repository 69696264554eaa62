"""Help texts say what the app does now (issue 24 item 18): the welcome names the keys the
actions have (a key changed in Preferences too) and where work is kept, tooltips follow the
keys, the shortcut sheet is the action table, and the README lists every default key."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QKeySequence  # noqa: E402

from app.actions.listing import FIXED, shortcut_text  # noqa: E402
from app.actions.table import ACTIONS  # noqa: E402
from app.dialogs.welcome import WELCOME_KEYS  # noqa: E402
from app.finetune.controller import published_message  # noqa: E402
from app.settings.shortcuts import action_title  # noqa: E402

from helpers import REPO  # noqa: E402
from test_window import make_window  # noqa: E402,F401 (a fixture)


def test_the_welcome_names_the_keys_the_actions_have_now_and_where_work_is_kept(qtbot, make_window):
    window = make_window()
    keys = window.action_keys()
    welcome = window.show_welcome()
    qtbot.waitExposed(welcome)
    assert welcome.text.height() >= welcome.text.heightForWidth(welcome.text.width())  # no paragraph cut off
    text = welcome.text.text()
    for name in set(WELCOME_KEYS) - {"next", "previous"}:
        assert keys[name] and (f"({keys[name]})" in text or f"({keys[name]};" in text), name
    assert f"{keys['next']} / {keys['previous']} go to the next / previous image" in text
    assert "beside your images" not in text and "labels/" not in text  # masks live under .gcnet/, leave by export
    assert ".gcnet/" in text and "Export" in text and "Mark Image Done" in text
    welcome.close()

    window.preferences.shortcuts.set("done", QKeySequence("Ctrl+Shift+D"))  # as Preferences changes it
    window.preferences.shortcuts.set("next", QKeySequence("L"))
    window.preferences.shortcuts.set("larger_brush", QKeySequence("Ctrl+Up"))
    again = window.show_welcome()
    text = again.text.text()
    again.close()
    assert "(Ctrl+Shift+D)" in text and "(Ctrl+D)" not in text and "L / A go to the next" in text
    assert window.action_set.done.toolTip().endswith("(Ctrl+Shift+D)")  # tooltips follow the keys too
    assert window.files.next_button.toolTip() == "Next Image (L, PgDown)"
    assert window.action_set.tools["brush"].toolTip() == "Brush (B)"
    assert window.toolbar.brush.toolTip() == "Brush size ([ and Ctrl+Up change it)"


def test_the_shortcut_sheet_is_the_action_table_then_the_fixed_keys(qtbot, make_window):
    window = make_window()
    rows = window.show_shortcut_sheet().visible_rows()
    editable = window.action_set.editable()
    assert [key for key in editable] == [spec.key for spec in ACTIONS]
    assert rows == [(action_title(a), shortcut_text(a) or "—") for a in editable.values()] + list(FIXED)
    assert ("Mark Image Done", "Ctrl+D") in rows
    assert any(title.startswith("Filled polygon") for title, _keys in rows)


def test_the_readme_lists_every_default_key_of_the_action_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Keyboard shortcuts", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    tokens = {token for cell in cells for token in re.split(r"[\s,/`]+", cell)}
    missing = []
    for spec in ACTIONS:
        shortcut = spec.shortcut[0] if isinstance(spec.shortcut, tuple) else spec.shortcut
        if not isinstance(shortcut, str):
            continue  # None, or a platform's standard key (Open, Save, Undo, Quit)
        found = shortcut in tokens if len(shortcut) == 1 else any(shortcut in cell for cell in cells)
        if not found:
            missing.append((spec.key, shortcut))
    assert missing == []


def test_menus_and_the_fine_tune_dock_speak_of_done_not_corrected(qtbot, make_window):
    """A person marks images done (Ctrl+D); "corrected" / "uncorrected" in a menu or the dock
    named a state the window no longer shows, and "uncorrected" took in the edited images
    that Re-segment never touches."""
    window = make_window()
    entries = []
    for top in window.menuBar().actions():
        for entry in top.menu().actions():
            entries.append(entry.text())
            if entry.menu() is not None:
                entries += [sub.text() for sub in entry.menu().actions()]
    stale = [text for text in entries if "corrected" in text.lower()]
    assert stale == []
    assert "Fine-tune on Images Marked Done" in [text.replace("&", "") for text in entries]
    assert window.finetune.panel.resegment_button.text() == "Re-segment untouched images"
    unscored = published_message("streets v1", None, None)
    assert "no held-out images" in unscored and "Held out was 0 %" in unscored and "uncorrected" not in unscored
    assert "uncorrected" not in published_message("streets v2", 40.0, 55.5)
