"""Cityscapes trees an import cannot read are refused with the reason, never "imported 0" with
exit 0 (issue 23): only colour files, or datumaro's own class table; a tree with only
``*_instanceIds.png`` files is read through their label ids.
The export's official kinds (no labelTrainIds, what datumaro reads) read back the same."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_formats_roundtrip import CITYSCAPES, IMAGES, _labels, _project

from gcnet_core.cli.main import main
from gcnet_core.files.masks import read_index_mask
from gcnet_core.formats.export import export_images
from gcnet_core.formats.label_import import import_labels
from gcnet_core.project.store import Project


_IMAGE = "frankfurt_000000_000001_leftImg8bit.png"


def _tree(tmp_path, kind):
    root = tmp_path / "p"
    (root / "frankfurt").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / "frankfurt" / "frankfurt_000000_000001_leftImg8bit.png")
    labels = tmp_path / "cs" / "gtFine" / "train" / "frankfurt"
    labels.mkdir(parents=True)
    Image.fromarray(np.full((8, 10), 7, np.uint8)).save(labels / f"frankfurt_000000_000001_gtFine_{kind}.png")
    return root, tmp_path / "cs"


def test_an_instance_ids_tree_is_read_through_its_label_ids(tmp_path):
    root, source = _tree(tmp_path, "instanceIds")
    ids = np.full((8, 10), 7, np.uint16)  # road (a stuff class: its label id)
    ids[2:4, 2:5] = 26001  # car number 1: label id 26 x 1000 + 1
    ids[5:, :] = 24  # a group of persons: the label id alone
    path = source / "gtFine" / "train" / "frankfurt" / "frankfurt_000000_000001_gtFine_instanceIds.png"
    Image.fromarray(ids).save(path)
    project = Project.create(root, CITYSCAPES)
    report = import_labels(project, "cityscapes", source)
    assert len(report.imported) == 1, report.lines()
    expected = np.zeros((8, 10), np.uint8)  # train ids: road 0, car 13, person 11
    expected[2:4, 2:5] = 13
    expected[5:, :] = 11
    np.testing.assert_array_equal(read_index_mask(project.label_path(root / "frankfurt" / _IMAGE)), expected)


@pytest.mark.parametrize("kind,value", [("labelIds", 50), ("instanceIds", 40001)])
def test_a_value_that_is_no_cityscapes_label_id_is_reported_not_dropped(tmp_path, capsys, kind, value):
    root, source = _tree(tmp_path, kind)
    path = next((source / "gtFine" / "train" / "frankfurt").glob("*.png"))
    ids = np.full((8, 10), 7, np.uint16 if kind == "instanceIds" else np.uint8)
    ids[0, 0] = value  # label id 50, or 40 for instance number 1 of it
    Image.fromarray(ids).save(path)
    Project.create(root, CITYSCAPES)
    assert main(["import", "--project", str(root), "--quiet", str(source)]) == 1
    err = capsys.readouterr().err
    assert f"{path.name}: value(s) {value if kind == 'labelIds' else 40} are no Cityscapes label ids (0..33)" in err
    assert not Project.open(root).label_files()


def test_a_colour_only_tree_is_refused_with_the_reason(tmp_path, capsys):
    root, source = _tree(tmp_path, "color")
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 2
    err = capsys.readouterr().err
    assert "only color files" in err and "labelTrainIds" in err


def test_datumaro_s_background_train_id_19_is_ignore(tmp_path):
    root, source = _tree(tmp_path, "labelTrainIds")
    train_ids = np.full((8, 10), 19, np.uint8)
    train_ids[0, :] = 0
    Image.fromarray(train_ids).save(source / "gtFine" / "train" / "frankfurt" /
                                    "frankfurt_000000_000001_gtFine_labelTrainIds.png")
    project = Project.create(root, CITYSCAPES)
    assert len(import_labels(project, "cityscapes", source).imported) == 1
    labels = read_index_mask(project.label_path(root / "frankfurt" / _IMAGE))
    assert (labels[0] == 0).all() and (labels[1:] == 255).all()


def test_a_tree_with_its_own_class_table_is_refused_naming_it(tmp_path, capsys):
    root, source = _tree(tmp_path, "labelIds")
    (source / "label_colors.txt").write_text("0 0 0 background\n128 64 128 road\n")
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 2
    err = capsys.readouterr().err
    assert "label_colors.txt" in err and "own class table" in err
    (source / "label_colors.txt").unlink()
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 0


def test_the_official_kinds_leave_out_train_ids_and_read_back_the_same(tmp_path):
    project = _project(tmp_path / "a", CITYSCAPES, with_labels=True)
    assert main(["export", "--project", str(project.root), "--format", "cityscapes", "--cityscapes-kinds",
                 "official", "--out", str(tmp_path / "out"), "--quiet", "--all-corrected"]) == 0
    folder = tmp_path / "out" / "gtFine" / "train" / "frankfurt"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"frankfurt_000000_000001_gtFine_{kind}.png" for kind in ("color", "instanceIds", "labelIds")]
    back = _project(tmp_path / "b", CITYSCAPES, with_labels=False)
    report = import_labels(back, "cityscapes", tmp_path / "out")  # from the labelIds
    assert len(report.imported) == 2, report.lines()
    for i, rel in enumerate(IMAGES):
        np.testing.assert_array_equal(read_index_mask(back.label_path(rel)), _labels(i, CITYSCAPES))
    with pytest.raises(ValueError, match="'official'"):
        export_images(project, IMAGES, "cityscapes", tmp_path / "bad", cityscapes_kinds="some")
