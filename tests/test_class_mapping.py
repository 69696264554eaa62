"""The one class-mapping rule (issue 23 item 5): the rule on its own, then ``gcnet import`` with
``--map`` / ``--map-file``, the message for unknown labels, and a VOC dataset into a project
with ADE20K's classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from gcnet_core.cli.main import main
from gcnet_core.files.masks import read_index_mask
from gcnet_core.model.classes import ADE20K_CLASSES, ADE20K_PALETTE, VOC_CLASSES, VOC_PALETTE, ClassSet
from gcnet_core.project.class_mapping import (IGNORE, UNLABELLED, model_lut, parse_pairs, prediction_mapping,
                                              propose_mapping, read_mapping_file, remember_mapping,
                                              remembered_mapping)
from gcnet_core.project.store import Project

ADE = ClassSet(ADE20K_CLASSES, ADE20K_PALETTE)
VOC = ClassSet(VOC_CLASSES, VOC_PALETTE)


def test_same_name_then_spelling_then_synonym_then_background():
    mapping = propose_mapping(["person", "Potted_Plant", "pottedplant", "aeroplane", "motorbike", "Bed",
                               "background", "cat"], ADE)
    assert mapping.targets == {"person": "person", "Potted_Plant": "plant", "pottedplant": "plant",
                               "aeroplane": "airplane", "motorbike": "minibike", "Bed": "bed ",
                               "background": UNLABELLED}
    assert mapping.undecided == ("cat",)  # ADE20K has no cat: nothing is invented
    assert mapping.reasons["Potted_Plant"] == "synonym" and mapping.reasons["Bed"] == "same name, other spelling"
    assert mapping.names[-1] == "cat" and "cat -> ? (not a class of the project)" in mapping.lines()


def test_a_sources_ignore_label_is_ignore_not_a_new_class():
    # datumaro reads VOC's 255 as a label 'ignored' and keeps it as a category of its COCO export
    mapping = propose_mapping(["cat", "ignored", "__ignore__"], ClassSet(("cat",), ((1, 1, 1),)), add_unknown=True)
    assert mapping.targets == {"cat": "cat", "ignored": IGNORE, "__ignore__": IGNORE}
    assert mapping.reasons["ignored"] == "the source's ignore (void) label"
    assert propose_mapping(["ignored"], ClassSet(("ignored",), ((1, 1, 1),))).targets == {"ignored": "ignored"}


def test_tvmonitor_is_not_forced_onto_ade20k_but_is_cocos_tv():
    assert propose_mapping(["tvmonitor"], ADE).undecided == ("tvmonitor",)  # ADE20K splits it in two
    coco = ClassSet(("person", "tv"), ((1, 1, 1), (2, 2, 2)))
    assert propose_mapping(["tvmonitor"], coco).targets == {"tvmonitor": "tv"}


def test_a_declared_background_is_a_class_new_names_when_asked_and_choices_win():
    classes = ClassSet(("cat",), ((200, 0, 0),))
    mapping = propose_mapping(["_background_", "cat", "dog"], classes, background="_background_", add_unknown=True)
    assert mapping.targets == {"_background_": "background", "cat": "cat", "dog": "dog"} and not mapping.undecided
    with_background = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))
    assert propose_mapping(["_background_"], with_background, background="_background_").targets == {
        "_background_": "background"}
    chosen = propose_mapping(["cat", "dog"], classes, chosen={"cat": IGNORE}, remembered={"cat": "x", "dog": "cat"})
    assert chosen.targets == {"cat": IGNORE, "dog": "cat"}
    assert chosen.reasons == {"cat": "chosen", "dog": "as the last import from this source"}


def test_written_tables_and_their_errors(tmp_path):
    assert parse_pairs(["pottedplant=plant", " background = unlabelled ", "", "# a comment"]) == {
        "pottedplant": "plant", "background": "unlabelled"}
    with pytest.raises(ValueError, match="--map: 'plant' is not NAME=TARGET"):
        parse_pairs(["plant"])
    (tmp_path / "m.json").write_text(json.dumps({"pottedplant": "plant"}))
    (tmp_path / "m.txt").write_text("pottedplant=plant\ncat=\n")
    (tmp_path / "bad.json").write_text("{nope")
    assert read_mapping_file(tmp_path / "m.json") == {"pottedplant": "plant"}
    with pytest.raises(ValueError, match=r"m.txt: line 2"):
        read_mapping_file(tmp_path / "m.txt")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_mapping_file(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="cannot read the mapping file"):
        read_mapping_file(tmp_path / "missing.txt")


def test_the_keywords_in_other_spellings_are_keywords_not_new_classes(tmp_path):
    assert parse_pairs(["a=Ignore", "b=__ignore__", "c=ignored", "d=unlabeled", "e=Unlabelled", "f=ignore me"]) == {
        "a": IGNORE, "b": IGNORE, "c": IGNORE, "d": UNLABELLED, "e": UNLABELLED, "f": "ignore me"}
    (tmp_path / "m.json").write_text(json.dumps({"bicycle": "__ignore__", "background": "UNLABELED"}))
    assert read_mapping_file(tmp_path / "m.json") == {"bicycle": IGNORE, "background": UNLABELLED}


def test_a_table_is_remembered_per_source(tmp_path):
    project = Project.create(tmp_path / "p", VOC)
    remember_mapping(project, tmp_path / "voc", {"pottedplant": "plant"})
    remember_mapping(project, tmp_path / "p" / "labels", {"cat": "dog"})
    assert remembered_mapping(project, tmp_path / "voc") == {"pottedplant": "plant"}
    assert remembered_mapping(project, tmp_path / "p" / "labels") == {"cat": "dog"}
    assert remembered_mapping(project, tmp_path / "other") == {}
    stored = json.loads(project.class_mappings_path.read_text())
    assert set(stored["sources"]) == {(tmp_path / "voc").resolve().as_posix(), "labels"}
    for damaged in ("{nope", '{"sources": []}', '{"sources": {"labels": 3}}', "[]"):
        project.class_mappings_path.write_text(damaged)
        assert remembered_mapping(project, tmp_path / "p" / "labels") == {}  # proposed afresh, never a traceback
    remember_mapping(project, tmp_path / "voc", {"cat": "dog"})
    assert remembered_mapping(project, tmp_path / "voc") == {"cat": "dog"}


def test_model_lut_maps_a_models_classes_through_the_table():
    lut = model_lut(ADE, VOC, {"plant": "pottedplant", "wall": UNLABELLED, "sky": "no such class"})
    assert lut[ADE20K_CLASSES.index("plant")] == VOC_CLASSES.index("pottedplant")
    assert lut[ADE20K_CLASSES.index("person")] == VOC_CLASSES.index("person")  # by name, as before
    assert lut[ADE20K_CLASSES.index("wall")] == lut[ADE20K_CLASSES.index("sky")] == 255


def test_a_models_classes_without_a_counterpart_are_unlabelled_never_new():
    mapping = prediction_mapping(ADE, VOC, chosen={"plant": "pottedplant"})
    assert not mapping.undecided and mapping.targets["plant"] == "pottedplant"
    assert mapping.targets["airplane"] == "aeroplane" and mapping.targets["wall"] == UNLABELLED
    assert mapping.reasons["wall"] == "no such class in the project" and mapping.reasons["plant"] == "chosen"


# ------------------------------------------------------------------------------ gcnet import
def _voc_into_ade(tmp_path):
    """Two VOC images holding background, person, potted plant and the void border, and a
    project using ADE20K's classes."""
    root = tmp_path / "photos"
    root.mkdir()
    voc = tmp_path / "VOC2012"
    (voc / "SegmentationClass").mkdir(parents=True)
    for i, name in enumerate(("2007_000032", "2007_000039")):
        Image.fromarray(np.full((12, 16, 3), 40 * i, np.uint8)).save(root / f"{name}.jpg")
        values = np.zeros((12, 16), np.uint8)
        values[2:6, 2:6] = VOC_CLASSES.index("person")
        values[6:10, 8:14] = VOC_CLASSES.index("pottedplant")
        values[11, :] = 255
        label = Image.fromarray(values, mode="L").convert("P")
        label.putpalette([c for colour in VOC_PALETTE for c in colour])
        label.save(voc / "SegmentationClass" / f"{name}.png")
    Project.create(root, ADE)
    return root, voc


def test_unknown_labels_stop_the_import_before_anything_is_written(tmp_path, capsys):
    root, voc = _voc_into_ade(tmp_path)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert main(["import", "--project", str(root), "--quiet", str(voc)]) == 1
    err = capsys.readouterr().err
    for name in ("bird", "cat", "cow", "dog", "horse", "sheep", "train", "tvmonitor"):
        assert repr(name) in err
    assert "--add-classes" in err and "--map NAME=TARGET" in err and "--map-file" in err
    assert "'pottedplant'" not in err and "'background'" not in err  # mapped by the rule
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_voc_into_ade20k_background_unlabelled_pottedplant_plant_every_file_imported(tmp_path, capsys):
    root, voc = _voc_into_ade(tmp_path)
    (tmp_path / "animals.json").write_text(json.dumps({n: "animal" for n in ("bird", "cat", "cow", "dog", "horse",
                                                                              "sheep")}))
    assert main(["import", "--project", str(root), "--map-file", str(tmp_path / "animals.json"),
                 "--map", "train=ignore", "--map", "tvmonitor=television receiver", "--map", "dog=ignore",
                 str(voc)]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "imported 2 label file(s) (voc)" in captured.out
    assert "class 'pottedplant' -> 'plant' (synonym)" in captured.err  # what the rule decided is said
    assert "class 'dog' -> 'ignore' (chosen)" in captured.err and "class 'person'" not in captured.err
    project = Project.open(root)
    assert project.classes == ADE  # nothing added: background went nowhere, pottedplant is ADE's plant
    for name in ("2007_000032.jpg", "2007_000039.jpg"):
        labels, edited = read_index_mask(project.label_path(name)), project.read_edited(name)
        assert (labels[2:6, 2:6] == ADE20K_CLASSES.index("person")).all()
        assert (labels[6:10, 8:14] == ADE20K_CLASSES.index("plant")).all()
        assert labels[0, 0] == 255 and not edited[0, 0]  # unlabelled: left for a model to fill
        assert edited[2:6, 2:6].all() and edited[6:10, 8:14].all()
    remembered = remembered_mapping(project, voc)
    assert remembered["dog"] == "ignore" and remembered["cat"] == "animal"  # --map wins over --map-file
    assert remembered["pottedplant"] == "plant" and remembered["background"] == UNLABELLED


def test_map_to_ignore_marks_the_pixels_a_decision_and_a_second_import_proposes_the_table(tmp_path, capsys):
    root, voc = _voc_into_ade(tmp_path)
    args = ["import", "--project", str(root), "--quiet", "--add-classes", "--replace", str(voc)]
    assert main(args[:-1] + ["--map", "pottedplant=ignore", str(voc)]) == 0, capsys.readouterr().err
    project = Project.open(root)
    labels, edited = read_index_mask(project.label_path("2007_000032.jpg")), project.read_edited("2007_000032.jpg")
    assert (labels[6:10, 8:14] == 255).all() and edited[6:10, 8:14].all()  # ignore: kept out, no model fills it
    assert main(args) == 0  # no --map now: the remembered table still sends pottedplant to ignore
    labels = read_index_mask(Project.open(root).label_path("2007_000032.jpg"))
    assert (labels[6:10, 8:14] == 255).all()
    capsys.readouterr()


def test_a_map_for_a_name_the_source_lacks_is_noted_and_a_bad_map_is_an_error(tmp_path, capsys):
    root, voc = _voc_into_ade(tmp_path)
    assert main(["import", "--project", str(root), "--quiet", "--add-classes", "--map", "giraffe=animal",
                 str(voc)]) == 0
    assert "the source's class table has no 'giraffe'" in capsys.readouterr().err
    assert main(["import", "--project", str(root), "--quiet", "--map", "giraffe", str(voc)]) == 2
    assert "--map: 'giraffe' is not NAME=TARGET" in capsys.readouterr().err
    assert main(["import", "--project", str(root), "--quiet", "--map-file", str(tmp_path / "none.txt"),
                 str(voc)]) == 2
    assert "cannot read the mapping file" in capsys.readouterr().err


def test_a_coco_ignored_category_is_no_class_of_a_new_project(tmp_path, capsys):
    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(root / "a.jpg")
    square = [[0, 0, 6, 0, 6, 6, 0, 6]]
    corner = [[6, 6, 10, 6, 10, 10, 6, 10]]
    (tmp_path / "coco.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "ignored"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": square, "area": 36, "iscrowd": 0},
                        {"id": 2, "image_id": 1, "category_id": 2, "segmentation": corner, "area": 16,
                         "iscrowd": 0}]}))
    assert main(["import", "--project", str(root), "--quiet", str(tmp_path / "coco.json")]) == 0
    project = Project.open(root)
    labels = read_index_mask(project.label_path(root / "a.jpg"))
    assert project.classes.names == ("cat",)
    assert labels[0, 0] == 0 and labels[9, 9] == 255
