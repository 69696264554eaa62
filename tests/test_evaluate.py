"""``evaluate`` and ``gcnet eval`` on a tiny Cityscapes-layout folder with a real (random) GCNet."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from gcnet_core.weights import zoo
from gcnet_core.api import build_model
from gcnet_core.model.classes import ClassSet
from gcnet_core.data import SegDataset
from gcnet_core.evaluation.evaluate import evaluate, evaluate_report
from gcnet_core.predict.loaded import LoadedModel
from gcnet_core.evaluation.metrics import IoUAccumulator
from gcnet_core.project.store import Project

NAME = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"
H, W = 12, 24  # fitted into the reduced test scale (32, 16): a real 4/3 resize and back
FRAMES = [("aachen", "000000_000019"), ("aachen", "000001_000019"), ("bremen", "000002_000019")]


def small_entry():
    entry = zoo.get_entry(NAME)
    return dataclasses.replace(entry, dataset=dataclasses.replace(entry.dataset, base_scale=(32, 16)))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    torch.manual_seed(0)
    entry = small_entry()
    net = build_model(entry)
    with torch.no_grad():  # spread the logits so several classes get predicted
        net.decode_head.conv_seg.weight.normal_(0, 0.5)
    return LoadedModel(net.eval(), entry, entry.classes)


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "small.pth"
    torch.save({"meta": {}, "state_dict": model.network.state_dict()}, path)
    return path


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_cityscapes(root: Path) -> Path:
    """Three val images; labels are bands of trainIds with some ignore, 12 x 24 pixels."""
    for i, (city, frame) in enumerate(FRAMES):
        rng = np.random.default_rng(i)
        write_png(root / "leftImg8bit/val" / city / f"{city}_{frame}_leftImg8bit.png",
                  rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        label = np.zeros((H, W), dtype=np.uint8)
        for value, cols in zip((i, 13, 255, 18 - i), np.array_split(np.arange(W), 4)):
            label[:, cols] = value
        write_png(root / "gtFine/val" / city / f"{city}_{frame}_gtFine_labelTrainIds.png", label)
    return root


_PREDICTIONS: dict[str, np.ndarray] = {}  # the images are the same in every test: predict once


def by_hand(model, dataset: SegDataset, indices) -> dict:
    """Metrics from per-image predictions fed to IoUAccumulator directly."""
    acc = IoUAccumulator(19, reduce_zero_label=False)
    for i in indices:
        image, label, name = dataset[i]
        if name not in _PREDICTIONS:
            _PREDICTIONS[name] = model.predictor().predict(image).labels
        acc.update(_PREDICTIONS[name], label)
    return acc.compute(dataset.classes.names).to_json()


@pytest.fixture
def dataset(tmp_path) -> SegDataset:
    return SegDataset("cityscapes", make_cityscapes(tmp_path / "cs"), "val")


# ----------------------------------------------------------------------------- library
def test_evaluate_equals_hand_accumulation(model, dataset):
    result = evaluate(model, dataset, progress=False)
    assert result.to_json() == by_hand(model, dataset, range(3))
    assert 0 < result.aAcc <= 100


def test_batching_gives_the_same_metrics(model, dataset):
    assert evaluate(model, dataset, progress=False, batch_size=2).to_json() == by_hand(model, dataset, range(3))


def test_controlled_predictions(monkeypatch, dataset):
    """A predictor that always says class 0: the metrics follow from pixel counts."""
    class Constant:
        def predict_batch(self, images):
            return [SimpleNamespace(labels=np.zeros(im.shape[:2], np.uint8)) for im in images]

    class ConstantModel(LoadedModel):
        def predictor(self, progress=None):
            return Constant()

    fake = ConstantModel(torch.nn.Linear(1, 1), small_entry(), dataset.classes)
    result = evaluate(fake, dataset, progress=False)
    band = H * W // 4  # each of the four bands is a quarter of the columns
    valid = 3 * 3 * band  # three images, three non-ignored bands each
    assert result.aAcc == pytest.approx(round(100 * band / valid, 2))  # only image 0 has class 0
    assert result.per_class["road"]["IoU"] == pytest.approx(round(100 * band / valid, 2))
    assert result.per_class["road"]["Acc"] == 100.0
    assert result.per_class["sidewalk"]["IoU"] == 0.0  # in the labels, never predicted
    assert np.isnan(result.per_class["wall"]["IoU"])  # absent everywhere: left out of the mean
    present = 7  # classes 0, 1, 2, 13, 16, 17, 18 occur in the labels; only class 0 scores
    assert result.mIoU == pytest.approx(round(100 * (band / valid) / present, 2))
    assert result.mAcc == pytest.approx(round(100 / present, 2))
    assert fake.network.training  # the model's mode is restored


def test_limit_scores_only_the_first_images(model, dataset):
    report = evaluate_report(model, dataset, limit=1, progress=False)
    assert report.images == 1
    assert report.metrics.to_json() == by_hand(model, dataset, [0])


def test_tta_uses_the_ms_flip_predictions(model, dataset):
    image, label, _ = dataset[0]
    acc = IoUAccumulator(19)
    acc.update(model.predictor().predict(image, tta=True).labels, label)
    result = evaluate(model, dataset, tta=True, limit=1, progress=False)
    assert result.to_json() == acc.compute(dataset.classes.names).to_json()


def test_corrupt_image_is_skipped_with_a_warning(model, dataset, caplog):
    dataset.samples[1].image.write_bytes(b"not a png at all")
    with caplog.at_level(logging.WARNING, logger="gcnet_core.data"):
        report = evaluate_report(model, dataset, progress=False)
    assert (report.images, report.skipped) == (2, 1)
    assert any("aachen_000001_000019" in r.getMessage() for r in caplog.records)
    assert report.metrics.to_json() == by_hand(model, dataset, [0, 2])


def test_project_classes_must_match(model, tmp_path):
    names = tuple(f"thing{i}" for i in range(19))
    Project.create(tmp_path / "p19", ClassSet(names, tuple((i, i, i) for i in range(19))))
    with pytest.raises(ValueError, match="do not match the project"):
        evaluate(model, SegDataset("project", tmp_path / "p19"), progress=False)
    Project.create(tmp_path / "p2", ClassSet(("a", "b"), ((0, 0, 0), (1, 1, 1))))
    with pytest.raises(ValueError, match="19 classes"):
        evaluate(model, SegDataset("project", tmp_path / "p2"), progress=False)


# --------------------------------------------------------------------------------- CLI
def run_cli(monkeypatch, *args: str) -> int:
    from gcnet_core.cli.main import main

    entry = small_entry()
    monkeypatch.setitem(zoo._BY_NAME, entry.name, entry)
    return main(["eval", "--model", NAME, "--device", "cpu", "--quiet", *args])


def test_cli_eval_writes_json(monkeypatch, model, checkpoint, dataset, tmp_path, capsys):
    out = tmp_path / "out" / "metrics.json"
    code = run_cli(monkeypatch, "--checkpoint", str(checkpoint), "--dataset", "cityscapes",
                   "--data-root", str(dataset.root), "--json", str(out))
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data) == {"aAcc", "mIoU", "mAcc", "per_class"}
    assert set(data["per_class"]["road"]) == {"IoU", "Acc"}
    assert data == by_hand(model, dataset, range(3))
    assert data["per_class"]["wall"]["IoU"] is None  # NaN -> null
    printed = capsys.readouterr().out
    assert "mIoU:" in printed and "3 images evaluated" in printed


def test_cli_eval_limit(monkeypatch, model, checkpoint, dataset, tmp_path, capsys):
    out = tmp_path / "m.json"
    code = run_cli(monkeypatch, "--checkpoint", str(checkpoint), "--dataset", "cityscapes",
                   "--data-root", str(dataset.root), "--limit", "1", "--json", str(out))
    assert code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == by_hand(model, dataset, [0])
    assert "1 images evaluated" in capsys.readouterr().out


def test_cli_eval_missing_data_root(monkeypatch, tmp_path, capsys):
    code = run_cli(monkeypatch, "--dataset", "cityscapes", "--data-root", str(tmp_path / "nowhere"))
    assert code == 2
    assert "not found" in capsys.readouterr().err


def test_cli_eval_lists_each_unusable_image_and_exits_1(monkeypatch, model, checkpoint, dataset, capsys):
    """Issue 12: a per-image failure never stops the run; each is listed with its reason."""
    dataset.samples[1].image.write_bytes(b"not a png at all")
    code = run_cli(monkeypatch, "--checkpoint", str(checkpoint), "--dataset", "cityscapes",
                   "--data-root", str(dataset.root))
    captured = capsys.readouterr()
    assert code == 1
    assert "2 images evaluated, 1 left out" in captured.out and "mIoU:" in captured.out
    assert "1 image(s) could not be evaluated" in captured.err
    assert f"{dataset.samples[1].image}: not an image" in captured.err
