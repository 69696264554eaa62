"""Live adaptation rounds from the first corrected image: a single image is held out in parts
(guard.held_out_parts), so a person who corrected their first image of a new class sees it
learnt at once, and still only when the fit gets more held-out pixels right. Real fits on the
small colour-keeping R50 of test_adapt; nothing about the fit is mocked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from gcnet_core.adapt.guard import PART_MARGIN_CELLS, held_out_parts
from gcnet_core.adapt.job import NothingToLearn, adapt_project, relabel_untouched, starting_head
from gcnet_core.cli.main import main
from gcnet_core.files.masks import read_index_mask
from gcnet_core.predict.features import FeatureExtractor
from gcnet_core.project.feature_cache import content_key

from helpers import WHOLE_ADE
from test_adapt import (FEATURES, HEIGHT, WIDTH, colour_checkpoint, colour_model, iou,  # noqa: F401 (fixtures)
                        make_project, scene)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_parts_of_one_image_never_score_a_pixel_they_were_fitted_on_nor_its_neighbours():
    for image_size, grid in (((512, 770), (64, 97)), ((HEIGHT, WIDTH), (12, 24)), ((30, 40), (4, 5))):
        parts = held_out_parts(image_size, grid)
        cell = max(image_size[0] / grid[0], image_size[1] / grid[1])
        margin = int(np.ceil(PART_MARGIN_CELLS * cell))
        assert len(parts) == 2 and (parts[0][0] ^ parts[1][0]).all()  # each pixel in one part
        for (pixels, scored), (fitted, _) in zip(parts, parts[::-1]):  # held out: a fit on the other part
            near = cv2.dilate(fitted.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
            assert fitted.any() and not (scored & ~pixels).any()
            assert not (near & scored).any()  # no scored pixel within the margin of those fitted on
            if image_size[0] >= 96:
                assert scored.mean() > 0.15, image_size  # and enough left to score


def test_a_single_corrected_image_of_a_new_class_is_learnt_and_relabels_an_untouched_one(tmp_path, colour_model):
    project = make_project(tmp_path / "p", [0, 5], corrected=1)
    result = adapt_project(project, colour_model, FEATURES)
    assert result.adopted and result.corrected == 1 and result.parts
    assert result.score_after.accuracy > result.score_before.accuracy
    assert result.summary.startswith("live model: 1 corrected image, ")
    assert "held-out parts of 1 corrected image" in result.summary
    extractor = FeatureExtractor(colour_model.network, colour_model.entry)
    untouched = project.root / "scene005.png"
    FEATURES.put(content_key(untouched), extractor.version, extractor(scene(5)[0]))
    relabelled = dict(relabel_untouched(project, result.head, FEATURES, extractor.version))
    assert list(relabelled) == [untouched]
    assert iou(relabelled[untouched], scene(5)[1], 2) >= 0.7  # graffiti, a class the model never knew
    again = adapt_project(project, colour_model, FEATURES, current=result.head)
    assert not again.adopted and "nothing new since the last fit (1 corrected image)" in again.summary


def test_a_single_image_whose_labels_make_it_worse_is_not_adopted(tmp_path, colour_model):
    good = adapt_project(make_project(tmp_path / "clean", [0, 1, 2], corrected=3), colour_model, FEATURES).head

    def swapped_in_one_part(labels, _i):
        # One colour of the checkerboard says wall for floor and floor for wall: whichever part a
        # fit learns from, it is wrong on the other, where the current head is right.
        first, _ = held_out_parts(labels.shape, (HEIGHT // 8, WIDTH // 8))[0]
        swapped = np.where(labels < 2, 1 - labels.astype(int), labels).astype(np.uint8)
        return np.where(first, labels, swapped)

    project = make_project(tmp_path / "swapped", [3], corrected=1, relabel_rule=swapped_in_one_part)
    result = adapt_project(project, colour_model, FEATURES, current=good)
    assert not result.adopted and result.head is good
    assert result.score_after.accuracy < result.score_before.accuracy
    assert result.summary.startswith("live model kept: ") and "held-out parts of 1 corrected image" in result.summary


def test_one_image_of_a_single_class_is_still_nothing_to_learn(tmp_path, colour_model):
    single = make_project(tmp_path / "single", [1, 2], corrected=1, relabel_rule=lambda labels, i: labels * 0 + 1)
    with pytest.raises(NothingToLearn, match=r"single class \(floor\)"):
        adapt_project(single, colour_model, FEATURES)


def test_gcnet_adapt_learns_from_one_corrected_image(tmp_path, colour_model, capsys):
    project = make_project(tmp_path / "p", [0, 4], corrected=1)
    out = tmp_path / "adapted.pth"
    assert main(["adapt", "--project", str(project.root), "--model", WHOLE_ADE, "--checkpoint",
                 str(colour_model.checkpoint_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held out: the two halves of a checkerboard over the one corrected image" in printed
    assert "live model: 1 corrected image, " in printed and out.is_file()
    masks = tmp_path / "masks"
    assert main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(out), "--out", str(masks), "--quiet",
                 str(project.root / "scene004.png")]) == 0
    assert iou(read_index_mask(masks / "scene004.png"), scene(4)[1], 2) >= 0.7


def test_a_feature_file_written_with_the_older_digest_is_still_read_and_still_checked(tmp_path):
    import hashlib
    import json
    import struct

    from gcnet_core.project.feature_cache import FeatureCache, encode
    from gcnet_core.predict.features import FEATURE_FORMAT, FeatureMap

    rng = np.random.default_rng(0)
    feature_map = FeatureMap(rng.random((512, 4, 6)).astype(np.float16), (32, 48), (30, 45), False, False)
    new_header = encode(feature_map, "abc123", "v1")
    assert b'"crc32"' in new_header and b'"digest"' not in new_header
    payload = np.ascontiguousarray(feature_map.features).tobytes()
    header = {"format": FEATURE_FORMAT, "version": "v1", "key": "abc123", "dtype": "<f2", "shape": [512, 4, 6],
              "input_size": [32, 48], "image_size": [30, 45], "grid_corners": False, "align_corners": False,
              "digest": hashlib.blake2b(payload, digest_size=16).hexdigest()}  # as the first release wrote it
    text = json.dumps(header, sort_keys=True).encode()
    cache = FeatureCache(tmp_path / "features")
    path = cache.path("abc123", "v1")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"GCNETFEAT\n" + struct.pack("<I", len(text)) + text + payload)
    found = FeatureCache(tmp_path / "features").get("abc123", "v1")
    assert found is not None and np.array_equal(found.features, feature_map.features)
    damaged = bytearray(path.read_bytes())
    damaged[-3] ^= 0x10
    path.write_bytes(bytes(damaged))
    assert FeatureCache(tmp_path / "features").get("abc123", "v1") is None and not path.exists()


def test_one_image_without_a_labelled_pixel_to_score_beside_its_held_out_parts_is_nothing_to_check_on(
        tmp_path, colour_model):
    def tiny(labels, _i):  # labels only along the checkerboard's first block edge, inside its margin
        out = np.full(labels.shape, 255, np.uint8)
        out[:, 52:76] = labels[:, 52:76]
        return out

    project = make_project(tmp_path / "tiny", [0, 1], corrected=1, relabel_rule=tiny)
    with pytest.raises(NothingToLearn, match="keeps no labelled pixel to score"):
        adapt_project(project, colour_model, FEATURES)


def test_a_strokes_fit_uses_a_share_of_each_corrected_images_pixels():
    from gcnet_core.adapt.head import Samples
    from gcnet_core.adapt.job import fewer_samples

    rng = np.random.default_rng(0)
    samples = [Samples(rng.random((n, 512)).astype(np.float16), rng.integers(0, 3, n), np.ones(n, np.float32))
               for n in (900, 2700, 6400)]
    fewer = fewer_samples(samples, 2000)
    assert [len(s) for s in fewer] == [180, 540, 1280]
    for full, part in zip(samples, fewer):  # rows of the image's own samples, features with their labels
        rows = {bytes(row): label for row, label in zip(full.features, full.labels)}
        assert all(rows[bytes(row)] == label for row, label in zip(part.features, part.labels))
    assert fewer_samples(samples[:1], 2000) == samples[:1]  # under the limit: all of them


def test_a_live_model_that_the_model_itself_beats_is_dropped(tmp_path, colour_model):
    """Nothing a round leaves in use does worse on held-out pixels than the model as it is: a live
    head taught wall and floor the wrong way round is dropped once the model is scored beside it."""
    no_graffiti = lambda labels, _i: np.where(labels == 2, 255, labels).astype(np.uint8)  # noqa: E731
    good = adapt_project(make_project(tmp_path / "good", [0, 1, 2], corrected=3, relabel_rule=no_graffiti),
                         colour_model, FEATURES).head
    conv_seg, names = colour_model.network.decode_head.conv_seg, [n.lower() for n in colour_model.classes.names]
    with torch.no_grad():  # the model itself now tells wall from floor as that fit does, and nothing else
        conv_seg.bias.fill_(-1e4)
        for row, name in enumerate(("wall", "floor")):
            conv_seg.weight[names.index(name), :, 0, 0] = torch.from_numpy(good.weight[row])
            conv_seg.bias[names.index(name)] = float(good.bias[row])
    swap = lambda labels, _i: np.where(labels < 2, 1 - labels.astype(int), 255).astype(np.uint8)  # noqa: E731
    wrong = adapt_project(make_project(tmp_path / "wrong", [3, 4, 5], corrected=3, relabel_rule=swap),
                          colour_model, FEATURES)
    assert wrong.adopted  # on its own swapped labels it beats the model

    project = make_project(tmp_path / "right", [6, 7, 8], corrected=3, relabel_rule=no_graffiti)
    # a fit with no time to move from the wrong head gives no better head: the model's is used again
    result = adapt_project(project, colour_model, FEATURES, current=wrong.head, fit_budget_s=0.0)
    assert result.adopted and result.reverted and result.summary.startswith("live model dropped: the model as it is")
    model_rows = starting_head(colour_model, project)
    assert np.array_equal(result.head.weight, model_rows.weight) and not result.head.fitted_on
    assert result.score_after.correct > result.score_before.correct  # the model's score against the live head's
    # a real fit: whatever is in use after the round gets at least the model's held-out pixels right
    fitted = adapt_project(project, colour_model, FEATURES, current=wrong.head)
    in_use = fitted.score_after if fitted.adopted else fitted.score_before
    assert fitted.adopted and in_use.correct >= result.score_after.correct
