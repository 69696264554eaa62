"""The on-disk annotation project: round-trip, corruption safety, path mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gcnet_core.model.classes import DATASET_CLASSES, ClassSet
from gcnet_core.project.store import PROJECT_FILE, Project, ProjectError

CLASSES = ClassSet(("background", "cat"), ((0, 0, 0), (64, 0, 0)))


def touch_images(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not decoded by the project")


def test_create_save_reopen_round_trip(tmp_path):
    touch_images(tmp_path, "a.jpg", "sub/b.png")
    project = Project.create(tmp_path, CLASSES, model="gcnet_r50-d8_4xb4-40k_voc12aug-512x512")
    project.set_state(tmp_path / "a.jpg", "predicted", model="m1")
    project.set_state("sub/b.png", "corrected")
    project.save()

    data = json.loads((tmp_path / PROJECT_FILE).read_text())
    assert data["format"] == "gcnet-annotator-project" and data["version"] == 1
    assert data["classes"] == [{"name": "background", "color": [0, 0, 0]},
                               {"name": "cat", "color": [64, 0, 0]}]
    assert set(data["images"]) == {"a.jpg", "sub/b.png"}
    assert data["images"]["a.jpg"]["model"] == "m1"
    assert "updated" in data["images"]["a.jpg"]

    again = Project.open(tmp_path)
    assert again.classes == CLASSES
    assert again.model == "gcnet_r50-d8_4xb4-40k_voc12aug-512x512"
    assert again.state("a.jpg") == "predicted"
    assert again.image_model("a.jpg") == "m1"
    assert again.state(tmp_path / "sub" / "b.png") == "corrected"


def test_open_without_file_is_new_and_unsaved(tmp_path):
    project = Project.open(tmp_path, DATASET_CLASSES["voc"])
    assert len(project.classes) == 21
    assert project.model is None
    assert not (tmp_path / PROJECT_FILE).exists()


def test_create_refuses_existing_project(tmp_path):
    Project.create(tmp_path, CLASSES)
    with pytest.raises(ProjectError):
        Project.create(tmp_path, CLASSES)


@pytest.mark.parametrize("content", ["{ not json", '{"format": "something else"}', '[1, 2]',
                                     '{"format": "gcnet-annotator-project", "version": 1, '
                                     '"images": {"a.jpg": {"state": "bogus"}}}'])
def test_corrupt_json_raises_and_is_left_untouched(tmp_path, content):
    path = tmp_path / PROJECT_FILE
    path.write_text(content)
    with pytest.raises(ProjectError) as info:
        Project.open(tmp_path)
    assert str(path) in str(info.value)
    assert path.read_text() == content


def test_save_is_atomic_leaves_no_temp_files(tmp_path):
    project = Project.create(tmp_path, CLASSES)
    project.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == [PROJECT_FILE]


def test_label_paths_for_nested_folders(tmp_path):
    project = Project.create(tmp_path, CLASSES)
    image = tmp_path / "2024" / "day one" / "IMG_01.JPG"
    assert project.label_path(image) == tmp_path / ".gcnet" / "labels" / "2024" / "day one" / "IMG_01.mask"
    assert project.edited_path("2024/day one/IMG_01.JPG") == (
        tmp_path / ".gcnet" / "labels" / ".edited" / "2024" / "day one" / "IMG_01.mask")
    assert project.relative(image) == "2024/day one/IMG_01.JPG"


def test_image_scan_skips_labels_hidden_and_non_images(tmp_path):
    touch_images(tmp_path, "b.jpg", "a/c.PNG", "a/deep/d.jpeg", "notes.txt",
                 ".cache/x.jpg", "a/.hidden/y.png", ".dot.jpg",
                 "labels/b.png", "labels/.edited/b.png")
    project = Project.create(tmp_path, CLASSES)
    rels = [project.relative(p) for p in project.image_paths()]
    assert rels == ["a/c.PNG", "a/deep/d.jpeg", "b.jpg"]


def test_images_with_state(tmp_path):
    touch_images(tmp_path, "1.jpg", "2.jpg", "3.jpg", "4.jpg")
    project = Project.create(tmp_path, CLASSES)
    project.set_state("2.jpg", "predicted", model="m")
    project.set_state("3.jpg", "corrected")
    project.set_state("4.jpg", "exported")
    names = lambda paths: [p.name for p in paths]  # noqa: E731
    assert names(project.images_with_state("new")) == ["1.jpg"]
    assert names(project.images_with_state("corrected", "exported")) == ["3.jpg", "4.jpg"]
    # correcting keeps the record of which model predicted it; "new" forgets it
    project.set_state("2.jpg", "corrected")
    assert project.image_model("2.jpg") == "m"
    project.set_state("2.jpg", "new")
    assert project.image_model("2.jpg") is None
    with pytest.raises(ValueError):
        project.images_with_state("done")
    with pytest.raises(ValueError):
        project.set_state("1.jpg", "done")


def test_uncertainty_is_recorded_kept_through_states_and_saved(tmp_path):
    touch_images(tmp_path, "1.jpg", "2.jpg")
    project = Project.create(tmp_path, CLASSES)
    assert project.uncertainty("1.jpg") is None
    project.set_state("1.jpg", "predicted", model="m")
    project.set_uncertainty("1.jpg", 0.2345678)
    project.set_uncertainty("2.jpg", 0.5)  # predicted but kept aside: the image stays new
    project.set_state("1.jpg", "edited")  # the last prediction's uncertainty stays known
    project.save()
    reopened = Project.open(tmp_path)
    assert reopened.uncertainty("1.jpg") == pytest.approx(0.234568)
    assert reopened.state("2.jpg") == "new" and reopened.uncertainty("2.jpg") == 0.5
    reopened.set_state("2.jpg", "corrected")  # marked done (or imported): a person's mask, not the model's
    assert reopened.uncertainty("2.jpg") is None
    reopened.set_state("1.jpg", "new")  # cleared: no prediction any more
    assert reopened.uncertainty("1.jpg") is None
    reopened.set_uncertainty("2.jpg", None)  # nothing to clear: no error
    assert reopened.uncertainty("2.jpg") is None
