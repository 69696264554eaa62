"""The app around the work: version, About, Preferences, shortcuts, welcome, logs and errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer, qVersion  # noqa: E402
from PySide6.QtGui import QKeySequence  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox  # noqa: E402

from app.shell.logs import LOG_FILE, ErrorReporter, setup_logging  # noqa: E402
from app.main import main, open_startup  # noqa: E402
from app.dialogs.prompter import Prompter  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.dialogs.welcome import SKIP_ENV, WelcomeDialog, maybe_show_welcome  # noqa: E402
from app.window import MainWindow  # noqa: E402
from gcnet_core import __version__  # noqa: E402
from gcnet_core import paths  # noqa: E402
from gcnet_core.version import pyproject_version  # noqa: E402

from helpers import REPO  # noqa: E402


class QuietPrompter(Prompter):
    def question(self, title, text):
        return True

    def warning(self, title, text):
        pass

    def information(self, title, text):
        pass


@pytest.fixture
def settings_path(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot, settings_path):
    made = []

    def make() -> MainWindow:
        window = MainWindow(AppSettings.at(settings_path), QuietPrompter())
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        made.append(window)
        return window

    yield make
    for window in made:
        if window.isVisible():
            window.close()


def test_one_version_everywhere(capsys):
    assert __version__ == pyproject_version(REPO / "pyproject.toml")
    with pytest.raises(SystemExit) as stop:
        main(["--version"])  # answered before any QApplication or window is made
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"gcnet-annotator {__version__}"


def test_an_image_argument_opens_its_project_at_that_image(make_window, tmp_path):
    from PIL import Image

    from gcnet_core.project.store import PROJECT_FILE, Project

    root = tmp_path / "project"
    (root / "street").mkdir(parents=True)
    for name in ("street/a.png", "street/b.png"):
        Image.new("RGB", (40, 30), (90, 120, 200)).save(root / name)
    window = make_window()
    open_startup(window, str(root / "street" / "b.png"))
    assert window.session.project.root == (root / "street").resolve() and window.session.current == "b.png"
    Project.open(root).save()
    assert (root / PROJECT_FILE).is_file()
    open_startup(window, str(root / "street" / "b.png"))  # inside a project: that project
    assert window.session.project.root == root.resolve() and window.session.current == "street/b.png"


def test_about_names_version_torch_device_qt_and_folders(make_window):
    import torch

    window = make_window()
    box = window.show_about()
    text = box.text()
    assert __version__ in text and torch.__version__ in text and qVersion() in text
    assert "CUDA" in text
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU ("
    assert device in text
    assert str(paths.cache_folder()) in text
    assert window.settings.store.fileName() in text
    box.close()


def test_help_and_edit_menus(make_window):
    window = make_window()
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    help_actions = [a.text() for a in menus["&Help"].actions()]
    assert {"&Welcome", "&About GCNet Annotator", "Open &Log Folder"} <= set(help_actions)
    assert window.menuBar().actions()[-1].menu() is menus["&Help"]  # Help comes last
    assert window.action_set.preferences in menus["&Edit"].actions()


def test_preferences_round_trip_and_live_shortcut(make_window, settings_path, tmp_path, qtbot):
    launch_cache, environment = paths.cache_folder(), dict(os.environ)
    window = make_window()
    dialog = window.show_preferences()
    new_cache = tmp_path / "models"
    dialog.cache_edit.setText(str(new_cache))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.precision_combo.setCurrentIndex(dialog.precision_combo.findData("bf16"))
    dialog.autosave_spin.setValue(2.5)
    dialog.opacity_spin.setValue(30)
    dialog.key_edits["save"].setKeySequence(QKeySequence("Ctrl+K"))
    dialog.key_edits["preferences"].setKeySequence(QKeySequence("Ctrl+Shift+,"))  # a comma in the INI file
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()

    # applied at once: cache folder (passed on to the gcnet processes), panel, timers, slider, keys
    assert paths.cache_folder() == new_cache and paths.worker_environment()[paths.CACHE_ENV] == str(new_cache)
    assert dict(os.environ) == environment
    assert window.model_panel.config().device == "cpu" and window.model_panel.config().precision == "bf16"
    assert window._autosave.interval() == 2500
    assert window.toolbar.opacity.value() == 30
    assert window.action_set.save.shortcuts() == [QKeySequence("Ctrl+K")]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    with qtbot.waitSignal(window.action_set.save.triggered, timeout=2000):
        QTest.keyClick(window.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    with qtbot.assertNotEmitted(window.action_set.save.triggered, wait=100):
        QTest.keyClick(window.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)

    # persisted: a new session reads everything back
    window.close()
    stored = AppSettings.at(settings_path)
    assert stored.get("cache_folder") == str(new_cache) and stored.get("autosave_ms") == 2500
    assert stored.shortcut("save") == "Ctrl+K" and stored.shortcut("preferences") == "Ctrl+Shift+,"
    assert (stored.get("device"), stored.get("precision"), stored.get("opacity")) == ("cpu", "bf16", 0.3)
    paths.set_cache_folder(None)  # a new process
    again = make_window()
    assert paths.cache_folder() == new_cache
    assert again.action_set.save.shortcuts() == [QKeySequence("Ctrl+K")]
    assert again.action_set.preferences.shortcuts() == [QKeySequence("Ctrl+Shift+,")]
    assert again._autosave.interval() == 2500 and again.toolbar.opacity.value() == 30
    assert again.model_panel.config().device == "cpu"

    # clearing the folder goes back to where the app was started with
    dialog = again.show_preferences()
    dialog.cache_edit.clear()
    assert dialog.apply()
    assert paths.cache_folder() == launch_cache and dict(os.environ) == environment
    dialog.close()


def test_shortcut_conflicts_block_ok_and_extra_keys_stay(make_window):
    window = make_window()
    dialog = window.show_preferences()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.key_edits["save"].setKeySequence(QKeySequence("B"))  # the brush's key
    assert not ok.isEnabled() and "Brush" in dialog.conflict_label.text()
    dialog.key_edits["save"].setKeySequence(QKeySequence("3"))  # class 3's hotkey (not editable)
    assert not ok.isEnabled() and "Class 3" in dialog.conflict_label.text()
    dialog.restore_default_shortcuts()
    assert ok.isEnabled() and dialog.conflict_label.text() == ""

    assert "finetune.start" in dialog.key_edits  # actions of the parts the window holds
    dialog.key_edits["next"].setKeySequence(QKeySequence("J"))  # a free key (N: next likely class)
    assert dialog.apply()
    assert window.action_set.next.shortcuts() == [QKeySequence("J"), QKeySequence("PgDown")]
    dialog.key_edits["next"].clear()
    assert dialog.apply()
    assert window.action_set.next.shortcuts() == [QKeySequence("PgDown")]
    assert window.settings.shortcut("next") == ""
    dialog.restore_default_shortcuts()
    assert dialog.apply()
    assert window.action_set.next.shortcuts() == [QKeySequence("D"), QKeySequence("PgDown")]
    assert window.settings.shortcut("next") is None
    dialog.close()


def test_welcome_is_shown_once_and_reopens_from_help(make_window, settings_path, qtbot, monkeypatch):
    monkeypatch.delenv(SKIP_ENV, raising=False)
    window = make_window()  # building a window never shows the welcome (tests are not blocked)
    assert not any(isinstance(w, WelcomeDialog) for w in QApplication.topLevelWidgets() if w.isVisible())
    first = maybe_show_welcome(window, window.settings, window.action_keys())
    assert first is not None and first.isVisible()
    text = first.text.text()
    for words in ("Pick a model", "Correct", "Fine-tune", str(paths.cache_folder()), "Import Checkpoint",
                  "gcnet download NAME --from PATH"):
        assert words in text
    first.accept()
    assert maybe_show_welcome(window, window.settings, window.action_keys()) is None
    assert maybe_show_welcome(window, AppSettings.at(settings_path), window.action_keys()) is None  # remembered
    window.action_set.welcome.trigger()
    reopened = [w for w in QApplication.topLevelWidgets() if isinstance(w, WelcomeDialog) and w.isVisible()]
    assert len(reopened) == 1
    reopened[0].accept()

    monkeypatch.setenv(SKIP_ENV, "1")
    assert maybe_show_welcome(None, AppSettings.at(settings_path.with_name("fresh.ini")), {}) is None


@pytest.fixture
def log_path(tmp_path):
    path = setup_logging(tmp_path / "logs")
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "baseFilename", None) == str(path.resolve())]:
        root.removeHandler(handler)
        handler.close()


@pytest.mark.qt_no_exception_capture
def test_unexpected_errors_show_a_dialog_and_the_app_keeps_running(make_window, log_path, qtbot):
    window = make_window()
    reporter = ErrorReporter(log_path).install()
    try:
        def broken_slot():
            raise RuntimeError("boom in a slot")

        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=3000)
        box = reporter.dialog
        assert "boom in a slot" in box.text()
        assert str(log_path) in box.informativeText()
        assert "Traceback" in box.detailedText()

        worker = threading.Thread(target=lambda: 1 / 0, name="worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: "1 more error" in box.informativeText(), timeout=3000)

        box.done(0)  # auto-close, as a person would
        qtbot.waitUntil(lambda: reporter.dialog is None, timeout=3000)
        assert window.isVisible()  # still running
        window.action_set.next.trigger()
    finally:
        reporter.uninstall()
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_path.read_text(encoding="utf-8")
    assert "RuntimeError: boom in a slot" in text and "ZeroDivisionError" in text
    assert "Traceback (most recent call last)" in text and "[worker]" in text
    assert sys.excepthook is not reporter.handle and threading.excepthook != reporter._thread_hook


MAIN_WITH_A_BROKEN_SLOT = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
import app.window
from app.main import main

opened = app.window.MainWindow.open_folder

def open_folder(self, folder):
    def boom():
        raise ValueError("unexpected in a slot")

    def report_and_close():
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        for box in boxes:
            print("DIALOG", box.windowTitle(), "|", box.text().replace("\n", " "), "|",
                  box.informativeText().replace("\n", " "), flush=True)
            box.done(0)

    QTimer.singleShot(200, boom)
    QTimer.singleShot(1500, report_and_close)
    return opened(self, folder)

app.window.MainWindow.open_folder = open_folder
sys.exit(main(["--quit-after", "2500", sys.argv[1]]))
"""


@pytest.mark.slow
def test_main_installs_the_error_dialog_and_the_log(tmp_path):
    """gcnet-annotator itself: an error in a slot opens the dialog, the app ends normally."""
    folder = tmp_path / "images"
    folder.mkdir()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_STATE_HOME=str(tmp_path / "state"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), GCNET_NO_WELCOME="1")
    done = subprocess.run([sys.executable, "-c", MAIN_WITH_A_BROKEN_SLOT, str(folder)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    log_file = tmp_path / "state" / "gcnet-annotator" / "log" / LOG_FILE
    assert "DIALOG Unexpected error | Something went wrong:  ValueError: unexpected in a slot" in done.stdout
    assert str(log_file) in done.stdout
    text = log_file.read_text(encoding="utf-8")
    assert "starting" in text and "ValueError: unexpected in a slot" in text and "Traceback" in text
