"""File ▸ Import Labels driven through the real dialog (pytest-qt, offscreen): a labelme folder
and a VOC folder; the imported images show their masks and are marked corrected."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_window import ScriptedPrompter, make_folder, make_window, open_and_wait  # noqa: E402,F401

from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.model.classes import VOC_PALETTE  # noqa: E402


def _run_dialog(qtbot, window, source: Path, split: str | None = None):
    dialog = window.show_import_dialog()
    qtbot.waitExposed(dialog)
    for field, text in ((dialog.source, str(source)), (dialog.split, split)):  # typed, as a person does
        if text is None:
            continue
        dialog.activateWindow()
        field.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is field, timeout=3000)
        qtbot.keyClicks(field, text)
        assert field.text() == text
    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)
    return dialog


def test_import_a_labelme_folder(qtbot, make_window, tmp_path):
    folder = make_folder(tmp_path / "photos", names=("chelsea.png", "coffee.png"))
    shapes = [{"label": "sky", "points": [[0, 0], [79, 29]], "shape_type": "rectangle"},
              {"label": "kitty", "points": [[10, 35], [50, 35], [50, 55], [10, 55]], "shape_type": "polygon"}]
    (folder / "chelsea.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": shapes,
                                                     "imagePath": "chelsea.png", "imageData": None,
                                                     "imageHeight": 60, "imageWidth": 80}))
    (folder / "stray.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": [],
                                                   "imagePath": "gone.png", "imageData": None}))
    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, folder, 2)
    assert window.session.current == "chelsea.png"
    dialog = _run_dialog(qtbot, window, folder)
    assert dialog.format.currentData() == "labelme"  # guessed from the folder
    report = "\n".join(dialog.report.lines())
    assert "imported 1 label file(s)" in report and "new classes added: background" in report
    assert window.session.project.classes.names == ("sky", "kitty", "background")  # a new folder: the labels' own
    assert "stray.json" in dialog.report_view.toPlainText()  # matched no image: named, not dropped

    project = window.session.project
    sky, kitty = project.classes.names.index("sky"), project.classes.names.index("kitty")
    assert window.classes_panel.classes.names[kitty] == "kitty"
    assert project.state("chelsea.png") == "corrected" and window.files.model.state("chelsea.png") == "corrected"
    assert window.files.model.state("coffee.png") != "corrected"
    labels = window.session.document.labels  # the open image shows its imported mask
    background = project.classes.names.index("background")  # outside every shape, as labelme2voc reads it
    assert (labels[:30] == sky).all() and (labels[36:55, 11:50] == kitty).all() and labels[58, 70] == background
    np.testing.assert_array_equal(read_index_mask(project.label_path("chelsea.png")), labels)
    dialog.close()


def _voc(root: Path) -> Path:
    voc = root / "VOC2012"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "SegmentationClass").mkdir()
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    for i, image_id in enumerate(("2007_000032", "2007_000039")):
        Image.fromarray(np.full((40, 50, 3), 60 * i, np.uint8)).save(voc / "JPEGImages" / f"{image_id}.jpg")
        values = np.zeros((40, 50), np.uint8)
        values[5:25, 10:30] = 15 if i == 0 else 8  # person / cat
        values[25, :] = 255  # void border
        label = Image.fromarray(values, mode="L").convert("P")
        label.putpalette([c for colour in VOC_PALETTE for c in colour])
        label.save(voc / "SegmentationClass" / f"{image_id}.png")
    (voc / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n2007_000039\n")
    return voc


def test_import_a_voc_folder(qtbot, make_window, tmp_path):
    voc = _voc(tmp_path)
    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, voc / "JPEGImages", 2)
    dialog = _run_dialog(qtbot, window, voc, split="train")
    assert dialog.format.currentData() == "voc"
    assert len(dialog.report.imported) == 2, dialog.report.lines()
    names = window.session.project.classes.names
    person, background = names.index("person"), names.index("background")  # person: the ADE class
    assert window.files.model.state("2007_000032.jpg") == window.files.model.state("2007_000039.jpg") == "corrected"
    labels = window.session.document.labels
    assert window.session.current == "2007_000032.jpg"
    assert (labels[5:25, 10:30] == person).all() and labels[0, 0] == background and (labels[25] == 255).all()
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    QTest.keyClick(window.canvas, Qt.Key.Key_D)  # the next image shows its mask too
    qtbot.waitUntil(lambda: window.session.current == "2007_000039.jpg" and window.session.document is not None,
                    timeout=5000)
    cat = window.session.project.classes.names.index("cat")
    assert (window.session.document.labels[5:25, 10:30] == cat).all()

    # and out again through File ▸ Export, as ADE20K (class + 1)
    export = window.show_export_dialog()
    out = tmp_path / "ade"
    export.set_choice("ade20k", "corrected", out)
    assert export.split.isEnabled() and not export.with_images.isEnabled()
    export.split.setText("val")
    qtbot.mouseClick(export.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: export.report is not None, timeout=10000)
    stored = np.asarray(Image.open(out / "annotations" / "validation" / "2007_000032.png"))
    exported = (out / "classes.txt").read_text().splitlines()  # the stored value is class + 1 in this list
    assert (stored[5:25, 10:30] == exported.index("person") + 1).all() and (stored[25] == 0).all()
    assert (out / "images" / "validation" / "2007_000032.jpg").read_bytes() == (
        voc / "JPEGImages" / "2007_000032.jpg").read_bytes()
    export.close()


EXPORT_TITLES = ["Indexed PNG with palette", "Colour PNG", "Grayscale class-index PNG", "Cityscapes labelIds",
                 "Cityscapes trainIds", "Pascal VOC layout", "Cityscapes layout (gtFine, all four kinds)",
                 "ADE20K layout (images/, annotations/, class + 1)", "Overlay JPEG", "COCO JSON (RLE masks)",
                 "labelme JSON (one file per image)"]
IMPORT_TITLES = ["Pascal VOC (SegmentationClass, SegmentationClassAug)",
                 "Cityscapes gtFine (labelIds or labelTrainIds)", "ADE20K annotations (class + 1)",
                 "COCO JSON (RLE and polygons)", "labelme JSON files", "Folder of indexed or grayscale PNGs + class list"]


def _titles(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_dialogs_list_the_registry_and_a_format_registered_there_alone(qtbot, tmp_path, monkeypatch):
    from app.dialogs.export_labels import ExportDialog
    from app.dialogs.import_labels import ImportDialog
    from gcnet_core.formats import registry
    from gcnet_core.formats.files import FlatWriter
    from gcnet_core.formats.format import Format
    from gcnet_core.model.classes import ClassSet
    from gcnet_core.project.store import Project

    project = Project.create(tmp_path, ClassSet(("cat",), ((200, 0, 0),)))
    export, importer = ExportDialog(project, None), ImportDialog(project)
    qtbot.addWidget(export)
    qtbot.addWidget(importer)
    assert _titles(export.format) == EXPORT_TITLES and _titles(importer.format) == IMPORT_TITLES
    cityscapes = export.format.findData("cityscapes")
    assert not export.format.model().item(cityscapes).isEnabled()  # the project lacks the 19 classes
    assert "19 Cityscapes classes" in export.format.model().item(cityscapes).toolTip()

    text = Format("text", "Class numbers in text files", lambda source, split=None, **_: ([], project.classes),
                  FlatWriter, split=True, options=frozenset({"class_list"}), import_title="Text files of numbers")
    monkeypatch.setattr(registry, "FORMATS", registry.FORMATS + (text,))
    export, importer = ExportDialog(project, None), ImportDialog(project)
    qtbot.addWidget(export)
    qtbot.addWidget(importer)
    assert _titles(export.format) == EXPORT_TITLES + ["Class numbers in text files"]
    assert _titles(importer.format) == IMPORT_TITLES + ["Text files of numbers"]
    export.set_choice("text")
    assert export.split.isEnabled() and not export.with_images.isEnabled() and not export.labelme_shapes.isEnabled()
    importer.format.setCurrentIndex(importer.format.findData("text"))
    assert importer.split.isEnabled() and importer.class_list.isEnabled()
    importer.format.setCurrentIndex(importer.format.findData("coco"))
    assert importer.split.isEnabled() and not importer.class_list.isEnabled()  # instances_<split>.json
