"""Fine-tuning never makes things worse (issue 22 item 4): a run that scored no better is kept as a
version but never becomes the current model, and the next run starts from (and is compared with)
the best model so far; a run on 1-3 done images is judged on labels it never trained on; Start
begins with the live model's classifier (fitted again without the run's held-out labels) and is
compared with the better of it and its model.
Runs are fed to the real controller as the worker reports them, or run for real on the tiny R50."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.finetune.controller import LIVE_START_NAME  # noqa: E402
from app.finetune.live_start import run_split, start_head  # noqa: E402
from app.finetune.process import RunEnd  # noqa: E402
from app.finetune.runs import EVENTS_NAME, FinetuneSettings, RunRecord, compare  # noqa: E402
from app.panels.model_panel import ChoiceRole  # noqa: E402
from gcnet_core.data.readers import SegDataset  # noqa: E402
from gcnet_core.files.masks import write_index_mask  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.train.data import block_mask, held_out_blocks, holdout_split  # noqa: E402
from test_finetune import (BASE, CLASSES, entry, make_sample, open_tiny_window, record,  # noqa: E402,F401 (fixtures)
                           start_checkpoint, window)

SHORT_RUN = dict(batch_size=4, crop=(16, 16), lr=0.03, val_share=0.25, device="cpu", workers=0)


def finish_run(ft, start: Path, label: str, before: float, after: float) -> object:
    """A run from ``label`` whose held-out mIoU went ``before`` -> ``after``, reported to the dock
    as the worker reports one (events, then the end); returns the version it publishes."""
    project = ft.window.session.project.root
    record = RunRecord.create(project, BASE, start, label, FinetuneSettings(iters=8, val_interval=8))
    state = torch.load(start, map_location="cpu", weights_only=True)
    meta = {"CLASSES": list(CLASSES.names), "PALETTE": [list(c) for c in CLASSES.palette], "base_model": BASE}
    torch.save({"meta": meta, "state_dict": state["state_dict"]}, record.folder / "best.pth")
    events = [{"event": "start", "train_images": ["img00.png"], "val_images": ["img01.png"], "num_train": 1,
               "num_val": 1, "device": "cpu", "total_iters": 8},
              {"event": "val", "iter": 0, "mIoU": before, "per_class": {}},
              {"event": "val", "iter": 8, "mIoU": after, "per_class": {}},
              {"event": "done", "iter": 8, "best_iter": 8, "best_mIoU": after,
               "best_path": str(record.folder / "best.pth"), "last_path": str(record.folder / "best.pth")}]
    (record.folder / EVENTS_NAME).write_text("".join(json.dumps(e) + "\n" for e in events))
    published: list = []
    ft.published.connect(published.append)
    ft.run = record
    for event in events:
        ft.process.event.emit(event)
    ft.process.ended.emit(RunEnd("done", exit_code=0, last_iter=8))
    return published


def next_run_start(qtbot, ft, monkeypatch) -> list[str]:
    """Click Start and return the ``gcnet train`` arguments the dock would run."""
    launched: list = []
    monkeypatch.setattr(ft.process, "start", lambda arguments, folder: launched.append(arguments))
    QTest.mouseClick(ft.panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(launched), timeout=5000)
    return launched[-1]


def listed_under(model_panel, label: str) -> str:
    """The header the model list shows ``label``'s row under."""
    header = ""
    for row in range(model_panel.items.rowCount()):
        item = model_panel.items.item(row)
        choice = item.data(ChoiceRole)
        if choice is None:
            header = item.text()
        elif (choice.label or choice.name) == label:
            return header
    raise AssertionError(f"{label} is not listed")


@pytest.fixture
def finish(qtbot, window):
    """``finish(start, label, before, after)``: a run from ``label`` whose held-out mIoU went
    ``before`` -> ``after`` reported to the dock; returns the version it publishes."""
    def run(start: Path, label: str, before: float, after: float):
        published = finish_run(window.finetune, start, label, before, after)
        qtbot.waitUntil(lambda: bool(published), timeout=10000)
        return published[0]

    return run


def test_a_worse_run_is_listed_never_selected_and_never_trained_from(qtbot, window, start_checkpoint, finish,
                                                                     monkeypatch):
    ft, model_panel = window.finetune, window.model_panel
    # a run that got better becomes the current model
    good = finish(start_checkpoint, "random start", 40.0, 73.4)
    assert good.adopted and model_panel.choice().label == good.id
    # the next one got worse: kept as a version, the better one stays the current model
    worse = finish(good.checkpoint, good.id, 73.4, 0.3)
    assert not worse.adopted and worse.parent == good.id
    assert model_panel.choice().label == good.id
    assert "not better" in ft.panel.message.text() and "Re-segment" not in ft.panel.message.text()
    rows = [ft.panel.versions.list.item(r).text() for r in range(ft.panel.versions.list.count())]
    assert any(worse.name in row and "no better: not used" in row for row in rows)
    assert any(good.name in row and "not used" not in row for row in rows)
    # the model selector lists both versions as fine-tuned, the imported starting file apart
    assert listed_under(model_panel, worse.id) == listed_under(model_panel, good.id) == "Fine-tuned"
    assert listed_under(model_panel, "random start") == "Imported files"
    assert listed_under(model_panel, BASE) == "Cityscapes"

    # a person selects the worse version by hand: Start still trains from the better one
    assert ft.use_version(worse.id) and model_panel.choice().label == worse.id
    assert good.name in ft.panel.base_label.text() and "never scored better" in ft.panel.base_label.text()
    arguments = next_run_start(qtbot, ft, monkeypatch)
    assert arguments[arguments.index("--checkpoint") + 1] == str(good.checkpoint)
    assert ft.run.base_label == good.id and "--val-at-start" in arguments  # compared with the best model
    assert "--compare-with" not in arguments  # no live model in use: its start is all it must beat

    # and a run from the better model that beats it is adopted by the same rule
    best = finish(good.checkpoint, good.id, 73.4, 80.0)
    assert best.adopted and model_panel.choice().label == best.id

    # a run started (before this rule) from the worse one and resumed now: "0.3 -> 0.5" is no gain
    descendant = finish(worse.checkpoint, worse.id, 0.3, 0.5)
    assert model_panel.choice().label == best.id
    assert "trained from a version that scored no better" in ft.panel.message.text()
    # selected by hand and deleted: the selection rolls back past the worse one
    assert ft.use_version(descendant.id)
    ft.delete_version(descendant.id, ask=False)
    assert model_panel.choice().label == good.id


def test_the_before_of_a_run_is_the_better_of_its_start_and_what_it_was_compared_with():
    def events(*baselines: float) -> list[dict]:
        return ([{"event": "start", "train_images": ["a.png", "b.png"], "val_images": ["c.png"],
                  "holdout": "images"},
                 {"event": "val", "iter": 0, "mIoU": 50.0}]
                + [{"event": "baseline", "checkpoint": f"model{i}.pth", "mIoU": m} for i, m in enumerate(baselines)]
                + [{"event": "val", "iter": 8, "mIoU": 55.0}, {"event": "done", "best_iter": 8}])

    beaten = compare(events(60.0, 40.0))
    assert beaten.before["mIoU"] == 60.0 and beaten.before_from == "model0.pth" and beaten.start["mIoU"] == 50.0
    assert beaten.after["mIoU"] == 55.0 and beaten.gain < 0 and beaten.judged_on == "1 held-out image"
    kept = compare(events(50.0, 20.0))  # a tie keeps the run's own start
    assert kept.before["mIoU"] == 50.0 and kept.before_from is None
    blocks = compare([{"event": "start", "train_images": ["a.png"], "val_images": ["a.png"], "holdout": "blocks"}])
    assert blocks.judged_on == "held-out blocks (a quarter) of the one done image"


def few_project(root: Path, count: int) -> Path:
    """``count`` done images whose labels teach the wrong thing where a run trains (road and square
    swapped) and are right where it is judged: the held-out image of 2-3, the held-out blocks of 1."""
    project = Project.create(root, CLASSES)
    samples = [make_sample(i) for i in range(count)]
    for i, (image, label) in enumerate(samples):
        path = root / f"img{i:02d}.png"
        Image.fromarray(image).save(path)
        write_index_mask(project.label_path(path), label, CLASSES)
        project.set_state(path, "corrected")
    project.save()
    names = [sample.name for sample in SegDataset("project", root).samples]  # the order the run splits
    held = {names[i] for i in holdout_split(count, SHORT_RUN["val_share"], 0)[1]}
    for i, (_, label) in enumerate(samples):
        name = f"img{i:02d}.png"
        right = block_mask(label.shape, held_out_blocks(0)) if count == 1 else np.full(label.shape, name in held)
        write_index_mask(project.label_path(root / name), np.where(right, label, 1 - label).astype(np.uint8),
                         CLASSES)
    return root


@pytest.mark.training
@pytest.mark.parametrize("count, data_text, judged", [
    (1, "a quarter of it (in blocks) held out", "held-out blocks (a quarter) of the one done image"),
    (3, "1 held out", "1 held-out image")])
def test_a_run_on_few_images_taught_wrong_labels_is_judged_on_what_it_never_saw_and_not_adopted(
        qtbot, tmp_path, entry, start_checkpoint, count, data_text, judged):
    win = open_tiny_window(qtbot, tmp_path, few_project(tmp_path / "few", count), start_checkpoint, count)
    try:
        ft, panel = win.finetune, win.finetune.panel
        panel.form.set_settings(FinetuneSettings(iters=8, val_interval=8, **SHORT_RUN))
        assert data_text in panel.data_label.text()
        events, published = record(ft.process.event), record(ft.published)
        panel.start_button.click()
        qtbot.waitUntil(lambda: bool(published) or any(e["event"] == "error" for e in events), timeout=300000)
        assert published, [e for e in events if e["event"] == "error"]
        version, start = published[0], next(e for e in events if e["event"] == "start")
        assert start["holdout"] == ("blocks" if count == 1 else "images") and start["num_val"] == 1
        print(f"{count} image(s), held-out mIoU {version.miou('before')} -> {version.miou('after')}")
        assert version.miou("after") < version.miou("before") and not version.adopted
        assert win.model_panel.choice().label == "random start"
        message = panel.message.text()
        assert "not better" in message and judged in message and "Re-segment" not in message
    finally:
        win.finetune.shutdown(5000)
        win.close()


@pytest.mark.training
def test_start_begins_with_the_live_model_and_is_compared_with_the_better_of_it_and_its_model(
        qtbot, window, start_checkpoint):
    ft, panel, live = window.finetune, window.finetune.panel, window.live
    assert panel.live_start.isHidden() and "live model" not in panel.base_label.text()
    live.set_enabled(True)  # a round on the 12 done images teaches "square", a class the model lacks
    qtbot.waitUntil(lambda: live.live_model() is not None, timeout=120000)
    adapter = live.live_model()
    assert "square" not in adapter.model.classes.names and adapter.head.class_names == ("road", "square")
    qtbot.waitUntil(lambda: not panel.live_start.isHidden(), timeout=10000)
    assert "the live model (12 corrected images)" in panel.base_label.text()
    panel.live_start.setChecked(False)  # the person may start from the model itself
    assert "live model" not in panel.base_label.text()
    panel.live_start.setChecked(True)

    panel.form.set_settings(FinetuneSettings(iters=2, val_interval=2, **SHORT_RUN))
    events, published = record(ft.process.event), record(ft.published)
    panel.start_button.click()
    qtbot.waitUntil(lambda: any(e["event"] in ("start", "error") for e in events), timeout=120000)
    run, start = ft.run, next(e for e in events if e["event"] == "start")
    assert Path(run.base_checkpoint) == run.folder / LIVE_START_NAME and run.live_images == 9  # 12 less 3 held out
    arguments = run.arguments()
    assert arguments[arguments.index("--compare-with") + 1] == str(start_checkpoint)
    # the run's start classifier: the live fit on the run's 9 training images, never its 3 held-out ones
    root = window.session.project.root
    split = run_split(root, 0.25)
    assert split.held_out == set(start["val_images"]) and len(split.held_out) == 3
    expected, _ = start_head(adapter.corrected, adapter.model, ("road", "square"), root, split)
    state = torch.load(run.base_checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    weight, bias = expected.conv_seg()
    assert torch.allclose(state["decode_head.conv_seg.weight"], weight, atol=1e-6)
    assert torch.allclose(state["decode_head.conv_seg.bias"], bias, atol=1e-6)
    assert bias[1] > -1000  # the class the model never knew has a learnt row
    assert not torch.equal(state["decode_head.conv_seg.weight"], adapter.head.conv_seg()[0])  # it saw the 3
    assert start["copied_classes"] == ["road", "square"]  # every row kept as written

    qtbot.waitUntil(lambda: bool(published) or any(e["event"] == "error" for e in events), timeout=300000)
    assert published, [e for e in events if e["event"] == "error"]
    version = published[0]
    start_score = next(e for e in events if e["event"] == "val" and e["iter"] == 0)["mIoU"]
    baseline = next(e for e in events if e["event"] == "baseline")
    assert baseline["checkpoint"] == str(start_checkpoint)  # the model the live head sits on
    print(f"held-out mIoU: live model {start_score}, its model {baseline['mIoU']}, run {version.miou('after')}")
    assert version.miou("before") == pytest.approx(max(start_score, baseline["mIoU"]))
    assert version.parent == "random start" and version.adopted == (version.miou("after") > version.miou("before"))
    assert version.settings["live_images"] == 9  # the version says where its classifier began
    assert "the better of it and" in panel.message.text() and "3 held-out images" in panel.message.text()
    assert not (run.folder / LIVE_START_NAME).exists()  # the version holds what came of it
