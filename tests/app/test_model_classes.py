"""The selected model's classes against the project's (issue 24 item 9), in the real window
(pytest-qt, offscreen): an ADE20K model on a project with VOC's classes is said in one line with
the counts; Map classes… shows the mapping rule's table, a row changed with the keyboard, and
the predictions placed afterwards follow it; the choice is kept with the project. A fine-tuned
version's classes come from its record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_window import ScriptedPrompter, make_window, open_and_wait  # noqa: E402,F401

from gcnet_core.model.classes import ADE20K_CLASSES, ADE20K_PALETTE, VOC_CLASSES, VOC_PALETTE, ClassSet  # noqa: E402
from gcnet_core.project.defaults import GENERAL_MODEL  # noqa: E402
from gcnet_core.project.session import AnnotationSession  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.project.versions import VersionRegistry  # noqa: E402
from app.controllers.model_classes import ModelClasses  # noqa: E402
from app.panels.model_panel import ModelChoice, ModelPanel  # noqa: E402

ADE = ClassSet(ADE20K_CLASSES, ADE20K_PALETTE)
VOC = ClassSet(VOC_CLASSES, VOC_PALETTE)


def _voc_project(root: Path) -> Path:
    root.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(root / name)
    project = Project.create(root, VOC)
    labels = np.zeros((30, 40), np.uint8)
    labels[5:20, 5:20] = VOC_CLASSES.index("person")
    project.write_masks("a.png", labels, labels >= 0)
    project.set_state("a.png", "corrected")  # something is labelled: the project keeps VOC's classes
    project.save()
    return root


def test_an_ade20k_model_on_a_voc_project_is_said_once_and_its_classes_can_be_mapped(qtbot, make_window, tmp_path):
    folder = _voc_project(tmp_path / "voc")
    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, folder, 2)
    panel = window.model_panel
    assert panel.choice().entry.classes == ADE  # the default model of a folder of photos
    assert panel.classes_line.isVisibleTo(panel) and panel.map_button.isVisibleTo(panel)
    assert panel.classes_line.text() == "⚠ Model and project classes differ (150 vs 21): 8 map, 142 give no class"
    plant = ADE20K_CLASSES.index("plant")
    before = window.session.prediction(np.full((30, 40), plant, np.uint8), None, None, ADE, "m", preview=True)
    assert (before.labels == 255).all()  # by name only: ADE20K's plant is no VOC class

    qtbot.mouseClick(panel.map_button, Qt.MouseButton.LeftButton)
    dialog = window.model_classes.dialog
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert table.names() == list(ADE20K_CLASSES)
    assert table.combo("airplane").currentData() == "aeroplane" and table.combo("person").currentData() == "person"
    assert table.combo("minibike").currentData() == "motorbike"
    assert table.combo("wall").currentData() == "unlabelled" and not table.undecided()  # no class: as before
    qtbot.keyClicks(table.combo("plant"), "potted")  # typing in a combo picks the entry that starts so
    qtbot.keyClicks(table.combo("wall"), "Ignore")
    assert table.combo("plant").currentData() == "pottedplant" and table.combo("wall").currentData() == "ignore"
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)

    assert panel.classes_line.text().endswith("11 map, 139 give no class")  # + aeroplane, motorbike, plant
    after = window.session.prediction(np.full((30, 40), plant, np.uint8), None, None, ADE, "m", preview=True)
    assert (after.labels == VOC_CLASSES.index("pottedplant")).all()  # the table applies where predictions land
    assert window.flush()
    kept = json.loads(window.session.project.class_mappings_path.read_text())["models"][panel.choice().name]
    assert kept["plant"] == "pottedplant" and kept["wall"] == "ignore"


def test_no_line_when_the_classes_agree_or_the_project_takes_the_models(qtbot, make_window, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(folder / "a.png")
    window = make_window(ScriptedPrompter())
    open_and_wait(qtbot, window, folder, 1)  # a new folder: it takes the model's classes
    assert not window.model_panel.classes_line.isVisibleTo(window.model_panel)
    assert window.session.model_classes == {}


class _Writer:
    """The session's writer, done at once (no window here)."""

    def submit(self, job, done=None, failed=None):
        result = job()
        if done:
            done(result)


def test_a_fine_tuned_versions_classes_come_from_its_record(qtbot, tmp_path):
    trained = tmp_path / "best.pth"  # a run's checkpoint as far as the registry reads it: its meta
    torch.save({"meta": {"base_model": GENERAL_MODEL, "CLASSES": list(VOC_CLASSES),
                         "PALETTE": [list(c) for c in VOC_PALETTE]}, "state_dict": {}}, trained)
    version = VersionRegistry().publish(trained, name="voc ft")
    root = tmp_path / "ade"
    root.mkdir()
    Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(root / "a.png")
    project = Project.create(root, ADE)
    project.write_masks("a.png", np.zeros((30, 40), np.uint8), np.ones((30, 40), bool))
    project.set_state("a.png", "corrected")
    session = AnnotationSession(_Writer())
    session.open_project(project)
    panel = ModelPanel()
    qtbot.addWidget(panel)
    controller = ModelClasses(session, panel)
    controller.refresh()
    assert panel.classes_line.text() == ""  # the ADE20K entry on ADE20K classes

    panel.add_extra_choice(ModelChoice(version.base_model, version.checkpoint, version.id, title=version.name,
                                       fine_tuned=True))  # selected: the panel says it changed
    assert panel.classes_line.text() == "⚠ Model and project classes differ (21 vs 150): 8 map, 13 give no class"
    assert controller.model_name() == version.id
    other = tmp_path / "someone_elses.pth"
    other.write_bytes(trained.read_bytes())
    panel.add_extra_choice(ModelChoice(GENERAL_MODEL, other, "someone_elses"))
    assert panel.classes_line.text() == ""  # a file's classes are not known without reading its weights
