"""``gcnet train`` under ``torchrun --nproc_per_node 2`` on the CPU (gloo backend).

Two processes split every global batch, only rank 0 prints events and writes files, and
the validation confusion matrices are summed across processes. On the CPU the model keeps
plain BatchNorm (PyTorch's SyncBatchNorm needs GPU tensors in training mode).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gcnet_core.weights import zoo
from gcnet_core.api import build_model, init_model
from gcnet_core.weights.checkpoint import read_checkpoint
from gcnet_core.model.classes import ClassSet
from gcnet_core.data.readers import SegDataset
from gcnet_core.evaluation.evaluate import evaluate
from gcnet_core.files.masks import write_index_mask
from gcnet_core.project.store import Project
from gcnet_core.train.data import Subset, holdout_split

REPO = Path(__file__).resolve().parents[1]
BASE = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"
SIZE = 32
CLASSES = ClassSet(("road", "square"), ((200, 60, 60), (40, 200, 40)))

RUNNER = f"""\
import dataclasses, sys
from gcnet_core.weights import zoo
e = zoo.get_entry({BASE!r})
d = dataclasses.replace(e.dataset, base_scale=({SIZE}, {SIZE}), crop_size=({SIZE}, {SIZE}))
e = dataclasses.replace(e, dataset=d)
zoo._BY_NAME[e.name] = zoo._BY_NAME[e.legacy_name] = e
from gcnet_core.cli.main import main
sys.exit(main())
"""


def tiny_entry():
    entry = zoo.get_entry(BASE)
    recipe = dataclasses.replace(entry.dataset, base_scale=(SIZE, SIZE), crop_size=(SIZE, SIZE))
    return dataclasses.replace(entry, dataset=recipe)


def make_project(root: Path, count: int = 8) -> Path:
    proj = Project.create(root, CLASSES)
    for i in range(count):
        rng = np.random.default_rng(i)
        label = np.zeros((SIZE, SIZE), np.uint8)
        top, left = rng.integers(0, SIZE // 2, 2)
        label[top:top + SIZE // 2, left:left + SIZE // 2] = 1
        image = np.asarray(CLASSES.palette, np.int16)[label] + rng.integers(-40, 40, (SIZE, SIZE, 3))
        path = root / f"img{i}.png"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
        write_index_mask(proj.label_path(path), label, CLASSES)
        proj.set_state(path, "corrected")
    proj.save()
    return root


@pytest.mark.training
def test_two_gloo_processes_train_validate_and_checkpoint(tmp_path, monkeypatch):
    entry = tiny_entry()
    monkeypatch.setitem(zoo._BY_NAME, entry.name, entry)
    torch.manual_seed(0)
    model = build_model(entry, with_auxiliary_head=True)
    model.init_weights()
    start = tmp_path / "start.pth"
    torch.save({"meta": {"CLASSES": list(entry.classes.names)}, "state_dict": model.state_dict()}, start)
    del model
    project = make_project(tmp_path / "project")
    runner = tmp_path / "gcnet_tiny.py"
    runner.write_text(RUNNER)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(runner), "train", "--model", BASE, "--checkpoint", str(start), "--project", str(project),
               "--out", str(out), "--iters", "2", "--batch-size", "1", "--crop", "16", "16",
               "--val-interval", "2", "--val-share", "0.25", "--workers", "0", "--device", "cpu",
               "--progress", "jsonl"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 1 and kinds.count("done") == 1, kinds  # rank 0 only
    start_event = events[kinds.index("start")]
    assert start_event["world_size"] == 2 and start_event["num_val"] == 2
    assert [e["iter"] for e in events if e["event"] == "iter"] == [1, 2]
    val = next(e for e in events if e["event"] == "val")
    assert 0 <= val["mIoU"] <= 100 and 0 <= val["aAcc"] <= 100
    assert {e["kind"] for e in events if e["event"] == "checkpoint"} == {"last", "best"}
    meta = read_checkpoint(out / "last.pth")[1]
    assert meta["iter"] == 2 and meta["metrics"]["mIoU"] == val["mIoU"]
    loaded = init_model(checkpoint=out / "last.pth", device="cpu")
    assert loaded.classes == CLASSES
    # the reported score covers both processes' images: it is the saved model's on all held-out ones
    dataset = SegDataset("project", project, "corrected")
    held_out = Subset(dataset, holdout_split(len(dataset), 0.25, seed=0)[1])
    assert evaluate(loaded, held_out, progress=False).mIoU == pytest.approx(val["mIoU"])
