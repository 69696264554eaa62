"""Workers on their own: the predict JSON-lines protocol, the batch process, downloads, saving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from helpers import REPO, WHOLE_ADE, register_entry, small_entry  # noqa: E402

from app.workers.batch import BatchSegmenter, chunk_images  # noqa: E402
from app.workers.download import DownloadThread  # noqa: E402
from app.workers.inference import ModelConfig  # noqa: E402
from app.workers.saving import MaskSnapshot, SerialWriter  # noqa: E402
from gcnet_core.cli.main import main  # noqa: E402
from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES  # noqa: E402
from gcnet_core.project.renumber import removal_lut  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

VOC = DATASET_CLASSES["voc"]


def test_predict_progress_jsonl_events(tmp_path, monkeypatch, capsys, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(root / "sub" / "a.png")
    (root / "b.jpg").write_bytes(b"\xff\xd8\xff cut short")
    out = root / "labels" / ".batch-test"
    code = main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
                 "--progress", "jsonl", "--out", str(out), "--relative-to", str(root),
                 str(root / "b.jpg"), str(root / "sub" / "a.png")])
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]  # stdout is only JSON
    assert code == 1
    assert events[0] == {"event": "start", "total": 2, "skipped": 0}
    assert events[1]["event"] == "model" and len(events[1]["classes"]) == len(events[1]["palette"]) == 150
    images = [e for e in events if e["event"] == "image"]
    assert [(Path(e["path"]).name, e["ok"], e["done"], e["total"]) for e in images] == [
        ("b.jpg", False, 1, 2), ("a.png", True, 2, 2)]
    assert "truncated" in images[0]["error"] or "cannot read" in images[0]["error"]
    assert 0.0 <= images[1]["uncertainty"] <= 1.0 and "uncertainty" not in images[0]  # for "label next"
    assert events[-1]["event"] == "done" and events[-1]["written"] == 1
    assert [Path(f["path"]).name for f in events[-1]["failed"]] == ["b.jpg"]
    assert (out / "sub" / "a.png").exists()  # mirrored under --relative-to, not flattened
    assert "1 masks written" in captured.err


def test_chunks_respect_the_command_line_budget():
    images = [Path(f"/data/{i:03d}.png") for i in range(10)]
    chunks = chunk_images(images, budget=60)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert sum(chunks, []) == images
    assert chunk_images([]) == []


FAKE_PREDICT = textwrap.dedent("""
    import json, sys, time
    args = sys.argv[1:]
    out = args[args.index("--out") + 1]
    images = [a for a in args if a.endswith(".png")]
    print(json.dumps({"event": "start", "total": len(images)}), flush=True)
    print("some library chatter", flush=True)
    for i, path in enumerate(images, 1):
        time.sleep(float(sys.argv[1]))
        ok = "bad" not in path
        event = {"event": "image", "path": path, "ok": ok, "done": i, "total": len(images)}
        if not ok:
            event["error"] = "cannot read image"
        elif "huge" in path:
            event["note"] = "Not enough GPU memory for this 6000x4000 image: segmented on the CPU (slower)."
        print(json.dumps(event), flush=True)
    print(json.dumps({"event": "done", "written": 0, "failed": []}), flush=True)
""")


def fake_batch(tmp_path, delay: float) -> BatchSegmenter:
    script = tmp_path / "fake_predict.py"
    script.write_text(FAKE_PREDICT)
    return BatchSegmenter([sys.executable, str(script), str(delay)])


def test_batch_parses_events_stages_masks_and_summarises(qtbot, tmp_path):
    batch = fake_batch(tmp_path, 0.05)
    root = tmp_path / "proj"
    images = [root / "a.png", root / "sub" / "bad.png", root / "c.png"]
    segmented, progress = [], []
    batch.segmented.connect(lambda image, staged: segmented.append((image, staged)))
    batch.progress.connect(lambda done, total, eta: progress.append((done, total, eta)))
    with qtbot.waitSignal(batch.finished, timeout=20000) as blocker:
        batch.start(root, root / ".gcnet" / "batch-test", images, ModelConfig(WHOLE_ADE, device="cpu"))
        args = batch.arguments(images)
        assert args[args.index("--relative-to") + 1] == str(root)
        assert "--skip-existing" in args and "--checkpoint" not in args
    summary = blocker.args[0]
    assert summary.total == 3 and summary.written == 2 and not summary.cancelled and summary.error is None
    assert summary.failed == [(str(images[1]), "cannot read image")]
    assert [Path(i).name for i, _ in segmented] == ["a.png", "c.png"]
    assert Path(segmented[0][1]) == batch.staging / "a.png"
    assert batch.staging == root / ".gcnet" / "batch-test"  # the folder the caller named
    assert [d for d, _, _ in progress] == [1, 2, 3]
    assert progress[0][2] == -1 and progress[-1][2] == pytest.approx(0, abs=1e-6)
    assert not batch.running


def test_batch_collects_memory_fallback_notes(qtbot, tmp_path):
    batch = fake_batch(tmp_path, 0.01)
    root = tmp_path / "proj"
    with qtbot.waitSignal(batch.finished, timeout=20000) as blocker:
        batch.start(root, root / ".gcnet" / "batch-test", [root / "a.png", root / "huge.png"],
                    ModelConfig(WHOLE_ADE, device="cpu"))
    summary = blocker.args[0]
    assert summary.written == 2 and len(summary.notes) == 1
    assert summary.notes[0][0] == str(root / "huge.png") and "on the CPU" in summary.notes[0][1]


def test_inference_worker_reports_notes_and_unloads_gpu_models_only(qtbot, monkeypatch, ade_checkpoint, tmp_path):
    import importlib

    from app.workers.inference import InferenceRequest, InferenceWorker

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    inference_module = importlib.import_module("gcnet_core.predict.running")
    real = inference_module.inference

    def noted(model, image, tta=False, **options):
        result = real(model, image, tta=tta, **options)
        result.note = "Not enough GPU memory for this 64x48 image: used sliding windows on the GPU."
        return result

    monkeypatch.setattr(inference_module, "inference", noted)
    image = tmp_path / "x.png"
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(image)
    worker = InferenceWorker()
    results = []
    worker.finished.connect(results.append)
    worker.failed.connect(lambda request_id, message: pytest.fail(message))
    worker.run(InferenceRequest(1, image, ModelConfig(WHOLE_ADE, ade_checkpoint, device="cpu")))
    assert results[0].note.startswith("Not enough GPU memory") and results[0].device == "cpu (fp32, exact)"
    worker.unload(gpu_only=True)  # the model is on the CPU: it stays loaded
    assert worker._model is not None
    worker.unload()
    assert worker._model is None


def test_batch_cancel_terminates_the_process(qtbot, tmp_path):
    batch = fake_batch(tmp_path, 30)
    root = tmp_path / "proj"
    with qtbot.waitSignal(batch.finished, timeout=20000) as blocker:
        batch.start(root, root / ".gcnet" / "batch-test", [root / "a.png", root / "b.png"], ModelConfig(WHOLE_ADE))
        qtbot.wait(300)
        started = time.monotonic()
        batch.cancel()
    assert blocker.args[0].cancelled and blocker.args[0].written == 0
    assert time.monotonic() - started < 10


def test_batch_reports_a_process_that_fails(qtbot, tmp_path):
    batch = BatchSegmenter([sys.executable, "-c", "import sys; print('error: unknown model', file=sys.stderr); sys.exit(2)"])
    with qtbot.waitSignal(batch.finished, timeout=20000) as blocker:
        batch.start(tmp_path, tmp_path / ".gcnet" / "batch-test", [tmp_path / "a.png"], ModelConfig(WHOLE_ADE))
    assert "unknown model" in blocker.args[0].error


def test_download_thread_reports_offline_and_cancel(qtbot, monkeypatch):
    from urllib.error import URLError

    import app.workers.download as download_worker
    import gcnet_core.weights.download as download

    monkeypatch.setattr(download, "urlopen", lambda *a, **k: (_ for _ in ()).throw(URLError("offline")))
    entry = get_entry("gcnet_r50-d8_4xb4-20k_voc12aug-512x512")
    thread = DownloadThread(entry)
    with qtbot.waitSignal(thread.failed, timeout=10000) as blocker:
        thread.start()
    thread.wait()
    failure = blocker.args[0]
    assert failure.reason == "offline" and failure.url == entry.checkpoint_url and failure.entry == entry

    def slow(entry, progress):  # a download that keeps reporting progress until cancelled
        for i in range(1000):
            progress(i, 1000)
            time.sleep(0.01)
        return Path("never")

    monkeypatch.setattr(download_worker, "ensure_checkpoint", slow)
    thread = DownloadThread(entry)
    with qtbot.waitSignal(thread.cancelled, timeout=10000):
        thread.start()
        qtbot.wait(100)
        thread.cancel()
    thread.wait()


def test_serial_writer_keeps_order_and_reports_failures(qtbot, tmp_path):
    writer = SerialWriter()
    project = Project(tmp_path, VOC)
    for value in range(5):
        labels = np.full((20, 30), value, np.uint8)
        writer.save_mask(MaskSnapshot(project, "m.png", labels, labels > 10, VOC))
    assert writer.flush()
    assert (project.read_labels("m.png") == 4).all()  # the last one submitted is the one on disk
    assert not project.read_edited("m.png").any()
    with qtbot.waitSignal(writer.failed, timeout=5000) as blocker:
        writer.save_mask(MaskSnapshot(project, "nope/\0bad.png", np.zeros((2, 2), np.uint8), None, VOC))
    assert blocker.args[0]


WRITER_LOOP = textwrap.dedent("""
    import sys, numpy as np
    from app.workers.saving import MaskSnapshot
    from gcnet_core.model.classes import DATASET_CLASSES
    from gcnet_core.project.store import Project
    project = Project(sys.argv[1], DATASET_CLASSES["voc"])
    value = 0
    print("ready", flush=True)
    while True:
        value = (value + 1) % 20
        labels = np.full((300, 400), value, np.uint8)
        labels[::7] = (value + 1) % 20
        MaskSnapshot(project, "a.png", labels, labels == value, DATASET_CLASSES["voc"]).write()
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killing_a_process_in_the_middle_of_autosaves_never_leaves_a_broken_mask(tmp_path):
    project = Project(tmp_path, VOC)
    mask = project.label_path("a.png")
    for attempt in range(3):
        process = subprocess.Popen([sys.executable, "-c", WRITER_LOOP, str(tmp_path)], cwd=REPO,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while not mask.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05 + 0.07 * attempt)
        process.send_signal(signal.SIGKILL)
        process.wait()
        labels = read_index_mask(mask)  # always a whole file
        assert labels.shape == (300, 400)
        value = labels[1, 0]
        assert (labels[1:7] == value).all() and (labels[0] == (value + 1) % 20).all()
        assert project.read_edited("a.png").shape == (300, 400)


def test_removal_lut_renumbers_and_ignores():
    lut = removal_lut(2)
    assert list(lut[:5]) == [0, 1, 255, 2, 3]
    assert lut[254] == 253 and lut[255] == 255
