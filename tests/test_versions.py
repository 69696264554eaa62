"""The registry of fine-tuned model versions: publish, list, rename, delete, atomic records."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from gcnet_core import paths
from gcnet_core.project import versions
from gcnet_core.project.versions import METADATA_NAME, VersionError, VersionRegistry

BASE = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(paths.DATA_ENV, str(folder))
    return folder


def fake_checkpoint(path: Path, base: str | None = BASE) -> Path:
    """A tiny file in our checkpoint layout (the registry never loads the weights)."""
    meta = {"CLASSES": ["road", "square"], "PALETTE": [[200, 60, 60], [40, 200, 40]]}
    if base:
        meta["base_model"] = base
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"meta": meta, "state_dict": {"w": torch.arange(4.0)}}, path)
    return path


def publish(registry: VersionRegistry, source: Path, **options):
    values = dict(parent=BASE, project="/data/streets", images={"train": ["a.png", "b.png"], "val": ["c.png"]},
                  settings={"iters": 20, "lr": 0.001},
                  before={"mIoU": 31.5, "per_class": {"road": {"IoU": 63.0, "Acc": 99.0},
                                                      "square": {"IoU": 0.0, "Acc": math.nan}}},
                  after={"mIoU": 70.25, "per_class": {"road": {"IoU": 80.0, "Acc": 90.0},
                                                      "square": {"IoU": 60.5, "Acc": 70.0}}})
    values.update(options)
    return registry.publish(source, **values)


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "x"))
    assert versions.models_dir() == tmp_path / "x" / "models"
    assert versions.runs_dir() == tmp_path / "x" / "runs"
    monkeypatch.delenv(paths.DATA_ENV)
    assert paths.data_folder().name == "gcnet-annotator"
    assert VersionRegistry().root == versions.models_dir()


def test_publish_records_everything_and_lists_it(data_dir, tmp_path):
    source = fake_checkpoint(tmp_path / "run" / "best.pth")
    registry = VersionRegistry()
    assert registry.list() == []
    version = publish(registry, source, name="streets v1")

    assert version.name == "streets v1" and version.id.startswith("ft-")
    assert version.base_model == BASE and version.classes == ["road", "square"]
    assert version.palette == [[200, 60, 60], [40, 200, 40]]
    assert version.checkpoint == data_dir / "models" / version.id / "model.pth"
    assert version.checkpoint.read_bytes() == source.read_bytes()
    assert version.miou("before") == 31.5 and version.miou("after") == 70.25
    assert version.metrics["before"]["per_class"]["square"]["Acc"] is None  # NaN is not JSON
    assert version.images == {"train": ["a.png", "b.png"], "val": ["c.png"]}
    assert version.parent == BASE and version.settings["iters"] == 20

    record = json.loads((version.folder / METADATA_NAME).read_text())
    assert record["format"] == "gcnet-annotator-model-version" and record["checkpoint"] == "model.pth"
    [listed] = registry.list()
    assert listed == version
    assert registry.get(version.id) == version

    # the run goes on (or is deleted): the published weights stay as they were
    os.replace(fake_checkpoint(tmp_path / "run" / "other.pth", base="another"), source)
    assert torch.load(version.checkpoint, weights_only=True)["meta"]["base_model"] == BASE


def test_default_name_and_order(data_dir, tmp_path):
    registry = VersionRegistry()
    first = publish(registry, fake_checkpoint(tmp_path / "a.pth"))
    second = publish(registry, fake_checkpoint(tmp_path / "b.pth"), before=None, after=None)
    assert first.name.startswith("streets ")
    assert [v.id for v in registry.list()] == sorted([first.id, second.id], key=lambda i: (
        registry.get(i).created, i))
    assert second.miou("after") is None and second.metrics == {"before": None, "after": None}


def test_rename_and_delete(data_dir, tmp_path):
    registry = VersionRegistry()
    keep = publish(registry, fake_checkpoint(tmp_path / "a.pth"))
    gone = publish(registry, fake_checkpoint(tmp_path / "b.pth"))
    renamed = registry.rename(keep.id, "  best so far ")
    assert renamed.name == "best so far" and registry.get(keep.id).name == "best so far"
    with pytest.raises(VersionError):
        registry.rename(keep.id, "   ")
    registry.delete(gone.id)
    assert [v.id for v in registry.list()] == [keep.id]
    assert not gone.folder.exists()
    with pytest.raises(VersionError):
        registry.get(gone.id)
    with pytest.raises(VersionError):
        registry.delete(gone.id)


def test_unfinished_and_corrupt_folders_are_skipped(data_dir, tmp_path):
    registry = VersionRegistry()
    good = publish(registry, fake_checkpoint(tmp_path / "a.pth"))
    (registry.root / "ft-half-done").mkdir()
    (registry.root / "ft-half-done" / "model.pth").write_bytes(b"partial")  # a publish cut short
    (registry.root / "ft-broken").mkdir()
    (registry.root / "ft-broken" / METADATA_NAME).write_text("{not json")
    (registry.root / "stray.txt").write_text("hello")
    assert [v.id for v in registry.list()] == [good.id]


def test_publish_refuses_a_checkpoint_that_is_not_ours(data_dir, tmp_path):
    registry = VersionRegistry()
    with pytest.raises(VersionError, match="base model"):
        publish(registry, fake_checkpoint(tmp_path / "official.pth", base=None))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(VersionError, match="not a readable checkpoint"):
        publish(registry, bad)
    assert registry.list() == []
    assert not registry.root.exists() or not any(registry.root.iterdir())  # nothing left behind
