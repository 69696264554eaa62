"""The project owns its files: one encoding of the edited pixels whoever writes them, one backup
folder layout whatever replaces a file, prediction sidecars through the project."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.files.images import ImageReadError
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import ClassSet
from gcnet_core.predict.rankings import ClassRankings
from gcnet_core.project.predictions import PredictionFileError, StoredPrediction
from gcnet_core.project.renumber import renumber_masks, without_class
from gcnet_core.project.store import Project

CLASSES = ClassSet(("background", "cat", "sky"), ((0, 0, 0), (200, 0, 0), (70, 130, 180)))
BACKUP_NAME = re.compile(r"^(import|remove-class)-\d{8}-\d{6}(-\d+)?$")


def _project(root, *names: str) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(root / name)
    return Project.create(root, CLASSES)


def _png_source(folder, values: np.ndarray):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values).save(folder / "a.png")
    (folder / "classes.txt").write_text("background\ncat\nsky\n")
    return folder


def test_the_edited_pixels_of_the_saver_and_of_an_import_are_the_same_file(tmp_path):
    pytest.importorskip("PySide6")
    from app.workers.saving import MaskSnapshot

    values = np.full((6, 8), 255, np.uint8)
    values[1:5, 2:6] = 1
    imported = _project(tmp_path / "imported", "a.jpg")
    assert len(import_labels(imported, "png", _png_source(tmp_path / "src", values)).imported) == 1
    saved = _project(tmp_path / "saved", "a.jpg")
    MaskSnapshot(saved, "a.jpg", values, values != 255, CLASSES).write()

    np.testing.assert_array_equal(imported.read_edited("a.jpg"), values != 255)
    np.testing.assert_array_equal(saved.read_edited("a.jpg"), imported.read_edited("a.jpg"))
    assert saved.edited_path("a.jpg").read_bytes() == imported.edited_path("a.jpg").read_bytes()
    assert Image.open(saved.edited_path("a.jpg")).mode == "1"
    np.testing.assert_array_equal(saved.read_labels("a.jpg"), imported.read_labels("a.jpg"))


def test_an_edited_pixels_file_of_the_older_8_bit_encoding_reads_the_same(tmp_path):
    project = _project(tmp_path, "a.jpg")
    edited = np.zeros((6, 8), bool)
    edited[2:4, 1:7] = True
    ok, data = cv2.imencode(".png", np.where(edited, 255, 0).astype(np.uint8))  # what imports wrote before
    project.edited_path("a.jpg").parent.mkdir(parents=True)
    project.edited_path("a.jpg").write_bytes(data.tobytes())
    np.testing.assert_array_equal(project.read_edited("a.jpg"), edited)
    project.write_masks("a.jpg", np.zeros((6, 8), np.uint8), edited)
    np.testing.assert_array_equal(project.read_edited("a.jpg"), edited)


def test_backups_of_an_import_and_of_a_class_removal_share_one_layout(tmp_path):
    project = _project(tmp_path / "p", "a.jpg")
    first = np.full((6, 8), 2, np.uint8)
    project.write_masks("a.jpg", first, first > 0)
    project.set_state("a.jpg", "corrected")
    before = {path: path.read_bytes() for path in (project.label_path("a.jpg"), project.edited_path("a.jpg"))}

    report = import_labels(project, "png", _png_source(tmp_path / "src", np.ones((6, 8), np.uint8)), replace=True)
    imported = project.label_path("a.jpg").read_bytes()
    classes, lut = without_class(project.classes, 0)
    assert renumber_masks(project, lut, classes) == 1

    folders = sorted(project.backups_root.iterdir())
    assert [BACKUP_NAME.match(f.name).group(1) for f in folders] == ["import", "remove-class"]
    assert report.backup == folders[0]
    by_import, by_removal = folders
    assert (by_import / "a.mask").read_bytes() == before[project.label_path("a.jpg")]
    assert (by_import / ".edited" / "a.mask").read_bytes() == before[project.edited_path("a.jpg")]
    assert (by_removal / "a.mask").read_bytes() == imported  # the mask as the removal found it
    assert sorted(p.relative_to(by_removal).as_posix() for p in by_removal.rglob("*") if p.is_file()) == ["a.mask"]
    np.testing.assert_array_equal(project.read_labels("a.jpg"), np.zeros((6, 8), np.uint8))  # cat -> 0


def test_one_operation_keeps_what_a_file_was_before_it(tmp_path):
    project = _project(tmp_path, "a.jpg")
    project.write_masks("a.jpg", np.zeros((6, 8), np.uint8))
    original = project.label_path("a.jpg").read_bytes()
    backup = project.backup("import")
    assert backup.folder is None  # nothing kept, no folder
    project.write_masks("a.jpg", np.ones((6, 8), np.uint8), backup=backup)
    project.write_masks("a.jpg", np.full((6, 8), 2, np.uint8), backup=backup)  # twice in one operation
    assert (backup.folder / "a.mask").read_bytes() == original
    assert backup.keep(project.labels_root / "missing.mask") is None
    again = project.backup("import")
    again.keep(project.label_path("a.jpg"))
    assert again.folder != backup.folder and BACKUP_NAME.match(again.folder.name)  # never an earlier folder


def test_an_unusable_file_is_moved_not_copied(tmp_path):
    project = _project(tmp_path, "a.jpg")
    project.label_path("a.jpg").parent.mkdir(parents=True)
    project.label_path("a.jpg").write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match="a.mask"):
        project.read_labels("a.jpg")
    kept = project.backup("unusable").keep(project.label_path("a.jpg"), move=True)
    assert not project.label_path("a.jpg").exists() and kept.read_bytes() == b"not a png"
    assert kept.relative_to(project.backups_root).parts[1:] == ("a.mask",)


def test_predictions_go_through_the_project(tmp_path):
    project = _project(tmp_path, "a.jpg")
    assert project.read_prediction("a.jpg") is None
    labels = np.arange(48, dtype=np.uint8).reshape(6, 8) % 3
    probabilities = np.full((2, 3, 4), 128, np.uint8)
    rankings = ClassRankings(np.zeros((2, 3, 4), np.uint8), probabilities, (6, 8))
    stored = StoredPrediction(labels, np.full((6, 8), 0.5, np.float32), rankings, CLASSES.names, "zoo-model")
    project.write_prediction("a.jpg", stored)
    back = project.read_prediction("a.jpg", (6, 8))
    np.testing.assert_array_equal(back.labels, labels)
    assert back.model == "zoo-model" and back.class_names == CLASSES.names
    with pytest.raises(PredictionFileError, match="not 4x3"):
        project.read_prediction("a.jpg", (3, 4))

    staged = tmp_path / "batch" / "a.npz"
    staged.parent.mkdir()
    project.prediction_path("a.jpg").rename(staged)
    assert project.adopt_prediction("a.jpg", staged) and not staged.exists()
    np.testing.assert_array_equal(project.read_prediction("a.jpg").labels, labels)
    assert not project.adopt_prediction("a.jpg", staged)  # the batch wrote none


def test_a_staged_mask_is_adopted_after_the_one_it_replaces_is_kept(tmp_path):
    project = _project(tmp_path, "a.jpg")
    project.write_masks("a.jpg", np.zeros((6, 8), np.uint8))
    before = project.label_path("a.jpg").read_bytes()
    staged = project.staging_folder("batch") / "a.png"
    staged.parent.mkdir(parents=True)
    project.write_masks("b.jpg", np.ones((6, 8), np.uint8))
    project.label_path("b.jpg").rename(staged)
    backup = project.backup("batch")
    assert project.adopt_labels("a.jpg", staged, backup=backup) and not staged.exists()
    np.testing.assert_array_equal(project.read_labels("a.jpg"), np.ones((6, 8), np.uint8))
    assert (backup.folder / "a.mask").read_bytes() == before
    assert not project.adopt_labels("a.jpg", staged)


def test_label_files_are_the_masks_only(tmp_path):
    project = _project(tmp_path, "a.jpg", "b.jpg")
    for name in ("a.jpg", "b.jpg"):
        project.write_masks(name, np.zeros((6, 8), np.uint8), np.ones((6, 8), bool))
    project.prediction_path("a.jpg").parent.mkdir(parents=True)
    project.prediction_path("a.jpg").with_suffix(".mask").write_bytes(b"")
    assert project.label_files() == [project.label_path("a.jpg"), project.label_path("b.jpg")]


def test_saving_the_classes_keeps_the_states_on_disk(tmp_path):
    project = _project(tmp_path, "a.jpg")
    project.set_state("a.jpg", "corrected")
    project.save()
    copy = Project(tmp_path, CLASSES)  # no states, as a class removal's copy
    copy.save_classes(ClassSet(("cat",), ((200, 0, 0),)))
    reopened = Project.open(tmp_path)
    assert reopened.classes.names == ("cat",) and reopened.state("a.jpg") == "corrected"
