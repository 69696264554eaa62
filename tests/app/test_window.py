"""The real main window driven end to end (pytest-qt, offscreen, CPU, tiny images and scale)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.main import samples_folder, startup_folder  # noqa: E402
from app.dialogs.download_failed import CHOOSE_BUTTON, failure_text  # noqa: E402
from app.dialogs.prompter import Prompter  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.window import MainWindow  # noqa: E402
from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402

from helpers import REPO, WHOLE_ADE, random_checkpoint, register_entry, small_entry, small_scale_gcnet_command  # noqa: E402

SAMPLES = REPO / "resources" / "samples"
SMALL_SCALE = (64, 48)


class ScriptedPrompter(Prompter):
    """Answers questions with ``answer`` and records every message instead of showing it."""

    def __init__(self, answer: bool = True) -> None:
        super().__init__(None)
        self.answer = answer
        self.questions: list[str] = []
        self.warnings: list[str] = []
        self.infos: list[str] = []
        self.offered: list[list[str]] = []
        self.pick: str | None = None

    def question(self, title: str, text: str) -> bool:
        self.questions.append(text)
        return self.answer

    def warning(self, title: str, text: str) -> None:
        self.warnings.append(text)

    def information(self, title: str, text: str) -> None:
        self.infos.append(text)

    def download_failed(self, failure) -> bool:
        """The "Download failed" dialog: recorded like a choice; chooses the file if ``self.pick`` says so."""
        return self.choice("Download failed", failure_text(failure), [CHOOSE_BUTTON, "Close"]) == CHOOSE_BUTTON

    def choice(self, title: str, text: str, buttons: list[str]) -> str | None:
        """A warning with buttons: recorded like one; answers with ``self.pick`` if offered."""
        self.warnings.append(text)
        self.offered.append(list(buttons))
        return self.pick if self.pick in buttons else None


def make_folder(root: Path, names=("astronaut.png", "chelsea.png", "coffee.png"), size=(80, 60)) -> Path:
    """Small copies of the sample photos (the sources are never modified by the app)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.open(SAMPLES / name).convert("RGB").resize(size).save(root / name)
    return root


@pytest.fixture
def small_ade(monkeypatch):
    """The ADE20K R50 entry at a tiny test scale, for in-process inference."""
    entry = small_entry(WHOLE_ADE, base_scale=SMALL_SCALE)
    register_entry(monkeypatch, entry)
    return entry


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(prompter=None, batch_command=None) -> MainWindow:
        settings = AppSettings.at(tmp_path / "settings.ini")
        kwargs = {"batch_command": batch_command} if batch_command else {}
        window = MainWindow(settings, prompter or ScriptedPrompter(), **kwargs)
        qtbot.addWidget(window)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if window.isVisible():
            window.close()


def open_and_wait(qtbot, window: MainWindow, folder: Path, count: int) -> None:
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: window.files.model.rowCount() == count and not window.scanning, timeout=5000)
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=5000)


def at(window: MainWindow, x: float, y: float) -> QPoint:
    p = window.canvas.viewportTransform().map(QPointF(x + 0.5, y + 0.5))
    return QPoint(round(p.x()), round(p.y()))


def drag(window: MainWindow, points) -> None:
    viewport = window.canvas.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(window, *points[0]))
    for point in points[1:]:
        QTest.mouseMove(viewport, at(window, *point))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(window, *points[-1]))


def key(window: MainWindow, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(window.canvas, key, modifiers)


def choose_class(window: MainWindow, index: int) -> None:
    """Click the class's row in the class panel, as a person picks a class beyond the hotkeys."""
    panel = window.classes_panel
    panel.search.clear()
    row = panel.proxy.mapFromSource(panel.model.index(index, 0)).row()
    rect = panel.table.visualRect(panel.proxy.index(row, 0))
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    assert window.canvas.current_class() == index


def draw_polygon(window: MainWindow, vertices, class_index: int) -> None:
    """Fill a polygon with the polygon tool: pick the class, P, click each vertex, Enter."""
    choose_class(window, class_index)
    key(window, Qt.Key.Key_P)
    for vertex in vertices:
        QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         at(window, *vertex))
    key(window, Qt.Key.Key_Return)


def presegment(qtbot, window: MainWindow) -> None:
    window.segment_current()
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)


def test_presegment_paint_undo_redo_fill_save_and_reopen(qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos")
    sources = {p.name: p.read_bytes() for p in folder.iterdir()}
    window = make_window()
    open_and_wait(qtbot, window, folder, 3)
    assert window.session.current == "astronaut.png"
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)

    presegment(qtbot, window)
    doc = window.session.document
    assert doc.prediction is not None and doc.confidence.shape == (60, 80)
    assert window.session.project.classes.names == small_ade.classes.names  # took the model's classes
    assert window.session.project.state("astronaut.png") == "predicted"
    assert window.status_labels.time.text().startswith("inference ")
    assert window.files.model.state("astronaut.png") == "predicted"

    # paint with the brush (real mouse events), class 3 chosen with its hotkey
    key(window, Qt.Key.Key_4)
    assert window.classes_panel.current() == 3
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(5)
    before = doc.labels.copy()
    drag(window, [(10, 30), (40, 30), (70, 31)])
    assert (doc.labels[30, 10:71] == 3).all() and doc.person_changed
    painted = doc.labels.copy()

    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, before)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(doc.labels, painted)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, painted)

    # flood fill the region under (5, 5) with class 1
    key(window, Qt.Key.Key_2)
    key(window, Qt.Key.Key_F)
    assert window.canvas.tool() == "fill"
    before = doc.labels.copy()
    # the 4-connected region of equal labels around (5, 5), found independently of the tool
    _, components = cv2.connectedComponents((before == before[5, 5]).astype(np.uint8), connectivity=4)
    region = components == components[5, 5]
    drag(window, [(5, 5)])
    assert (doc.labels[region] == 1).all()
    assert np.array_equal(doc.labels[~region], before[~region])  # nothing outside the region changed

    # autosave within a second or so: labels, edited pixels, state edited (not done yet)
    label_file = window.session.project.label_path("astronaut.png")
    qtbot.waitUntil(lambda: label_file.exists() and window.session.project.state("astronaut.png") == "edited",
                    timeout=5000)
    assert "0 / 3 done" in window.files.count_label.text()
    key(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # the person says the mask is right
    assert window.session.project.state("astronaut.png") == "corrected"
    window.writer.flush()
    assert np.array_equal(read_index_mask(label_file), doc.labels)
    final = doc.labels.copy()

    # next image (D), then back (A): the mask is what we left
    key(window, Qt.Key.Key_D)
    assert window.session.current == "chelsea.png"
    key(window, Qt.Key.Key_PageUp)
    assert window.session.current == "astronaut.png"
    assert np.array_equal(window.session.document.labels, final)
    window.close()

    # a new window on the same folder finds everything again
    again = make_window()
    open_and_wait(qtbot, again, folder, 3)
    assert again.session.current == "astronaut.png"
    assert np.array_equal(again.session.document.labels, final)
    assert again.session.document.edited[30, 40] and not again.session.document.edited[59, 79]
    assert again.session.project.state("astronaut.png") == "corrected"
    assert again.session.project.classes.names == small_ade.classes.names
    assert again.files.model.done == 1 and "1 / 3 done" in again.files.count_label.text()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.suffix != ".json"} == sources
    assert not list(folder.rglob("*.tmp"))


def test_a_corrected_image_is_not_overwritten_without_asking(qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("chelsea.png",))
    prompter = ScriptedPrompter(answer=False)
    window = make_window(prompter)
    window.model_panel.select(WHOLE_ADE)
    open_and_wait(qtbot, window, folder, 1)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    doc = window.session.document
    draw_polygon(window, [(0, 0), (79, 0), (79, 59), (0, 59)], 2)  # a person labelled everything
    key(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # and marked it done
    assert window.session.project.state("chelsea.png") == "corrected"
    presegment(qtbot, window)
    assert len(prompter.questions) == 1 and "human corrections" in prompter.questions[0]
    assert (doc.labels == 2).all()  # declined: nothing replaced
    assert doc.prediction is None  # asked before the network ran: No runs no pass at all
    assert window.session.project.state("chelsea.png") == "corrected"


def test_segment_all_skips_corrected_and_reports_the_corrupt_file(qtbot, make_window, tmp_path, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png", "coffee.png", "chelsea.png"), size=(48, 36))
    # a JPEG cut in its scan data: its header is fine, so the folder listing cannot tell (files
    # that are no image at all are left out of batches: test_first_hour); the batch finds it
    Image.open(folder / "coffee.png").save(folder / "broken.jpg", quality=95)
    data = (folder / "broken.jpg").read_bytes()
    (folder / "broken.jpg").write_bytes(data[:len(data) // 2])
    prompter = ScriptedPrompter()
    window = make_window(prompter, batch_command=small_scale_gcnet_command(WHOLE_ADE, (64, 48)))
    window.model_panel.select(WHOLE_ADE)
    open_and_wait(qtbot, window, folder, 4)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    # astronaut.png is corrected by hand before the batch: it must stay as it is
    draw_polygon(window, [(0, 0), (47, 0), (47, 35), (0, 35)], 5)
    window.flush()
    corrected_bytes = window.session.project.label_path("astronaut.png").read_bytes()

    finished = []
    window.batch.finished.connect(finished.append)
    window.segment_all()
    assert window.batch.running and window.model_panel.batch_bar.isVisible()
    qtbot.waitUntil(lambda: bool(finished), timeout=180000)
    summary = finished[0]
    assert summary.error is None, summary.error
    assert summary.total == 3 and summary.written == 2  # broken.jpg, chelsea.png, coffee.png
    assert [Path(p).name for p, _ in summary.failed] == ["broken.jpg"]
    assert any("broken.jpg" in w for w in prompter.warnings)
    project = window.session.project
    assert project.state("chelsea.png") == project.state("coffee.png") == "predicted"
    assert project.image_model("coffee.png") == "ade"
    assert project.state("astronaut.png") == "edited"
    assert project.label_path("astronaut.png").read_bytes() == corrected_bytes
    assert read_index_mask(project.label_path("coffee.png")).shape == (36, 48)
    window.flush()  # the staging folder goes once the writer has placed every mask
    assert not list(project.data_root.glob("batch-*"))
    assert Project.open(folder).state("coffee.png") == "predicted"
    assert "2 image(s)" in window.model_panel.batch_label.text()


def test_export_dialog_writes_files_and_marks_corrected_images_exported(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("chelsea.png", "coffee.png"))
    window = make_window()
    open_and_wait(qtbot, window, folder, 2)
    draw_polygon(window, [(0, 0), (40, 0), (40, 30)], 1)
    window.action_set.done.trigger()  # Mark Image Done: only done images are "corrected images"
    dialog = window.show_export_dialog()
    out = tmp_path / "export"
    dialog.set_choice("color", "corrected", out)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)
    assert [p.name for p in dialog.report.written] == ["chelsea.png"]
    colour = np.asarray(Image.open(out / "chelsea.png").convert("RGB"))
    assert tuple(colour[2, 30]) == window.session.project.classes.palette[1]
    assert window.session.project.state("chelsea.png") == "exported"
    assert window.files.model.state("chelsea.png") == "exported"
    # editing an exported image makes it corrected again (it needs a new export)
    draw_polygon(window, [(0, 50), (40, 50), (40, 59)], 2)
    window.save_current()
    assert window.session.project.state("chelsea.png") == "corrected"
    dialog.close()


def test_offline_download_shows_the_download_error_text(qtbot, make_window, tmp_path, monkeypatch):
    from urllib.error import URLError

    import gcnet_core.weights.download as download

    def offline(*_args, **_kwargs):
        raise URLError("no network here")

    monkeypatch.setattr(download, "urlopen", offline)
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    prompter = ScriptedPrompter()
    window = make_window(prompter)
    open_and_wait(qtbot, window, folder, 1)
    window.model_panel.select("gcnet_r50-d8_4xb4-20k_voc12aug-512x512")
    window.segment_current()
    qtbot.waitUntil(lambda: bool(prompter.warnings), timeout=10000)
    assert "could not be downloaded: no network here" in prompter.warnings[0]
    assert "--" not in prompter.warnings[0] and "gcnet download" not in prompter.warnings[0]  # no command line
    assert prompter.offered[0][0] == "Choose a checkpoint file…"  # the way out, right there
    assert not window.inference.busy


def test_failed_autosave_keeps_the_previous_mask_intact(qtbot, make_window, tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    doc = window.session.document
    draw_polygon(window, [(0, 0), (79, 0), (79, 59), (0, 59)], 1)
    assert (doc.labels == 1).all()
    window.flush()
    label_file = window.session.project.label_path("coffee.png")
    saved = label_file.read_bytes()

    real_replace = os.replace

    def crash_on_masks(src, dst):
        if str(dst).endswith((".png", ".mask")):  # project masks are PNGs named *.mask
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    draw_polygon(window, [(0, 0), (79, 0), (79, 59)], 2)
    monkeypatch.setattr(os, "replace", crash_on_masks)  # the disk fills up before the autosave
    window.save_current()
    window.writer.flush()
    qtbot.waitUntil(lambda: "Could not save" in window.statusBar().currentMessage(), timeout=3000)
    assert label_file.read_bytes() == saved  # the old file, whole
    assert (read_index_mask(label_file) == 1).all()
    assert not [p for p in label_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_class_panel_hotkeys_visibility_rename_add_remove(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("coffee.png", "chelsea.png"))
    prompter = ScriptedPrompter()
    window = make_window(prompter)
    window.model_panel.select("gcnet_r50-d8_4xb4-20k_voc12aug-512x512")
    open_and_wait(qtbot, window, folder, 2)
    panel = window.classes_panel
    assert panel.classes.names[:2] == ("background", "aeroplane") and panel.model.rowCount() == 21
    key(window, Qt.Key.Key_0)
    assert panel.current() == 9 and window.canvas.current_class() == 9
    doc = window.session.document
    draw_polygon(window, [(0, 0), (79, 0), (79, 29), (0, 29)], 8)  # cat
    draw_polygon(window, [(0, 30), (79, 30), (79, 59), (0, 59)], 12)  # dog
    assert (doc.labels[:30] == 8).all() and (doc.labels[30:] == 12).all()
    qtbot.waitUntil(lambda: panel.model.data(panel.model.index(8, 1)) == "50.0%", timeout=2000)  # shares follow

    panel.set_visible(8, False)
    assert (window.canvas.overlay_color_table()[8] >> 24) == 0  # alpha 0: hidden
    panel.search.setText("do")
    assert panel.proxy.rowCount() == 1  # dog

    panel.renameRequested.emit(8, "kitten")  # what the class menu's Rename and Add ask for
    panel.addRequested.emit("unicorn", (1, 2, 3))
    names = window.session.project.classes.names
    assert names[8] == "kitten" and names[-1] == "unicorn" and panel.classes.names == names
    panel.removeRequested.emit(0)  # background goes: cat 8 -> 7, dog 12 -> 11
    qtbot.waitUntil(lambda: window.session.project.classes.names[0] == "aeroplane"
                    and window.session.document is not None and window.canvas.isEnabled(), timeout=5000)
    window.flush()
    assert window.session.current == "chelsea.png"
    labels = read_index_mask(window.session.project.label_path("chelsea.png"))
    assert labels[0, 0] == 7 and labels[59, 0] == 11
    reopened = Project.open(folder)
    assert reopened.classes.names[7] == "kitten" and reopened.classes.names[-1] == "unicorn"
    assert len(reopened.classes) == 21


def test_file_list_filter_navigation_and_large_folder(qtbot, make_window, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (4, 3), (10, 20, 30)).save(tiny)
    for i in range(1500):
        sub = folder / f"part{i // 500}"
        sub.mkdir(exist_ok=True)
        shutil.copy(tiny, sub / f"img{i:04d}.png")
    window = make_window()
    window.open_folder(folder)  # returns before the folder is listed: the scan runs on a pool thread
    qtbot.waitUntil(lambda: window.files.model.rowCount() == 1500 and not window.scanning, timeout=20000)
    assert window.session.current == "part0/img0000.png"
    key(window, Qt.Key.Key_PageDown)
    key(window, Qt.Key.Key_D)
    assert window.session.current == "part0/img0002.png"
    window.files.filter_edit.setText("img149")
    assert window.files.proxy.rowCount() == 10
    key(window, Qt.Key.Key_D)
    assert window.session.current == "part2/img1490.png"
    window.files.filter_edit.clear()
    window.files.state_combo.setCurrentIndex(window.files.state_combo.findData("corrected"))
    assert window.files.proxy.rowCount() == 0
    assert "0 / 1500 done" in window.files.count_label.text()


def test_hold_h_hides_the_mask(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    assert window.canvas.mask_shown()
    QTest.keyPress(window.canvas, Qt.Key.Key_H)
    assert not window.canvas.mask_shown()
    QTest.keyRelease(window.canvas, Qt.Key.Key_H)
    assert window.canvas.mask_shown()


def test_startup_folder_prefers_argument_then_last_then_samples(tmp_path):
    last = tmp_path / "last"
    last.mkdir()
    assert startup_folder("/some/where", last) == Path("/some/where")
    assert startup_folder(None, last) == last
    samples = startup_folder(None, tmp_path / "gone", data_dir=tmp_path / "data")
    assert samples == tmp_path / "data"
    assert sorted(p.name for p in samples.iterdir() if p.suffix in (".png", ".jpg")) == [
        "astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg"]
    assert samples_folder(tmp_path / "data") == samples  # idempotent


def test_reopening_restores_the_last_folder_setting(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    window.close()
    settings = AppSettings.at(tmp_path / "settings.ini")
    assert settings.get("last_folder") == folder.resolve()
    assert startup_folder(None, settings.get("last_folder")) == folder.resolve()


def test_import_checkpoint_official_file_goes_to_the_cache_others_become_custom(
        qtbot, make_window, tmp_path, monkeypatch, ade_checkpoint):
    import dataclasses

    from gcnet_core.weights.download import cached_checkpoint, file_sha256
    from gcnet_core.weights.zoo import get_entry

    # pretend the generated file is the official one: its hash prefix goes into the entry
    entry = dataclasses.replace(get_entry(WHOLE_ADE),
                                checkpoint_stamp=f"20200101_000000-{file_sha256(ade_checkpoint)[:8]}")
    register_entry(monkeypatch, entry)
    window = make_window()
    window.model_panel.select(WHOLE_ADE)
    window.import_checkpoint_file(ade_checkpoint)
    qtbot.waitUntil(lambda: cached_checkpoint(entry) is not None, timeout=30000)
    # the file lands before the worker's signal updates the panel: wait for the panel too
    qtbot.waitUntil(lambda: "checkpoint downloaded" in window.model_panel.status.text(), timeout=10000)
    assert window.model_panel.choice().checkpoint is None  # the zoo entry itself, now cached

    # any other GCNet checkpoint is kept in the cache (imported/) and runs on the entry it fits
    mine = random_checkpoint(entry, tmp_path / "finetuned-v3.pth", seed=3)
    window.import_checkpoint_file(mine)
    qtbot.waitUntil(lambda: window.model_panel.choice().label == "finetuned-v3", timeout=30000)
    config = window.model_panel.config()
    assert config.name == entry.name and config.model_id == "finetuned-v3"
    assert config.checkpoint.parent.name == "imported" and config.checkpoint.read_bytes() == mine.read_bytes()

    # a file that is no checkpoint is refused with the reason, and never listed
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"any other file")
    prompter = window.prompter
    window.import_checkpoint_file(junk)
    qtbot.waitUntil(lambda: bool(prompter.warnings), timeout=10000)
    assert "junk.pth cannot be used" in prompter.warnings[0] and "not a PyTorch checkpoint" in prompter.warnings[0]
    assert not any(c.label == "junk" for c in window.model_panel.extra_choices())
