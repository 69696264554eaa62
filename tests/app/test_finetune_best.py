"""Fine-tuning never makes things worse (issue 22 item 4): a run that scored no better is kept as a
version but never becomes the current model, and the next run starts from (and is compared with)
the best model so far. The runs are fed to the real controller as the worker reports them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.finetune.process import RunEnd  # noqa: E402
from app.finetune.runs import EVENTS_NAME, FinetuneSettings, RunRecord  # noqa: E402
from app.panels.model_panel import ChoiceRole  # noqa: E402
from test_finetune import BASE, CLASSES, entry, start_checkpoint, window  # noqa: E402,F401 (fixtures)


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


def test_a_worse_run_is_listed_never_selected_and_never_trained_from(qtbot, window, start_checkpoint,
                                                                     monkeypatch):
    ft, model_panel = window.finetune, window.model_panel
    # a run that got better becomes the current model
    published = finish_run(ft, start_checkpoint, "random start", 40.0, 73.4)
    qtbot.waitUntil(lambda: bool(published), timeout=10000)
    good = published[0]
    assert good.adopted and model_panel.choice().label == good.id
    # the next one got worse: kept as a version, the better one stays the current model
    published = finish_run(ft, good.checkpoint, good.id, 73.4, 0.3)
    qtbot.waitUntil(lambda: bool(published), timeout=10000)
    worse = published[0]
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

    # and a run from the better model that beats it is adopted by the same rule
    published = finish_run(ft, good.checkpoint, good.id, 73.4, 80.0)
    qtbot.waitUntil(lambda: bool(published), timeout=10000)
    best = published[0]
    assert best.adopted and model_panel.choice().label == best.id

    # a run started (before this rule) from the worse one and resumed now: "0.3 -> 0.5" is no gain
    published = finish_run(ft, worse.checkpoint, worse.id, 0.3, 0.5)
    qtbot.waitUntil(lambda: bool(published), timeout=10000)
    descendant = published[0]
    assert model_panel.choice().label == best.id
    assert "trained from a version that scored no better" in ft.panel.message.text()
    # selected by hand and deleted: the selection rolls back past the worse one
    assert ft.use_version(descendant.id)
    ft.delete_version(descendant.id, ask=False)
    assert model_panel.choice().label == good.id
