"""Every import is a transaction (issue 23 item 1): it completes with a consistent project or
leaves it as it was, a kill in the middle is finished or rolled back on the next open, and
``gcnet import`` exits 0 only when everything found was imported; COCO files other tools write
(box-only annotations, no ``segmentation``, crowd RLE, images without annotations, panoptic)
are reported per file, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gcnet_core.cli.main import main
from gcnet_core.files.masks import read_index_mask
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import ClassSet
from gcnet_core.project import renumber
from gcnet_core.project.store import PROJECT_FILE, Project

CLASSES = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))


def _project(tmp_path, names=("a", "b", "c")):
    root = tmp_path / "p"
    root.mkdir()
    for name in names:
        Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / f"{name}.jpg")
    project = Project.create(root, ClassSet((), ()))
    src = tmp_path / "src"
    src.mkdir()
    (src / "classes.txt").write_text("background\ncat\n")
    for name in names:
        Image.fromarray(np.full((8, 10), 1, np.uint8)).save(src / f"{name}.png")
    return project, src


def _everything(root):
    """Every file under the project with its bytes (backups aside: they only ever grow)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "backups" not in p.parts}


def test_an_import_that_dies_midway_leaves_the_project_as_it_was(tmp_path, monkeypatch):
    project, src = _project(tmp_path)
    before = _everything(project.root)
    real_write = Project.write_masks
    calls = []

    def die_on_the_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # a kill: nothing catches it
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(Project, "write_masks", die_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        import_labels(project, "png", src)
    assert _everything(project.root) == before  # no mask of a.jpg, no staging folder, same project file
    assert project.classes.names == () and project.state(project.root / "a.jpg") == "new"


def test_a_kill_before_the_commit_is_rolled_back_on_open(tmp_path, monkeypatch):
    project, src = _project(tmp_path)
    before = _everything(project.root)

    def killed(*_args, **_kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(renumber, "atomic_write_text", killed)  # the marker is never written
    monkeypatch.setattr("gcnet_core.formats.importing.shutil.rmtree", lambda *a, **k: None)  # no clean-up ran
    with pytest.raises(SystemExit):
        import_labels(project, "png", src)
    assert any(p.name.startswith("import-") for p in project.data_root.iterdir())  # staged, not committed
    monkeypatch.undo()
    reopened = Project.open(project.root)
    assert _everything(project.root) == before
    assert reopened.classes.names == () and not reopened.label_files()


def test_a_kill_after_the_commit_is_finished_on_open(tmp_path, monkeypatch):
    project, src = _project(tmp_path)
    real_replace = renumber.os.replace
    moved = []

    def die_after_first_move(a, b):  # the marker and the project file are written, one mask moved
        if "import-" in str(a) and "import-" not in str(b):
            if moved:
                raise SystemExit("killed")
            moved.append(b)
        real_replace(a, b)

    monkeypatch.setattr(renumber.os, "replace", die_after_first_move)
    with pytest.raises(SystemExit):
        import_labels(project, "png", src)
    monkeypatch.undo()
    assert moved and (project.data_root / renumber.MARKER).exists()
    reopened = Project.open(project.root)
    assert reopened.classes.names == ("background", "cat")
    for name in ("a", "b", "c"):
        image = project.root / f"{name}.jpg"
        assert reopened.state(image) == "corrected"
        assert (read_index_mask(reopened.label_path(image)) == 1).all()
        assert reopened.read_edited(image).all()
    assert not (project.data_root / renumber.MARKER).exists()
    assert not [p for p in project.data_root.iterdir() if p.name.startswith("import-")]


def test_a_finished_import_lists_every_mask_it_wrote_in_the_project_file(tmp_path):
    project, src = _project(tmp_path)
    import_labels(project, "png", src)  # the caller never saves: the commit did
    data = json.loads((project.root / PROJECT_FILE).read_text())
    assert [c["name"] for c in data["classes"]] == ["background", "cat"]
    assert {rel: rec["state"] for rel, rec in data["images"].items()} == {
        "a.jpg": "corrected", "b.jpg": "corrected", "c.jpg": "corrected"}
    assert len(Project.open(project.root).label_files()) == 3


def _coco(tmp_path, annotations, images=None, extra=None):
    root = tmp_path / "p"
    root.mkdir()
    for name in ("a", "b", "c"):
        Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(root / f"{name}.jpg")
    data = {"images": images or [{"id": i, "file_name": f"{n}.jpg", "height": 10, "width": 10}
                                 for i, n in enumerate("abc", start=1)],
            "categories": [{"id": 1, "name": "cat"}], "annotations": annotations, **(extra or {})}
    (tmp_path / "coco.json").write_text(json.dumps(data))
    return root, tmp_path / "coco.json"


def test_coco_box_only_missing_segmentation_and_empty_images_are_reported_per_file(tmp_path, capsys):
    polygon = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 6, 0, 6, 6, 0, 6]],
               "area": 36, "iscrowd": 0}
    box_only = {"id": 2, "image_id": 2, "category_id": 1, "segmentation": [], "bbox": [0, 0, 4, 4], "area": 16,
                "iscrowd": 0}
    no_key = {"id": 3, "image_id": 1, "category_id": 1, "bbox": [5, 5, 2, 2], "area": 4, "iscrowd": 0}
    root, source = _coco(tmp_path, [polygon, box_only, no_key])  # c.jpg has no annotation at all
    assert main(["import", "--project", str(root), "--quiet", str(source)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "coco.json#a.jpg" in err and "annotations 3 of image 'a.jpg' have no 'segmentation'" in err
    assert "coco.json#b.jpg" in err and "only box annotations" in err
    assert "coco.json#c.jpg" in err and "no annotations" in err
    assert not Project.open(root).label_files()


def test_coco_crowd_rle_is_imported(tmp_path, capsys):
    from pycocotools import mask as coco_mask

    crowd = np.zeros((10, 10), np.uint8)
    crowd[2:5, 3:9] = 1
    counts = coco_mask.encode(np.asfortranarray(crowd))
    # the uncompressed form crowd annotations use: run lengths, column-major
    runs, flat, value, length = [], crowd.ravel(order="F"), 0, 0
    for pixel in flat:
        if pixel == value:
            length += 1
        else:
            runs.append(length)
            value, length = pixel, 1
    runs.append(length)
    assert coco_mask.decode(coco_mask.frPyObjects({"counts": runs, "size": [10, 10]}, 10, 10)).sum() == \
        coco_mask.decode(counts).sum()
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": {"counts": runs, "size": [10, 10]},
           "area": int(crowd.sum()), "iscrowd": 1}
    root, source = _coco(tmp_path, [ann], images=[{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}])
    assert main(["import", "--project", str(root), "--quiet", str(source)]) == 0
    labels = read_index_mask(Project.open(root).label_path(root / "a.jpg"))
    np.testing.assert_array_equal(labels == 0, crowd.astype(bool))


def test_coco_panoptic_is_refused_with_the_reason(tmp_path, capsys):
    panoptic = {"image_id": 1, "file_name": "a.png", "segments_info": [{"id": 5, "category_id": 1}]}
    root, source = _coco(tmp_path, [panoptic])
    assert main(["import", "--project", str(root), "--format", "coco", "--quiet", str(source)]) == 2
    err = capsys.readouterr().err
    assert "panoptic" in err and "coco.json" in err and "Traceback" not in err
    assert not (root / PROJECT_FILE).exists()  # the project the import would have made is not left behind


def test_an_import_into_a_new_folder_that_brings_nothing_leaves_no_project(tmp_path, capsys):
    box_only = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [], "bbox": [0, 0, 4, 4], "area": 16,
                "iscrowd": 0}
    root, source = _coco(tmp_path, [box_only], images=[{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}])
    before = _everything(root)
    assert main(["import", "--project", str(root), "--quiet", str(source)]) == 1
    assert "only box annotations" in capsys.readouterr().err
    assert _everything(root) == before and not (root / ".gcnet").exists()
    polygon = dict(box_only, segmentation=[[0, 0, 6, 0, 6, 6, 0, 6]])
    (tmp_path / "coco.json").write_text(json.dumps({**json.loads(source.read_text()), "annotations": [polygon]}))
    assert main(["import", "--project", str(root), "--quiet", str(source)]) == 0  # one that brings a mask stays
    assert Project.open(root).state(root / "a.jpg") == "corrected"


def test_nothing_imported_is_never_exit_0_and_unknown_labels_name_add_classes(tmp_path, capsys):
    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / "a.jpg")
    (root / PROJECT_FILE).write_text(json.dumps({"format": "gcnet-annotator-project", "version": 1,
                                                 "classes": [{"name": "cat", "color": [1, 2, 3]}],
                                                 "model": None, "images": {}}))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "classes.txt").write_text("cat\n")
    assert main(["import", "--project", str(root), "--format", "png", "--quiet", str(empty)]) == 1
    assert "nothing to import" in capsys.readouterr().err
    src = tmp_path / "src"
    src.mkdir()
    (src / "classes.txt").write_text("cat\ndog\n")
    Image.fromarray(np.full((8, 10), 1, np.uint8)).save(src / "a.png")
    assert main(["import", "--project", str(root), "--format", "png", "--quiet", str(src)]) == 1
    err = capsys.readouterr().err
    assert "'dog'" in err and "--add-classes" in err and "--map" in err  # stopped before writing


def test_a_coco_dataset_folder_is_coco_not_ade20k_and_split_picks_its_file(tmp_path):
    from gcnet_core.formats.label_import import guess_format

    root, source = _coco(tmp_path, [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 4,
                                     "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]}])
    dataset = tmp_path / "dataset"
    (dataset / "annotations").mkdir(parents=True)
    (dataset / "images").mkdir()
    source.rename(dataset / "annotations" / "instances_val.json")
    (dataset / "annotations" / "instances_train.json").write_text('{"images": [], "annotations": [], '
                                                                  '"categories": []}')
    assert guess_format(dataset) == "coco" and guess_format(dataset / "annotations") == "coco"
    report = import_labels(Project.open(root), "coco", dataset, split="val")
    assert [image.name for _file, image in report.imported] == ["a.jpg"]
    report = import_labels(Project.open(root), "coco", dataset / "annotations", split="val")  # the folder itself
    assert [image.name for _file, image in report.imported] == ["a.jpg"]
    with pytest.raises(FileNotFoundError, match="instances_test.json does not exist.*instances_train.json"):
        import_labels(Project.open(root), "coco", dataset / "annotations", split="test")
    with pytest.raises(ValueError, match="not split 'train'"):
        import_labels(Project.open(root), "coco", dataset / "annotations" / "instances_val.json", split="train")


def test_a_coco_dataset_folder_without_a_split_imports_every_split_each_from_its_images_folder(tmp_path):
    root = tmp_path / "dataset" / "images"
    for split, value in (("train", 60), ("val", 120)):
        (root / split).mkdir(parents=True)
        Image.fromarray(np.full((10, 10, 3), value, np.uint8)).save(root / split / "a.jpg")  # one name in both
    annotations = tmp_path / "dataset" / "annotations"
    annotations.mkdir()
    for split, category in (("train", {"id": 1, "name": "cat"}), ("val", {"id": 3, "name": "dog"})):
        side = 4 if split == "train" else 8
        (annotations / f"instances_{split}.json").write_text(json.dumps({
            "images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [category],
            "annotations": [{"id": 1, "image_id": 1, "category_id": category["id"], "iscrowd": 0,
                             "area": side * side, "segmentation": [[0, 0, side, 0, side, side, 0, side]]}]}))
    assert main(["import", "--project", str(root), "--quiet", str(tmp_path / "dataset")]) == 0
    project = Project.open(root)
    assert project.classes.names == ("cat", "dog")
    for split, name, side in (("train", "cat", 4), ("val", "dog", 8)):
        labels = read_index_mask(project.label_path(root / split / "a.jpg"))
        assert labels[side - 1, side - 1] == project.classes.names.index(name) and labels[-1, -1] == 255


def test_split_for_a_layout_without_splits_is_an_error(tmp_path, capsys):
    project, src = _project(tmp_path)
    assert main(["import", "--project", str(project.root), "--format", "png", "--split", "val", "--quiet",
                 str(src)]) == 2
    assert "--split val" in capsys.readouterr().err
    assert not Project.open(project.root).label_files()


def test_a_source_without_label_files_says_so_before_asking_about_its_class_table(tmp_path, capsys):
    project, _src = _project(tmp_path)
    empty = tmp_path / "ade"
    (empty / "annotations").mkdir(parents=True)  # ADE20K's 150 names, no file
    assert main(["import", "--project", str(project.root), "--format", "ade20k", str(empty)]) == 1
    err = capsys.readouterr().err
    assert f"nothing to import: no ade20k label files found in {empty}" in err
    assert "--add-classes" not in err and "'wall'" not in err
