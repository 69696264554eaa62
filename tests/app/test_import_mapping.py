"""File ▸ Import Labels' class table (issue 23 item 5), driven through the real dialog
(pytest-qt, offscreen): the dialog and ``gcnet import`` build the same class table from the same
labelme folder; a VOC dataset into a project using ADE20K's classes, each row's combo changed
with the keyboard, every file imported; the choices are proposed again for the same source."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_window import ScriptedPrompter, make_folder, make_window, open_and_wait  # noqa: E402,F401

from gcnet_core.cli.main import main  # noqa: E402
from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.model.classes import ADE20K_CLASSES, ADE20K_PALETTE, VOC_CLASSES, VOC_PALETTE, ClassSet  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from app.panels.mapping_table import CHOOSE  # noqa: E402


def _type_source(qtbot, dialog, source: Path) -> None:
    dialog.activateWindow()
    dialog.source.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.source, timeout=3000)
    qtbot.keyClicks(dialog.source, str(source))
    qtbot.waitUntil(dialog.table_ready, timeout=10000)  # the pool thread found the labels and their names


def _import(qtbot, dialog) -> None:
    dialog.report = None
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)


def _labelme_folder(root: Path) -> Path:
    folder = make_folder(root, names=("chelsea.png", "coffee.png"))
    shapes = {"chelsea": [("sky", [[0, 0], [79, 19]]), ("Cat", [[10, 30], [40, 55]]), ("table", [[50, 30], [79, 59]])],
              "coffee": [("cup", [[20, 20], [60, 50]]), ("sky", [[0, 0], [79, 9]])]}
    for stem, items in shapes.items():
        (folder / f"{stem}.json").write_text(json.dumps({
            "version": "5.5.0", "flags": {}, "imagePath": f"{stem}.png", "imageData": None, "imageHeight": 60,
            "imageWidth": 80, "shapes": [{"label": label, "points": points, "shape_type": "rectangle"}
                                         for label, points in items]}))
    return folder


def test_the_dialog_and_the_cli_build_the_same_class_table(qtbot, make_window, tmp_path, capsys):
    by_cli = _labelme_folder(tmp_path / "cli")
    by_window = tmp_path / "window"
    shutil.copytree(by_cli, by_window)
    assert main(["import", "--project", str(by_cli), "--quiet", str(by_cli)]) == 0, capsys.readouterr().err

    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, by_window, 2)
    assert len(window.session.project.classes) == len(ADE20K_CLASSES)  # the selected model's, as a proposal
    dialog = window.show_import_dialog()
    qtbot.waitExposed(dialog)
    dialog.source.setText(str(tmp_path / "nowhere"))  # a source that is not there: said in the table's line
    qtbot.waitUntil(lambda: "no SegmentationClass" in dialog.mapping_status.text(), timeout=5000)
    assert "nowhere" in dialog.mapping_status.text() and dialog.mapping.rowCount() == 0 and not dialog.table_ready()
    dialog.source.clear()
    _type_source(qtbot, dialog, by_window)
    assert dialog.mapping.names() == ["_background_", "sky", "Cat", "table", "cup"]
    assert dialog.mapping.combo("Cat").currentData() == "Cat"  # the labels' own table: no ADE20K classes
    _import(qtbot, dialog)
    assert len(dialog.report.imported) == 2, dialog.report.lines()
    assert window.flush()

    cli, gui = Project.open(by_cli), Project.open(by_window)
    assert gui.classes == cli.classes == ClassSet(("sky", "Cat", "table", "cup", "background"), cli.classes.palette)
    for image in ("chelsea.png", "coffee.png"):
        np.testing.assert_array_equal(read_index_mask(gui.label_path(image)), read_index_mask(cli.label_path(image)))
    dialog.close()


def _voc(root: Path) -> Path:
    voc = root / "VOC2012"
    (voc / "SegmentationClass").mkdir(parents=True)
    for i, name in enumerate(("2007_000032", "2007_000039")):
        values = np.zeros((60, 80), np.uint8)  # background
        values[5:25, 10:30] = VOC_CLASSES.index("person")
        values[30:50, 10:30] = VOC_CLASSES.index("pottedplant")
        values[30:50, 40:70] = VOC_CLASSES.index("cat" if i == 0 else "dog")
        label = Image.fromarray(values, mode="L").convert("P")
        label.putpalette([c for colour in VOC_PALETTE for c in colour])
        label.save(voc / "SegmentationClass" / f"{name}.png")
    return voc


def test_voc_into_ade20k_classes_through_the_mapping_table(qtbot, make_window, tmp_path):
    voc = _voc(tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("2007_000032.png", "2007_000039.png"):
        Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(photos / name)
    Project.create(photos, ClassSet(ADE20K_CLASSES, ADE20K_PALETTE))  # a project using ADE20K's classes
    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, photos, 2)
    dialog = window.show_import_dialog()
    qtbot.waitExposed(dialog)
    _type_source(qtbot, dialog, voc)
    table = dialog.mapping
    assert table.names() == list(VOC_CLASSES)
    assert table.combo("background").currentData() == "unlabelled"  # VOC's "none of the 20": no ADE20K class
    assert table.combo("pottedplant").currentData() == "plant" and table.combo("person").currentData() == "person"
    assert table.combo("aeroplane").currentData() == "airplane"
    assert table.combo("cat").currentData() == "cat"  # "add classes" is on: a new class

    dialog.add_classes.setFocus()
    qtbot.keyClick(dialog.add_classes, Qt.Key.Key_Space)  # off: names ADE20K lacks are to be chosen
    assert not dialog.add_classes.isChecked()
    qtbot.waitUntil(dialog.table_ready, timeout=10000)
    cat = table.combo("cat")
    assert cat.currentText() == CHOOSE and "cat" in table.undecided()
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    text = dialog.report_view.toPlainText()
    assert text.startswith("Choose what these classes become first") and "cat" in text and "dog" in text
    assert dialog.report is None and not dialog.running  # nothing started, nothing written
    assert not window.session.project.label_path("2007_000032.png").exists()

    # A person picks a target per row: typing in a combo selects the entry that starts so.
    for name in table.undecided():
        qtbot.keyClicks(table.combo(name), "animal" if name in ("cat", "dog", "bird", "cow", "horse", "sheep")
                        else "Ignore")
    qtbot.keyClicks(table.combo("pottedplant"), "Ignore")
    assert table.combo("cat").currentData() == "animal" and table.combo("train").currentData() == "ignore"
    assert table.combo("pottedplant").currentData() == "ignore" and not table.undecided()
    _import(qtbot, dialog)
    assert len(dialog.report.imported) == 2, dialog.report.lines()

    project = window.session.project
    assert project.classes.names == ADE20K_CLASSES  # nothing added
    labels = read_index_mask(project.label_path("2007_000032.png"))
    edited = project.read_edited("2007_000032.png")
    assert (labels[5:25, 10:30] == ADE20K_CLASSES.index("person")).all()
    assert (labels[30:50, 40:70] == ADE20K_CLASSES.index("animal")).all()
    assert (labels[30:50, 10:30] == 255).all() and edited[30:50, 10:30].all()  # ignore: a person's decision
    assert labels[0, 0] == 255 and not edited[0, 0]  # unlabelled: a model may fill it
    assert (read_index_mask(project.label_path("2007_000039.png"))[30:50, 40:70]
            == ADE20K_CLASSES.index("animal")).all()
    dialog.close()

    again = window.show_import_dialog()  # the same source again: the choices are proposed
    qtbot.waitExposed(again)
    _type_source(qtbot, again, voc)
    assert again.mapping.combo("cat").currentData() == "animal"
    assert again.mapping.combo("pottedplant").currentData() == "ignore"
    assert again.mapping.item(again.mapping.names().index("cat"), 2).text() == "as the last import from this source"
    again.close()
