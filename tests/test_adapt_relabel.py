"""Re-labelling from the 1/8 grid resizes at each pixel only the rows that can win there, yet
its labels are exactly the argmax of the fully resized logits (``winning_rows`` against
``resize_as_predictor``): on random logits, on smooth ones, where many rows tie or nearly tie
(the pruning's bound is beaten and torch's own resize decides), and for the predictor's
one-resize and two-resize geometries."""

import numpy as np
import pytest
import torch

from gcnet_core.adapt.head import few_threads
from gcnet_core.adapt.winners import axis_weights, resize_as_predictor, resized_at, winning_rows
from gcnet_core.predict.features import FeatureMap

GEOMETRIES = {  # grid, network input, original image, align_corners of the two resizes
    "ade 770x512": ((64, 97), (512, 770), (512, 770), False, False),
    "keep-ratio, then back": ((20, 30), (160, 240), (333, 500), False, False),
    "slide grid": ((17, 33), (129, 257), (256, 512), True, False),
    "corners both": ((9, 13), (65, 97), (64, 96), True, True),
}


def feature_map(geometry: str) -> FeatureMap:
    grid, network_input, image, grid_corners, corners = GEOMETRIES[geometry]
    return FeatureMap(np.zeros((1, *grid), np.float16), network_input, image, grid_corners, corners)


def full_argmax(logits: torch.Tensor, fm: FeatureMap) -> torch.Tensor:
    return resize_as_predictor(logits, fm).max(dim=0).indices


def smooth(rows: int, grid, seed: int) -> torch.Tensor:
    """Logits of a few blobs of classes, as a trained head gives: each cell decided, edges soft."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(rows, max(2, grid[0] // 6), max(2, grid[1] // 6), generator=generator) * 3
    return torch.nn.functional.interpolate(coarse[None], size=grid, mode="bilinear", align_corners=False)[0]


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("rows", [4, 9, 150])
def test_labels_are_the_full_argmax_on_random_and_smooth_logits(geometry, rows):
    fm = feature_map(geometry)
    generator = torch.Generator().manual_seed(rows)
    for logits in (torch.randn(rows, *fm.grid_size, generator=generator), smooth(rows, fm.grid_size, rows)):
        assert torch.equal(winning_rows(logits, fm), full_argmax(logits, fm))


@pytest.mark.parametrize("geometry", ["ade 770x512", "keep-ratio, then back"])
def test_ties_and_near_ties_are_decided_as_the_full_argmax(geometry):
    fm = feature_map(geometry)
    logits = smooth(30, fm.grid_size, 3)
    logits[7] = logits[3]  # an exact tie everywhere: the first row wins
    logits[12] = logits[5] + 1e-6 * torch.randn(fm.grid_size, generator=torch.Generator().manual_seed(1))
    logits[20:] = logits[:10].max(dim=0).values - 1e-7  # rows a hair below the best of the first ten
    assert torch.equal(winning_rows(logits, fm), full_argmax(logits, fm))
    flat = torch.zeros(30, *fm.grid_size)  # every row equal: row 0
    assert torch.equal(winning_rows(flat, fm), torch.zeros(fm.image_size, dtype=torch.int64))


def test_a_bound_beaten_in_some_blocks_falls_back_there_only_and_stays_exact():
    fm = feature_map("ade 770x512")
    logits = smooth(150, fm.grid_size, 5)
    # In the left half, rows 40-59 are each second in no cell yet beat the cells' firsts between them.
    checker = torch.zeros(fm.grid_size)
    checker[::2, ::2] = checker[1::2, 1::2] = 1.0
    logits[40:60, :, :48] = logits[:, :, :48].max(dim=0).values - 0.5 + checker[:, :48] * 0.7
    assert torch.equal(winning_rows(logits, fm), full_argmax(logits, fm))
    disabled = logits.clone()
    disabled[100:] = -1.0e4  # rows of classes nothing taught yet
    assert torch.equal(winning_rows(disabled, fm), full_argmax(disabled, fm))


def test_axis_weights_are_torchs_own():
    fm = feature_map("keep-ratio, then back")
    logits = torch.randn(3, *fm.grid_size)
    mixed = axis_weights(fm, 0) @ logits @ axis_weights(fm, 1).T
    assert torch.allclose(mixed, resize_as_predictor(logits, fm), rtol=0, atol=1e-6 * float(logits.abs().max()))


@pytest.mark.parametrize("geometry", ["ade 770x512", "keep-ratio, then back"])
def test_blocks_reaching_few_and_many_rows_are_decided_in_groups_and_stay_exact(geometry):
    fm = feature_map(geometry)
    height, width = fm.grid_size
    logits = smooth(150, fm.grid_size, 7)
    best = logits.max(dim=0).values
    checker = torch.zeros(fm.grid_size)
    checker[::2, ::2] = checker[1::2, 1::2] = 1.0
    generator = torch.Generator().manual_seed(2)
    third = width // 3
    # three strips whose beaten blocks reach about 3, 20 and 90 rows: each group padded apart
    for rows, columns in ((range(10, 13), slice(0, third)), (range(40, 60), slice(third, 2 * third)),
                          (range(60, 150), slice(2 * third, width))):
        for row in rows:
            wobble = 0.05 * torch.rand(height, columns.stop - columns.start, generator=generator)
            logits[row, :, columns] = best[:, columns] - 0.5 + checker[:, columns] * 0.7 + wobble
    assert torch.equal(winning_rows(logits, fm), full_argmax(logits, fm))


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_values_at_a_few_pixels_are_torchs_whole_resize_bit_for_bit(geometry):
    # the pixels that decide ties: a few far apart (bands of grid rows resized apart), a run
    # across the image's first and last rows (bands clamped at the grid's edges)
    fm = feature_map(geometry)
    logits = torch.randn(5, *fm.grid_size, generator=torch.Generator().manual_seed(4)) * 20
    height, width = fm.image_size
    ys = torch.tensor([0, 1, 5, height // 2, height // 2 + 1, height - 2, height - 1] + list(range(height)))
    xs = torch.tensor([0, width - 1, 3, width // 3, width // 3, 1, width - 2] + [width // 2] * height)
    rows = torch.tensor([0, 3])
    assert torch.equal(resized_at(logits, rows, fm, ys, xs), resize_as_predictor(logits, fm)[rows][:, ys, xs])
    sparse = torch.tensor([2, height - 3]), torch.tensor([width - 1, 0])
    assert torch.equal(resized_at(logits, rows, fm, *sparse), resize_as_predictor(logits, fm)[rows][:, sparse[0], sparse[1]])


@pytest.mark.parametrize("threads", [1, 2])
def test_near_ties_on_small_images_are_decided_as_the_full_argmax(threads):
    # on a small image torch's resize of a few rows can differ in the last bit from the same
    # rows resized with all the others: ties there are decided by the resize of every row
    generator = torch.Generator().manual_seed(11)
    with few_threads(threads):
        for grid, size in (((2, 3), (10, 14)), ((8, 8), (64, 64)), ((4, 9), (20, 40)), ((10, 10), (38, 30))):
            fm = FeatureMap(np.zeros((1, *grid), np.float16), size, size, False, False)
            for rows in (9, 20, 150):
                logits = torch.round(torch.randn(rows, *grid, generator=generator) * 2) / 2  # many exact ties
                assert torch.equal(winning_rows(logits, fm), full_argmax(logits, fm))
