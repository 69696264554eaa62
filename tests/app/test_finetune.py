"""In-app fine-tuning driven through the real window (pytest-qt, offscreen, CPU).

The worker is the real ``gcnet train`` in a separate process. To keep it to seconds the
project is tiny and easy to learn (the recipe of tests/test_train.py): 32x32 images with
two colour-coded classes -- a red textured background and a big green square -- and a
randomly initialised R50 whose residual branches start at zero, shrunk to a 32x32 scale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from app.finetune.gpu import GpuShare  # noqa: E402
from app.shell.formatting import duration_text  # noqa: E402
from app.finetune.runs import FinetuneSettings, RunRecord, compare, latest_run, read_events  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.window import MainWindow  # noqa: E402
from gcnet_core.weights import zoo  # noqa: E402
from gcnet_core.api import init_model  # noqa: E402
from gcnet_core.files.masks import read_index_mask, write_index_mask  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.project.versions import VersionRegistry  # noqa: E402

from test_window import ScriptedPrompter  # noqa: E402

from helpers import (TINY_BASE, TINY_SIZE, tiny_classes, tiny_entry, tiny_gcnet_script, tiny_sample,  # noqa: E402
                     tiny_start_checkpoint)

BASE, SIZE = TINY_BASE, TINY_SIZE
CLASSES = tiny_classes()
N_CORRECTED, N_NEW = 12, 2


@pytest.fixture
def entry(monkeypatch):
    tiny = tiny_entry()
    monkeypatch.setitem(zoo._BY_NAME, tiny.name, tiny)
    monkeypatch.setitem(zoo._BY_NAME, tiny.legacy_name, tiny)
    return tiny


@pytest.fixture(scope="module")
def start_checkpoint(tmp_path_factory) -> Path:
    return tiny_start_checkpoint(tmp_path_factory.mktemp("start") / "start.pth")


make_sample = tiny_sample


def make_project(root: Path) -> Path:
    """12 corrected images (labels by hand) and 2 new ones, as the annotator leaves them."""
    project = Project.create(root, CLASSES)
    for i in range(N_CORRECTED + N_NEW):
        image, label = make_sample(i)
        path = root / f"img{i:02d}.png"
        Image.fromarray(image).save(path)
        if i < N_CORRECTED:
            write_index_mask(project.label_path(path), label, CLASSES)
            project.set_state(path, "corrected")
    project.save()
    return root


def open_tiny_window(qtbot, tmp_path: Path, folder: Path, start_checkpoint: Path, images: int) -> MainWindow:
    """The window on ``folder`` (``images`` images), the random R50 selected as the base model,
    live adaptation off (runs start from the model itself; tests of the live start turn it on)."""
    win = MainWindow(AppSettings.at(tmp_path / "settings.ini"), ScriptedPrompter(),
                     batch_command=[sys.executable, str(tiny_gcnet_script(tmp_path))])
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_folder(folder)
    qtbot.waitUntil(lambda: win.files.model.rowCount() == images and not win.scanning, timeout=5000)
    qtbot.waitUntil(lambda: win.session.document is not None, timeout=5000)
    win.use_checkpoint(start_checkpoint, BASE, "random start")
    win.live.set_enabled(False)
    return win


@pytest.fixture
def window(qtbot, tmp_path, entry, start_checkpoint):
    """The window on a fresh tiny project, the random R50 selected as the base model."""
    win = open_tiny_window(qtbot, tmp_path, make_project(tmp_path / "streets"), start_checkpoint,
                           N_CORRECTED + N_NEW)
    yield win
    win.finetune.shutdown(5000)
    win.close()


def label_bytes(project: Project) -> dict[str, bytes]:
    return {p.name: project.label_path(p).read_bytes() for p in project.images_with_state("corrected")}


def record(signal) -> list:
    items: list = []
    signal.connect(items.append)
    return items


# ------------------------------------------------------------------------------ end to end
@pytest.mark.training
@pytest.mark.slow
def test_fine_tune_publish_select_resegment(qtbot, window, tmp_path):
    ft, panel = window.finetune, window.finetune.panel
    project = window.session.project
    corrected = label_bytes(project)
    assert "<b>12</b> marked done of 14 images, 1 held out" in panel.data_label.text()  # 10 % by default
    assert "random start" in panel.base_label.text()
    panel.form.set_settings(FinetuneSettings(iters=8, batch_size=4, crop=(16, 16), lr=0.03, val_share=0.25,
                                             val_interval=8, device="cpu", workers=0))
    assert "3 held out" in panel.data_label.text()
    events, ended, published = record(ft.process.event), record(ft.runEnded), record(ft.published)

    panel.start_button.click()
    assert ft.process.running and not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: any(e["event"] == "iter" for e in events), timeout=120000)
    # the window stays usable while it trains: open another image, paint, it is saved
    window.files.step(1)
    assert window.session.current == "img01.png"
    window.canvas.setFocus()
    assert panel.progress.bar.value() >= 1 and panel.progress.labels["loss"].text() != "—"
    assert panel.progress.loss_plot.points and panel.progress.miou_plot.points[0][0] == 0  # base scored first
    assert ft.device_label.text().endswith("training on cpu")

    qtbot.waitUntil(lambda: bool(published) or (bool(ended) and ended[0].status != "done"), timeout=400000)
    assert ended[0].status == "done", ended[0].message
    version = published[0]
    start = next(e for e in events if e["event"] == "start")
    assert start["num_train"] == 9 and start["num_val"] == 3 and len(start["val_images"]) == 3
    vals = [e for e in events if e["event"] == "val"]
    assert [v["iter"] for v in vals] == [0, 8] and set(vals[0]["per_class"]) == {"road", "square"}
    print(f"held-out mIoU: base {version.miou('before')}, fine-tuned {version.miou('after')}")
    assert version.miou("after") > version.miou("before") + 3
    assert version.images["val"] == start["val_images"] and version.parent == "random start"
    assert version.classes == ["road", "square"] and version.base_model == BASE

    # the curves and the before/after reached the panel
    assert [x for x, _ in panel.progress.loss_plot.points] == list(range(1, 9))
    assert [x for x, _ in panel.progress.miou_plot.points] == [0, 8]
    assert panel.progress.miou_plot.reference == version.miou("before")
    table = panel.comparison
    assert not table.isHidden() and table.rowCount() == 3
    assert [table.verticalHeaderItem(r).text() for r in range(3)] == ["mIoU", "road", "square"]
    assert float(table.item(0, 1).text()) == pytest.approx(version.miou("after"), abs=0.06)
    assert "Published" in panel.message.text()
    # the written log replays the same run
    assert compare(read_events(Path(ft.run.folder) / "events.jsonl")).after["mIoU"] == version.miou("after")
    assert RunRecord.load(ft.run.folder).status == "published"

    # published, listed and selected; loadable by the library; renamed in place
    choice = window.model_panel.choice()
    assert choice.label == version.id and choice.checkpoint == version.checkpoint
    assert init_model(checkpoint=version.checkpoint, device="cpu").classes == CLASSES
    ft.rename_version(version.id, "streets v1")
    assert "streets v1" in window.model_panel.combo.currentText()
    assert window.model_panel.choice().label == version.id
    assert "streets v1" in panel.versions.list.item(0).text()

    # re-segment the images nobody corrected with the new version
    finished = record(window.batch.finished)
    panel.resegment_button.click()
    qtbot.waitUntil(lambda: bool(finished), timeout=120000)
    assert finished[0].error is None and finished[0].written == N_NEW, finished[0]
    for rel in ("img12.png", "img13.png"):
        assert project.state(rel) == "predicted" and project.image_model(rel) == version.id
        assert 0.0 <= project.uncertainty(rel) <= 1.0
        assert read_index_mask(project.label_path(rel)).shape == (SIZE, SIZE)
    assert label_bytes(project) == corrected  # corrected masks never overwritten
    window.flush()
    assert Project.open(project.root).uncertainty("img12.png") == project.uncertainty("img12.png")

    # label next: the most uncertain images first
    window.files.set_order("uncertainty")
    shown = [window.files.proxy.index(r, 0).data() for r in range(2)]
    ordered = sorted(("img12.png", "img13.png"), key=project.uncertainty, reverse=True)
    assert shown == ordered
    window.files.set_order("name")
    assert window.files.proxy.index(0, 0).data() == "img00.png"

    # roll back: deleting the selected version selects what it was trained from
    ft.delete_version(version.id, ask=False)
    assert window.model_panel.choice().label == "random start"
    assert VersionRegistry().list() == [] and panel.versions.list.count() == 0


@pytest.mark.training
def test_a_killed_worker_is_reported_and_resume_finishes_the_run(qtbot, window):
    ft, panel = window.finetune, window.finetune.panel
    project = window.session.project
    corrected = label_bytes(project)
    panel.form.set_settings(FinetuneSettings(iters=3, batch_size=1, crop=(16, 16), lr=0.01, val_share=0.0,
                                             val_interval=1, device="cpu", workers=0))
    events, ended, published = record(ft.process.event), record(ft.runEnded), record(ft.published)
    panel.start_button.click()
    qtbot.waitUntil(lambda: any(e["event"] == "checkpoint" for e in events), timeout=120000)
    ft.process.kill()  # as the OOM killer or a crash would
    qtbot.waitUntil(lambda: bool(ended), timeout=30000)

    assert ended[0].status == "crashed"
    message = panel.message.text()
    assert "killed or crashed" in message and "masks are untouched" in message and "Resume" in message
    assert "Fine-tuning stopped" in window.statusBar().currentMessage()
    assert not ft.process.running and panel.resume_button.isEnabled() and panel.start_button.isEnabled()
    assert RunRecord.load(ft.run.folder).status == "failed"
    assert latest_run(project.root).id == ft.run.id
    killed_at = len(panel.progress.loss_plot.points)
    # reopening the folder (or restarting the app) finds the stopped run and offers Resume
    assert window.open_folder(project.root)
    qtbot.waitUntil(lambda: window.session.document is not None and not window.scanning, timeout=5000)
    assert "The last run failed; Resume continues" in panel.message.text() and panel.resume_button.isEnabled()
    assert len(panel.progress.loss_plot.points) == killed_at >= 1  # its curve, replayed from events.jsonl
    project = window.session.project
    # still usable, nothing lost
    window.files.step(1)
    assert window.session.current == "img01.png"
    assert label_bytes(project) == corrected
    saved = [e["iter"] for e in events if e["event"] == "checkpoint"][-1]

    events.clear()
    panel.resume_button.click()
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=180000)
    assert ended[1].status == "done", ended[1].message
    start = next(e for e in events if e["event"] == "start")
    assert start["resumed"] and start["start_iter"] >= saved >= 1  # from the last checkpoint on disk
    assert [e["iter"] for e in events if e["event"] == "iter"] == list(range(start["start_iter"] + 1, 4))
    qtbot.waitUntil(lambda: bool(published), timeout=30000)
    assert published[0].miou("after") is None  # nothing held out: no before/after to show
    assert "no held-out images" in panel.message.text()
    assert [x for x, _ in panel.progress.loss_plot.points] == [1, 2, 3]  # the replayed curve, continued
    assert label_bytes(project) == corrected


@pytest.mark.training
def test_cancel_keeps_a_checkpoint_and_a_closed_window_stops_the_worker(qtbot, window):
    ft, panel = window.finetune, window.finetune.panel
    panel.form.set_settings(FinetuneSettings(iters=50, batch_size=1, crop=(16, 16), lr=0.01, val_share=0.0,
                                             val_interval=50, device="cpu", workers=0))
    events, ended = record(ft.process.event), record(ft.runEnded)
    panel.start_button.click()
    qtbot.waitUntil(lambda: any(e["event"] == "iter" for e in events), timeout=120000)
    panel.cancel_button.click()
    assert "Stopping after the current iteration" in panel.message.text()
    assert panel.cancel_button.text() == "Stop now"
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    assert ended[0].status == "cancelled"
    assert "Resume continues" in panel.message.text() and panel.resume_button.isEnabled()
    assert (Path(ft.run.folder) / "resume.pth").is_file()
    assert RunRecord.load(ft.run.folder).status == "cancelled"

    # resumed, then the window is closed mid-run: the worker stops with a checkpoint, not killed
    events.clear()
    panel.resume_button.click()
    qtbot.waitUntil(lambda: any(e["event"] == "iter" for e in events), timeout=120000)
    window.close()
    assert not ft.process.running and len(ended) == 2 and ended[1].status == "cancelled"
    assert RunRecord.load(ft.run.folder).status == "cancelled"


def test_no_corrected_images_means_nothing_to_train(qtbot, window):
    for rel in list(window.files.model.paths()):
        window.session.project.set_state(rel, "new")
        window.files.model.set_state(rel, "new")
    window.finetune.panel.start_button.click()
    assert not window.finetune.process.running
    assert "Mark at least one corrected image done" in window.prompter.infos[-1]


def test_interactive_prediction_records_uncertainty_and_the_device(qtbot, window):
    assert window.open_image("img12.png")
    window.segment_current()
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    value = window.session.project.uncertainty("img12.png")
    assert value is not None and 0.0 <= value <= 1.0
    assert window.files.model.uncertainty("img12.png") == pytest.approx(value, abs=1e-6)
    assert window.finetune.device_label.text() == "Inference: cpu (fp32, exact)"


# ------------------------------------------------------------------------------ small parts
def test_gpu_share_moves_inference_to_the_cpu_when_the_gpu_is_full():
    free = {"value": 1 * 2**30}
    share = GpuShare(free_bytes=lambda device: free["value"], needed_bytes=3 * 2**30)
    assert share.inference_device("auto") == ("auto", "")  # nothing trains
    share.training_device = "cpu"
    assert share.inference_device("cuda") == ("cuda", "")  # training on the CPU leaves the GPU alone
    share.training_device = "cuda:0"
    assert share.inference_device("auto") == ("cpu", "CPU while training uses the GPU")
    assert share.inference_device("cpu") == ("cpu", "")
    free["value"] = 8 * 2**30
    device, note = share.inference_device("cuda")
    assert device == "cuda" and "shared" in note


def test_inference_config_follows_the_training_device(qtbot, window):
    ft = window.finetune
    ft.gpu = GpuShare(free_bytes=lambda device: 0)
    ft.gpu.training_device = "cuda:0"
    config = ft.inference_config(window.model_panel.config())
    assert config.device == "cpu"
    assert "CPU while training uses the GPU" in ft.device_label.text()
    ft.gpu.training_device = None
    assert ft.inference_config(window.model_panel.config()).device == window.model_panel.config().device


def test_settings_command_line_and_run_records(tmp_path, entry):
    settings = FinetuneSettings(iters=7, lr=0.002)
    assert FinetuneSettings().iters == 500 and FinetuneSettings().lr == 1e-3  # the finetune preset
    record_ = RunRecord.create(tmp_path / "proj", BASE, None, BASE, settings, root=tmp_path / "runs")
    args = record_.arguments()
    assert args[:5] == ["train", "--progress", "jsonl", "--preset", "finetune"]
    assert "--checkpoint" not in args and "--val-at-start" in args
    assert args[args.index("--out") + 1] == str(record_.folder)
    assert args[args.index("--iters") + 1] == "7" and float(args[args.index("--lr") + 1]) == 0.002
    from gcnet_core.cli.main import build_parser
    from gcnet_core.cli.train import config_from_args

    cfg = config_from_args(build_parser().parse_args(args))
    assert cfg.val_at_start and cfg.iters == 7 and cfg.preset == "finetune" and cfg.dataset == "project"
    loaded = RunRecord.load(record_.folder)
    assert loaded.settings == settings and loaded.status == "running" and loaded.resumable
    loaded.set_status("published")
    assert not RunRecord.load(record_.folder).resumable
    assert latest_run(tmp_path / "proj", root=tmp_path / "runs").id == record_.id
    assert latest_run(tmp_path / "other", root=tmp_path / "runs") is None
    (record_.folder / "events.jsonl").write_text(
        json.dumps({"event": "val", "iter": 0, "mIoU": 30.0}) + "\n" + json.dumps({"event": "val", "iter": 5,
                                                                                  "mIoU": 60.0})
        + "\n{\"event\": \"do")  # the last line cut short by a kill
    assert len(loaded.events()) == 2
    assert compare(loaded.events()).after is None  # no "done" event yet
    assert duration_text(59) == "59 s" and duration_text(3700) == "1 h 01 min" and duration_text(None) == "—"
