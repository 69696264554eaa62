"""``gcnet train`` on a synthetic project: recipe pieces, learning, exact resume, cancel, events.

The network is the real R50 GCNet, so images are tiny (32x32, crops down to 16x16) and
runs are a few iterations long (an R50 step takes 1-3 s on two busy CPU cores). The
project has two colour-coded classes -- a red textured background and a big green
square -- which a randomly initialised R50 learns within 20 iterations; one training
image is corrupt on disk and must be skipped.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gcnet_core.weights import zoo
from gcnet_core.api import LoadedModel, build_model, init_model
from gcnet_core.weights.checkpoint import load_weights, read_checkpoint
from gcnet_core.model.classes import CITYSCAPES_CLASSES, ClassSet
from gcnet_core.data.readers import SegDataset
from gcnet_core.data.transforms import TrainTransform
from gcnet_core.evaluation.evaluate import evaluate
from gcnet_core.files.masks import write_index_mask
from gcnet_core.project.store import Project
from gcnet_core.train import PRESETS, TrainConfig, adapt_classifiers, estimate_run, finetune_preset, train
from gcnet_core.train.checkpoints import atomic_save
from gcnet_core.cli.train import config_from_args
from gcnet_core.train.data import IterationBatches, Subset, holdout_split, normalise_batch, project_holdout
from gcnet_core.train.ddp import DistContext
from gcnet_core.train.loop import Trainer
from gcnet_core.train.progress import BarSink, EventSink
from gcnet_core.train.recipe import poly_lr, seg_loss, set_train_mode

from helpers import (TINY_BASE, TINY_SIZE, tiny_classes, tiny_entry, tiny_gcnet_script, tiny_sample,
                     tiny_start_checkpoint)

REPO = Path(__file__).resolve().parents[1]
BASE, SIZE = TINY_BASE, TINY_SIZE
N_IMAGES = 16
VAL_SHARE = 0.25
CLASSES = tiny_classes()
EVENT_KEYS = {
    "start": {"total_iters", "start_iter", "iters", "batch_size", "lr", "crop", "seed", "num_train", "num_val",
              "classes", "model"},
    "iter": {"iter", "loss", "loss_decode", "loss_aux", "lr", "it_per_s", "eta_s"},
    "val": {"iter", "mIoU", "aAcc", "mAcc"},
    "checkpoint": {"path", "iter", "kind"},
    "done": {"best_mIoU", "best_path", "last_path"},
    "cancelled": {"iter", "path"},
    "warning": {"message"},
}


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", autouse=True)
def entry():
    """The Cityscapes R50 entry shrunk to 32x32 images, registered under its own names."""
    tiny = tiny_entry()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(zoo._BY_NAME, tiny.name, tiny)
        mp.setitem(zoo._BY_NAME, tiny.legacy_name, tiny)
        yield tiny


make_sample = tiny_sample


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """16 labelled images; one training image (per the seed-0 hold-out) is corrupt on disk."""
    root = tmp_path_factory.mktemp("project")
    proj = Project.create(root, CLASSES)
    train_idx, _ = holdout_split(N_IMAGES, VAL_SHARE, seed=0)
    for i in range(N_IMAGES):
        image, label = make_sample(i)
        path = root / f"img{i:02d}.png"
        Image.fromarray(image).save(path)
        write_index_mask(proj.label_path(path), label, CLASSES)
        proj.set_state(path, "corrected")
    (root / f"img{train_idx[0]:02d}.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    proj.save()
    return root


@pytest.fixture(scope="module")
def start_checkpoint(tmp_path_factory, entry) -> Path:
    return tiny_start_checkpoint(tmp_path_factory.mktemp("start") / "start.pth")


class Recorder(EventSink):
    def __init__(self) -> None:
        self.events: list[dict] = []

    def emit(self, event: str, **fields) -> None:
        self.events.append({"event": event, **json.loads(json.dumps(fields, default=str))})

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]


def config(tmp_path: Path, project: Path, start: Path, **options) -> TrainConfig:
    values = dict(out=str(tmp_path / "out"), data_root=str(project), dataset="project", checkpoint=str(start),
                  model=BASE, workers=0, device="cpu", val_share=VAL_SHARE)
    values.update(options)
    return TrainConfig(**values)


def check_events(events: list[dict]) -> None:
    for event in events:
        assert EVENT_KEYS.get(event["event"], set()) <= set(event), event


# ---------------------------------------------------------------------------- recipe parts
def test_poly_lr_matches_the_formula():
    assert poly_lr(0, 100, 0.01, 1e-4) == pytest.approx(0.01)
    assert poly_lr(50, 100, 0.01, 1e-4) == pytest.approx((0.01 - 1e-4) * 0.5 ** 0.9 + 1e-4)
    assert poly_lr(100, 100, 0.01, 1e-4) == pytest.approx(1e-4)


def test_loss_averages_over_all_pixels_including_ignored():
    logits = torch.randn(1, 3, 2, 2)
    label = torch.tensor([[[0, 1, 2, 255], [255, 255, 1, 0]]], dtype=torch.uint8)  # label 2x4
    up = F.interpolate(logits, size=(2, 4), mode="bilinear", align_corners=False)
    valid = F.cross_entropy(up, label.long(), ignore_index=255, reduction="sum")
    assert seg_loss(logits, label, align_corners=False).item() == pytest.approx(valid.item() / 8, rel=1e-6)


def test_presets_and_explicit_flags(tmp_path):
    cfg = TrainConfig.from_options(preset="finetune", out="o", data_root="d", model=BASE, lr=0.005)
    assert cfg.lr == 0.005 and cfg.iters == PRESETS["finetune"]["iters"] and cfg.freeze_bn == "auto"
    resolved = cfg.resolved(zoo.get_entry("gcnet_r50-d8_4xb4-80k_ade20k-512x512"))
    assert resolved.batch_size == 4 and not resolved.bn_frozen()  # ADE: 4 per GPU
    assert dataclasses.replace(resolved, batch_size=2).bn_frozen()
    default = TrainConfig(out="o", data_root="d", model=BASE).resolved(zoo.get_entry(BASE))
    assert (default.lr, default.momentum, default.weight_decay, default.min_lr) == (0.01, 0.9, 5e-4, 1e-4)
    assert default.iters == 40000 and default.val_interval == 4000 and default.crop == (SIZE, SIZE)


def test_frozen_bn_keeps_statistics_but_trains_affine(entry):
    model = build_model(entry, CLASSES, with_auxiliary_head=True)
    set_train_mode(model, freeze_bn=True)
    bn = model.backbone.stem[1]
    assert not bn.training and model.decode_head.training and bn.weight.requires_grad


def test_cli_flags_make_a_config():
    from gcnet_core.cli.main import build_parser

    args = build_parser().parse_args(
        ["train", "--model", BASE, "--project", "p", "--out", "o", "--iters", "7", "--batch-size", "3",
         "--crop", "24", "16", "--lr", "0.02", "--seed", "5", "--workers", "0", "--val-interval", "2",
         "--device", "cpu", "--amp", "--preset", "finetune", "--resume", "--val-at-start"])
    cfg = config_from_args(args)
    assert cfg.val_at_start and not config_from_args(build_parser().parse_args(
        ["train", "--model", BASE, "--project", "p", "--out", "o"])).val_at_start
    assert (cfg.iters, cfg.batch_size, cfg.crop, cfg.lr, cfg.seed, cfg.workers, cfg.val_interval) == \
        (7, 3, (24, 16), 0.02, 5, 0, 2)
    assert cfg.amp == "auto" and cfg.resume is True and cfg.dataset == "project" and cfg.preset == "finetune"


def test_speed_flags_make_a_config():
    from gcnet_core.cli.main import build_parser

    base = ["train", "--model", BASE, "--project", "p", "--out", "o"]
    cfg = config_from_args(build_parser().parse_args(base + ["--channels-last", "--no-fused-optimizer"]))
    assert cfg.channels_last is True and cfg.fused_optimizer is False
    cfg = config_from_args(build_parser().parse_args(base))
    assert cfg.channels_last is False and cfg.fused_optimizer is None  # None: fused on CUDA only
    assert TrainConfig.from_options(preset="finetune", out="o", data_root="d", model=BASE).amp == "auto"


@pytest.mark.training
def test_channels_last_and_fused_sgd_train_the_same_weights(tmp_path, project, start_checkpoint):
    """The speed switches change memory layout and kernel count, not the arithmetic's result."""
    options = dict(iters=2, batch_size=2, crop=(16, 16), val_split="none", val_interval=10, seed=3)
    plain = train(config(tmp_path / "a", project, start_checkpoint, **options), Recorder())
    fast = train(config(tmp_path / "b", project, start_checkpoint, channels_last=True, fused_optimizer=True,
                        **options), Recorder())
    assert plain.status == fast.status == "done"
    a, _ = read_checkpoint(tmp_path / "a/out/last.pth")
    b, _ = read_checkpoint(tmp_path / "b/out/last.pth")
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-3, atol=1e-5), key


# ------------------------------------------------------------------------------ class sets
def test_class_change_reinitialises_classifiers_and_copies_matching_rows(entry):
    torch.manual_seed(1)
    source = build_model(entry, with_auxiliary_head=True).state_dict()
    target = ClassSet(("Sky", "unicorn", "road"), ((1, 1, 1), (2, 2, 2), (3, 3, 3)))
    state, copied = adapt_classifiers(source, entry.classes, target, torch.Generator().manual_seed(0))
    assert copied == ["Sky", "road"]
    sky, road = CITYSCAPES_CLASSES.index("sky"), CITYSCAPES_CLASSES.index("road")
    for prefix in ("decode_head.conv_seg", "auxiliary_head.conv_seg"):
        weight, bias = state[f"{prefix}.weight"], state[f"{prefix}.bias"]
        assert weight.shape[0] == 3 and bias.shape == (3,)
        assert torch.equal(weight[0], source[f"{prefix}.weight"][sky])
        assert torch.equal(weight[2], source[f"{prefix}.weight"][road])
        assert torch.equal(bias[[0, 2]], source[f"{prefix}.bias"][[sky, road]])
        assert bias[1] == 0 and 0.001 < weight[1].std() < 0.1  # normal(0, 0.01)
    untouched = [k for k in source if "conv_seg" not in k]
    assert all(torch.equal(state[k], source[k]) for k in untouched)
    model = build_model(entry, target, with_auxiliary_head=True)
    assert load_weights(model, state) == []


def class_project(root: Path, classes: ClassSet, count: int = 4) -> Path:
    """``count`` corrected images labelled with ``classes`` (the square is class 0, the rest 1)."""
    proj = Project.create(root, classes)
    for i in range(count):
        image, label = make_sample(i)
        path = root / f"img{i:02d}.png"
        Image.fromarray(image).save(path)
        write_index_mask(proj.label_path(path), (1 - label).astype(np.uint8), classes)
        proj.set_state(path, "corrected")
    proj.save()
    return root


def test_a_project_with_other_classes_trains_its_own_class_list(tmp_path, start_checkpoint):
    """Reordered, renamed in case, and a class the model does not know: the fine-tune trains the
    project's list in the project's order, each known class starting from the model's row."""
    classes = ClassSet(("square", "Road", "crack"), ((40, 200, 40), (200, 60, 60), (9, 9, 9)))
    root = class_project(tmp_path / "proj", classes)
    trainer = Trainer(config(tmp_path, root, start_checkpoint, val_share=0.0), EventSink(), DistContext())
    source, _ = read_checkpoint(start_checkpoint)
    road = CITYSCAPES_CLASSES.index("road")
    assert trainer.classes == classes and trainer.copied == ["Road"]
    for head in (trainer.model.decode_head, trainer.model.auxiliary_head):
        prefix = "decode_head" if head is trainer.model.decode_head else "auxiliary_head"
        assert head.conv_seg.out_channels == 3
        assert torch.equal(head.conv_seg.weight[1], source[f"{prefix}.conv_seg.weight"][road])
        assert not torch.equal(head.conv_seg.weight[0], source[f"{prefix}.conv_seg.weight"][0])


def test_a_live_head_is_a_starting_point_that_keeps_every_learnt_row(tmp_path, start_checkpoint, entry):
    """A published live head (the project's classes, one the zoo lacks) starts a full fine-tune
    with its rows as they are: nothing re-initialised, the new class included."""
    from gcnet_core.adapt.head import LinearHead
    from gcnet_core.adapt.publish import write_adapted_checkpoint

    classes = ClassSet(("square", "Road", "crack"), ((40, 200, 40), (200, 60, 60), (9, 9, 9)))
    root = class_project(tmp_path / "proj", classes)
    rng = np.random.default_rng(0)
    head = LinearHead(rng.normal(0, 0.1, (3, 512)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32),
                      tuple(classes.names), np.arange(3, dtype=np.uint8))
    source, _ = read_checkpoint(start_checkpoint)
    live = write_adapted_checkpoint(tmp_path / "live.pth", source, head, entry, CITYSCAPES_CLASSES, classes)
    trainer = Trainer(config(tmp_path, root, live, val_share=0.0), EventSink(), DistContext())
    assert trainer.copied == ["square", "Road", "crack"]
    weight, bias = head.conv_seg()
    assert torch.equal(trainer.model.decode_head.conv_seg.weight.detach(), weight)
    assert torch.equal(trainer.model.decode_head.conv_seg.bias.detach(), bias)


# ------------------------------------------------------------------------- device presets
def test_the_cpu_preset_is_short_on_small_crops_and_the_gpu_keeps_the_full_recipe(entry):
    assert finetune_preset("cuda") == "finetune" and finetune_preset("cpu") == "finetune-cpu"
    gpu = TrainConfig.from_options(preset="finetune", out="o", data_root="d", model=BASE).resolved(entry)
    cpu = TrainConfig.from_options(preset="finetune-cpu", out="o", data_root="d", model=BASE).resolved(entry)
    assert gpu.iters == 500 and gpu.batch_size == entry.dataset.batch_per_gpu and gpu.crop == entry.crop_size
    assert cpu.iters == 60 and cpu.batch_size == 1 and cpu.crop == (256, 256) and cpu.val_interval == 20
    assert cpu.lr == gpu.lr and cpu.bn_frozen()  # the same recipe, shortened
    assert TrainConfig.from_options(preset="finetune-cpu", out="o", data_root="d", model=BASE, iters=7).iters == 7


@pytest.mark.training
def test_the_estimate_times_real_steps_and_writes_nothing(tmp_path, project, start_checkpoint, capsys):
    from gcnet_core.cli.main import main

    cfg = config(tmp_path, project, start_checkpoint, iters=40, val_interval=15, batch_size=2, crop=(16, 16))
    estimate = estimate_run(cfg)
    assert estimate.num_val == 4 and estimate.iters == 40 and estimate.device == "cpu"
    assert estimate.step_s > 0 and estimate.val_image_s > 0 and estimate.setup_s > 0
    assert estimate.validations == 1 + 2 + 1  # before, at 15 and 30, at the end
    assert estimate.total_s == pytest.approx(estimate.setup_s + 40 * estimate.step_s
                                             + 4 * 4 * estimate.val_image_s)
    assert not Path(cfg.out).exists()  # nothing trained, nothing written

    code = main(["train", "--estimate", "--progress", "jsonl", "--project", str(project), "--checkpoint",
                 str(start_checkpoint), "--model", BASE, "--out", str(tmp_path / "cli"), "--iters", "10",
                 "--batch-size", "1", "--crop", "16", "16", "--workers", "0", "--device", "cpu",
                 "--val-share", "0"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and [line["event"] for line in lines] == ["estimate"]
    assert lines[0]["num_val"] == 0 and lines[0]["validations"] == 0 and lines[0]["total_s"] > 0
    assert not (tmp_path / "cli").exists()


# ---------------------------------------------------------------------------------- data
def test_batches_are_a_function_of_seed_and_iteration(project, caplog):
    dataset = SegDataset("project", project, "corrected")
    transform = TrainTransform((SIZE, SIZE), (16, 16))
    whole = IterationBatches(dataset, transform, batch_size=4, seed=3)
    halves = [IterationBatches(dataset, transform, batch_size=2, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for iteration in (0, 5, 2):  # any order, any process split: the same global batch
        batch = whole[iteration]
        assert batch["image"].shape == (4, 16, 16, 3) and batch["label"].dtype == torch.uint8
        joined = torch.cat([h[iteration]["image"] for h in halves])
        assert torch.equal(joined, batch["image"])
    assert not torch.equal(whole[0]["image"], whole[1]["image"])
    # the corrupt file was skipped with a warning naming it, never raised
    with caplog.at_level("WARNING"):
        fresh = IterationBatches(dataset, transform, batch_size=4, seed=3)
        listed = [line for iteration in range(4) for line in fresh[iteration]["unreadable"]]
    assert any("skipping sample" in r.getMessage() for r in caplog.records)
    assert len(listed) == 1 and listed[0].split(": ")[0].endswith(".png")  # named once, with its reason


def test_holdout_split_is_disjoint_and_seeded():
    train_idx, val_idx = holdout_split(12, 0.25, seed=0)
    assert len(val_idx) == 3 and sorted(train_idx + val_idx) == list(range(12))
    assert holdout_split(12, 0.25, seed=0) == (train_idx, val_idx)
    assert holdout_split(3, 0.0, seed=0) == ([0, 1, 2], [])  # nothing held out: asked for none


def test_two_or_three_images_hold_one_out_and_a_single_image_holds_out_blocks(tmp_path):
    """A run on 1-3 done images is judged on labels it never trained on: one held-out image of 2
    or 3; of a single image a quarter in blocks (one per row and column), ignored in training."""
    for count in (2, 3):
        train_idx, val_idx = holdout_split(count, 0.1, seed=0)
        assert len(val_idx) == 1 and sorted(train_idx + val_idx) == list(range(count))
    assert holdout_split(1, 0.25, seed=0) == ([0], [])  # blocks instead (project_holdout)
    root = class_project(tmp_path / "one", CLASSES, count=1)
    dataset = SegDataset("project", root)
    train_view, val_view, how = project_holdout(dataset, 0.1, seed=0)
    assert how == "blocks" and len(train_view) == len(val_view) == 1
    _, full, _ = dataset[0]
    _, trained, _ = train_view[0]
    _, scored, _ = val_view[0]
    trained_px, scored_px = trained != 255, scored != 255
    assert not (trained_px & scored_px).any() and (trained_px | scored_px).all()
    assert np.array_equal(trained[trained_px], full[trained_px]) and np.array_equal(scored[scored_px], full[scored_px])
    assert scored_px.mean() == pytest.approx(0.25)
    rows_hit = [scored_px[r * SIZE // 4:(r + 1) * SIZE // 4].any(axis=0) for r in range(4)]
    assert all(row.sum() == SIZE // 4 for row in rows_hit)  # one block per row ...
    assert np.array_equal(np.sum(rows_hit, axis=0), np.ones(SIZE))  # ... and one per column
    assert project_holdout(dataset, 0.0, seed=0)[1:] == (None, "none")


def test_a_run_on_one_image_is_scored_on_its_blocks_and_against_every_baseline(tmp_path, start_checkpoint):
    """One done image: the run validates on its held-out blocks (the start event says so), and a
    checkpoint given to compare with is scored on the same pixels first (a "baseline" event): the
    starting checkpoint itself scores exactly what the run's own iteration 0 does."""
    root = class_project(tmp_path / "one", CLASSES, count=1)
    other = tiny_start_checkpoint(tmp_path / "other.pth")
    state = torch.load(other, map_location="cpu", weights_only=True)
    state["state_dict"]["decode_head.conv_seg.bias"][0] += 1000.0  # predicts road (class 0 of both) everywhere
    torch.save(state, other)
    sink = Recorder()
    result = train(config(tmp_path, root, start_checkpoint, val_share=0.1, iters=1, val_interval=1, crop=(16, 16),
                          batch_size=1, val_at_start=True, compare_with=(str(start_checkpoint), str(other))), sink)
    assert result.status == "done"
    start = sink.of("start")[0]
    assert start["holdout"] == "blocks" and start["num_val"] == 1 and start["val_images"] == ["img00.png"]
    val0 = next(e for e in sink.of("val") if e["iter"] == 0)
    baselines = {e["checkpoint"]: e for e in sink.of("baseline")}
    assert set(baselines) == {str(start_checkpoint), str(other)}
    assert baselines[str(start_checkpoint)]["mIoU"] == pytest.approx(val0["mIoU"])
    everywhere_road = baselines[str(other)]["per_class"]
    assert everywhere_road["square"]["IoU"] == 0 and everywhere_road["road"]["IoU"] > 0


def test_padding_is_zero_after_normalisation_and_ignored_in_labels():
    transform = TrainTransform((12, 12), (24, 20))
    image, label = make_sample(3, size=12)
    sample = transform.sample(image, label, rng=np.random.default_rng(0))  # resized to 6..24 px: padded
    batch = {"image": torch.from_numpy(sample.image[None]), "label": torch.from_numpy(sample.label[None]),
             "valid_hw": torch.tensor([sample.valid_hw])}
    x, y = normalise_batch(batch, torch.device("cpu"))
    h, w = sample.valid_hw
    assert x.shape == (1, 3, 24, 20) and y.dtype == torch.int64 and (h < 24 or w < 20)
    assert (x[0, :, h:] == 0).all() and (x[0, :, :, w:] == 0).all()
    assert (y[0, h:] == 255).all() and (y[0, :, w:] == 255).all()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    expected = (torch.from_numpy(sample.image).permute(2, 0, 1).float() - mean) / std
    assert torch.allclose(x[0, :, :h, :w], expected[:, :h, :w])


def test_atomic_save_leaves_no_partial_file(tmp_path):
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    (tmp_path / "last.pth").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_save([({"a": torch.ones(1)}, tmp_path / "resume.pth"), (Unpicklable(), tmp_path / "last.pth")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pth"]
    assert (tmp_path / "last.pth").read_bytes() == b"old"


# ------------------------------------------------------------------------------- training
def held_out(project: Path) -> Subset:
    dataset = SegDataset("project", project, "corrected,exported")
    return Subset(dataset, holdout_split(len(dataset), VAL_SHARE, seed=0)[1])


@pytest.mark.training
@pytest.mark.slow
def test_fine_tune_learns_and_writes_official_checkpoints(tmp_path, project, start_checkpoint, entry):
    """20 CPU iterations lift held-out mIoU far above the (class-adapted) starting model."""
    state, meta = read_checkpoint(start_checkpoint)
    state, _ = adapt_classifiers(state, entry.classes, CLASSES, torch.Generator().manual_seed(0))
    start_model = build_model(entry, CLASSES, with_auxiliary_head=True)
    load_weights(start_model, state)
    start_miou = evaluate(LoadedModel(start_model.eval(), entry, CLASSES), held_out(project), progress=False).mIoU

    events = Recorder()
    cfg = config(tmp_path, project, start_checkpoint, iters=20, val_interval=10, lr=0.03)
    result = train(cfg, events)
    check_events(events.events)
    assert [e["event"] for e in events.events][0] == "start" and events.events[-1]["event"] == "done"
    start = events.of("start")[0]
    assert start["num_train"] == 12 and start["num_val"] == 4 and start["copied_classes"] == ["road"]
    assert [e["iter"] for e in events.of("iter")] == list(range(1, 21))
    assert any("skipping sample" in e["message"] for e in events.of("warning"))  # the corrupt image, skipped
    assert len(events.of("done")[0]["unreadable"]) == 1  # and listed at the end (issue 12)
    vals = events.of("val")
    assert [v["iter"] for v in vals] == [10, 20]
    best = max(v["mIoU"] for v in vals)
    print(f"held-out mIoU: start {start_miou}, after training {[v['mIoU'] for v in vals]}")
    assert result.best_mIoU == best
    assert best >= 65 and best >= start_miou + 25, (start_miou, vals)

    out = tmp_path / "out"
    assert {"last.pth", "best.pth", "resume.pth"} <= {p.name for p in out.iterdir()}
    last = torch.load(out / "last.pth", weights_only=True)
    assert set(last) == {"meta", "state_dict"}
    meta = last["meta"]
    assert meta["CLASSES"] == list(CLASSES.names) and meta["dataset_meta"]["classes"] == list(CLASSES.names)
    assert meta["PALETTE"] == [list(c) for c in CLASSES.palette] and meta["base_model"] == BASE
    assert meta["iter"] == 20 and meta["metrics"]["mIoU"] == vals[-1]["mIoU"]
    assert json.loads(meta["config"])["iters"] == 20 and meta["gcnet_annotator_version"]
    assert any(k.startswith("auxiliary_head.") for k in last["state_dict"])
    assert len(last["state_dict"]) == 366  # the official R50 key set
    torch.load(out / "resume.pth", weights_only=True)
    model = init_model(checkpoint=out / "best.pth", device="cpu")  # no name: read from meta
    assert model.classes == CLASSES
    assert evaluate(model, held_out(project), progress=False).mIoU == pytest.approx(best)


@pytest.mark.training
def test_resume_after_cancel_gives_the_same_weights(tmp_path, project, start_checkpoint):
    """Stopped after iteration 1 and resumed, a run ends with exactly the uninterrupted weights."""
    options = dict(iters=2, batch_size=2, crop=(16, 16), val_split="none", val_interval=10, seed=7)
    straight = train(config(tmp_path / "a", project, start_checkpoint, **options), Recorder())
    assert straight.status == "done"

    events = Recorder()
    stopped = train(config(tmp_path / "b", project, start_checkpoint, **options), events,
                    stop=lambda: True)  # asked to stop during iteration 1
    assert stopped.status == "cancelled" and stopped.iter == 1
    assert events.events[-1]["event"] == "cancelled" and events.events[-1]["iter"] == 1
    assert read_checkpoint(tmp_path / "b/out/last.pth")[1]["iter"] == 1

    again = Recorder()
    resumed = train(config(tmp_path / "b", project, start_checkpoint, **options), again)  # automatic resume
    assert resumed.status == "done" and again.of("start")[0]["start_iter"] == 1
    assert [e["iter"] for e in again.of("iter")] == [2]
    a, _ = read_checkpoint(tmp_path / "a/out/last.pth")
    b, _ = read_checkpoint(tmp_path / "b/out/last.pth")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key

    # one of our checkpoints starts a new run without --model: base model and classes from its meta
    ours = config(tmp_path / "c", project, tmp_path / "a/out/last.pth", model=None, **options)
    trainer = Trainer(ours, Recorder(), DistContext())
    assert trainer.entry.name == BASE and trainer.copied == list(CLASSES.names)
    assert torch.equal(trainer.model.state_dict()["decode_head.conv_seg.weight"], a["decode_head.conv_seg.weight"])


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


@pytest.mark.training
def test_sigterm_saves_a_loadable_checkpoint_and_reports_cancelled(tmp_path, project, start_checkpoint):
    out = tmp_path / "out"
    command = [sys.executable, str(tiny_gcnet_script(tmp_path)), "train", "--model", BASE,
               "--checkpoint", str(start_checkpoint), "--project", str(project), "--out", str(out),
               "--iters", "50", "--batch-size", "1", "--crop", "16", "16", "--val-split", "none",
               "--workers", "0", "--device", "cpu", "--progress", "jsonl"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=subprocess_env())
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if json.loads(line)["event"] == "iter":
                process.send_signal(signal.SIGTERM)
                break
        rest, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    lines += rest.splitlines()
    events = [json.loads(line) for line in lines if line.strip()]  # stdout is pure JSON lines
    check_events(events)
    assert process.returncode == 0, err
    assert events[0]["event"] == "start" and events[-1]["event"] == "cancelled", events[-3:]
    cancelled = events[-1]
    assert cancelled["signal"] == "SIGTERM" and 1 <= cancelled["iter"] < 50
    assert any(e["event"] == "checkpoint" and e["kind"] == "last" for e in events)
    model = init_model(checkpoint=out / "last.pth", device="cpu")
    assert model.classes == CLASSES
    assert read_checkpoint(out / "last.pth")[1]["iter"] == cancelled["iter"]


def test_errors_are_events_and_a_nonzero_exit(tmp_path, project, capsys):
    from gcnet_core.cli.main import main

    code = main(["train", "--checkpoint", str(tmp_path / "missing.pth"), "--model", BASE, "--project",
                 str(project), "--out", str(tmp_path / "out"), "--progress", "jsonl"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and lines[-1]["event"] == "error" and "missing.pth" in lines[-1]["message"]


def test_nan_metrics_are_json_null():
    from gcnet_core.cli.events import JsonLinesSink
    import io

    stream = io.StringIO()
    JsonLinesSink(stream).emit("val", iter=1, mIoU=math.nan, aAcc=1.0, mAcc=float("inf"))
    assert json.loads(stream.getvalue()) == {"event": "val", "iter": 1, "mIoU": None, "aAcc": 1.0, "mAcc": None}


def test_bar_sink_shows_every_event(capsys):
    sink = BarSink()
    sink.emit("start", total_iters=3, start_iter=0, model=BASE, num_train=4, num_val=1)
    sink.emit("iter", iter=1, loss=1.0, lr=0.01)
    sink.emit("val", iter=1, mIoU=math.nan, aAcc=50.0, mAcc=40.0)
    sink.emit("checkpoint", path="out/last.pth", iter=1, kind="last")
    sink.emit("warning", message="skipping sample x")
    sink.emit("done", best_mIoU=None, best_path=None, last_path="out/last.pth")
    err = capsys.readouterr().err
    assert "mIoU nan" in err and "saved last checkpoint" in err and "done: last out/last.pth" in err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_mixed_precision_on_cuda(tmp_path, project, start_checkpoint, amp):
    events = Recorder()
    cfg = config(tmp_path, project, start_checkpoint, iters=4, val_interval=2, device="cuda", amp=amp,
                 workers=2, batch_size=4)
    assert train(cfg, events).status == "done"
    assert events.of("start")[0]["amp"] == amp and all("gpu_mem_mb" in e for e in events.of("iter"))
    assert all(math.isfinite(e["loss"]) for e in events.of("iter"))
    resume = torch.load(tmp_path / "out/resume.pth", weights_only=True)
    assert (resume["scaler"] is not None) == (amp == "fp16")  # GradScaler only for fp16
    init_model(checkpoint=tmp_path / "out/last.pth", device="cuda")
