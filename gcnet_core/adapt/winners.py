"""The labels a head's grid logits give at the original size, as the predictor computes them
(two bilinear resizes, then the first largest row), without resizing every row.

A resize mixes each pixel's value from a small window of grid cells (2x2 for one resize), with
weights >= 0 that sum to one, and rounding is monotone: a row can only win at a pixel where it
comes near the best in one of the window's cells. :func:`winning_rows` therefore reads, per
window, only the rows first in one of its cells (the candidates), bounds every other row by
each cell's best other row, and mixes those few values at every pixel, a slab of pixel rows at
a time (:func:`_first_pass`). Where the bound reaches the best it takes, block by block, every
row whose largest value in the window reaches the least best found there (:func:`_decide`);
where two rows come within the rounding error of each other, torch's own resize of those
rows decides. So the labels are exactly ``resize_as_predictor(logits).max(0).indices``, and a
150-class head costs little more than a project's few.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..predict.features import FeatureMap

TOLERANCE = 2e-6  # a resize's float error, relative to its inputs' magnitude (measured: <= 1.6e-7)
FULL_RESIZE_ROWS = 8  # up to this many rows torch resizes them all (cheaper than windows for a project's classes)
SLAB_PIXELS = 1 << 15  # pixels the first pass mixes at once: its few slot images then stay in the cache
SMALL_IMAGE = 1 << 16  # pixels below which a near tie is decided by torch's resize of every row (see resized_at)
UNUSED = -1.0e30  # the value a repeated candidate is given: mixed, it stays far below any real one


def resize_as_predictor(logits: torch.Tensor, feature_map: FeatureMap) -> torch.Tensor:
    """[C, h, w] -> [C, H0, W0]: to the network input, then to the original size."""
    out = F.interpolate(logits[None], size=feature_map.input_size, mode="bilinear",
                        align_corners=feature_map.grid_corners)
    if feature_map.input_size != feature_map.image_size:
        out = F.interpolate(out, size=feature_map.image_size, mode="bilinear", align_corners=feature_map.align_corners)
    return out[0]


def resize_to(logits: torch.Tensor, feature_map: FeatureMap, size: tuple[int, int]) -> torch.Tensor:
    """[C, h, w] -> [C, *size]: :func:`resize_as_predictor`'s result at another size (one
    resize from the grid, its corners rule: what the edges' filter needs, not exact labels)."""
    if size == feature_map.image_size:
        return resize_as_predictor(logits, feature_map)
    return F.interpolate(logits[None], size=size, mode="bilinear", align_corners=feature_map.grid_corners)[0]


def axis_weights(feature_map: FeatureMap, axis: int) -> torch.Tensor:
    """[N0, n] float32: the weights :func:`resize_as_predictor` gives each grid cell along ``axis``
    (0 rows, 1 columns), read from torch itself (its resize of the cells' unit vectors), so a
    sum with them differs from its result by the sum's rounding only."""
    cells = feature_map.grid_size[axis]
    unit = torch.eye(cells).reshape((1, cells, cells, 1) if axis == 0 else (1, cells, 1, cells))
    along = [(size[0], 1) if axis == 0 else (1, size[1]) for size in (feature_map.input_size, feature_map.image_size)]
    out = F.interpolate(unit, size=along[0], mode="bilinear", align_corners=feature_map.grid_corners)
    if feature_map.input_size != feature_map.image_size:
        out = F.interpolate(out, size=along[1], mode="bilinear", align_corners=feature_map.align_corners)
    return out[0].reshape(cells, -1).T.contiguous()


@dataclass(frozen=True)
class AxisMix:
    """How one axis's pixels mix the grid's cells: pixel ``p`` mixes cells ``first[p]`` and the
    next ``span - 1`` with ``taps[p]`` (0 past the grid's end). The pixels that mix the same
    cells also form groups, split to a common size so that little is padding: group ``g`` mixes
    ``cells[g]`` into ``pixels[g]`` (-1: padding) with ``weights[g]``; ``group_of[p]`` is pixel
    ``p``'s group."""

    first: torch.Tensor  # (N0,) int64
    taps: torch.Tensor  # (N0, span) float32
    cells: torch.Tensor  # (G, span) int64
    pixels: torch.Tensor  # (G, P) int64
    weights: torch.Tensor  # (G, P, span) float32, 0 for padding
    group_of: torch.Tensor  # (N0,) int64

    @property
    def span(self) -> int:
        return int(self.taps.shape[1])

    @staticmethod
    def of(weights: torch.Tensor) -> "AxisMix":
        """The mix of :func:`axis_weights`' [N0, n] weights."""
        count, cells = weights.shape
        used = (weights != 0).to(torch.uint8)
        first = used.argmax(dim=1)
        span = int((cells - 1 - used.flip(1).argmax(dim=1) - first).max()) + 1
        index = first[:, None] + torch.arange(span)
        taps = weights.gather(1, index.clamp_max(cells - 1)) * (index < cells)
        _, group, sizes = torch.unique(first, return_inverse=True, return_counts=True)
        position = torch.arange(count) - (torch.cumsum(sizes, 0) - sizes)[group]  # pixels run in order
        size = max(1, int(sizes.median()))
        _, group = torch.unique(group * count + position // size, return_inverse=True)
        position = position % size
        pixels = torch.full((int(group.max()) + 1, size), -1, dtype=torch.int64)
        pixels[group, position] = torch.arange(count)
        real = (pixels >= 0)[:, :, None]
        group_cells = index[pixels[:, 0]]
        return AxisMix(first, taps, group_cells.clamp_max(cells - 1), pixels, taps[pixels.clamp_min(0)] * real, group)


_MIXES: dict[tuple, tuple[AxisMix, AxisMix]] = {}  # by geometry; a few at most (see _axis_mixes)


def _axis_mixes(feature_map: FeatureMap) -> tuple[AxisMix, AxisMix]:
    """The rows' and the columns' :class:`AxisMix` of a feature map's geometry, made once per
    geometry (a round re-labels many images of the same size; read, never changed)."""
    geometry = (feature_map.grid_size, feature_map.input_size, feature_map.image_size, feature_map.grid_corners,
                feature_map.align_corners)
    found = _MIXES.get(geometry)
    if found is None:
        if len(_MIXES) >= 8:
            _MIXES.clear()
        found = _MIXES[geometry] = (AxisMix.of(axis_weights(feature_map, 0)), AxisMix.of(axis_weights(feature_map, 1)))
    return found


def mix(block: torch.Tensor, weights_y: torch.Tensor, weights_x: torch.Tensor) -> torch.Tensor:
    """(..., span_y, span_x) values at a block's cells -> (..., P_y, P_x) at its pixels, with
    ``weights_y`` (..., P_y, span_y) and ``weights_x`` (..., P_x, span_x) broadcast to ``block``."""
    along_x = sum(block[..., :, None, l] * weights_x[..., None, :, l] for l in range(block.shape[-1]))
    return sum(weights_y[..., :, k, None] * along_x[..., None, k, :] for k in range(block.shape[-2]))


def first_largest(values: torch.Tensor, dim: int) -> torch.Tensor:
    """``values.argmax(dim)`` (the first on a tie) from ``amax``: torch's argmax along a leading
    dimension is ten times slower."""
    count = values.shape[dim]
    shape = [-1 if d == dim % values.dim() else 1 for d in range(values.dim())]
    rank = torch.arange(count, 0, -1, dtype=values.dtype).reshape(shape)
    return count - ((values == values.amax(dim=dim, keepdim=True)) * rank).amax(dim=dim).long()


@dataclass(frozen=True)
class _Windows:
    """Per window of cells (one per grid cell: the window that starts there, clamped at the
    grid's end): its candidates (J, h, w) (the row first in each of its J cells), their values
    (a repeat's :data:`UNUSED`) and each cell's bound on every other row as J + 1 slots
    (span_x, J + 1, span_y, h, w), and the rounding error allowed (h, w)."""

    candidates: torch.Tensor
    slots: torch.Tensor
    slack: torch.Tensor

    @staticmethod
    def of(logits: torch.Tensor, span_y: int, span_x: int) -> "_Windows":
        rows, height, width = logits.shape
        flat = logits.flatten(1)
        first, second, third = _three_largest(flat)
        cell_y = (torch.arange(height)[:, None] + torch.arange(span_y)).clamp_max(height - 1)
        cell_x = (torch.arange(width)[:, None] + torch.arange(span_x)).clamp_max(width - 1)
        cells = cell_y.T[:, None, :, None] * width + cell_x.T[None, :, None, :]  # (span_y, span_x, h, w)
        candidates = first[1].take(cells).reshape(span_y * span_x, height, width)
        repeated = torch.zeros(candidates.shape, dtype=torch.bool)
        for j in range(1, len(candidates)):
            repeated[j] = (candidates[:j] == candidates[j]).any(dim=0)
        values = flat.take(candidates[:, None, None] * flat.shape[1] + cells)  # (J, span_y, span_x, h, w)
        values.masked_fill_(repeated[:, None, None], 0.0)
        # any other row is at most the cell's second, or its third where the second is a candidate
        second_taken = (second[1].take(cells) == candidates[:, None, None]).any(dim=0)
        bound = torch.where(second_taken, third.take(cells), second[0].take(cells))
        slack = TOLERANCE * torch.maximum(values.abs().amax(dim=(0, 1, 2)), bound.abs().amax(dim=(0, 1)))
        values.masked_fill_(repeated[:, None, None], UNUSED)
        slots = torch.cat([values, bound[None]]).permute(2, 0, 1, 3, 4).contiguous()
        return _Windows(candidates, slots, slack)

    def along_x(self, by_col: AxisMix) -> torch.Tensor:
        """(J + 1, span_y, h, W0): the slots mixed along each grid row into the image's columns
        (once for the whole image: it is small)."""
        span_x, slot_count, span_y, height, width = self.slots.shape
        out = None
        for k in range(span_x):
            term = self.slots[k].reshape(-1, width).index_select(1, by_col.first).mul_(by_col.taps[:, k])
            out = term if out is None else out.add_(term)
        return out.reshape(slot_count, span_y, height, -1)


def _three_largest(flat: torch.Tensor):
    """((value, row), (value, row), value) of each column's first, second and third largest
    (torch's topk along a leading dimension is twice as slow)."""
    first = flat.max(dim=0)
    rest = flat.scatter(0, first.indices[None], -torch.inf)
    second = rest.max(dim=0)
    third = rest.scatter_(0, second.indices[None], -torch.inf).amax(dim=0)
    return (first.values, first.indices), (second.values, second.indices), third


def _first_pass(windows: _Windows, by_row: AxisMix, by_col: AxisMix):
    """(winner, close, beaten, least best) at every pixel, flat (H0 * W0, the others one more
    element, for a block's padding to point at): its window's candidate with
    the largest mixed value, whether another candidate comes within the rounding error of it,
    whether the bound on the other rows does, and the least the pixel's best value can be.
    Mixed a slab of pixel rows at a time, so the slot images stay small."""
    slot_count, height, width = windows.candidates.shape[0] + 1, by_row.first.shape[0], by_col.first.shape[0]
    grid_width = windows.candidates.shape[2]
    winner = torch.zeros(height * width + 1, dtype=torch.int64)
    close = torch.zeros(height * width + 1, dtype=torch.bool)
    beaten = torch.empty(height * width, dtype=torch.bool)
    least = torch.empty(height * width + 1)
    candidates = windows.candidates.flatten()
    along_x = windows.along_x(by_col)
    step = max(1, SLAB_PIXELS // width)
    for top in range(0, height, step):
        bottom = min(height, top + step)
        first_cell, last_cell = int(by_row.first[top]), int(by_row.first[bottom - 1]) + 1
        local = by_row.first[top:bottom] - first_cell
        row_taps = by_row.taps[top:bottom]
        slab = along_x[:, :, first_cell:last_cell]  # (J + 1, span_y, c, W0)
        values = slab[:, 0].index_select(1, local).mul_(row_taps[:, 0, None])  # (J + 1, n, W0)
        for i in range(1, by_row.span):
            values.add_(slab[:, i].index_select(1, local).mul_(row_taps[:, i, None]))
        slack = windows.slack[first_cell:last_cell].index_select(0, local).index_select(1, by_col.first)
        best = values[0].clone()
        which = torch.zeros(best.shape, dtype=torch.int64)
        for j in range(1, slot_count - 1):
            which.masked_fill_(values[j] > best, j)
            torch.maximum(best, values[j], out=best)
        threshold = best - 2 * slack  # two values within their rounding errors of each other may be either
        pixels = slice(top * width, bottom * width)
        close[pixels] = ((values[:-1] >= threshold).sum(dim=0) > 1).flatten()
        beaten[pixels] = (values[-1] >= threshold).flatten()
        least[pixels] = best.sub_(slack).flatten()
        cell = (by_row.first[top:bottom] * grid_width)[:, None] + by_col.first
        winner[pixels] = candidates[which.mul_(windows.candidates[0].numel()).add_(cell)].flatten()
    return winner, close, beaten, least


def _slack(block: torch.Tensor) -> torch.Tensor:
    """The rounding error bound of a mix of (..., span_y, span_x) cells -> (..., 1, 1)."""
    return TOLERANCE * block.abs().amax(dim=(-2, -1), keepdim=True)


@dataclass
class _Blocks:
    """Blocks of pixels that mix the same cells of a (rows, h, w) grid: (n, span) cells, (n, P,
    span) weights, (n, P_y, P_x) real pixels (not padding) and their flat indices in an image
    with one more element at its end (where the padding points)."""

    cells_y: torch.Tensor
    cells_x: torch.Tensor
    weights_y: torch.Tensor
    weights_x: torch.Tensor
    real: torch.Tensor
    pixels: torch.Tensor
    rows: int

    @staticmethod
    def of(by_row: AxisMix, by_col: AxisMix, index: torch.Tensor, rows: int) -> "_Blocks":
        """The blocks ``index`` (row group * column groups + column group)."""
        a, b = index // len(by_col.cells), index % len(by_col.cells)
        pixels_y, pixels_x = by_row.pixels[a], by_col.pixels[b]
        real = (pixels_y >= 0)[:, :, None] & (pixels_x >= 0)[:, None, :]
        flat = (pixels_y * len(by_col.first))[:, :, None] + pixels_x[:, None, :]
        padding = len(by_row.first) * len(by_col.first)
        return _Blocks(by_row.cells[a], by_col.cells[b], by_row.weights[a], by_col.weights[b], real,
                       flat.masked_fill_(~real, padding), rows)

    def __getitem__(self, index: torch.Tensor) -> "_Blocks":
        return _Blocks(self.cells_y[index], self.cells_x[index], self.weights_y[index], self.weights_x[index],
                       self.real[index], self.pixels[index], self.rows)


def _reaching_rows(logits: torch.Tensor, blocks: _Blocks, lowest_best: torch.Tensor) -> torch.Tensor:
    """(n, R) whether each row's largest value in a block's cells reaches ``lowest_best`` (n,),
    the least a pixel's winner has there; no other row can win (a pixel's value is a mix of its
    cells')."""
    cells = (blocks.cells_y[:, :, None] * logits.shape[2] + blocks.cells_x[:, None, :]).flatten(1)  # (n, sy * sx)
    values = logits.flatten(1)[:, cells]  # (R, n, sy * sx)
    reach = values.amax(dim=2) + TOLERANCE * values.abs_().amax(dim=2)
    return (reach >= lowest_best).T


def _candidates_of(reaching: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """((n, C) rows sorted, (n, C) padding) of (n, R) reaching rows, C their largest count."""
    order = torch.argsort((~reaching).to(torch.uint8), dim=1, stable=True)[:, :int(reaching.sum(dim=1).max())]
    return order, ~reaching.gather(1, order)


def _by_count(counts: torch.Tensor) -> list[torch.Tensor]:
    """Indices of ``counts`` in groups whose counts lie within a factor of two of each other, so
    that a group padded to its largest count is mostly real (a few blocks reach many rows)."""
    bucket = torch.ceil(torch.log2(counts.clamp_min(1).double())).long()
    return [torch.nonzero(bucket == b).flatten() for b in torch.unique(bucket).tolist()]


def _decide(logits: torch.Tensor, candidates: torch.Tensor, ignored: torch.Tensor, blocks: _Blocks):
    """(winner, close, rows close somewhere) of each block: the winner among its
    ``candidates`` (less the ``ignored``) at each pixel, and where two of them come within the
    rounding error of each other."""
    cy, cx = blocks.cells_y[:, :, None], blocks.cells_x[:, None, :]  # (n, sy, 1), (n, 1, sx)
    cell_logits = logits[candidates[:, :, None, None], cy[:, None], cx[:, None]]  # (n, C, sy, sx)
    values = mix(cell_logits, blocks.weights_y[:, None], blocks.weights_x[:, None])  # (n, C, P_y, P_x)
    slack = _slack(cell_logits)
    values.masked_fill_(ignored[:, :, None, None], -torch.inf)
    slack.masked_fill_(ignored[:, :, None, None], 0.0)
    lowest_best = (values - slack).amax(dim=1)
    winner = candidates.gather(1, first_largest(values, 1).flatten(1)).reshape(lowest_best.shape)
    contending = values + slack >= lowest_best[:, None]
    close = (contending.sum(dim=1) > 1) & blocks.real
    close_rows = torch.zeros(blocks.rows, dtype=torch.bool)
    close_rows[candidates[(contending & close[:, None]).flatten(2).any(dim=2)]] = True
    return winner, close, close_rows


def winning_rows(logits: torch.Tensor, feature_map: FeatureMap) -> torch.Tensor:
    """[H0, W0] int64: the argmax over rows of :func:`resize_as_predictor` (the first row on a
    tie), mixing at each pixel only the rows that can win there.

    A pixel's candidates are the rows first in one of its window's cells: any other row is at
    most each cell's best other row, and a resize mixes cells with weights >= 0 (rounding is
    monotone), so those values, mixed, bound it (:func:`_first_pass`). A block of pixels (those
    that mix the same cells) where that bound comes within the rounding error of the best takes
    every row whose largest value in its cells reaches the least best found there. The mix is a
    sum with torch's own weights (:func:`axis_weights`); a pixel where two rows come within its
    rounding error of each other is decided by torch's own resize of those rows.
    """
    rows = logits.shape[0]
    if rows <= FULL_RESIZE_ROWS:
        return resize_as_predictor(logits, feature_map).max(dim=0).indices
    by_row, by_col = _axis_mixes(feature_map)
    windows = _Windows.of(logits, by_row.span, by_col.span)
    out, close, beaten, least = _first_pass(windows, by_row, by_col)  # flat, one more element each
    close_rows = torch.zeros(rows, dtype=torch.bool)
    height, width = feature_map.image_size
    ys, xs = torch.nonzero(close[:-1].view(height, width), as_tuple=True)
    close_rows[windows.candidates[:, by_row.first[ys], by_col.first[xs]].flatten()] = True
    ys, xs = torch.nonzero(beaten.view(height, width), as_tuple=True)
    if len(ys):
        blocks = _Blocks.of(by_row, by_col, torch.unique(by_row.group_of[ys] * len(by_col.cells)
                                                           + by_col.group_of[xs]), rows)
        least[-1] = torch.inf
        reaching = _reaching_rows(logits, blocks, least[blocks.pixels].flatten(1).amin(dim=1))
        for group in _by_count(reaching.sum(dim=1)):
            candidates, padding = _candidates_of(reaching[group])
            part = blocks[group]
            won, near, near_rows = _decide(logits, candidates, padding, part)
            out[part.pixels.flatten()] = won.flatten()
            close[part.pixels.flatten()] = near.flatten()
            close_rows |= near_rows
    out, close = out[:-1].view(height, width), close[:-1].view(height, width)
    if bool(close.any()):
        ys, xs = torch.nonzero(close, as_tuple=True)
        chosen = torch.nonzero(close_rows).flatten()
        exact = resized_at(logits, chosen, feature_map, ys, xs)
        out[ys, xs] = chosen[exact.max(dim=0).indices]
    return out


def resized_at(logits: torch.Tensor, rows: torch.Tensor, feature_map: FeatureMap, ys: torch.Tensor,
               xs: torch.Tensor) -> torch.Tensor:
    """(len(rows), n): :func:`resize_as_predictor`'s values of ``rows`` at the pixels (ys, xs),
    bit for bit.

    Torch's resize of a row is not always the same to the last bit when it resizes other rows
    with it: on small images (under :data:`SMALL_IMAGE` pixels) its loops run across rows, so
    there every row is resized, as the predictor does. Where the predictor resizes once by a
    power-of-two factor along the image's rows (the ADE20K and VOC entries: 8), only ``rows``
    are resized, in bands of grid rows around the pixels: with that factor every source
    position and weight is exact, so a band's pixel rows come out as in the whole resize,
    except its first and last half cell (clamped at the band's edge), which a band leaves a
    cell beyond its pixels. Else ``rows`` are resized whole."""
    height, width = feature_map.grid_size
    out_height = feature_map.image_size[0]
    if out_height * feature_map.image_size[1] < SMALL_IMAGE:
        return resize_as_predictor(logits, feature_map)[rows][:, ys, xs]
    logits = logits[rows]
    factor = out_height // height
    if (feature_map.input_size != feature_map.image_size or feature_map.grid_corners
            or out_height != factor * height or factor & (factor - 1)):
        return resize_as_predictor(logits, feature_map)[:, ys, xs]
    out = torch.empty(logits.shape[0], len(ys))
    order = torch.argsort(ys)
    cells = ys[order] // factor
    starts = torch.nonzero(cells[1:] - cells[:-1] > 4).flatten() + 1  # a new band after a gap of cells
    for band in torch.tensor_split(order, starts.tolist()):
        first = max(0, int(ys[band].min()) // factor - 1)
        last = min(height, int(ys[band].max()) // factor + 2)
        part = F.interpolate(logits[None, :, first:last], size=((last - first) * factor, feature_map.image_size[1]),
                             mode="bilinear", align_corners=False)[0]
        out[:, band] = part[:, ys[band] - first * factor, xs[band]]
    return out


__all__ = ["AxisMix", "FULL_RESIZE_ROWS", "TOLERANCE", "axis_weights", "first_largest", "mix", "resize_as_predictor",
           "resize_to", "resized_at", "winning_rows"]
