"""``gcnet import`` / ``gcnet export`` as a person types them."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from gcnet_core.cli.main import main
from gcnet_core.data.readers import project_samples
from gcnet_core.files.masks import read_index_mask
from gcnet_core.project.store import Project


def _folder(root):
    root.mkdir()
    for name in ("a.jpg", "b.jpg"):
        Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(root / name)
    shapes = {"a": [{"label": "cat", "points": [[0, 0], [5, 9]], "shape_type": "rectangle"}],
              "b": [{"label": "dog", "points": [[6, 0], [11, 9]], "shape_type": "rectangle"}]}
    for stem, items in shapes.items():
        (root / f"{stem}.json").write_text(json.dumps({"version": "5.5.0", "flags": {}, "shapes": items,
                                                       "imagePath": f"{stem}.jpg", "imageData": None,
                                                       "imageHeight": 10, "imageWidth": 12}))


def test_import_a_labelme_folder_then_export_it_as_ade20k(tmp_path, capsys):
    _folder(tmp_path / "photos")
    (tmp_path / "photos" / "gcnet-project.json").write_text(json.dumps(
        {"format": "gcnet-annotator-project", "version": 1, "classes": [{"name": "cat", "color": [1, 2, 3]}],
         "model": None, "images": {}}))
    # "dog" is not a class of the project: named with the options, nothing written, exit status 1
    before = (tmp_path / "photos" / "gcnet-project.json").read_bytes()
    assert main(["import", "--project", str(tmp_path / "photos"), "--quiet", str(tmp_path / "photos")]) == 1
    captured = capsys.readouterr()
    assert "'dog'" in captured.err and "--add-classes" in captured.err and "--map NAME=TARGET" in captured.err
    assert "nothing was imported" in captured.err and not (tmp_path / "photos" / ".gcnet").exists()
    assert (tmp_path / "photos" / "gcnet-project.json").read_bytes() == before
    assert main(["import", "--project", str(tmp_path / "photos"), "--add-classes", "--quiet",
                 str(tmp_path / "photos")]) == 0
    project = Project.open(tmp_path / "photos")
    assert project.classes.names == ("cat", "background", "dog")  # outside every shape: background (labelme2voc)
    assert project.state("a.jpg") == project.state("b.jpg") == "corrected"
    labels = read_index_mask(project.label_path("b.jpg"))
    assert (labels[:, 6:] == 2).all() and (labels[:, :6] == 1).all()
    assert [s.name for s in project_samples(project.root)] == ["a.jpg", "b.jpg"]  # what fine-tuning trains on

    out = tmp_path / "ade"
    assert main(["export", "--project", str(project.root), "--format", "ade20k", "--split", "val",
                 "--all-corrected", "--out", str(out), "--quiet"]) == 0
    stored = np.asarray(Image.open(out / "annotations" / "validation" / "b.png"))
    assert (stored[:, 6:] == 2).all() and (stored[:, :6] == 0).all()  # background: ADE's 0 ("other")
    assert (out / "classes.txt").read_text() == "cat\ndog\n"


def test_import_names_a_source_it_cannot_read(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    assert main(["import", "--project", str(tmp_path / "p"), "--format", "voc", str(tmp_path / "nothing")]) == 2
    assert "no SegmentationClass or SegmentationClassAug folder in" in capsys.readouterr().err
    assert main(["import", "--project", str(tmp_path / "p"), str(tmp_path / "p")]) == 2
    assert "give --format" in capsys.readouterr().err


def test_export_says_why_an_image_or_the_output_folder_cannot_be_used(tmp_path, capsys):
    _folder(tmp_path / "photos")
    root = tmp_path / "photos"
    assert main(["import", "--project", str(root), "--add-classes", "--quiet", str(root)]) == 0
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(root / "c.jpg")  # an image nobody labelled
    outside = tmp_path / "elsewhere.jpg"
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(outside)
    out = tmp_path / "voc"
    assert main(["export", "--project", str(root), "--format", "voc", "--out", str(out),
                 "a.jpg", "c.jpg", "gone.jpg", str(outside)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and ".mask" not in err  # never the project's inner file
    assert "c.jpg: it has no labels in the project" in err
    assert "gone.jpg: no such image in the project" in err
    assert f"elsewhere.jpg: not in the project folder {root}" in err
    assert (out / "SegmentationClass" / "a.png").is_file()
    (tmp_path / "taken").write_text("a file where the folder would go")
    assert main(["export", "--project", str(root), "--format", "voc", "--out", str(tmp_path / "taken"),
                 "a.jpg"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "cannot write the export into" in err and "taken" in err


def test_export_refuses_the_project_folder_itself_and_its_data_folder(tmp_path, capsys):
    _folder(tmp_path / "photos")
    root = tmp_path / "photos"
    assert main(["import", "--project", str(root), "--add-classes", "--quiet", str(root)]) == 0
    assert main(["export", "--project", str(root), "--format", "voc", "--out", str(root), "a.jpg"]) == 2
    assert "is the project folder" in capsys.readouterr().err
    assert main(["export", "--project", str(root), "--format", "voc", "--out", str(root / ".gcnet" / "voc"),
                 "a.jpg"]) == 2
    assert "inside the project's own data folder" in capsys.readouterr().err
    assert not [p for p in root.rglob("*") if p.name in ("JPEGImages", "labelmap.txt", ".gcnet-output", "voc")]
    assert main(["export", "--project", str(root), "--format", "voc", "--out", str(root / "voc"), "a.jpg"]) == 0
    assert (root / "voc" / ".gcnet-output").is_file()  # a sub-folder is fine: marked, a scan leaves it out
