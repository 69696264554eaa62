"""Live adaptation (gcnet_core/adapt): features, cache, the light head, the guard, publishing and
``gcnet adapt``. Real fitting on small R50 networks; nothing about the fit is mocked."""

from __future__ import annotations

import errno
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from gcnet_core import inference, init_model
from gcnet_core.adapt.guard import Score, held_out_folds, score_labels, should_adopt
from gcnet_core.adapt.head import (check_samples, fit_head, grid_logits, image_samples, initial_head, model_head,
                                   relabel, sample_pair)
from gcnet_core.adapt.job import (AdaptMemory, ContentKeys, NothingToLearn, adapt_project, fit_with_scribble,
                                  load_corrected, relabel_untouched, untouched_images)
from gcnet_core.adapt.winners import resize_as_predictor
from gcnet_core.cli.main import main
from gcnet_core.files.masks import read_index_mask
from gcnet_core.model.classes import ClassSet
from gcnet_core.predict.features import FeatureExtractor, FeatureMap, grid_positions, logits_from_features
from gcnet_core.project import feature_cache as cache_module
from gcnet_core.project.feature_cache import FeatureCache
from gcnet_core.project.store import Project

from helpers import WHOLE_ADE, register_entry, small_entry, tiny_start_checkpoint

# ------------------------------------------------------------------ a synthetic set
# Three regions: a beige "wall" above, a brown "floor" below, and an ellipse of striped
# magenta "graffiti", a class no ADE20K model knows.
CLASSES = ClassSet(("wall", "floor", "graffiti"), ((120, 120, 120), (80, 50, 50), (230, 0, 220)))
COLOURS = np.array([(190, 170, 140), (110, 70, 40), (220, 40, 200)], np.int16)
HEIGHT, WIDTH = 96, 192


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, labels in CLASSES' ids)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((HEIGHT, WIDTH), np.uint8)
    labels[HEIGHT // 2 + rng.integers(-6, 6):] = 1
    rows, cols = np.mgrid[:HEIGHT, :WIDTH]
    cy, cx = rng.integers(20, HEIGHT - 20), rng.integers(30, WIDTH - 30)
    ry, rx = rng.integers(12, 24), rng.integers(16, 36)
    blob = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
    labels[blob] = 2
    image = COLOURS[labels] + rng.integers(-25, 25, (HEIGHT, WIDTH, 3))
    image[blob & (((rows + cols) // 3) % 2 == 0)] -= 60
    return np.clip(image, 0, 255).astype(np.uint8), labels


def iou(predicted: np.ndarray, labels: np.ndarray, class_id: int) -> float:
    both = ((predicted == class_id) & (labels == class_id)).sum()
    return float(both / max(1, ((predicted == class_id) | (labels == class_id)).sum()))


def make_project(root: Path, seeds: list[int], corrected: int, relabel_rule=lambda labels, i: labels) -> Project:
    """A project of ``scene(seed)`` images; the first ``corrected`` carry (re-ruled) labels."""
    project = Project.create(root, CLASSES)
    for i, seed in enumerate(seeds):
        image, labels = scene(seed)
        path = root / f"scene{seed:03d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if i < corrected:
            project.write_masks(path, relabel_rule(labels, i))
            project.set_state(path, "corrected")
        else:
            project.set_state(path, "predicted")
    project.save()
    return Project.open(root)


# Features of the same image bytes and weights are the same: one memory cache for the module's
# rounds (content-keyed, so a test never sees another image's features).
FEATURES = FeatureCache(None, memory_mb=256)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def colour_checkpoint(tmp_path_factory) -> Path:
    """An R50 whose blocks start as the identity (helpers.tiny_start_checkpoint): its features
    keep colour and texture, as a trained network's keep what tells classes apart."""
    return tiny_start_checkpoint(tmp_path_factory.mktemp("colour") / "colour.pth", colour_entry())


def colour_entry():
    return small_entry(WHOLE_ADE, base_scale=(WIDTH, HEIGHT))


@pytest.fixture
def colour_model(monkeypatch, colour_checkpoint):
    register_entry(monkeypatch, colour_entry())
    return init_model(WHOLE_ADE, colour_checkpoint, device="cpu", fast=False, precision="fp32")


def textured_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 150, width)[None, :, None]
    return np.clip(rng.integers(0, 100, (height, width, 3)) + ramp, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ features
def test_conv_seg_of_the_features_gives_the_predictors_labels(ade_model):
    image = textured_image(50, 75)
    expected = inference(ade_model, image).labels
    extractor = FeatureExtractor(ade_model.network, ade_model.entry)
    conv_seg = ade_model.network.decode_head.conv_seg
    exact = extractor(image, dtype=np.float32)
    assert exact.features.shape == (512, 6, 9) and exact.image_size == (50, 75) and exact.input_size == (48, 72)
    labels = logits_from_features(conv_seg.weight, conv_seg.bias, exact).max(dim=0).indices.numpy()
    assert np.array_equal(labels, expected)  # bit for bit in float32
    half = extractor(image)
    assert half.features.dtype == np.float16
    labels = logits_from_features(conv_seg.weight, conv_seg.bias, half).max(dim=0).indices.numpy()
    assert (labels == expected).mean() >= 0.999


def test_slide_features_equal_the_averaged_window_logits_at_the_grid_points(slide_model):
    image = textured_image(50, 75, seed=3)
    predictor = slide_model.predictor()
    with torch.inference_mode():
        averaged = predictor.logits_at_input(predictor.prepare([image], slide_model.entry.test_scale))[0]
    feature_map = FeatureExtractor(slide_model.network, slide_model.entry)(image, dtype=np.float32)
    height, width = feature_map.input_size
    assert feature_map.grid_size == (len(grid_positions(height)), len(grid_positions(width)))
    rows, cols = grid_positions(height), grid_positions(width)
    assert np.allclose(rows, np.round(rows)) and np.allclose(cols, np.round(cols))  # 65 and 97 pixels: on pixels
    conv_seg = slide_model.network.decode_head.conv_seg
    grid = torch.einsum("kc,chw->khw", conv_seg.weight[:, :, 0, 0], torch.from_numpy(feature_map.features))
    grid = grid + conv_seg.bias[:, None, None]
    at_points = averaged[:, np.round(rows).astype(int)][:, :, np.round(cols).astype(int)]
    assert torch.allclose(grid, at_points, rtol=1e-4, atol=1e-3 * float(at_points.abs().max()))


def test_relabel_resizes_few_classes_yet_equals_the_full_argmax(ade_model):
    image = textured_image(70, 110, seed=5)
    feature_map = FeatureExtractor(ade_model.network, ade_model.entry)(image)
    conv_seg = ade_model.network.decode_head.conv_seg
    names = ade_model.classes.names
    head = model_head(conv_seg.weight, conv_seg.bias, names, names)
    full = resize_as_predictor(grid_logits(head, feature_map), feature_map).max(dim=0).indices.numpy()
    assert np.array_equal(relabel(head, feature_map), full.astype(np.uint8))
    # In a project of three of its classes the model labels the others "none of ours" (255).
    subset = model_head(conv_seg.weight, conv_seg.bias, names, ("floor", "wall", "nothing-known"))
    relabelled = relabel(subset, feature_map)
    expected = np.full(full.shape, 255, np.uint8)
    expected[full == names.index("floor")] = 0
    expected[full == names.index("wall")] = 1
    assert np.array_equal(relabelled, expected)


# ------------------------------------------------------------------ cache
def small_map(seed: int = 0):
    from gcnet_core.predict.features import FeatureMap

    rng = np.random.default_rng(seed)
    return FeatureMap(rng.random((512, 4, 6)).astype(np.float16), (32, 48), (30, 45), False, False)


def test_a_damaged_cache_file_is_recomputed_never_trusted(tmp_path):
    cache = FeatureCache(tmp_path / "features")
    assert cache.put("abc123", "v1", small_map()) is None
    path = cache.path("abc123", "v1")
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # one feature byte flipped
    path.write_bytes(bytes(data))
    fresh = FeatureCache(tmp_path / "features")  # nothing in memory: the file is read
    assert fresh.get("abc123", "v1") is None and not path.exists()
    computed = []
    fresh.get_or_compute("abc123", "v1", lambda: computed.append(1) or small_map())
    assert computed == [1] and FeatureCache(tmp_path / "features").get("abc123", "v1") is not None
    path.write_bytes(path.read_bytes()[:100])  # truncated
    assert FeatureCache(tmp_path / "features").get("abc123", "v1") is None


def test_features_of_another_model_version_are_never_used(tmp_path):
    cache = FeatureCache(tmp_path / "features")
    cache.put("abc123", "v1", small_map())
    assert cache.get("abc123", "v2") is None
    misplaced = cache.path("abc123", "v2")  # a v1 file under v2's name (copied by hand, say)
    misplaced.parent.mkdir(parents=True)
    misplaced.write_bytes(cache.path("abc123", "v1").read_bytes())
    assert FeatureCache(tmp_path / "features").get("abc123", "v2") is None
    assert np.array_equal(FeatureCache(tmp_path / "features").get("abc123", "v1").features, small_map().features)


def test_a_full_disk_leaves_no_partial_file_and_is_reported(tmp_path, monkeypatch):
    folder = tmp_path / "features"
    cache = FeatureCache(folder)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("gcnet_core.files.atomic.os.fsync", disk_full)
    problem = cache.put("abc123", "v1", small_map())
    assert problem and "No space left on device" in problem and "memory" in problem
    assert [p for p in folder.rglob("*") if p.is_file()] == []
    assert cache.get("abc123", "v1") is not None  # still usable from memory


def test_the_cache_stays_within_its_limits(tmp_path):
    one = small_map().nbytes
    cache = FeatureCache(tmp_path / "features", memory_mb=2.5 * one / 2**20, disk_mb=3.5 * (one + 400) / 2**20)
    for i in range(5):
        cache.put(f"{i:04x}", "v1", small_map(i))
    assert cache.memory_bytes <= 2.5 * one
    assert cache.disk_bytes() <= 3.5 * (one + 400)
    fresh = FeatureCache(tmp_path / "features")
    assert fresh.get("0000", "v1") is None and fresh.get("0004", "v1") is not None  # the oldest went first


# ------------------------------------------------------------------ guard
def test_scores_count_labelled_pixels_and_an_equal_score_is_not_adopted():
    labels = np.array([[0, 1, 255], [2, 2, 1]], np.uint8)
    guess = np.array([[0, 1, 0], [255, 2, 0]], np.uint8)
    score = score_labels(guess, labels, 3)
    assert (score.correct, score.total) == (3, 5)
    assert score.intersection.tolist() == [1, 1, 1] and score.union.tolist() == [2, 2, 2]
    assert not should_adopt(score, score) and should_adopt(score_labels(labels, labels, 3), score)
    assert held_out_folds(["a", "b", "c", "d"]) == [["a"], ["b"], ["c"], ["d"]]
    tokens = [f"image{i}" for i in range(12)]
    folds = held_out_folds(tokens)
    assert sorted(t for fold in folds for t in fold) == sorted(tokens) and 2 <= len(folds) <= 3
    grown = held_out_folds(tokens + ["another"])  # a new image joins one fold; the others stay as they were
    assert all(fold in folds for fold in grown if "another" not in fold)
    assert [t for fold in grown if "another" in fold for t in fold if t != "another"] in [*folds, []]
    assert Score.empty(3).accuracy == 0.0


# ------------------------------------------------------------------ fitting and the round
def test_the_head_learns_a_new_class_from_three_corrected_images(tmp_path, colour_model):
    project = make_project(tmp_path / "p", list(range(7)), corrected=3)
    cache = FEATURES
    result = adapt_project(project, colour_model, cache)
    assert result.adopted and result.corrected == 3 and result.held_out == 3
    assert result.score_after.accuracy > result.score_before.accuracy
    assert result.summary.startswith("live model: 3 corrected images, ")
    extractor = FeatureExtractor(colour_model.network, colour_model.entry)
    empty = FeatureCache(None)
    assert dict(relabel_untouched(project, result.head, empty, extractor.version)) == {}  # no features: none done
    for seed in range(3, 7):
        image, _ = scene(seed)
        cache.put(cache_module.content_key(project.root / f"scene{seed:03d}.png"), extractor.version, extractor(image))
    relabelled = dict(relabel_untouched(project, result.head, cache, extractor.version))
    assert sorted(p.name for p in relabelled) == [f"scene{s:03d}.png" for s in range(3, 7)]
    scores = [iou(relabelled[project.root / f"scene{s:03d}.png"], scene(s)[1], 2) for s in range(3, 7)]
    assert np.mean(scores) >= 0.7, scores
    # A second round with nothing new keeps the head and says so.
    again = adapt_project(project, colour_model, cache, current=result.head)
    assert not again.adopted and again.head is result.head and "nothing new" in again.summary


def overlapping_classes(seed: int) -> tuple[FeatureMap, np.ndarray]:
    """A 64x128 image on an 8x16 grid: class "common" on 90 % of the cells, "rare" on the rest,
    their features overlapping (one channel, N(0, 1) against N(1, 1)), labels constant per cell."""
    rng = np.random.default_rng(seed)
    cells = np.zeros((8, 16), np.uint8)
    cells.flat[rng.choice(cells.size, size=13, replace=False)] = 1
    features = np.zeros((512, 8, 16), np.float32)
    features[0] = rng.normal(0.0, 1.0, cells.shape) + cells
    features[1] = 1.0  # a constant channel
    labels = np.kron(cells, np.ones((8, 8), np.uint8))
    return FeatureMap(features.astype(np.float16), (64, 128), (64, 128), False, False), labels


def test_a_fit_weighs_pixels_by_their_share_so_a_rare_look_alike_does_not_take_the_common_class():
    # Samples are balanced per class (a rare class is seen often enough) but weigh the share of
    # the image's pixels they stand for: a person fixes pixels, and on pixels that could be
    # either class the common one is right nine times in ten
    classes = ("common", "rare")
    zero_weight, zero_bias = torch.zeros(2, 512, 1, 1), torch.zeros(2)
    fitted = {}
    for share in (True, False):
        samples = [image_samples(*overlapping_classes(seed), None, 2, seed=seed, pixel_share=share)
                   for seed in range(4)]
        start = initial_head(zero_weight, zero_bias, classes, classes, samples)
        fitted[share] = fit_head(start, samples)
    right = {share: 0 for share in fitted}
    total = 0
    for seed in range(10, 16):  # images the fits never saw
        features, labels = overlapping_classes(seed)
        for share, head in fitted.items():
            right[share] += int((relabel(head, features) == labels).sum())
        total += labels.size
    common_share = np.mean([(overlapping_classes(s)[1] == 0).mean() for s in range(10, 16)])
    assert right[True] / total >= common_share - 0.01  # no worse than calling every pixel common
    assert right[True] > right[False] + 0.05 * total  # balanced weights call a look-alike rare


def test_a_persons_strokes_weigh_each_painted_class_the_same():
    features, labels = overlapping_classes(0)
    strokes = image_samples(features, labels, labels < 2, 2, pixel_share=False)
    assert np.allclose(strokes.weights, strokes.weights[0])
    census = image_samples(features, labels, None, 2)
    by_class = [census.weights[census.labels == c].sum() for c in (0, 1)]
    assert np.isclose(by_class[0] / sum(by_class), (labels == 0).mean(), atol=1e-3)
    assert np.isclose(census.weights.sum(), len(census))


def test_an_images_fit_and_check_samples_from_one_gather_are_the_ones_drawn_apart():
    features, labels = overlapping_classes(3)
    edited = np.zeros(labels.shape, bool)
    edited[:, :40] = True
    fit_labels = np.where(edited, labels, np.uint8(255))  # a part of the image, as for a single one
    fit, check = sample_pair(features, fit_labels, labels, edited, 2, seed=7)
    apart = (image_samples(features, fit_labels, edited, 2, seed=7), check_samples(features, labels, 2, seed=8))
    for joint, alone in zip((fit, check), apart):
        assert np.array_equal(joint.features, alone.features) and np.array_equal(joint.labels, alone.labels)
        assert np.array_equal(joint.weights, alone.weights)
    assert (fit.labels < 2).all() and len(check) == 1000


def test_a_head_fitted_on_labels_that_make_it_worse_is_never_adopted(tmp_path, colour_model):
    good = adapt_project(make_project(tmp_path / "clean", [0, 1, 2], corrected=3), colour_model, FEATURES).head
    # Each image names the three regions differently (a Latin square): whatever a fit learns from
    # two of them is wrong on the third, while the current head still gets the first right.
    project = make_project(tmp_path / "mixed", [3, 4, 5], corrected=3,
                           relabel_rule=lambda labels, i: ((labels.astype(int) + i) % 3).astype(np.uint8))
    result = adapt_project(project, colour_model, FEATURES, current=good)
    assert not result.adopted and result.head is good
    assert result.score_after.accuracy < result.score_before.accuracy
    assert result.summary.startswith("live model kept: ")


def test_nothing_to_learn_is_said(tmp_path, colour_model):
    project = make_project(tmp_path / "none", [1, 2], corrected=0)
    with pytest.raises(NothingToLearn, match="no corrected images"):
        adapt_project(project, colour_model, FEATURES)
    single = make_project(tmp_path / "single", [1, 2], corrected=2, relabel_rule=lambda labels, i: labels * 0)
    with pytest.raises(NothingToLearn, match=r"single class \(wall\)"):
        adapt_project(single, colour_model, FEATURES)


def test_untouched_images_exclude_edited_and_corrected_ones(tmp_path):
    project = make_project(tmp_path / "p", [1, 2, 3], corrected=1)
    edited = project.root / "scene002.png"
    project.write_masks(edited, scene(2)[1], np.ones((HEIGHT, WIDTH), bool))
    assert [p.name for p in untouched_images(project)] == ["scene003.png"]


# ------------------------------------------------------------------ gcnet adapt
def test_gcnet_adapt_writes_a_checkpoint_that_predicts_the_projects_classes(tmp_path, colour_model, capsys):
    project = make_project(tmp_path / "p", list(range(5)), corrected=3)
    out = tmp_path / "adapted.pth"
    assert main(["adapt", "--project", str(project.root), "--model", WHOLE_ADE, "--checkpoint",
                 str(colour_model.checkpoint_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pixels right before:" in printed and "live model: 3 corrected images" in printed
    assert any(project.features_root.rglob("*.feat"))  # the features were kept
    loaded = init_model(WHOLE_ADE, out, device="cpu", fast=False, precision="fp32")
    assert loaded.classes == CLASSES and loaded.network.decode_head.conv_seg.weight.shape[0] == 3
    masks = tmp_path / "masks"
    untouched = [project.root / "scene003.png", project.root / "scene004.png"]
    assert main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(out), "--out", str(masks), "--quiet",
                 *map(str, untouched)]) == 0
    for path in untouched:
        predicted = read_index_mask(masks / f"{path.stem}.png")
        assert iou(predicted, scene(int(path.stem[-3:]))[1], 2) >= 0.7


def test_gcnet_adapt_says_why_there_is_nothing_to_learn(tmp_path, colour_model, capsys):
    project = make_project(tmp_path / "p", [1, 2], corrected=0)
    out = tmp_path / "adapted.pth"
    assert main(["adapt", "--project", str(project.root), "--model", WHOLE_ADE, "--checkpoint",
                 str(colour_model.checkpoint_path), "--out", str(out), "--progress", "jsonl"]) == 1
    captured = capsys.readouterr()
    assert "nothing to learn from" in captured.err and '"event": "error"' in captured.out
    assert not out.exists()
    assert main(["adapt", "--project", str(tmp_path / "missing"), "--model", WHOLE_ADE, "--out", str(out)]) == 2
    assert "not an annotation project" in capsys.readouterr().err


def test_a_few_strokes_of_a_new_class_teach_it_on_the_current_image(tmp_path, colour_model):
    # The corrected images know only wall and floor; the person scribbles graffiti on the current one.
    project = make_project(tmp_path / "p", [0, 1, 6], corrected=2,
                           relabel_rule=lambda labels, i: np.where(labels == 2, 255, labels).astype(np.uint8))
    extractor = FeatureExtractor(colour_model.network, colour_model.entry)
    memory = AdaptMemory()
    corrected = load_corrected(project, extractor, FEATURES, ContentKeys(), [])
    image, labels = scene(6)
    features = FEATURES.get_or_compute(cache_module.content_key(project.root / "scene006.png"), extractor.version,
                                       lambda: extractor(image))
    rows, cols = np.nonzero(labels == 2)
    scribble = np.full(labels.shape, 255, np.uint8)
    for row in np.percentile(rows, [35, 65]).astype(int):  # two short strokes across the blob
        scribble[row - 1:row + 2, cols.min() + 4:cols.max() - 4] = 2
    scribble[labels != 2] = 255
    head = fit_with_scribble(colour_model, CLASSES.names, corrected, memory, features, scribble, budget_s=None)
    assert iou(relabel(head, features), labels, 2) >= 0.6


def test_the_published_checkpoint_keeps_the_auxiliary_rows_of_known_classes(ade_checkpoint):
    from gcnet_core.adapt.publish import adapted_state
    from gcnet_core.weights.checkpoint import read_checkpoint
    from gcnet_core.weights.zoo import get_entry

    state, _ = read_checkpoint(ade_checkpoint)
    names = get_entry(WHOLE_ADE).classes.names
    head = model_head(state["decode_head.conv_seg.weight"], state["decode_head.conv_seg.bias"], names,
                      ("floor", "graffiti"))
    new = adapted_state(state, head, names)
    assert new["decode_head.conv_seg.weight"].shape == (2, 512, 1, 1)
    assert torch.equal(new["decode_head.conv_seg.weight"][0], state["decode_head.conv_seg.weight"][names.index("floor")])
    assert float(new["decode_head.conv_seg.bias"][1]) < -1000  # a class nothing taught yet is never predicted
    aux = new["auxiliary_head.conv_seg.weight"]
    assert aux.shape == (2, 256, 1, 1)
    assert torch.equal(aux[0], state["auxiliary_head.conv_seg.weight"][names.index("floor")])
    assert 0 < float(aux[1].std()) < 0.02  # mmsegmentation's initialisation for the new class


def test_a_fit_runs_on_few_torch_threads_and_gives_the_process_its_count_back(monkeypatch):
    from gcnet_core.adapt import head as head_module
    from gcnet_core.adapt.head import FIT_THREADS, LinearHead, Samples, few_threads, fit_head, predict_samples

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    features = (rng.normal(0, 1, (400, 512)) + 2.0 * labels[:, None]).astype(np.float16)
    samples = Samples(features, labels.astype(np.int64), np.ones(400, np.float32))
    start = LinearHead(np.zeros((2, 512), np.float32), np.zeros(2, np.float32), ("a", "b"),
                       np.arange(2, dtype=np.uint8))
    seen = []
    lbfgs = head_module.lbfgs
    monkeypatch.setattr(head_module, "lbfgs", lambda *args, **kwargs: seen.append(torch.get_num_threads())
                        or lbfgs(*args, **kwargs))
    torch.set_num_threads(2)
    with few_threads():
        assert torch.get_num_threads() == FIT_THREADS == 1
        with few_threads():  # nested: nothing to lower, nothing to give back
            pass
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    fitted = fit_head(start, [samples])
    assert seen == [1] and torch.get_num_threads() == 2
    assert (predict_samples(fitted, samples) == labels).mean() > 0.95


def test_an_onnxruntime_session_made_during_a_fit_gets_the_processs_thread_count():
    """A fit lowers torch's (process-wide) count for a moment; a session keeps its pool for good."""
    from gcnet_core.adapt.head import few_threads
    from gcnet_core.predict.threads import process_threads

    torch.set_num_threads(2)
    assert process_threads() == 2
    with few_threads():
        assert torch.get_num_threads() == 1 and process_threads() == 2
    assert torch.get_num_threads() == 2 == process_threads()
