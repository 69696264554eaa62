"""Live re-labelling follows the image's edges (gcnet_core/adapt/edges.py): a boundary the
1/8 grid puts a few pixels off moves onto the colour edge, flat regions keep their labels, the
corrected pixels stay the caller's, and an image that does not fit its features is said."""

import logging

import cv2
import numpy as np
import pytest
import torch

from gcnet_core.adapt.edges import ColourGuide, cell_radius, follow_edges
from gcnet_core.adapt.head import LinearHead, relabel
from gcnet_core.adapt.winners import axis_weights, resize_as_predictor, winning_rows
from gcnet_core.adapt.job import relabel_following_edges
from gcnet_core.predict.features import FeatureMap

SIZE = 96  # a 12 x 12 grid of 8-pixel cells


def scene(edge: int = 45):
    """Two half planes: columns < ``edge`` dark blue (class 0), the rest yellow (1), with noise."""
    rng = np.random.default_rng(0)
    truth = np.zeros((SIZE, SIZE), np.uint8)
    truth[:, edge:] = 1
    image = np.where(truth[..., None] == 1, [230, 200, 40], [30, 40, 140]).astype(np.float32)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth


def grid_head(boundary_cell: float) -> tuple[LinearHead, FeatureMap]:
    """Features whose two-row head puts the boundary at grid column ``boundary_cell`` (smooth)."""
    cells = SIZE // 8
    columns = np.arange(cells, dtype=np.float32)
    ramp = np.tanh((columns - boundary_cell) / 1.5)
    features = np.zeros((512, cells, cells), np.float16)
    features[0] = ramp[None, :]
    fm = FeatureMap(features, (SIZE, SIZE), (SIZE, SIZE), False, False)
    weight = np.zeros((2, 512), np.float32)
    weight[0, 0], weight[1, 0] = -4.0, 4.0
    return LinearHead(weight, np.zeros(2, np.float32), ("blue", "yellow"), np.arange(2, dtype=np.uint8)), fm


def test_a_boundary_the_grid_puts_off_moves_onto_the_colour_edge():
    image, truth = scene(edge=45)
    head, fm = grid_head(boundary_cell=5.5)  # the grid's boundary near column 48: 3 pixels off
    plain, following = relabel(head, fm), relabel(head, fm, image)
    wrong_plain, wrong_following = int((plain != truth).sum()), int((following != truth).sum())
    assert wrong_plain >= 3 * SIZE  # a sliver 3 pixels wide along the whole edge
    assert wrong_following <= 0.1 * wrong_plain, (wrong_plain, wrong_following)
    head, fm = grid_head(boundary_cell=5.8)  # 5 pixels off: the filter's window reaches part of the way
    assert (relabel(head, fm, image) != truth).sum() <= 0.7 * (relabel(head, fm) != truth).sum()


def test_away_from_boundaries_and_with_one_class_nothing_changes():
    image, _ = scene()
    head, fm = grid_head(boundary_cell=6.4)
    plain, following = relabel(head, fm), relabel(head, fm, image)
    assert np.array_equal(plain[:, :30], following[:, :30]) and np.array_equal(plain[:, 75:], following[:, 75:])
    one = LinearHead(head.weight[:1], head.bias[:1], head.class_names, head.output_ids[:1])
    assert np.array_equal(relabel(one, fm, image), relabel(one, fm))


def test_a_flat_image_keeps_the_grid_labels_where_there_is_no_edge_to_follow():
    head, fm = grid_head(boundary_cell=6.4)
    grey = np.full((SIZE, SIZE, 3), 128, np.uint8)
    assert (relabel(head, fm, grey) != relabel(head, fm)).mean() < 0.02


def test_an_image_of_another_size_is_refused_naming_both_and_the_job_falls_back(tmp_path, caplog):
    image, _ = scene()
    head, fm = grid_head(boundary_cell=6.4)
    logits = torch.from_numpy(head.weight) @ torch.from_numpy(fm.features.astype(np.float32)).reshape(512, -1)
    logits = logits.reshape(2, *fm.grid_size)
    rows = winning_rows(logits, fm)
    with pytest.raises(ValueError, match="the image is 48x96, its features are of a 96x96 RGB image"):
        follow_edges(logits, rows, fm, image[:, :48], lambda chosen: resize_as_predictor(chosen, fm))
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), image[:, :48])
    with caplog.at_level(logging.WARNING, logger="gcnet_core.adapt"):
        labels = relabel_following_edges(head, fm, small)
    assert np.array_equal(labels, relabel(head, fm)) and "small.png: re-labelled without following its edges" in caplog.text
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert np.array_equal(relabel_following_edges(head, fm, broken), relabel(head, fm))


def test_the_guided_filter_keeps_a_constant_and_follows_a_step():
    image, truth = scene(edge=40)
    guide = ColourGuide(image, radius=8)
    assert np.allclose(guide.filter(np.full((SIZE, SIZE), 0.3, np.float32)), 0.3, atol=1e-4)
    blurred = cv2.blur(truth.astype(np.float32), (25, 25))  # a step smeared over 24 pixels
    assert ((guide.filter(blurred) > 0.5) == (truth == 1)).mean() > 0.98
    assert cell_radius(FeatureMap(np.zeros((1, 64, 97), np.float16), (512, 770), (512, 770), False, False)) == 8
