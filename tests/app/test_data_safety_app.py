"""Issue 12 in the window: no drawn label is lost, no failure is silent (pytest-qt, offscreen, CPU)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtTest import QTest  # noqa: E402

from app.window import MainWindow  # noqa: E402
from gcnet_core.files.masks import read_index_mask, write_index_mask  # noqa: E402
from gcnet_core.model.classes import ClassSet  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402

from broken_files import mixed_folder  # noqa: E402
from helpers import WHOLE_ADE, small_scale_gcnet_command  # noqa: E402
from test_window import ScriptedPrompter, at, drag, make_window  # noqa: E402,F401 (make_window: a fixture)

CLASSES = ClassSet(("road", "car"), ((128, 64, 128), (0, 0, 142)))


@pytest.fixture
def window(make_window):
    """A window whose message boxes are recorded (test_window's fixture)."""
    return lambda batch_command=None: make_window(ScriptedPrompter(), batch_command=batch_command)


def project_with_one_image(root: Path, size=(40, 30)) -> Project:
    root.mkdir(parents=True)
    Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(root / "a.png")
    return Project.create(root, CLASSES)


def open_project(qtbot, win: MainWindow, root: Path, count: int = 1) -> None:
    assert win.open_folder(root)
    qtbot.waitUntil(lambda: win.files.model.rowCount() == count and not win.scanning, timeout=5000)


def test_unknown_class_values_are_kept_shown_and_saved_back(qtbot, window, tmp_path):
    project = project_with_one_image(tmp_path / "p")
    labels = np.zeros((30, 40), np.uint8)
    labels[:, 30:] = 7  # class 7 of a table that has two
    write_index_mask(project.label_path("a.png"), labels, CLASSES)
    win = window()
    open_project(qtbot, win, project.root)
    qtbot.waitUntil(lambda: win.session.document is not None, timeout=5000)
    assert "7 (300 px)" in win.statusBar().currentMessage()
    assert (win.canvas.overlay_color_table()[7] >> 24) > 0  # drawn, not transparent
    QTest.mouseMove(win.canvas.viewport(), at(win, 35, 10))
    qtbot.waitUntil(lambda: "unknown class 7" in win.status_labels.cursor.text(), timeout=2000)
    win.canvas.set_current_class(1)
    drag(win, [(5, 5), (10, 5), (15, 5)])
    win.flush()
    saved = read_index_mask(project.label_path("a.png"))
    assert (saved[:, 30:] == 7).all()  # never turned into 255
    assert (saved[5, 5:16] == 1).all()


@pytest.mark.parametrize("damage", ["other size", "colour image", "truncated"])
def test_an_unusable_mask_goes_to_the_backups_before_anything_replaces_it(qtbot, window, tmp_path, damage):
    project = project_with_one_image(tmp_path / "p")
    label = project.label_path("a.png")
    label.parent.mkdir(parents=True, exist_ok=True)
    if damage == "other size":
        write_index_mask(label, np.ones((10, 10), np.uint8), CLASSES)
    elif damage == "colour image":
        Image.fromarray(np.full((30, 40, 3), 200, np.uint8)).save(label, format="PNG")
    else:
        write_index_mask(label, np.random.default_rng(0).integers(0, 2, (30, 40)).astype(np.uint8), CLASSES)
        label.write_bytes(label.read_bytes()[:60])
    original = label.read_bytes()
    win = window()
    open_project(qtbot, win, project.root)
    qtbot.waitUntil(lambda: win.session.document is not None, timeout=5000)
    assert len(win.prompter.infos) == 1 and "backups" in win.prompter.infos[0]
    backups = [p for p in project.backups_root.rglob("*") if p.is_file()]
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert backups[0].relative_to(project.root).as_posix() in win.prompter.infos[0]
    drag(win, [(5, 5), (20, 5)])
    win.flush()
    assert read_index_mask(label).shape == (30, 40)  # the new mask, the person's strokes in it
    assert backups[0].read_bytes() == original  # and the old file is still whole


def test_an_invalid_class_table_gets_a_dialog_and_is_not_opened(qtbot, window, tmp_path):
    project = project_with_one_image(tmp_path / "p")
    text = project.path.read_text(encoding="utf-8").replace("[\n        0,\n        0,\n        142\n      ]",
                                                            "[300, -5, 0]")
    assert "[300, -5, 0]" in text
    project.path.write_text(text, encoding="utf-8")
    win = window()
    assert not win.open_folder(project.root)
    assert len(win.prompter.warnings) == 1
    assert "[300, -5, 0]" in win.prompter.warnings[0] and "'car'" in win.prompter.warnings[0]
    assert win.session.project is None


def test_a_colour_table_with_out_of_range_values_never_overflows():
    from app.canvas.layers import label_color_table

    bad = types.SimpleNamespace(palette=((300, -5, 0),) * 300)  # what a bypassed check would give
    table = label_color_table(bad, 0.5)
    assert len(table) == 256 and all(0 <= v < 2**32 for v in table)
    assert table[0] == (128 << 24) | (255 << 16)


def test_batch_results_are_placed_on_the_writer_thread(qtbot, window, tmp_path, monkeypatch):
    project = project_with_one_image(tmp_path / "p")
    win = window()
    open_project(qtbot, win, project.root)
    staged = tmp_path / "staged.png"
    write_index_mask(staged, np.ones((30, 40), np.uint8), CLASSES)
    target = project.label_path("a.png")
    threads = []
    real_replace = os.replace

    def spy(src, dst):
        if Path(dst) == target:
            threads.append(threading.current_thread())
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    assert win.session.place_staged("a.png", staged, None, model="m", classes=CLASSES)  # what a batch result does
    qtbot.waitUntil(lambda: win.session.project.state("a.png") == "predicted", timeout=5000)
    assert threads and threads[0] is not threading.main_thread()
    assert (read_index_mask(target) == 1).all()


def test_class_removal_waits_for_a_running_batch(qtbot, window, tmp_path):
    from app.workers.inference import ModelConfig

    project = project_with_one_image(tmp_path / "p")
    win = window(batch_command=[sys.executable, "-c", "import time; time.sleep(60)"])  # a batch that runs on
    open_project(qtbot, win, project.root)
    win.batch.start(project.root, project.staging_folder("batch"), [project.root / "a.png"], ModelConfig(WHOLE_ADE))
    try:
        win.classes_panel.removeRequested.emit(0)
    finally:
        win.batch.cancel()
        win.batch.wait()
    assert "Segment all is running" in win.prompter.warnings[-1]
    assert win.session.project.classes == CLASSES


def test_inference_failures_reach_the_log_with_their_traceback(caplog, tmp_path):
    from app.workers.inference import InferenceRequest, InferenceWorker, ModelConfig

    worker = InferenceWorker()
    failures = []
    worker.failed.connect(lambda request_id, message: failures.append(message))
    with caplog.at_level(logging.ERROR):
        worker.run(InferenceRequest(1, tmp_path / "a.png", ModelConfig("gcnet_r50-d8_no-such-model")))
    assert failures and "no-such-model" in failures[0]
    record = next(r for r in caplog.records if r.name == "gcnet_annotator.inference")
    assert record.exc_info is not None and "a.png" in record.getMessage()


def test_free_gpu_memory_comes_from_nvml_never_from_a_cuda_context(monkeypatch):
    import torch

    from app.finetune import gpu

    asked = []
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlShutdown=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: asked.append(i) or f"handle{i}",
        nvmlDeviceGetHandleByUUID=lambda u: asked.append(u) or u,
        nvmlDeviceGetMemoryInfo=lambda handle: types.SimpleNamespace(free=5 * 2**30))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: pytest.fail("a CUDA context in the GUI"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert gpu.cuda_free_bytes("cuda:1") == 5 * 2**30 and asked == [1]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-abc")
    assert gpu.cuda_free_bytes("cuda") == 5 * 2**30 and asked[-1] == "GPU-abc"
    share = gpu.GpuShare()
    share.training_device = "cuda:0"
    assert share.inference_device("auto")[0] == "auto"


def test_the_real_memory_check_creates_no_cuda_context():
    import torch

    from app.finetune.gpu import cuda_free_bytes

    value = cuda_free_bytes("cuda:0")
    assert value is None or value > 0
    assert not torch.cuda.is_initialized()


def test_mixed_folder_in_the_window_no_crash_no_lost_mask(qtbot, window, tmp_path, ade_checkpoint):
    """Every bad file of issue 12 beside the photos: browse them all, then Segment all."""
    root = tmp_path / "mixed"
    good, bad = mixed_folder(root)
    win = window(batch_command=small_scale_gcnet_command(WHOLE_ADE, (64, 32)))
    win.model_panel.select(WHOLE_ADE)
    total = len(good) + len(bad)
    open_project(qtbot, win, root, total)
    win.use_checkpoint(ade_checkpoint, WHOLE_ADE)
    rels = win.files.model.paths()
    for rel in rels:  # every file opens or says why, none crashes the window
        opened = win.open_image(rel)
        assert opened == (Path(rel).name not in bad), rel
        if not opened:
            assert Path(rel).name in win.statusBar().currentMessage()
    # a person corrects a.png before the batch: its same-stem neighbour must not replace it
    assert win.open_image("a.png")
    win.canvas.set_current_class(3)
    drag(win, [(5, 5), (60, 5), (120, 5)])
    win.flush()
    corrected = win.session.project.label_path("a.png").read_bytes()
    finished = []
    win.batch.finished.connect(finished.append)
    win.segment_all()
    qtbot.waitUntil(lambda: bool(finished), timeout=240000)
    summary = finished[0]
    assert summary.error is None, summary.error
    failed = {Path(p).name: m.lower() for p, m in summary.failed}
    for name, word in bad.items():  # named by the batch, or already by the folder scan (not queued)
        message = failed.get(name) or (win.files.model.problem(name) or "").lower()
        assert message, name
        if name in failed:
            assert word in message, (name, message)
    if failed:
        assert any(name in w for w in win.prompter.warnings for name in failed)
    win.flush()
    project = win.session.project
    assert project.label_path("a.png").read_bytes() == corrected
    assert project.label_path("a.jpg") != project.label_path("a.png")
    for image in good:
        rel = image.relative_to(root).as_posix()
        if rel != "a.png":
            assert project.state(rel) == "predicted", rel
            shape = read_index_mask(project.label_path(rel)).shape
            assert shape == Image.open(image).size[::-1], rel
    assert not list(project.data_root.glob("batch-*"))


def test_segment_all_failures_reach_the_log(qtbot, window, tmp_path, caplog):
    from app.workers.batch import BatchSummary

    project = project_with_one_image(tmp_path / "p")
    win = window()
    open_project(qtbot, win, project.root)
    with caplog.at_level(logging.WARNING, logger="gcnet_annotator.window"):
        win.batch.finished.emit(BatchSummary(total=2, written=1, failed=[("/x/b.png", "the PNG data is corrupt")],
                                             error="the segmentation process stopped (exit code 2)"))
    messages = [r.getMessage() for r in caplog.records if r.name == "gcnet_annotator.window"]
    assert "Segment all: /x/b.png: the PNG data is corrupt" in messages
    assert any("exit code 2" in m for m in messages)
    assert any("b.png" in w for w in win.prompter.warnings)
