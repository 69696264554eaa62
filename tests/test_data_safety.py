"""Issue 12: bad images, broken weights and damaged projects give clear errors; no label is lost."""

from __future__ import annotations

import json
import os
import stat
import sys

import numpy as np
import pytest
from PIL import Image

from gcnet_core.cli.main import main
from gcnet_core.files.images import ImageReadError, read_image_rgb
from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.model.classes import ClassSet
from gcnet_core.project.store import Project, ProjectError

from broken_files import (crc_damaged_png, huge_header_png, mixed_folder, non_finite_checkpoint, same_stem_pair,
                          thin_png)
from helpers import SHARED_IMAGES, WHOLE_ADE, register_entry, small_entry


@pytest.fixture
def small_ade(monkeypatch, ade_checkpoint):
    """The ADE20K R50 entry at a small test scale, and the arguments that run it on the CPU."""
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    return ["--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu"]


def _model(ade_checkpoint):
    from gcnet_core import init_model

    return init_model(WHOLE_ADE, ade_checkpoint, device="cpu")


# --------------------------------------------------------------------------- folder runs
def test_mixed_folder_every_good_image_gets_its_mask_every_bad_one_a_named_error(
        tmp_path, small_ade, ade_checkpoint, capsys):
    from gcnet_core.predict.running import inference

    good, bad = mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["predict", *small_ade, "--out", str(out), "--quiet", "--batch-size", "2", str(tmp_path / "in")])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{len(bad)} input(s) could not be segmented" in err
    lines = {line.strip().split(":")[0]: line.lower() for line in err.splitlines() if line.startswith("  ")}
    for name, word in bad.items():
        line = lines[str(tmp_path / "in" / name)]
        assert word in line, line
        assert not (out / name).with_suffix(".png").exists()
    model = _model(ade_checkpoint)
    expected_names = {"astronaut.png", "nested/camera.png", "rocket.png", "a.png.png", "a.jpg.png", "thin.png"}
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.png")} == expected_names
    for image in good:
        rel = image.relative_to(tmp_path / "in")
        mask = out / (rel.with_name(rel.name + ".png") if rel.stem == "a" else rel.with_suffix(".png"))
        np.testing.assert_array_equal(read_index_mask(mask), inference(model, image).labels, err_msg=str(rel))
    assert "a.png.png" in err and "a.jpg.png" in err  # the renaming is said
    assert not list(out.rglob("*.tmp"))


def test_thin_image_is_segmented_not_a_crash(tmp_path, ade_checkpoint, small_ade):
    from gcnet_core.predict.running import inference

    path = thin_png(tmp_path / "thin.png")
    result = inference(_model(ade_checkpoint), path)
    assert result.labels.shape == (5000, 1)


def test_a_failing_image_inside_a_batch_fails_alone(tmp_path, ade_checkpoint, small_ade, monkeypatch):
    """An error in the network (not in decoding) is that image's, named, and the run goes on."""
    from gcnet_core.predict.folder import segment_files

    paths = []
    for i, value in enumerate((10, 200, 90)):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((20, 30, 3), value, np.uint8)).save(paths[-1])
    model = _model(ade_checkpoint)
    predictor = model.predictor()
    original = predictor.predict_batch

    def fail_on_bright(images, *args, **options):
        if any(int(image[0, 0, 0]) == 200 for image in images):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        return original(images, *args, **options)

    monkeypatch.setattr(predictor, "predict_batch", fail_on_bright)
    targets = {p: tmp_path / "out" / p.name for p in paths}
    outcomes = list(segment_files(model, paths, targets, batch_size=3))
    assert [o.ok for o in outcomes] == [True, False, True], [o.error for o in outcomes]
    assert "1.png" in outcomes[1].error and "30x20" in outcomes[1].error and "allocate" in outcomes[1].error
    assert targets[paths[0]].exists() and targets[paths[2]].exists() and not targets[paths[1]].exists()


def test_huge_image_is_refused_from_its_header_with_size_and_limit(tmp_path):
    path = huge_header_png(tmp_path / "huge.png")
    assert path.stat().st_size < 200
    with pytest.raises(ImageReadError) as info:
        read_image_rgb(path)
    message = str(info.value)
    assert "huge.png" in message and "20000x20000" in message and "100 megapixels" in message


def test_the_size_limit_is_an_option(tmp_path, small_ade, capsys):
    photo = tmp_path / "chelsea.png"  # 451x300 = 0.135 MP
    photo.write_bytes((SHARED_IMAGES / "chelsea.png").read_bytes())
    out = tmp_path / "out"
    assert main(["predict", *small_ade, "--max-megapixels", "0.1", "--out", str(out), "--quiet", str(photo)]) == 1
    assert "451x300" in capsys.readouterr().err and not (out / "chelsea.png").exists()
    assert main(["predict", *small_ade, "--max-megapixels", "0.2", "--out", str(out), "--quiet", str(photo)]) == 0
    assert (out / "chelsea.png").exists()


def test_png_with_a_crc_error_is_never_decoded(tmp_path):
    path = crc_damaged_png(tmp_path / "crc.png")
    with pytest.raises(ImageReadError) as info:
        read_image_rgb(path)
    assert "crc.png" in str(info.value) and "CRC error in chunk IDAT" in str(info.value)


def test_same_stem_inputs_get_distinct_outputs(tmp_path, small_ade, capsys):
    png, jpg = same_stem_pair(tmp_path)
    out = tmp_path / "out"
    assert main(["predict", *small_ade, "--out", str(out), "--quiet", str(png), str(jpg)]) == 0
    shapes = {p.name: read_index_mask(p).shape for p in out.glob("*.png")}  # beside the .gcnet-output marker
    assert shapes == {"a.png.png": (300, 451), "a.jpg.png": (400, 600)}


def test_an_output_name_clash_that_cannot_be_resolved_is_refused_before_writing(tmp_path):
    from gcnet_core.cli.outputs import OutputError, output_names

    (tmp_path / "x").mkdir()
    inputs = [tmp_path / "x" / "a.png", tmp_path / "x" / "a.jpg", tmp_path / "x" / "a.png.png"]
    with pytest.raises(OutputError, match="nothing was written"):
        output_names(inputs, [tmp_path])


@pytest.mark.parametrize("how", ["read-only", "under a file"])
def test_unwritable_output_is_refused_before_the_model_loads(tmp_path, small_ade, capsys, monkeypatch, how):
    from gcnet_core import api

    out = tmp_path / "out"
    if how == "read-only":
        if os.name != "posix" or os.geteuid() == 0:
            pytest.skip("needs POSIX permissions and a user other than root")
        out.mkdir()
        out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
    monkeypatch.setattr(api, "init_model", lambda *a, **k: pytest.fail("the model was loaded"))
    try:
        code = main(["predict", *small_ade, "--out", str(out), "--quiet", str(SHARED_IMAGES / "chelsea.png")])
    finally:
        if how == "read-only":
            out.chmod(stat.S_IRWXU)
    assert code == 2
    assert f"cannot write masks to {out}" in capsys.readouterr().err


def test_debug_prints_tracebacks(tmp_path, small_ade, capsys):
    crc_damaged_png(tmp_path / "crc.png")
    args = ["predict", *small_ade, "--out", str(tmp_path / "out"), "--quiet", str(tmp_path / "crc.png")]
    assert main(args) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert main(["--debug", *args]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ImageReadError" in err
    assert main(["--debug", "predict", "--model", "gcnet_r50-d8_nonsense", "--out", "x", "y.png"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err


# --------------------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensors(tmp_path, ade_checkpoint, small_ade, value, capsys):
    from gcnet_core.weights.checkpoint import NonFiniteWeightsError

    broken = non_finite_checkpoint(ade_checkpoint, tmp_path / "broken.pth", value,
                                   keys=("decode_head.conv_seg.weight", "backbone.stem.0.weight"))
    with pytest.raises(NonFiniteWeightsError) as info:
        _model(broken)
    message = str(info.value)
    assert "decode_head.conv_seg.weight" in message and "backbone.stem.0.weight" in message
    assert "broken.pth" in message
    small_ade[small_ade.index("--checkpoint") + 1] = str(broken)
    assert main(["predict", *small_ade, "--out", str(tmp_path / "out"), "--quiet",
                 str(SHARED_IMAGES / "chelsea.png")]) == 2
    assert "non-finite" in capsys.readouterr().err and not (tmp_path / "out" / "chelsea.png").exists()


# --------------------------------------------------------------------------- projects
CLASSES = ClassSet(("road", "car"), ((128, 64, 128), (0, 0, 142)))


def _project(tmp_path, classes=CLASSES) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(root / "a.png")
    return Project.create(root, classes)


def _write_classes(project: Project, classes: list) -> None:
    data = json.loads(project.path.read_text(encoding="utf-8"))
    data["classes"] = classes
    project.path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("classes, words", [
    ([{"name": "road", "color": [300, -5, 0]}], ["class 0", "'road'", "[300, -5, 0]", "0 to 255"]),
    ([{"name": f"c{i}", "color": [i % 256, 0, 0]} for i in range(256)], ["256 classes", "at most 255"]),
    ([{"name": "road", "color": [1, 2]}], ["[r, g, b]"]),
])
def test_an_invalid_class_table_is_reported_when_the_project_opens(tmp_path, classes, words):
    project = _project(tmp_path)
    _write_classes(project, classes)
    with pytest.raises(ProjectError) as info:
        Project.open(project.root)
    for word in words:
        assert word in str(info.value)
    assert "gcnet-project.json" in str(info.value)


def test_deeply_nested_json_is_a_project_error(tmp_path):
    project = _project(tmp_path)
    project.path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")  # 400 KB
    with pytest.raises(ProjectError, match="nested too deeply"):
        Project.open(project.root)


def test_leftover_temporary_files_are_removed_when_the_project_opens(tmp_path):
    project = _project(tmp_path)
    label = project.label_path("a.png")
    write_index_mask(label, np.zeros((6, 8), np.uint8), CLASSES)
    old = [project.root / ".gcnet-project.json.k3j9x_2a.tmp", label.parent / f".{label.name}.ab12cd34.tmp"]
    fresh = label.parent / f".{label.name}.zz99yy88.tmp"  # a save in progress right now
    keep = [project.root / "photo.tmp", project.root / "a.png"]
    for path in old + [fresh, keep[0]]:
        path.write_bytes(b"half a file")
    for path in old + [keep[0]]:
        os.utime(path, (1_000_000_000, 1_000_000_000))
    Project.open(project.root)
    assert not any(p.exists() for p in old)
    assert fresh.exists() and all(p.exists() for p in keep) and label.exists()


def test_same_stem_images_of_a_project_never_share_a_label_file(tmp_path):
    project = _project(tmp_path)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(project.root / "a.jpg")
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(project.root / "b.png")
    paths = {project.label_path(name) for name in ("a.png", "a.jpg")}
    assert len(paths) == 2 and len({project.edited_path(n) for n in ("a.png", "a.jpg")}) == 2
    assert project.label_path("b.png").name == "b" + project.label_path("b.png").suffix  # unchanged


def _label_project(tmp_path, values: np.ndarray) -> Project:
    project = _project(tmp_path, ClassSet(("a", "b", "c"), ((1, 1, 1), (2, 2, 2), (3, 3, 3))))
    write_index_mask(project.label_path("a.png"), values, project.classes)
    return project


def test_a_class_removal_is_all_or_nothing_across_a_crash(tmp_path, monkeypatch):
    from gcnet_core.project import renumber

    values = np.array([[0, 1, 2, 255] * 2] * 6, np.uint8)
    project = _label_project(tmp_path, values)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(project.root / "b.png")
    write_index_mask(project.label_path("b.png"), values, project.classes)
    lut = np.arange(256, dtype=np.uint8)
    lut[0], lut[1], lut[2] = 255, 0, 1
    smaller = ClassSet(("b", "c"), ((2, 2, 2), (3, 3, 3)))

    # killed while staging: nothing of the project changed, and the next open throws the stage away
    real_write = renumber.write_index_mask
    calls = []

    def die_on_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        real_write(*args)

    monkeypatch.setattr(renumber, "write_index_mask", die_on_second)
    with pytest.raises(KeyboardInterrupt):
        renumber.renumber_masks(project, lut, smaller)
    monkeypatch.setattr(renumber, "write_index_mask", real_write)
    reopened = Project.open(project.root)
    assert reopened.classes.names == ("a", "b", "c")
    for name in ("a.png", "b.png"):
        np.testing.assert_array_equal(read_index_mask(reopened.label_path(name)), values)
    assert not [p for p in (project.root / ".gcnet").iterdir() if p.name.startswith("renumber")]

    # killed after the commit point, one mask moved: the next open finishes the job
    real_replace = os.replace
    moved = []

    def die_after_first_move(src, dst):
        if "renumber-" in str(src) and not str(src).endswith(".tmp"):  # a staged mask moved into place
            moved.append(dst)
            if len(moved) == 2:
                raise KeyboardInterrupt("killed")
        return real_replace(src, dst)

    monkeypatch.setattr(renumber.os, "replace", die_after_first_move)
    with pytest.raises(KeyboardInterrupt):
        renumber.renumber_masks(Project.open(project.root), lut, smaller)
    monkeypatch.setattr(renumber.os, "replace", real_replace)
    reopened = Project.open(project.root)
    assert reopened.classes.names == ("b", "c")
    for name in ("a.png", "b.png"):
        np.testing.assert_array_equal(read_index_mask(reopened.label_path(name)), lut[values])
    assert not (project.root / ".gcnet" / renumber.MARKER).exists()


def test_a_label_file_two_same_stem_images_shared_before_stays_visible(tmp_path):
    project = _project(tmp_path)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(project.root / "a.jpg")
    from gcnet_core.project.store import LABEL_SUFFIX

    legacy = project.labels_root / f"a{LABEL_SUFFIX}"  # the one name both had before
    write_index_mask(legacy, np.ones((6, 8), np.uint8), CLASSES)
    reopened = Project.open(project.root)
    assert reopened.label_path("a.jpg") == legacy  # the first by name keeps it
    assert reopened.label_path("a.png") == project.labels_root / f"a.png{LABEL_SUFFIX}"
    write_index_mask(project.labels_root / f"a.jpg{LABEL_SUFFIX}", np.zeros((6, 8), np.uint8), CLASSES)
    assert Project.open(project.root).label_path("a.jpg") == project.labels_root / f"a.jpg{LABEL_SUFFIX}"
    assert legacy.exists()  # never deleted
