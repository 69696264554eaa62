"""The first hour of a new user (issue 13), driven through the real widgets: mouse on the
canvas and lists, keys to the focused widget, menus clicked, the batch run through ``gcnet
predict``. Tiny images and the shrunk test models keep it quick on a CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDropEvent, QPalette  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QColorDialog, QFileDialog  # noqa: E402

from app.shell.system_check import xcb_problem  # noqa: E402
from app.shell.theme import SystemTheme, is_dark  # noqa: E402
from app.window import MainWindow  # noqa: E402
from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.project.defaults import GENERAL_MODEL, STREET_MODEL  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

from helpers import REPO, SLIDE_CS, WHOLE_ADE, small_scale_gcnet_command  # noqa: E402
from test_window import (ScriptedPrompter, at, drag, draw_polygon, key, make_folder,  # noqa: E402,F401
                         make_window, open_and_wait, small_ade)

VOC = "gcnet_r50-d8_4xb4-20k_voc12aug-512x512"


# ---------------------------------------------------------------------------------- helpers
def right_click(widget, pos: QPoint) -> None:
    """A right click as the platform delivers it: the button, then the context-menu event."""
    QTest.mouseClick(widget, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, pos)
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos)))


def click_menu(qtbot, menu, text: str) -> None:
    """Click the menu entry that starts with ``text``."""
    qtbot.waitExposed(menu)
    action = next(a for a in menu.actions() if a.text().startswith(text))
    assert action.isEnabled(), text
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     menu.actionGeometry(action).center())


def row_rect(window: MainWindow, rel: str):
    files = window.files
    return files.view.visualRect(files.proxy.mapFromSource(files.model.index(files.model.row_of(rel))))


def restart(window: MainWindow, make_window, prompter=None) -> MainWindow:
    """A clean quit and a new start on the same settings (and the same model cache)."""
    window.close()
    return make_window(prompter)


# ---------------------------------------------------------------------------------- 4: image menu
def test_right_click_opens_the_image_and_its_menu_marks_reveals_and_steps_from_it(
        qtbot, make_window, tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "photos")
    window = make_window()
    open_and_wait(qtbot, window, folder, 3)
    assert window.session.current == "astronaut.png"
    right_click(window.files.view.viewport(), row_rect(window, "chelsea.png").center())
    assert window.session.current == "chelsea.png"  # the highlighted image is the one shown
    assert window.files.view.currentIndex().data() == "chelsea.png"
    window.files.context_menu.close()
    drag(window, [(5, 5), (20, 5)])  # something labelled: "done" says this mask is right
    right_click(window.files.view.viewport(), row_rect(window, "chelsea.png").center())
    click_menu(qtbot, window.files.context_menu, "Mark as done")
    assert window.session.project.state("chelsea.png") == "corrected"
    assert window.files.count_label.text().startswith("1 / 3 done")

    opened = []
    monkeypatch.setattr("app.window.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))
    right_click(window.files.view.viewport(), row_rect(window, "chelsea.png").center())
    click_menu(qtbot, window.files.context_menu, "Reveal in folder")
    assert opened == [str(folder.resolve())]
    click_menu_after = window.files.context_menu
    right_click(window.files.view.viewport(), row_rect(window, "chelsea.png").center())
    assert window.files.context_menu is not click_menu_after
    click_menu(qtbot, window.files.context_menu, "Mark as not done")
    assert window.session.project.state("chelsea.png") == "edited"  # the person's stroke stays: edited, not done
    key(window, Qt.Key.Key_D)
    assert window.session.current == "coffee.png"  # D steps from the image shown


# ---------------------------------------------------------------------------------- 8: keys, classes
def test_brush_keys_work_from_the_class_table_one_row_highlighted_and_the_search_box_hands_keys_back(
        qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    window.model_panel.select(VOC)
    open_and_wait(qtbot, window, folder, 1)
    panel = window.classes_panel
    rect = panel.table.visualRect(panel.proxy.index(4, 0))
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert QApplication.focusWidget() is panel.table and window.canvas.current_class() == 4
    size = window.canvas.brush_size()
    QTest.keyClick(panel.table, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_size() > size
    QTest.keyClick(panel.table, Qt.Key.Key_BracketLeft)
    assert window.canvas.brush_size() == size
    QTest.keyClick(panel.table, Qt.Key.Key_7)  # hotkey while the table has focus
    selection = panel.table.selectionModel()
    assert window.canvas.current_class() == 6
    assert [i.row() for i in selection.selectedRows()] == [6] and selection.currentIndex().row() == 6

    QTest.mouseClick(panel.search, Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is panel.search
    QTest.keyClick(panel.search, Qt.Key.Key_3)  # the class hotkey, then the fill tool
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_F)
    assert window.canvas.current_class() == 2 and window.canvas.tool() == "fill"
    assert panel.search.text() == "" and panel.proxy.rowCount() == 21
    QTest.mouseClick(panel.search, Qt.MouseButton.LeftButton)
    QTest.keyClicks(panel.search, "hors")
    assert panel.proxy.rowCount() == 1
    QTest.keyClick(panel.search, Qt.Key.Key_Return)  # picks the match, keys go back to the canvas
    assert window.canvas.current_class() == 13 and QApplication.focusWidget() is window.canvas
    assert panel.proxy.rowCount() == 21


def test_undo_history_survives_switching_images(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("chelsea.png", "coffee.png"))
    window = make_window()
    open_and_wait(qtbot, window, folder, 2)
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(6)
    key(window, Qt.Key.Key_2)
    drag(window, [(10, 10), (60, 10)])
    key(window, Qt.Key.Key_3)
    drag(window, [(10, 40), (60, 40)])
    after_two = window.session.document.labels.copy()
    key(window, Qt.Key.Key_D)
    assert window.session.current == "coffee.png"
    key(window, Qt.Key.Key_A)
    assert window.session.current == "chelsea.png" and (window.session.document.labels == after_two).all()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    labels = window.session.document.labels
    assert (labels[40, 30] == 255) and labels[10, 30] == 1  # the second stroke undone, the first kept
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    window.flush()
    assert (read_index_mask(window.session.project.label_path("chelsea.png")) == 255).all()
    assert window.session.project.state("chelsea.png") == "new"  # undoing everything: new again (point 5)


# ---------------------------------------------------------------------------------- class menu
def test_class_menu_shows_only_one_class_and_changes_a_colour(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtGui import QColor

    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    window.model_panel.select(VOC)
    open_and_wait(qtbot, window, folder, 1)
    panel = window.classes_panel
    rect = panel.table.visualRect(panel.proxy.index(8, 0))
    right_click(panel.table.viewport(), rect.center())
    assert window.canvas.current_class() == 8
    click_menu(qtbot, panel.context_menu, "Show only this class")
    table = window.canvas.overlay_color_table()
    assert (table[8] >> 24) > 0 and all((table[i] >> 24) == 0 for i in range(21) if i != 8)
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(1, 2, 3)))
    right_click(panel.table.viewport(), rect.center())
    click_menu(qtbot, panel.context_menu, "Change colour")
    assert window.session.project.classes.palette[8] == (1, 2, 3)
    assert (window.canvas.overlay_color_table()[8] & 0xFFFFFF) == 0x010203
    right_click(panel.table.viewport(), rect.center())
    click_menu(qtbot, panel.context_menu, "Show all classes")
    assert all((window.canvas.overlay_color_table()[i] >> 24) > 0 for i in range(21))

    # "paint only over this class": a brush stroke across cat (8) and ignore changes only the cat
    doc = window.session.document
    draw_polygon(window, [(0, 0), (39, 0), (39, 59), (0, 59)], 8)  # the left half is cat
    right_click(panel.table.viewport(), rect.center())
    click_menu(qtbot, panel.context_menu, "Paint only over this class")
    assert window.toolbar.only_over.isChecked() and window.canvas.only_over() == 8
    key(window, Qt.Key.Key_3)  # paint bicycle (2)
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(6)
    drag(window, [(5, 30), (75, 30)])
    assert doc.labels[30, 20] == 2 and doc.labels[30, 60] == 255


# ---------------------------------------------------------------------------------- 6: fine-tune dock
@pytest.mark.parametrize("size", [(1366, 768), (1500, 950)])
def test_every_fine_tune_control_is_reachable_at_the_default_window_size(qtbot, make_window, size):
    window = make_window()
    window.resize(*size)
    panel = window.finetune.panel
    panel.show()
    panel.raise_()
    qtbot.waitUntil(lambda: panel.isVisible() and panel.scroll.viewport().width() > 0)
    QApplication.processEvents()
    viewport = panel.scroll.viewport()
    form = panel.form
    for widget in (form.iters, form.batch, form.lr, form.val_share, form.val_interval, form.crop_w, form.device):
        left = widget.mapTo(viewport, QPoint(0, 0)).x()
        assert left >= 0 and left + widget.width() <= viewport.width(), widget
    for button in (panel.start_button, panel.cancel_button, panel.resume_button):  # below the scrolled part
        left = button.mapTo(panel.widget(), QPoint(0, 0)).x()
        assert left >= 0 and left + button.width() <= panel.widget().width(), button


# ---------------------------------------------------------------------------------- 11: broken files
def test_unreadable_files_are_marked_with_their_reason_and_left_out_of_counts(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (folder / "empty.png").write_bytes(b"")
    prompter = ScriptedPrompter()
    window = make_window(prompter)
    assert window.open_folder(folder)
    model = window.files.model
    qtbot.waitUntil(lambda: model.rowCount() == 3 and not window.scanning, timeout=5000)
    qtbot.waitUntil(lambda: model.broken_count == 2, timeout=5000)
    assert model.problem("empty.png") == "the file is empty"
    assert "not an image" in model.problem("broken.jpg")
    assert "cannot be read" in model.data(model.index(model.row_of("broken.jpg")), Qt.ItemDataRole.ToolTipRole)
    assert window.files.count_label.text() == "0 / 1 done, 2 unreadable"
    QTest.mouseClick(window.files.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     row_rect(window, "broken.jpg").center())
    assert window.session.current == "broken.jpg" and window.session.document is None
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert prompter.warnings and "broken.jpg cannot be pre-segmented" in prompter.warnings[-1]
    assert "not an image" in prompter.warnings[-1]


def test_batch_run_through_gcnet_predict_leaves_unreadable_files_out(qtbot, make_window, tmp_path, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",), size=(48, 36))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    prompter = ScriptedPrompter()
    window = make_window(prompter, batch_command=small_scale_gcnet_command(WHOLE_ADE, (64, 48)))
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: window.files.model.broken_count == 1 and not window.scanning, timeout=5000)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    finished = []
    window.batch.finished.connect(finished.append)
    QTest.mouseClick(window.model_panel.segment_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(finished), timeout=180000)
    summary = finished[0]
    assert summary.error is None, summary.error
    assert summary.total == 1 and summary.written == 1 and not summary.failed  # broken.jpg never queued
    assert not prompter.warnings
    project = window.session.project
    assert project.state("coffee.png") == "predicted" and project.state("broken.jpg") == "new"
    assert read_index_mask(window.session.project.label_path("coffee.png")).shape == (36, 48)


# ---------------------------------------------------------------------------------- 1, 2, 7: models
def test_imported_checkpoint_for_another_dataset_is_matched_kept_and_selected_after_restart(
        qtbot, make_window, tmp_path, ade_checkpoint):
    window = make_window()
    window.model_panel.select(SLIDE_CS)  # a Cityscapes entry selected; the file is a 150-class ADE20K one
    renamed = tmp_path / "my-ade-model.pth"
    renamed.write_bytes(ade_checkpoint.read_bytes())
    window.import_checkpoint_file(renamed)
    qtbot.waitUntil(lambda: window.model_panel.choice().label == "my-ade-model", timeout=60000)
    choice = window.model_panel.choice()
    assert choice.entry.dataset.key == "ade20k" and choice.entry.depth == 50
    assert "runs on that entry" in window.statusBar().currentMessage()
    renamed.unlink()  # the cache keeps its own copy

    window = restart(window, make_window)
    choice = window.model_panel.choice()
    assert choice.label == "my-ade-model" and choice.checkpoint.is_file()  # listed and selected again
    assert choice.entry.dataset.key == "ade20k"


def test_selected_model_is_remembered_and_a_cached_entry_preferred_offline(qtbot, make_window, tmp_path):
    from gcnet_core.paths import cache_folder

    window = make_window()
    window.model_panel.select(VOC)
    window = restart(window, make_window)
    assert window.model_panel.choice().name == VOC  # remembered over a clean quit

    # the remembered entry is not downloaded but another is: offline, use the one that works
    voc_r101 = get_entry("gcnet_r101-d8_4xb4-20k_voc12aug-512x512")
    (cache_folder() / voc_r101.checkpoint_filename).write_bytes(b"stand-in for the official file")
    window = restart(window, make_window)
    assert window.model_panel.choice().name == voc_r101.name
    assert "checkpoint downloaded" in window.model_panel.status.text()


def test_offline_download_failure_offers_the_import_right_there(qtbot, make_window, tmp_path, monkeypatch,
                                                               ade_checkpoint):
    from urllib.error import URLError

    import gcnet_core.weights.download as download

    monkeypatch.setattr(download, "urlopen", lambda *a, **k: (_ for _ in ()).throw(URLError("offline")))
    mine = tmp_path / "from-a-usb-stick.pth"
    mine.write_bytes(ade_checkpoint.read_bytes())
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(mine), "")))
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    prompter = ScriptedPrompter()
    prompter.pick = "Choose a checkpoint file…"
    window = make_window(prompter)
    open_and_wait(qtbot, window, folder, 1)
    assert window.model_panel.choice().name == WHOLE_ADE
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.model_panel.choice().label == "from-a-usb-stick", timeout=60000)
    assert "could not be downloaded" in prompter.warnings[0]
    # and the Model panel has its own import button (the same file again: the same cached copy)
    window.model_panel.select(WHOLE_ADE)
    QTest.mouseClick(window.model_panel.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model_panel.choice().label == "from-a-usb-stick", timeout=60000)
    assert [c.label for c in window.model_panel.extra_choices()].count("from-a-usb-stick") == 1


# ---------------------------------------------------------------------------------- 12: default model
def test_new_projects_start_with_ade20k_or_cityscapes_for_street_scenes_and_keep_their_choice(
        qtbot, make_window, tmp_path):
    photos = make_folder(tmp_path / "holiday", names=("chelsea.png", "coffee.png"))
    streets = make_folder(tmp_path / "dashcam_2024", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, photos, 2)
    assert window.model_panel.choice().name == GENERAL_MODEL
    assert window.session.project.classes.names == get_entry(GENERAL_MODEL).classes.names
    open_and_wait(qtbot, window, streets, 1)
    assert window.model_panel.choice().name == STREET_MODEL
    assert len(window.session.project.classes) == 19

    open_and_wait(qtbot, window, photos, 2)
    window.model_panel.select(VOC)  # the person picks another for this folder
    drag(window, [(5, 5), (30, 5)])  # some work, so the folder becomes a project
    window.flush()
    assert Project.open(photos).model == VOC
    open_and_wait(qtbot, window, streets, 1)
    assert window.model_panel.choice().name == STREET_MODEL
    window = restart(window, make_window)
    open_and_wait(qtbot, window, photos, 2)
    assert window.model_panel.choice().name == VOC  # remembered per project


# ---------------------------------------------------------------------------------- 10: progress, cancel
def test_single_image_presegment_shows_progress_and_cancel_leaves_the_image_as_it_was(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    panel = window.model_panel
    QTest.mouseClick(panel.segment_button, Qt.MouseButton.LeftButton)
    assert panel.segment_bar.isVisible() and panel.segment_cancel.isVisible()
    assert panel.segment_bar.maximum() == 0  # busy: the network gives no progress of its own
    QTest.mouseClick(panel.segment_cancel, Qt.MouseButton.LeftButton)
    assert not panel.segment_bar.isVisible() and panel.segment_button.isEnabled()
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    QApplication.processEvents()
    assert (window.session.document.labels == 255).all() and window.session.project.state("coffee.png") == "new"

    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # again, to the end this time
    assert panel.segment_bar.isVisible()
    qtbot.waitUntil(lambda: not panel.segment_bar.isVisible(), timeout=60000)
    assert window.session.project.state("coffee.png") == "predicted"
    assert window.status_labels.time.text().startswith("inference ")


def test_undoing_everything_after_a_presegment_and_a_stroke_makes_the_image_new(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("coffee.png", "chelsea.png"))
    window = make_window()
    open_and_wait(qtbot, window, folder, 2)
    QTest.mouseClick(window.files.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     row_rect(window, "coffee.png").center())
    assert window.session.current == "coffee.png"
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.session.project.state("coffee.png") == "predicted", timeout=60000)
    key(window, Qt.Key.Key_B)
    drag(window, [(5, 5), (40, 5)])
    window.flush()
    assert window.session.project.state("coffee.png") == "edited"
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the stroke
    window.flush()
    assert window.session.project.state("coffee.png") == "predicted"  # back to the model's labels
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the pre-segmentation
    window.flush()
    assert window.session.project.state("coffee.png") == "new"
    assert window.files.count_label.text().startswith("0 / 2 done")
    assert (read_index_mask(window.session.project.label_path("coffee.png")) == 255).all()


# ---------------------------------------------------------------------------------- recent, drops
def test_recent_folders_menu_and_dropping_a_folder_or_an_image(qtbot, make_window, tmp_path):
    first = make_folder(tmp_path / "first", names=("coffee.png",))
    second = make_folder(tmp_path / "second", names=("chelsea.png", "coffee.png"))
    window = make_window()
    open_and_wait(qtbot, window, first, 1)
    open_and_wait(qtbot, window, second, 2)
    menu = window.recent.menu
    menu.aboutToShow.emit()
    titles = [a.text() for a in menu.actions() if a.text()]
    assert titles[0].endswith(str(second.resolve())) and titles[1].endswith(str(first.resolve()))
    menu.actions()[1].trigger()
    qtbot.waitUntil(lambda: window.session.project.root == first.resolve() and window.session.document is not None)

    def drop(path: Path) -> None:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        pos = window.canvas.geometry().center()
        args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        enter = QDragEnterEvent(pos, *args)  # what a file manager's drag sends first
        QApplication.sendEvent(window, enter)
        assert enter.isAccepted()
        QApplication.sendEvent(window, QDropEvent(QPointF(pos), *args))

    drop(second / "coffee.png")
    qtbot.waitUntil(lambda: window.session.project.root == second.resolve() and window.session.current == "coffee.png")
    drop(first)
    qtbot.waitUntil(lambda: window.session.project.root == first.resolve() and window.session.document is not None)


# ---------------------------------------------------------------------------------- dark palette
def test_dark_palette_follows_the_system_scheme(qapp):
    theme = SystemTheme(qapp)
    light = QPalette(qapp.palette())
    try:
        theme.apply(Qt.ColorScheme.Dark)
        assert is_dark(qapp.palette()) and qapp.palette().color(QPalette.ColorRole.Text).lightness() > 200
        theme.apply(Qt.ColorScheme.Light)
        assert qapp.palette().color(QPalette.ColorRole.Window) == light.color(QPalette.ColorRole.Window)
    finally:
        theme.apply(Qt.ColorScheme.Light)


# ---------------------------------------------------------------------------------- 9: system libraries
def test_missing_xcb_libraries_are_named_by_package_and_the_readme_says_it():
    found = {"xcb-icccm", "xcb-image", "xcb-keysyms", "xcb-randr", "xcb-render-util", "xcb-shape",
             "xcb-util", "xcb-xkb", "xkbcommon-x11"}
    problem = xcb_problem({"DISPLAY": ":0"}, "linux", lambda lib: f"lib{lib}.so" if lib in found else None)
    assert "libxcb-cursor0" in problem and "sudo apt-get install libxcb-cursor0" in problem
    assert xcb_problem({"DISPLAY": ":0"}, "linux", lambda lib: "x.so") is None
    assert xcb_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda lib: None) is None
    assert xcb_problem({}, "darwin", lambda lib: None) is None
    assert "libxcb-cursor0" in (REPO / "README.md").read_text(encoding="utf-8")
