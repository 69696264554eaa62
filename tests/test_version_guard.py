"""Fine-tuning never builds on a worse model: which versions are adopted, and what the next run
starts from (gcnet_core.project.versions)."""

from __future__ import annotations

from test_versions import BASE, data_dir, fake_checkpoint, publish  # noqa: F401 (data_dir: a fixture)

from gcnet_core.project.versions import VersionRegistry


def scores(before: float | None, after: float | None) -> dict:
    return {"before": None if before is None else {"mIoU": before},
            "after": None if after is None else {"mIoU": after}}


def test_a_version_is_adopted_only_when_it_scored_better_or_could_not_be_scored(data_dir, tmp_path):
    registry = VersionRegistry()
    source = fake_checkpoint(tmp_path / "best.pth")
    assert publish(registry, source, **scores(40.0, 55.0)).adopted
    worse = publish(registry, source, **scores(73.4, 0.3))
    assert not worse.adopted
    assert not publish(registry, source, **scores(50.0, 50.0)).adopted  # equal is not better
    assert publish(registry, source, **scores(None, None)).adopted  # nothing held out: nothing to compare
    assert not registry.get(worse.id).adopted  # a fact of the stored record


def test_the_next_run_starts_from_the_best_model_not_the_last_one(data_dir, tmp_path):
    registry = VersionRegistry()
    source = fake_checkpoint(tmp_path / "best.pth")
    good = publish(registry, source, parent=BASE, **scores(40.0, 55.0))
    worse = publish(registry, source, parent=good.id, **scores(55.0, 20.0))
    worse_again = publish(registry, source, parent=worse.id, **scores(20.0, 30.0))  # "better" than a bad one
    assert registry.best_start(BASE) == BASE  # a zoo entry is not a version
    assert registry.best_start("my-imported-file") == "my-imported-file"
    assert registry.best_start(good.id) == good.id
    assert registry.best_start(worse.id) == good.id
    # it beat the worse version it started from (as runs did before this rule): not trusted either
    assert worse_again.adopted and registry.best_start(worse_again.id) == good.id
    rejected = publish(registry, source, parent=BASE, **scores(60.0, 10.0))
    assert registry.best_start(rejected.id) == BASE
    registry.delete(good.id)
    assert registry.best_start(worse.id) == good.id  # the caller falls back when it is gone
    assert registry.best_start(publish(registry, source, parent=None, **scores(9.0, 1.0)).id) == BASE
