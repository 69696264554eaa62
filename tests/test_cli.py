"""The `gcnet` command end to end on the shared photographs (small-scale entries, CPU)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gcnet_core.cli.main import main
from gcnet_core.files.outputs import OUTPUT_MARKER
from gcnet_core.paths import cache_folder
from gcnet_core.weights.zoo import get_entry

from helpers import SHARED_IMAGES, SLIDE_CS, WHOLE_ADE, register_entry, small_entry


@pytest.fixture
def photos(tmp_path):
    """The five shared photos in a nested folder, plus one corrupt file among them."""
    root = tmp_path / "photos"
    (root / "nested").mkdir(parents=True)
    for i, path in enumerate(sorted(SHARED_IMAGES.iterdir())):
        if path.suffix in (".png", ".jpg"):
            shutil.copy(path, root / ("nested" if i % 2 else "") / path.name)
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff this file was cut short")
    return root


def test_predict_writes_indexed_masks_and_reports_bad_inputs(photos, tmp_path, monkeypatch, capsys, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    out = tmp_path / "masks"
    code = main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
                 "--out", str(out), "--quiet", str(photos)])
    captured = capsys.readouterr()
    assert code == 1  # one input failed ...
    assert "corrupt.jpg" in captured.err and "1 input(s) could not be segmented" in captured.err
    masks = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert masks == ["astronaut.png", "chelsea.png", "nested/camera.png", "nested/coffee.png", "rocket.png"]
    for mask_path in out.rglob("*.png"):  # ... but every good image was written
        mask = Image.open(mask_path)
        source = next(photos.rglob(mask_path.stem + ".*"))
        assert mask.mode == "P" and mask.size == Image.open(source).size
        assert mask.getpalette()[:6] == [120, 120, 120, 180, 120, 120]  # ADE20K wall, building
        assert np.asarray(mask).max() < 150
    assert not list(out.rglob("*.tmp*"))
    assert (out / OUTPUT_MARKER).read_text().startswith("gcnet predict output")  # a project scan skips it


def test_skip_existing_resumes_an_interrupted_run(photos, tmp_path, monkeypatch, capsys, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    (photos / "corrupt.jpg").unlink()
    out = tmp_path / "masks"
    args = ["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
            "--out", str(out), "--quiet", "--skip-existing", str(photos)]
    assert main(args) == 0
    kept = out / "nested" / "coffee.png"
    before = kept.stat().st_mtime_ns
    (out / "astronaut.png").unlink()
    capsys.readouterr()
    assert main(args) == 0
    summary = capsys.readouterr().out
    assert "1 masks written" in summary and "4 already there" in summary
    assert (out / "astronaut.png").exists() and kept.stat().st_mtime_ns == before


@pytest.mark.parametrize("fmt", ["color", "overlay", "cityscapes-labelids"])
def test_other_output_formats(fmt, tmp_path, monkeypatch, cityscapes_checkpoint):
    register_entry(monkeypatch, small_entry(SLIDE_CS, base_scale=(65, 33), crop=(33, 33), stride=(17, 17)))
    out = tmp_path / fmt
    code = main(["predict", "--model", SLIDE_CS, "--checkpoint", str(cityscapes_checkpoint), "--device", "cpu",
                 "--format", fmt, "--out", str(out), "--quiet", str(SHARED_IMAGES / "chelsea.png")])
    assert code == 0
    written = np.asarray(Image.open(out / "chelsea.png"))
    if fmt == "cityscapes-labelids":
        assert written.shape == (300, 451)
        assert set(np.unique(written)) <= {7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33}
    else:
        assert written.shape == (300, 451, 3)
        if fmt == "overlay":  # blended with the photo: not a pure palette image
            palette = {tuple(c) for c in get_entry(SLIDE_CS).classes.palette}
            assert {tuple(c) for c in written.reshape(-1, 3)[:500]} - palette


def test_models_table_lists_all_entries_and_cache_state(capsys):
    entry = get_entry("gcnet_r101-d8_4xb4-20k_voc12aug-512x512")
    cache_folder().mkdir(parents=True, exist_ok=True)
    (cache_folder() / entry.checkpoint_filename).write_bytes(b"x")
    assert main(["models"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert len(rows) == 16
    voc = next(r for r in rows if r.startswith(entry.name))
    assert voc.split()[-1] == "yes" and "77.41" in voc and "R-101-D8" in voc
    assert sum(r.split()[-1] == "no" for r in rows) == 15


def test_download_from_a_local_file_checks_the_hash(tmp_path, capsys):
    wrong = tmp_path / "not-the-checkpoint.pth"
    wrong.write_bytes(b"not the real file")
    assert main(["download", WHOLE_ADE, "--from", str(wrong)]) == 1
    assert "error" in capsys.readouterr().err
    assert not list(cache_folder().glob("*.pth"))


def test_unknown_model_is_a_clean_error(capsys):
    assert main(["predict", "--model", "gcnet_r50-d8_nonsense", "--out", "x", "y.png"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_console_script_is_installed():
    exe = shutil.which("gcnet", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the gcnet console script is not installed in this environment"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("gcnet ")


def test_predict_under_torchrun_splits_the_inputs(photos, tmp_path, monkeypatch, ade_checkpoint):
    """Each torchrun process takes every WORLD_SIZE-th image from RANK: no overlap, none missed."""
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    (photos / "corrupt.jpg").unlink()
    written = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        out = tmp_path / f"rank{rank}"
        assert main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
                     "--out", str(out), "--quiet", str(photos)]) == 0
        written.append({p.relative_to(out).as_posix() for p in out.rglob("*.png")})
    assert len(written[0]) == 3 and len(written[1]) == 2 and not written[0] & written[1]
