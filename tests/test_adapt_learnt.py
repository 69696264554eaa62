"""What live adaptation learnt is kept in the project between sessions (adapt.learnt): a new
session's first round finds the fits of unchanged images instead of fitting them again, and
starts new fits from the head the last session used; a kept file that cannot be trusted is
ignored and written anew. Real fits on the small colour-keeping R50 of test_adapt."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gcnet_core.adapt import job, learnt
from gcnet_core.adapt.job import LiveAdapter
from gcnet_core.adapt.learnt import learnt_path, load_learnt
from gcnet_core.project.feature_cache import FeatureCache

from test_adapt import (FEATURES, colour_checkpoint, colour_model, make_project, scene)  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def fits_made(monkeypatch):
    """How many fits the rounds made (the real fit, counted)."""
    made = []
    real = job.fit_head

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(job, "fit_head", counted)
    return made


def test_a_new_session_reuses_the_fits_of_unchanged_images_and_adopts_the_same_head(tmp_path, colour_model,
                                                                                   fits_made):
    project = make_project(tmp_path / "p", [0, 1, 2, 3], corrected=3)
    first = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    result = first.round(project)
    assert result.adopted and fits_made
    kept = learnt_path(project.live_model_root, first.version)
    assert kept.is_file()

    fits_made.clear()
    second = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)  # the app restarted
    assert second.head is None  # not in use before a round adopts it
    again = second.round(project)
    assert again.adopted and not fits_made  # every fit found, none made
    assert again.summary == result.summary
    np.testing.assert_array_equal(again.head.weight, result.head.weight)
    assert again.head.fitted_on == result.head.fitted_on


def test_changed_labels_are_fitted_anew_from_the_last_sessions_head(tmp_path, colour_model, fits_made):
    project = make_project(tmp_path / "p", [0, 1, 2, 3], corrected=3)
    LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root).round(project)
    path = project.root / "scene002.png"
    labels = project.read_labels(path).copy()
    labels[:4] = 1  # the person relabelled a strip of it
    project.write_masks(path, labels)
    fits_made.clear()
    second = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    assert second.warm_start is not None
    result = second.round(project)
    # leave-one-out over 3 images, then the final fit: of the 4, only the fold that holds the
    # changed image out saw none of it, and is found; the 3 that saw its old labels are fitted anew
    assert len(fits_made) == 3
    assert result.score_after is not None


def test_a_corrupt_or_foreign_kept_file_is_ignored_and_written_anew(tmp_path, colour_model, caplog, monkeypatch):
    project = make_project(tmp_path / "p", [0, 1, 2], corrected=2)
    adapter = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    kept = learnt_path(project.live_model_root, adapter.version)
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"PK\x03\x04 not a zip at all")
    with caplog.at_level(logging.WARNING, logger="gcnet_core.adapt"):
        restarted = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    assert restarted.warm_start is None and str(kept) in caplog.text and "fitting afresh" in caplog.text
    assert restarted.round(project).adopted
    head, fits, problem = load_learnt(kept, adapter.version)
    assert problem is None and head is not None and fits  # the round wrote it whole
    # a file of other weights under this name (copied by hand) is not trusted either
    head, fits, problem = load_learnt(kept, "0" * 16)
    assert head is None and not fits and "other weights" in problem
    # nor one whose fits were of samples drawn or weighed by another rule
    monkeypatch.setattr(learnt, "SAMPLING_RULE", learnt.SAMPLING_RULE + 1)
    head, fits, problem = load_learnt(kept, adapter.version)
    assert head is None and not fits and "another sampling rule" in problem


def test_a_kept_file_with_a_weight_that_is_not_finite_is_not_trusted(tmp_path, colour_model):
    project = make_project(tmp_path / "p", [0, 1, 2], corrected=2)
    adapter = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    adapter.round(project)
    kept = learnt_path(project.live_model_root, adapter.version)
    with np.load(kept) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["weight0"] = arrays["weight0"].copy()
    arrays["weight0"][0, 0] = np.nan
    np.savez(kept, **arrays)
    head, fits, problem = load_learnt(kept, adapter.version)
    assert head is None and not fits and "not finite" in problem


def test_a_full_disk_keeps_the_round_and_says_so(tmp_path, colour_model, caplog, monkeypatch):
    project = make_project(tmp_path / "p", [0, 1, 2], corrected=2)
    adapter = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)

    def no_space(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gcnet_core.files.arrays.atomic_write_bytes", no_space)
    with caplog.at_level(logging.WARNING, logger="gcnet_core.adapt"):
        result = adapter.round(project)
    assert result.adopted and adapter.head is result.head
    assert "live model not kept for the next session" in caplog.text and "No space left" in caplog.text
    assert not learnt_path(project.live_model_root, adapter.version).exists()


def test_a_new_session_reads_the_images_samples_instead_of_sampling_them_again(tmp_path, colour_model,
                                                                              monkeypatch, caplog):
    project = make_project(tmp_path / "p", [0, 1, 2, 3], corrected=3)
    LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root).round(project)
    shelf = next(project.live_model_root.glob("*-samples"))
    files = sorted(shelf.glob("*.npz"))
    assert len(files) == 3  # one per corrected image
    sampled = []
    real = job.sample_pair
    monkeypatch.setattr(job, "sample_pair", lambda *a, **k: sampled.append(1) or real(*a, **k))
    restarted = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    assert restarted.round(project).adopted and not sampled

    files[0].write_bytes(b"garbage")  # a damaged file is sampled again and written whole
    with caplog.at_level(logging.WARNING, logger="gcnet_core.adapt"):
        third = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
        path = project.root / "scene003.png"
        project.write_masks(path, scene(3)[1])
        project.set_state(path, "corrected")
        third.round(project)
    assert len(sampled) == 2  # the damaged one and the newly corrected one
    assert "unreadable samples" in caplog.text and str(files[0]) in caplog.text
    assert len(list(shelf.glob("*.npz"))) == 4

    project.set_state(path, "predicted")  # no longer corrected: its samples go
    third.round(project)
    assert len(list(shelf.glob("*.npz"))) == 3


class CountingCache(FeatureCache):
    """A disk feature cache that counts the images whose features were asked for."""

    def __init__(self, folder, memory_mb: float = 0) -> None:
        super().__init__(folder, memory_mb=memory_mb)  # default nothing in memory: every read is a file read
        self.asked: list[str] = []

    def get(self, key, version, **kwargs):
        self.asked.append(key)
        return super().get(key, version, **kwargs)


def test_a_new_session_reads_no_features_of_the_images_whose_samples_it_kept(tmp_path, colour_model):
    project = make_project(tmp_path / "p", [0, 1, 2, 3], corrected=3)
    cache = CountingCache(tmp_path / "features")
    first = LiveAdapter(colour_model, cache, kept_in=project.live_model_root)
    assert first.round(project).adopted and len(set(cache.asked)) == 3  # features made once, kept on disk
    restarted = LiveAdapter(colour_model, CountingCache(tmp_path / "features"), kept_in=project.live_model_root)
    path = project.root / "scene003.png"
    project.write_masks(path, scene(3)[1])
    project.set_state(path, "corrected")
    result = restarted.round(project)
    assert result.adopted and result.corrected == 4
    assert restarted.cache.asked and set(restarted.cache.asked) == {restarted.keys.of(path)}  # the new one only
    # the stroke loop still gets every corrected image's samples (read from the shelf, not sampled)
    scribble = np.full(scene(0)[1].shape, 255, np.uint8)
    scribble[40:44, 60:90] = 2
    labels = restarted.follow_strokes(project.classes.names, project.root / "scene000.png", scribble)
    assert labels.shape == scribble.shape


def test_a_first_round_reads_each_corrected_image_once_and_leaves_the_memory_to_the_untouched(tmp_path,
                                                                                              colour_model):
    # 50 corrected images would hold 300 MiB and push out the features re-labelling reads
    project = make_project(tmp_path / "p", [0, 1, 2, 3], corrected=3)
    untouched = project.root / "scene003.png"
    first = LiveAdapter(colour_model, FeatureCache(tmp_path / "features"))
    assert first.round(project).adopted and first.features(untouched) is not None  # every image's on disk now
    cache = CountingCache(tmp_path / "features", memory_mb=64)
    adapter = LiveAdapter(colour_model, cache)  # nothing kept: every corrected image is sampled afresh
    assert adapter.round(project).adopted
    corrected = {adapter.keys.of(image.path) for image in adapter.corrected}
    assert len(corrected) == 3 and sorted(cache.asked) == sorted(corrected)  # each read once
    assert cache.memory_bytes == 0
    assert [path for path, _ in adapter.relabel_untouched(project)] == [untouched]
    assert cache.memory_bytes == cache.get(adapter.keys.of(untouched), adapter.version).nbytes  # kept in memory


def test_a_round_told_not_to_keep_writes_nothing_until_kept(tmp_path, colour_model):
    # the window's worker sends the untouched images' labels first, then keeps what was learnt
    project = make_project(tmp_path / "p", [0, 1, 2], corrected=2)
    adapter = LiveAdapter(colour_model, FEATURES, kept_in=project.live_model_root)
    assert adapter.round(project, keep=False).adopted
    assert not project.live_model_root.exists() or not any(project.live_model_root.rglob("*.npz"))
    adapter.keep()
    assert learnt_path(project.live_model_root, adapter.version).is_file()
    assert len(list(next(project.live_model_root.glob("*-samples")).glob("*.npz"))) == 2
    head, _, problem = load_learnt(learnt_path(project.live_model_root, adapter.version), adapter.version)
    assert problem is None and np.array_equal(head.weight, adapter.head.weight)


def test_features_a_cache_cannot_keep_are_computed_once_per_round(tmp_path, colour_model, monkeypatch):
    project = make_project(tmp_path / "p", [0, 1, 2], corrected=2)
    adapter = LiveAdapter(colour_model, FeatureCache(None, memory_mb=0))  # keeps nothing
    passes = []
    real = adapter.extractor.__call__
    monkeypatch.setattr(type(adapter.extractor), "__call__", lambda self, *a, **k: passes.append(1) or real(*a, **k))
    assert adapter.round(project).adopted
    assert len(passes) == 2  # one network pass per corrected image
