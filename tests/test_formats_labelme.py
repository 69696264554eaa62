"""Background is background (issue 23 item 2): as labelme's own converter (labelme2voc) reads a
file, pixels outside every shape and ``_background_`` shapes are the background class, and
``__ignore__`` is the only ignore; the export writes ``_background_`` and ``__ignore__`` back."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from gcnet_core.files.masks import read_index_mask
from gcnet_core.formats.export import export_images
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import ClassSet
from gcnet_core.project.store import Project


def _labelme(folder, stem, shapes, size=(8, 10)):
    Image.fromarray(np.zeros((*size, 3), np.uint8)).save(folder / f"{stem}.jpg")
    (folder / f"{stem}.json").write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": f"{stem}.jpg", "imageData": None,
        "imageHeight": size[0], "imageWidth": size[1]}))


def _rect(label, x0, y0, x1, y1):
    return {"label": label, "points": [[x0, y0], [x1, y1]], "shape_type": "rectangle"}


def test_outside_every_shape_is_background_created_when_missing(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    _labelme(root, "a", [_rect("_background_", 0, 0, 9, 1), _rect("cat", 0, 4, 4, 7), _rect("__ignore__", 8, 6, 9, 7)])
    project = Project.create(root, ClassSet(("cat",), ((200, 0, 0),)))
    report = import_labels(project, "labelme", root)  # add_unknown not asked: background is still created
    assert len(report.imported) == 1, report.lines()
    assert project.classes.names == ("cat", "background")
    labels = read_index_mask(project.label_path(root / "a.jpg"))
    expected = np.ones((8, 10), np.uint8)
    expected[4:8, 0:5] = 0
    expected[6:8, 8:10] = 255
    np.testing.assert_array_equal(labels, expected)
    assert (project.read_edited(root / "a.jpg") == (expected != 255)).all()


def test_an_existing_background_class_is_used_and_no_shapes_is_all_background(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    _labelme(root, "a", [])
    project = Project.create(root, ClassSet((), ()))  # no classes yet: no broadcast error
    report = import_labels(project, "labelme", root)
    assert len(report.imported) == 1, report.lines()
    assert project.classes.names == ("background",)
    assert (read_index_mask(project.label_path(root / "a.jpg")) == 0).all()

    other = tmp_path / "q"
    other.mkdir()
    _labelme(other, "b", [_rect("cat", 0, 0, 4, 7)])
    project = Project.create(other, ClassSet(("Background", "cat"), ((0, 0, 0), (200, 0, 0))))
    import_labels(project, "labelme", other)
    assert project.classes.names == ("Background", "cat")
    assert set(np.unique(read_index_mask(project.label_path(other / "b.jpg")))) == {0, 1}


def test_the_export_names_background_and_ignore_as_labelme_does_and_reads_back_the_same(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / "a.jpg")
    classes = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))
    project = Project.create(root, classes)
    labels = np.zeros((8, 10), np.uint8)
    labels[2:5, 3:7] = 1
    labels[0, 0:3] = 255
    project.write_masks(root / "a.jpg", labels, None)
    export_images(project, [root / "a.jpg"], "labelme", tmp_path / "out")
    data = json.loads((tmp_path / "out" / "a.json").read_text())
    assert [shape["label"] for shape in data["shapes"]] == ["__ignore__", "_background_", "cat"]
    back = Project.create(tmp_path / "back", classes)
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(back.root / "a.jpg")
    report = import_labels(back, "labelme", tmp_path / "out")
    assert len(report.imported) == 1, report.lines()
    np.testing.assert_array_equal(read_index_mask(back.label_path(back.root / "a.jpg")), labels)


def test_embedded_image_data_without_its_image_names_the_missing_file(tmp_path):
    import base64
    import io

    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / "other.jpg")
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(buffer, format="PNG")
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "shot.json").write_text(json.dumps({
        "version": "5.5.0", "flags": {}, "shapes": [_rect("cat", 0, 0, 4, 4)], "imagePath": "shot.png",
        "imageData": base64.b64encode(buffer.getvalue()).decode("ascii"), "imageHeight": 8, "imageWidth": 10}))
    project = Project.create(root, ClassSet(("cat",), ((200, 0, 0),)))
    report = import_labels(project, "labelme", tmp_path / "json")
    [(path, reason)] = report.unmatched
    assert path.name == "shot.json"
    assert str(tmp_path / "json" / "shot.png") in reason and "imageData" in reason


def test_label_pngs_inside_the_project_are_not_labels_of_themselves(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.ones((8, 10), np.uint8)).save(root / "a.png")  # an image of the project
    (root / "classes.txt").write_text("background\ncat\n")
    project = Project.create(root, ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0))))
    report = import_labels(project, "png", root)
    assert report.imported == [] and not project.label_files()
    [(path, reason)] = report.unmatched
    assert path.name == "a.png" and "itself an image of the project" in reason


def test_a_shape_without_a_text_label_is_reported_with_its_file_even_with_add_classes(tmp_path, capsys):
    from gcnet_core.cli.main import main

    root = tmp_path / "p"
    root.mkdir()
    _labelme(root, "a", [_rect(7, 0, 0, 4, 7)])
    _labelme(root, "b", [_rect(None, 0, 0, 4, 7)])
    _labelme(root, "c", [_rect("cat", 0, 0, 4, 7)])
    assert main(["import", "--project", str(root), "--add-classes", "--quiet", str(root)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "a.json: shape 1 cannot be read (its label is 7, not a class name)" in err
    assert "b.json: shape 1 cannot be read (its label is None, not a class name)" in err
    project = Project.open(root)
    assert project.classes.names == ("cat", "background") and project.state(root / "c.jpg") == "corrected"


def test_an_export_into_a_sub_folder_is_neither_read_nor_matched_by_the_next_import(tmp_path, capsys):
    from gcnet_core.cli.main import main

    root = tmp_path / "p"
    root.mkdir()
    _labelme(root, "a", [_rect("cat", 0, 0, 4, 7)])
    assert main(["import", "--project", str(root), "--quiet", str(root)]) == 0
    for fmt in ("coco", "labelme", "index"):  # copies of a.jpg, a labelme a.json, an a.png mask
        assert main(["export", "--project", str(root), "--format", fmt, "--out", str(root / "out" / fmt),
                     "--quiet", "a.jpg"]) == 0
    assert (root / "out" / "coco" / "images" / "train" / "a.jpg").is_file()
    assert main(["import", "--project", str(root), "--replace", str(root)]) == 0  # only a.json, onto a.jpg
    err = capsys.readouterr().err
    assert "out/" not in err and "matches 2 images" not in err
    assert Project.open(root).state(root / "a.jpg") == "corrected"
