"""The project scan leaves out folders that hold our own outputs (issue 24 item 3)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from gcnet_core.files.outputs import OUTPUT_MARKER, mark_output_folder, skip_own_outputs
from gcnet_core.project.store import Project

from helpers import SHARED_IMAGES

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png")


def folder_with_predict_output(root: Path) -> Path:
    """Three photos, ``out/`` with their index masks (no marker) and ``out_color/`` with
    colour masks marked by ``gcnet predict``, as a person leaves them after predicting."""
    root.mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(SHARED_IMAGES / name, root / name)
    (root / "out").mkdir()
    (root / "out_color").mkdir()
    mark_output_folder(root / "out_color", "gcnet predict")
    for name in PHOTOS:
        Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(root / "out" / name)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "out_color" / name)
    (root / "out" / "nested").mkdir()  # goes with its folder
    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(root / "out" / "nested" / "a.png")
    return root


def scan(root: Path, include=()) -> tuple[list[str], dict[str, str]]:
    rels = [p.relative_to(root).as_posix() for p in Project(root, None).image_paths()]
    return skip_own_outputs(root, rels, include)


def test_predict_output_beside_the_photos_is_skipped_with_its_reason(tmp_path):
    root = folder_with_predict_output(tmp_path / "photos")
    kept, skipped = scan(root)
    assert kept == list(PHOTOS)
    assert skipped == {"out": "masks of the images beside it", "out_color": "gcnet predict output"}
    assert (root / "out_color" / OUTPUT_MARKER).read_text().startswith("gcnet predict output")


def test_an_included_output_folder_is_listed(tmp_path):
    root = folder_with_predict_output(tmp_path / "photos")
    kept, skipped = scan(root, include={"out"})
    assert set(kept) == {*PHOTOS, "out/astronaut.png", "out/chelsea.png", "out/coffee.png", "out/nested/a.png"}
    assert skipped == {"out_color": "gcnet predict output"}


def test_photo_folders_are_never_taken_for_masks(tmp_path):
    """Colour photos named like the ones above, grey photos with names of their own, and an
    export's marker above its image folders."""
    root = tmp_path / "photos"
    (root / "copies").mkdir(parents=True)
    (root / "grey").mkdir()
    for name in PHOTOS:
        shutil.copy(SHARED_IMAGES / name, root / name)
        shutil.copy(SHARED_IMAGES / name, root / "copies" / name)
    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(root / "grey" / "scan-001.png")
    export = root / "export" / "gtFine" / "train"
    export.mkdir(parents=True)
    mark_output_folder(root / "export", "gcnet export")
    Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(export / "x.png")
    kept, skipped = scan(root)
    assert set(kept) == {*PHOTOS, *(f"copies/{name}" for name in PHOTOS), "grey/scan-001.png"}
    assert skipped == {"export": "gcnet export output"}
