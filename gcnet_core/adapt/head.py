"""The light head: a 1x1 classifier over the 512 features, re-fitted on a person's corrections.

Rows are the project's classes (matched to the model's by name, stripped and case-blind):
a class the model knows starts from its ``conv_seg`` row, a class it does not know from its
mean feature (:func:`initial_head`). The fit (:func:`fit_head`) minimises the weighted
cross-entropy on pixels sampled from the corrected images plus a pull towards those starting
weights, with L-BFGS on the classes that matter (those labelled, and those the starting
head predicts on the samples).

The loss is mmsegmentation's rule (logits resized to the label size, then the loss per
pixel), on a sample of the pixels: a pixel's feature is the bilinear mix of the grid cells
the predictor's two resizes mix for it (:func:`pixel_taps`), and ``conv_seg`` is linear, so
its logits are exactly the resized logits. No label is downsampled. The sample is balanced:
per image and class at most ``per_class`` pixels, half of them from pixels the person edited
(where the model was wrong), so a rare class is seen often enough to be learnt. Its weights
give the image's pixels back their own mix: a sampled pixel weighs the share of the image's
pixels it stands for (edited pixels :data:`EDITED_WEIGHT` times more), so the fit minimises the
loss per pixel of the corrected images, which is what the guard scores and what a person fixes
by hand. Balanced weights instead (each class as heavy as the others) teach every class a
prior of one in K: on 12 photo-textured images of the effort benchmark a fit on 8 got 64.5 %
of the other images' pixels right where the pixels' own mix gets 74.5 %, and a fit on more
images got worse, not better. A person's strokes (the stroke-scale loop) stay balanced: they
are a lesson, not a census.

:func:`relabel` gives the labels at the original size as the predictor computes them (the
two bilinear resizes, then argmax) while mixing at each pixel only the classes that can win
there (:func:`.winners.winning_rows`), so a 150-class head costs little more than the
project's few.

The stroke-scale loop uses the same parts: the scribble on the current image is one more
:func:`image_samples` (labels 255 where nothing was painted, ``edited`` where it was), fitted
with the corrected images' samples (``warm`` from the current head, a ``budget_s``), and the
current image re-labelled from its features.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..model.classes import IGNORE_INDEX
from ..predict.features import CHANNELS, FeatureMap, bilinear_taps
from ..predict.threads import fewer_threads
from .edges import follow_edges
from .winners import resize_to, winning_rows

EDITED_WEIGHT = 2.0
SAMPLING_RULE = 2  # how samples are drawn and weighed (kept samples of another rule are not reused)
PER_CLASS = 128  # pixels sampled per image and class (half from edited pixels where there are)
DISABLED_BIAS = -1.0e4  # the row of a class nothing taught yet: never predicted
REGULARISATION = 1e-3  # pull towards the starting weights, per weight (the loss is a per-pixel mean)
MAX_FIT_SAMPLES = 10000  # pixels one fit uses at most (its time grows with them)
MAX_ITERATIONS = 25  # L-BFGS iterations; on held-out pixels more change nothing measurable
CHECK_PIXELS = 1000  # pixels per image a head is scored on (uniform among the labelled ones)
FIT_THREADS = 1  # torch threads of the fit, its start, its scores and a re-label (see few_threads)


class Cancelled(Exception):
    """The caller's cancel flag was set (a newer correction arrived)."""


@contextmanager
def few_threads(count: int | None = None):
    """Torch on at most ``count`` (default :data:`FIT_THREADS`) threads inside the block
    (:func:`initial_head`, :func:`fit_head`, :func:`predict_samples` and :func:`relabel` run in one).

    A fit's and a re-label's tensors are small: a second thread gains little on an idle
    machine and, while the other core is busy (the window's work-ahead pass, another program),
    costs several times the time in waiting threads (benchmarks/adapt_bench.py, 50 corrected
    images on a busy 2-core machine: a live round that adopts takes 9.6 CPU s on 2 threads,
    1.9 on 1; two fits at once on two threads gained a fifth on an idle machine and lost as much
    on a busy one, with 40 % more CPU). The count is set for this thread and the threads started
    meanwhile (one that has run torch before, as the window's prediction worker, keeps its own);
    an onnxruntime session created meanwhile takes the process's own
    (:func:`gcnet_core.predict.threads.process_threads`).
    """
    with fewer_threads(FIT_THREADS if count is None else count):
        yield


def _on_few_threads(function):
    @functools.wraps(function)
    def wrapped(*args, **kwargs):
        with few_threads():
            return function(*args, **kwargs)

    return wrapped


def class_key(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True, eq=False)
class LinearHead:
    """``logits = weight @ feature + bias``; row ``r`` labels pixels ``output_ids[r]`` (a project
    class id, 255: none of the project's classes). ``fitted_on``: tokens of the corrected images
    (content and labels) it was fitted on, so a score on other images is honest."""

    weight: np.ndarray  # (R, 512) float32
    bias: np.ndarray  # (R,) float32
    class_names: tuple[str, ...]  # the project's classes: what the output ids mean
    output_ids: np.ndarray  # (R,) uint8
    fitted_on: frozenset[str] = field(default_factory=frozenset)

    @property
    def rows(self) -> int:
        return int(self.weight.shape[0])

    def conv_seg(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight [K, 512, 1, 1], bias [K])`` of a ``conv_seg`` for the project's K classes
        (row k = class k; a class without a row gets a disabled one)."""
        weight = np.zeros((len(self.class_names), CHANNELS), np.float32)
        bias = np.full(len(self.class_names), DISABLED_BIAS, np.float32)
        for row, class_id in enumerate(self.output_ids):
            if class_id < len(self.class_names):
                weight[class_id], bias[class_id] = self.weight[row], self.bias[row]
        return torch.from_numpy(weight)[:, :, None, None], torch.from_numpy(bias)


def model_head(weight: torch.Tensor, bias: torch.Tensor, model_classes: Sequence[str],
               project_classes: Sequence[str]) -> LinearHead:
    """The model as it is, read in the project's classes: its classes the project lacks label
    nothing (255), as the window shows a prediction of them."""
    index = {class_key(name): i for i, name in enumerate(project_classes)}
    ids = np.array([index.get(class_key(name), IGNORE_INDEX) for name in model_classes], np.uint8)
    return LinearHead(_rows(weight), bias.detach().float().cpu().numpy().copy(), tuple(project_classes), ids)


def _rows(weight: torch.Tensor) -> np.ndarray:
    return weight.detach().float().cpu().reshape(weight.shape[0], -1).numpy().copy()


# ------------------------------------------------------------------------------ pixels
def resize_taps(source: int, target: int, align_corners: bool) -> tuple[np.ndarray, np.ndarray]:
    """([target, 2] source indices, [target, 2] weights) of torch's 1-D bilinear resize."""
    if source == target:
        return np.stack([np.arange(target)] * 2, 1), np.stack([np.ones(target), np.zeros(target)], 1)
    low, high, frac = bilinear_taps(np.arange(target), source, target, align_corners)
    return np.stack([low, high], 1), np.stack([1.0 - frac, frac], 1)


def pixel_taps(feature_map: FeatureMap, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid cells and weights along ``axis`` (0 rows, 1 columns) that make each original pixel:
    the predictor's first resize (grid -> input) composed with its second (input -> original)."""
    cells = feature_map.grid_size[axis]
    index, weight = resize_taps(cells, feature_map.input_size[axis], feature_map.grid_corners)
    if feature_map.input_size[axis] == feature_map.image_size[axis]:
        return index, weight
    index2, weight2 = resize_taps(feature_map.input_size[axis], feature_map.image_size[axis],
                                  feature_map.align_corners)
    composed_index = index[index2].reshape(len(index2), -1)
    composed_weight = (weight2[:, :, None] * weight[index2]).reshape(len(index2), -1)
    return composed_index, composed_weight


@_on_few_threads
def features_at(feature_map: FeatureMap, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """[n, 512] float32 features at original pixels (rows[i], cols[i]), bilinear as the logits.

    The grid cells the pixels mix are gathered once, channels last (a pixel's 512 values then
    lie together), by torch in one pass (its float16 conversion is ten times numpy's, and the
    first round of a session samples every corrected image), and each tap adds its weighted
    cells."""
    channels, _, width = feature_map.features.shape
    if not len(rows):  # e.g. a held-out part without labelled pixels
        return np.zeros((0, channels), np.float32)
    row_index, row_weight = pixel_taps(feature_map, 0)
    col_index, col_weight = pixel_taps(feature_map, 1)
    cells = (row_index[rows][:, :, None] * width + col_index[cols][:, None, :]).reshape(len(rows), -1)
    weights = (row_weight[rows][:, :, None] * col_weight[cols][:, None, :]).reshape(len(rows), -1)
    used, inverse = np.unique(cells, return_inverse=True)
    table = feature_map.tensor().reshape(channels, -1).T.index_select(0, torch.from_numpy(used)).float()
    inverse = torch.from_numpy(inverse.reshape(cells.shape))
    weights = torch.from_numpy(weights.astype(np.float32))
    out = table.index_select(0, inverse[:, 0]) * weights[:, 0, None]
    for tap in range(1, cells.shape[1]):
        out.addcmul_(table.index_select(0, inverse[:, tap]), weights[:, tap, None])
    return out.numpy()


@_on_few_threads
def _half(features: np.ndarray) -> np.ndarray:
    """float32 -> float16 by torch (numpy's cast is several times slower)."""
    return torch.from_numpy(features).half().numpy()


@dataclass(frozen=True)
class Samples:
    """Labelled pixels of one image: their features, project class ids and loss weights."""

    features: np.ndarray  # (n, 512) float16, as the features they come from
    labels: np.ndarray  # (n,) int64
    weights: np.ndarray  # (n,) float32
    _sums: dict = field(default_factory=dict, repr=False, compare=False)  # class_sums, by class count

    def __len__(self) -> int:
        return int(len(self.labels))

    def class_sums(self, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """([K, 512] float32 sum of the features per class, [K] counts): one matrix product,
        kept once made (a round's fits share most of their images)."""
        found = self._sums.get(num_classes)
        if found is None:
            inside = self.labels < num_classes
            features = torch.from_numpy(self.features[inside]).float()
            onehot = F.one_hot(torch.from_numpy(self.labels[inside]), num_classes).float()
            found = self._sums[num_classes] = ((onehot.T @ features).numpy(),
                                               np.bincount(self.labels[inside], minlength=num_classes))
        return found


def image_samples(feature_map: FeatureMap, labels: np.ndarray, edited: np.ndarray | None, num_classes: int,
                  per_class: int = PER_CLASS, seed: int = 0, pixel_share: bool = True) -> Samples:
    """A balanced sample of an image's labelled pixels (ids >= ``num_classes`` and 255 skipped).
    ``pixel_share``: each weighs the share of the image's pixels it stands for (the weights sum
    to the sample's size); else each class weighs the same (a person's strokes)."""
    _check_size(feature_map, labels)
    picked, weight = _fit_pixels(labels, edited, num_classes, per_class, seed, pixel_share)
    return _gathered(feature_map, [(labels, picked, weight)])[0]


def check_samples(feature_map: FeatureMap, labels: np.ndarray, num_classes: int, count: int = CHECK_PIXELS,
                  seed: int = 0) -> Samples:
    """A uniform sample of an image's labelled pixels: what a head is scored on (the pixel
    accuracy of a held-out image, measured on ``count`` of its pixels)."""
    picked = _check_pixels(labels, num_classes, count, seed)
    return _gathered(feature_map, [(labels, picked, np.ones(len(picked), np.float32))])[0]


def sample_pair(feature_map: FeatureMap, fit_labels: np.ndarray, check_labels: np.ndarray,
                edited: np.ndarray | None, num_classes: int, seed: int) -> tuple[Samples, Samples]:
    """(``image_samples`` of ``fit_labels`` with ``seed``, ``check_samples`` of ``check_labels``
    with ``seed + 1``), the same values, from one gather of the features: a check sample's
    pixels reach nearly every grid cell, so two gathers read the whole map twice (the first
    round of a session samples every corrected image)."""
    _check_size(feature_map, fit_labels)
    fit = _fit_pixels(fit_labels, edited, num_classes, PER_CLASS, seed, True)
    picked = _check_pixels(check_labels, num_classes, CHECK_PIXELS, seed + 1)
    first, second = _gathered(feature_map, [(fit_labels, *fit),
                                            (check_labels, picked, np.ones(len(picked), np.float32))])
    return first, second


def _check_size(feature_map: FeatureMap, labels: np.ndarray) -> None:
    if labels.shape != feature_map.image_size:
        raise ValueError(f"labels {labels.shape[1]}x{labels.shape[0]} do not fit the image "
                         f"{feature_map.image_size[1]}x{feature_map.image_size[0]}")


def _fit_pixels(labels: np.ndarray, edited: np.ndarray | None, num_classes: int, per_class: int, seed: int,
                pixel_share: bool) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel indices, weights) of :func:`image_samples`."""
    rng = np.random.default_rng(seed)
    flat = labels.reshape(-1)
    by_class = np.argsort(flat, kind="stable")  # each class's pixels in order, one radix sort for all
    counts = np.bincount(flat, minlength=num_classes)
    ends = np.cumsum(counts)
    chosen, weights = [], []
    for class_id in np.flatnonzero(counts[:num_classes]):
        pixels = by_class[ends[class_id - 1] if class_id else 0:ends[class_id]]
        marked = edited.reshape(-1)[pixels] if edited is not None else np.zeros(len(pixels), bool)
        from_edited = _pick(rng, pixels[marked], per_class // 2)
        from_rest = _pick(rng, pixels[~marked], per_class - len(from_edited))
        chosen += [from_edited, from_rest]
        for group, emphasis, stands_for in ((from_edited, EDITED_WEIGHT, int(marked.sum())),
                                            (from_rest, 1.0, int((~marked).sum()))):
            share = stands_for / max(1, len(group)) if pixel_share else 1.0
            weights.append(np.full(len(group), emphasis * share, np.float32))
    picked = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    weight = np.concatenate(weights) if weights else np.zeros(0, np.float32)
    if pixel_share and len(weight):
        weight *= np.float32(len(weight) / weight.sum())
    return picked, weight


def _check_pixels(labels: np.ndarray, num_classes: int, count: int, seed: int) -> np.ndarray:
    """Flat pixel indices of :func:`check_samples`: ``count`` labelled ones, uniformly, in order."""
    flat = labels.reshape(-1)
    return np.sort(_pick(np.random.default_rng(seed), np.flatnonzero(flat < num_classes), count))


def _gathered(feature_map: FeatureMap,
              pixel_sets: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[Samples]:
    """:class:`Samples` of each (labels, their flat pixel indices, weights), the features of all
    from one :func:`features_at` (a pixel's values do not depend on the others gathered)."""
    picked = np.concatenate([pixels for _, pixels, _ in pixel_sets])
    rows, cols = np.divmod(picked, feature_map.image_size[1])
    features = _half(features_at(feature_map, rows, cols))
    out, start = [], 0
    for labels, pixels, weights in pixel_sets:
        taken = features[start:start + len(pixels)]
        out.append(Samples(taken, labels.reshape(-1)[pixels].astype(np.int64), weights))
        start += len(pixels)
    return out


@_on_few_threads
def predict_samples(head: LinearHead, samples: Samples) -> np.ndarray:
    """Project class ids a head gives sampled pixels (the labels :func:`relabel` gives them)."""
    logits = torch.from_numpy(samples.features).float() @ torch.from_numpy(head.weight).T
    return head.output_ids[(logits + torch.from_numpy(head.bias)).argmax(1).numpy()]


def _pick(rng: np.random.Generator, pixels: np.ndarray, count: int) -> np.ndarray:
    if len(pixels) <= count:
        return pixels
    return rng.choice(pixels, size=count, replace=False)


def labels_token(image_key: str, labels: np.ndarray, edited: np.ndarray | None) -> str:
    """What a fit learnt from one image: its content key and a digest of its labels and edits."""
    digest = hashlib.blake2b(np.ascontiguousarray(labels).tobytes(), digest_size=12)
    if edited is not None:
        digest.update(np.packbits(edited).tobytes())
    return f"{image_key}:{digest.hexdigest()}"


# ------------------------------------------------------------------------------ fitting
@_on_few_threads
def initial_head(weight: torch.Tensor, bias: torch.Tensor, model_classes: Sequence[str],
                 project_classes: Sequence[str], samples: Sequence[Samples]) -> LinearHead:
    """Rows in the project's order: the model's row for a class it knows; for another class
    with labelled pixels, a row that scores its mean feature one above the best known class
    there and four less at the mean of everything else; a class with no pixels is disabled."""
    model_rows, model_bias = _rows(weight), bias.detach().float().cpu().numpy()
    known = {class_key(name): i for i, name in enumerate(model_classes)}
    out_w = np.zeros((len(project_classes), model_rows.shape[1]), np.float32)
    out_b = np.full(len(project_classes), DISABLED_BIAS, np.float32)
    new = any(class_key(name) not in known for name in project_classes)  # only their rows need the means
    sums, counts = _class_sums(samples if new else [], len(project_classes), model_rows.shape[1])
    total, everything = sums.sum(0), int(counts.sum())
    for class_id, name in enumerate(project_classes):
        if class_key(name) in known:
            out_w[class_id], out_b[class_id] = model_rows[known[class_key(name)]], model_bias[known[class_key(name)]]
            continue
        if not counts[class_id]:
            continue
        mean = sums[class_id] / counts[class_id]
        rest = everything - counts[class_id]
        direction = mean - ((total - sums[class_id]) / rest if rest else total / everything)
        scale = float(direction @ direction)
        if scale <= 1e-12:
            continue
        out_w[class_id] = 4.0 * direction / scale
        best_known = float((model_rows @ mean + model_bias).max()) if len(model_rows) else 0.0
        out_b[class_id] = best_known + 1.0 - float(out_w[class_id] @ mean)
    return LinearHead(out_w, out_b, tuple(project_classes), np.arange(len(project_classes), dtype=np.uint8))


def _class_sums(samples: Sequence[Samples], num_classes: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """([K, channels] float32 sum of the samples' features per class, [K] counts), from each
    image's own sums (:meth:`Samples.class_sums`, made once: the folds of a cold round and the
    rounds after share them)."""
    sums, counts = np.zeros((num_classes, channels), np.float32), np.zeros(num_classes, np.int64)
    for sample in samples:
        own_sums, own_counts = sample.class_sums(num_classes)
        sums += own_sums
        counts += own_counts
    return sums, counts


@_on_few_threads
def fit_head(start: LinearHead, samples: Sequence[Samples], *, warm: LinearHead | None = None,
             regularisation: float = REGULARISATION, max_iterations: int | None = None,
             budget_s: float | None = None, cancel: threading.Event | None = None) -> LinearHead:
    """Minimise weighted cross-entropy + ``regularisation`` * |W - W0|^2 / 2 from ``start`` (W0),
    in features scaled to unit root-mean-square per channel (so the pull is scale-free).

    Only the rows of labelled classes and of classes the start predicts on the samples move
    (the others cannot change a labelled pixel's loss much). At most :data:`MAX_FIT_SAMPLES`
    pixels are used, the same number per class where they are more; at most ``max_iterations``
    (default :data:`MAX_ITERATIONS`) L-BFGS steps are taken. ``warm``: a head with the
    same rows to start the iterations from (a fit on nearly the same images converges in a few);
    ``budget_s`` bounds the time (the best point so far is kept); ``cancel`` raises
    :class:`Cancelled`. It runs on :data:`FIT_THREADS` torch threads (:func:`few_threads`).
    """
    labels = np.concatenate([s.labels for s in samples]) if samples else np.zeros(0, np.int64)
    if not len(labels):
        return start
    chosen = _balanced_subset(labels, MAX_FIT_SAMPLES)
    thinned = np.bincount(labels, minlength=256) / np.maximum(1, np.bincount(labels[chosen], minlength=256))
    labels = labels[chosen]
    x = _chosen_features(samples, chosen)
    weights = np.concatenate([s.weights for s in samples])[chosen] * thinned[labels]  # each class its weight back
    weights = torch.from_numpy(weights).float()
    rows_of = {int(c): r for r, c in enumerate(start.output_ids) if c != IGNORE_INDEX}
    start_w, start_b = torch.from_numpy(start.weight), torch.from_numpy(start.bias)
    labelled = {rows_of[int(c)] for c in np.unique(labels) if int(c) in rows_of}
    predicted = set(torch.unique((x @ start_w.T + start_b).argmax(1)).tolist())
    active = sorted(labelled | {r for r in predicted if start.output_ids[r] != IGNORE_INDEX})
    position = {row: i for i, row in enumerate(active)}
    target = torch.tensor([position.get(rows_of.get(int(c), -1), -1) for c in labels])
    keep = target >= 0
    if not bool(keep.all()):
        x, target, weights = x[keep], target[keep], weights[keep]
    weights = weights / weights.sum()
    scale = (torch.linalg.vector_norm(x, dim=0) / len(x) ** 0.5).clamp_min(1e-6)  # root-mean-square per channel
    x1 = torch.empty(len(x), x.shape[1] + 1)  # the features scaled, and a 1 for the bias
    torch.div(x, scale, out=x1[:, :-1])
    x1[:, -1] = 1.0
    del x
    index = torch.tensor(active)
    w0 = torch.cat([start_w[index] * scale, start_b[index, None]], 1)  # [A, 513]: weights and bias
    onehot = F.one_hot(target, len(active)).float()
    pull = torch.ones_like(w0)
    pull[:, -1] = 0.0  # no pull on the bias

    def loss_and_gradient(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        logits = x1 @ theta.T
        log_p = torch.log_softmax(logits, dim=1)
        loss = -(weights * (log_p * onehot).sum(1)).sum()
        residual = (log_p.exp() - onehot) * weights[:, None]
        delta = (theta - w0) * pull
        return (float(loss) + 0.5 * regularisation * float((delta * delta).sum()),
                residual.T @ x1 + regularisation * delta)

    deadline = time.perf_counter() + budget_s if budget_s is not None else None
    theta = w0.clone()
    if warm is not None and warm.rows == start.rows:
        theta = torch.cat([torch.from_numpy(warm.weight)[index] * scale, torch.from_numpy(warm.bias)[index, None]], 1)
    theta = lbfgs(loss_and_gradient, theta, MAX_ITERATIONS if max_iterations is None else max_iterations,
                  stop=lambda: deadline is not None and time.perf_counter() > deadline)
    new_w, new_b = start.weight.copy(), start.bias.copy()
    new_w[active] = (theta[:, :-1] / scale).numpy()
    new_b[active] = theta[:, -1].numpy()
    return replace(start, weight=new_w, bias=new_b)


def _chosen_features(samples: Sequence[Samples], chosen: np.ndarray) -> torch.Tensor:
    """[len(chosen), C] float32: the rows ``chosen`` (sorted) of the samples' features stacked,
    copying only those (50 images' samples are 40 MB; a fit uses at most a quarter of them)."""
    bounds = np.cumsum([0] + [len(sample) for sample in samples])
    cut = np.searchsorted(chosen, bounds)
    rows = [sample.features[chosen[lo:hi] - start]
            for sample, start, lo, hi in zip(samples, bounds[:-1], cut[:-1], cut[1:]) if hi > lo]
    return torch.from_numpy(np.concatenate(rows)).float()


def _balanced_subset(labels: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` samples: every sample of the rarer classes, an equal share
    (chosen at random, seeded) of the commoner ones."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(0)
    classes, counts = np.unique(labels, return_counts=True)
    share = limit
    for count in np.sort(counts):  # the largest per-class share that fits the limit
        remaining = len(classes) - int((counts < count).sum())
        share = (limit - int(counts[counts < count].sum())) // max(1, remaining)
        if share <= count:
            break
    picked = [np.flatnonzero(labels == c) for c in classes]
    picked = [p if len(p) <= share else rng.choice(p, size=share, replace=False) for p in picked]
    return np.sort(np.concatenate(picked))


def lbfgs(function, theta: torch.Tensor, max_iterations: int, stop=lambda: False, memory: int = 10,
          tolerance: float = 1e-6) -> torch.Tensor:
    """Minimise a smooth convex ``function(theta) -> (value, gradient)``: L-BFGS with a
    backtracking line search (torch.optim's first step imports the compiler: seconds)."""
    value, gradient = function(theta)
    history: list[tuple[torch.Tensor, torch.Tensor, float]] = []
    for iteration in range(max_iterations):
        if float(gradient.abs().max()) < tolerance or stop():
            break
        direction = -gradient
        alphas = []
        for s, y, rho in reversed(history):  # two-loop recursion
            alpha = rho * float((s * direction).sum())
            direction = direction - alpha * y
            alphas.append(alpha)
        if history:
            s, y, _ = history[-1]
            direction = direction * (float((s * y).sum()) / float((y * y).sum()))
        else:
            direction = direction / max(1.0, float(gradient.norm()))
        for (s, y, rho), alpha in zip(history, reversed(alphas)):
            beta = rho * float((y * direction).sum())
            direction = direction + (alpha - beta) * s
        slope = float((gradient * direction).sum())
        if slope >= 0:  # not a descent direction: start the memory afresh
            history.clear()
            direction, slope = -gradient, -float((gradient * gradient).sum())
        step = 1.0
        for _ in range(20):
            new_theta = theta + step * direction
            new_value, new_gradient = function(new_theta)
            if new_value <= value + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break  # no decrease along the direction: as good as it gets
        s, y = new_theta - theta, new_gradient - gradient
        curvature = float((s * y).sum())
        if curvature > 1e-12:
            history.append((s, y, 1.0 / curvature))
            del history[:-memory]
        improvement = value - new_value
        theta, value, gradient = new_theta, new_value, new_gradient
        if improvement < 1e-7 * max(1.0, abs(value)):
            break
    return theta


# ------------------------------------------------------------------------------ labels
def grid_logits(head: LinearHead, feature_map: FeatureMap) -> torch.Tensor:
    """[R, h, w] float32 logits at the feature grid (one matrix product)."""
    channels, height, width = feature_map.features.shape
    features = feature_map.float32().reshape(channels, -1)
    logits = torch.addmm(torch.from_numpy(head.bias)[:, None], torch.from_numpy(head.weight), features)
    return logits.reshape(-1, height, width)


@_on_few_threads
@torch.inference_mode()
def relabel(head: LinearHead, feature_map: FeatureMap, image: np.ndarray | None = None) -> np.ndarray:
    """(H0, W0) uint8 project class ids (255: none of the project's classes) of an image from
    its cached features: no network pass (on :data:`FIT_THREADS` threads). With the ``image``
    (RGB, its original size) the boundaries follow its edges (:func:`.edges.follow_edges`)."""
    logits = grid_logits(head, feature_map)
    rows = winning_rows(logits, feature_map)
    if image is not None:
        rows = follow_edges(logits, rows, feature_map, image, lambda chosen, size: resize_to(chosen, feature_map, size))
    return head.output_ids[rows.numpy()]


__all__ = ["CHECK_PIXELS", "Cancelled", "DISABLED_BIAS", "EDITED_WEIGHT", "FIT_THREADS", "LinearHead",
           "MAX_FIT_SAMPLES", "MAX_ITERATIONS", "PER_CLASS", "REGULARISATION", "SAMPLING_RULE", "Samples",
           "check_samples", "class_key", "features_at", "few_threads", "fit_head", "grid_logits", "image_samples",
           "initial_head", "labels_token", "lbfgs", "model_head", "pixel_taps", "predict_samples", "relabel",
           "resize_taps", "sample_pair"]
