"""One adaptation round for a project, as the window's worker and ``gcnet adapt`` run it.

:func:`adapt_project` reads the corrected images' labels and edits, takes their features from
the cache (computing the missing ones with the network), fits a head on every corrected image,
scores it on held-out images against the current head (:mod:`.guard`) and says in one line
whether it was adopted. :func:`relabel_untouched` then re-labels the images nobody touched
from their cached features (a matrix product each, no network pass). Both are Qt-free,
report ``progress(stage, done, total)`` and stop with :class:`~.head.Cancelled` once
``cancel`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from ..files.images import ImageReadError, read_image_rgb
from ..model.classes import IGNORE_INDEX
from ..predict.features import FeatureExtractor, FeatureMap
from ..project.feature_cache import FeatureCache, content_key
from ..project.states import DONE_STATES, MODEL_STATES
from ..project.store import Project
from .guard import (Score, held_out_folds, held_out_parts, reverted_line, score_labels, should_adopt,
                    summary_line)
from .head import (Cancelled, LinearHead, Samples, fit_head, image_samples, initial_head, labels_token,
                   model_head, predict_samples, relabel, sample_pair)
from .learnt import SampleShelf, learnt_path, load_learnt, save_learnt

if TYPE_CHECKING:
    from ..predict.loaded import LoadedModel

Progress = Callable[[str, int, int], None]
log = logging.getLogger("gcnet_core.adapt")


class NothingToLearn(ValueError):
    """The project gives nothing to fit and check a head on; the message says why."""


class CorrectedImage:
    """A corrected image as the fit sees it: ``token`` (its content and labels: what a head
    fitted on it remembers), ``labels`` ((H, W) uint8 project ids, 255 ignore), ``edited``
    ((H, W) bool: pixels a person set, or None) and its :attr:`features`, given or read when
    asked for (``features`` a callable): a round that keeps the image's samples needs none, and
    a list of 500 corrected images holds no 3 GB of features."""

    __slots__ = ("path", "token", "labels", "edited", "_features")

    def __init__(self, path: Path, token: str, features: FeatureMap | Callable[[], FeatureMap],
                 labels: np.ndarray, edited: np.ndarray | None) -> None:
        self.path, self.token, self.labels, self.edited, self._features = path, token, labels, edited, features

    @property
    def features(self) -> FeatureMap:
        return self._features() if callable(self._features) else self._features


@dataclass
class AdaptResult:
    """What a round did. ``head`` is the one to use now: the new head when it was adopted
    (fitted on every corrected image), the model's own classifier when ``reverted`` (the live
    head in use got fewer held-out pixels right than the model as it is; ``adopted`` is then
    True too: the head in use changed), else the current one."""

    head: LinearHead
    adopted: bool
    summary: str
    corrected: int
    held_out: int = 0
    parts: bool = False  # scored on held-out parts of the single corrected image (guard.held_out_parts)
    score_before: Score | None = None
    score_after: Score | None = None
    notes: list[str] = field(default_factory=list)  # images left out and cache problems, for the person
    seconds: float = 0.0
    reverted: bool = False


PART = "#part"  # a unit "<token>#part<k>": part k of a single image's held_out_parts


def sample_seed(image: CorrectedImage) -> int:
    """The seed an image's pixel samples are drawn with (from its labels' digest): the same
    image and labels give the same samples in every round, and in a fine-tune's live start."""
    return int(image.token.rsplit(":", 1)[-1][:8], 16)


class AdaptMemory:
    """What a round keeps for the next: each corrected image's pixel samples (fit and check) and
    the recent fits by the images they were fitted on, so the round after one more correction
    re-fits only what changed. A unit is an image's token, or ``<token>#part<k>`` for part k of
    a single corrected image (:func:`~.guard.held_out_parts`): its fit sample comes from the
    part's pixels, its check sample from those scored while it is held out."""

    def __init__(self, fits: int = 32, shelf: SampleShelf | None = None) -> None:
        self._samples: dict[str, tuple[Samples, Samples]] = {}
        self._fits: OrderedDict[tuple, LinearHead] = OrderedDict()
        self._max_fits = fits
        self.shelf = shelf  # samples kept on disk between sessions, if any

    def samples(self, image: CorrectedImage, num_classes: int, part: int | None = None) -> tuple[Samples, Samples]:
        """(balanced fit sample, uniform check sample) of one image, or of its ``part``."""
        key = _sample_key(image.token if part is None else f"{image.token}{PART}{part}", num_classes)
        found = self._samples.get(key)
        if found is None and self.shelf is not None:
            found = self.shelf.get(key, num_classes)
            if found is not None:
                self._samples[key] = found
        if found is None:
            seed = sample_seed(image) + (0 if part is None else 2 + 2 * part)
            fit_labels = check_labels = image.labels
            if part is not None:
                pixels, scored = held_out_parts(image.labels.shape, image.features.grid_size)[part]
                fit_labels = np.where(pixels, image.labels, np.uint8(IGNORE_INDEX))
                check_labels = np.where(scored, image.labels, np.uint8(IGNORE_INDEX))
            found = self._samples[key] = sample_pair(image.features, fit_labels, check_labels, image.edited,
                                                     num_classes, seed)
            if self.shelf is not None:
                self.shelf.put(key, found)
        return found

    def has_samples(self, token: str, num_classes: int) -> bool:
        """Whether an image's samples (its whole labels') are kept, in memory or on the shelf."""
        key = _sample_key(token, num_classes)
        return key in self._samples or (self.shelf is not None and self.shelf.has(key))

    def unit_samples(self, unit: str, by_token: dict[str, CorrectedImage], num_classes: int) -> tuple[Samples, Samples]:
        """:meth:`samples` of a unit (an image's token, or a part of one)."""
        token, _, part = unit.partition(PART)
        return self.samples(by_token[token], num_classes, int(part) if part else None)

    def fit(self, key: tuple, make: Callable[[], LinearHead]) -> LinearHead:
        found = self._fits.get(key)
        if found is None:
            found = self._fits[key] = make()
            while len(self._fits) > self._max_fits:
                self._fits.popitem(last=False)
        self._fits.move_to_end(key)
        return found

    def recent_fits(self) -> list[tuple[tuple, LinearHead]]:
        """The fits kept, oldest first, with their keys ``(version, classes, tokens)``."""
        return list(self._fits.items())

    def keep_fit(self, key: tuple, head: LinearHead) -> None:
        """A fit made before (e.g. in an earlier session, :mod:`.learnt`), found by its key as new ones are."""
        self.fit(key, lambda: head)

    def forget_except(self, tokens: set[str]) -> None:
        self._samples = {k: v for k, v in self._samples.items() if k.rsplit(":", 1)[0].split(PART)[0] in tokens}

    def sample_keys(self) -> set[str]:
        """The units (and class counts) whose samples are kept, as ``<unit>:<classes>``."""
        return set(self._samples)


def _sample_key(unit: str, num_classes: int) -> str:
    """A unit's samples for a class count (on the shelf too): ``<unit>:<classes>``."""
    return f"{unit}:{num_classes}"


class ContentKeys:
    """:func:`~.cache.content_key` of image files, remembered while size and time stay the same."""

    def __init__(self) -> None:
        self._keys: dict[Path, tuple[tuple[int, int], str]] = {}

    def of(self, path: Path) -> str:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        known = self._keys.get(path)
        if known is None or known[0] != stamp:
            known = self._keys[path] = (stamp, content_key(path))
        return known[1]


def starting_head(model: "LoadedModel", project: Project) -> LinearHead:
    """The model as it is, in the project's classes: the head every round is compared with first."""
    conv_seg = model.network.decode_head.conv_seg
    return model_head(conv_seg.weight, conv_seg.bias, model.classes.names, project.classes.names)


def adapt_project(project: Project, model: "LoadedModel", cache: FeatureCache, *,
                  current: LinearHead | None = None, extractor: FeatureExtractor | None = None,
                  memory: AdaptMemory | None = None, keys: ContentKeys | None = None,
                  progress: Progress | None = None, cancel: threading.Event | None = None,
                  fit_budget_s: float | None = None,
                  images: list[CorrectedImage] | None = None,
                  warm_start: LinearHead | None = None) -> AdaptResult:
    """Fit a head on the project's corrected images; adopt it when, on held-out images, it gets
    more pixels right than ``current`` (default: the model as it is).

    For each fold of images (:func:`~.guard.held_out_folds`) the new way (a fit on every other
    corrected image) is compared with the current way on the same pixels: the current head
    itself where it never saw the fold's images, else a fit on its own images less the fold.
    So the question is the one that matters: do the new corrections make other images better?
    A single corrected image is held out in parts (:func:`~.guard.held_out_parts`): a fit on
    one half of its checkerboard is scored on the other half, both ways.
    ``images``: the corrected images already loaded (:func:`load_corrected`). ``warm_start``: a
    head of the project's rows the fits start from while ``current`` is not one (the head an
    earlier session used: a fit on nearly the same images converges in a few steps). Raises
    :class:`NothingToLearn` (no corrected images, one class, one image with no labelled pixel
    to score once parts of it are held out) and :class:`Cancelled`.
    """
    began = time.perf_counter()
    extractor = extractor or FeatureExtractor(model.network, model.entry)
    memory, keys = memory or AdaptMemory(), keys or ContentKeys()
    classes = tuple(project.classes.names)
    if current is None or current.class_names != classes:
        current = starting_head(model, project)
    notes: list[str] = []
    if images is None:
        images = load_corrected(project, extractor, cache, keys, notes, progress, cancel, memory)
    _check_learnable(project, images, notes)
    memory.forget_except({image.token for image in images})
    everything = frozenset(image.token for image in images)
    if everything == current.fitted_on:
        plural = "s" if len(images) != 1 else ""
        return AdaptResult(current, False, f"live model: nothing new since the last fit ({len(images)} corrected "
                           f"image{plural})", len(images), notes=notes, seconds=time.perf_counter() - began)
    by_token = {image.token: image for image in images}
    conv_seg = model.network.decode_head.conv_seg
    own_rows = current.rows == len(classes) and np.array_equal(current.output_ids, np.arange(len(classes)))
    warm = current if own_rows else None  # a fit of the project's rows: where the next fits start
    if warm is None and warm_start is not None and warm_start.class_names == classes:
        warm = warm_start

    def fitted(tokens: frozenset[str]) -> LinearHead:
        if not tokens:
            return starting_head(model, project)

        def make() -> LinearHead:
            chosen = [memory.unit_samples(t, by_token, len(classes))[0] for t in sorted(tokens)]
            start = initial_head(conv_seg.weight, conv_seg.bias, model.classes.names, classes, chosen)
            head = fit_head(start, chosen, warm=warm, budget_s=fit_budget_s, cancel=cancel)
            return replace(head, fitted_on=tokens)

        return memory.fit((extractor.version, classes, tokens), make)

    parts = len(images) == 1  # one image: its parts stand for the images held out
    units = frozenset(f"{t}{PART}{k}" for t in everything for k in (0, 1)) if parts else everything
    folds = [[unit] for unit in sorted(units)] if parts else held_out_folds(sorted(everything))
    current_own = current.fitted_on & everything  # what the current way learnt from, of what is here now
    current_units = frozenset(u for u in units if u.split(PART)[0] in current_own)
    # While a live head is in use the model as it is is scored beside it: a new head must beat
    # both, and a live head the model beats is dropped (one that looked right on the first
    # images can be wrong on the next ones; nothing a round adopts may leave things worse than
    # the model the person started with).
    as_it_is = starting_head(model, project) if current.fitted_on else None
    before, after, model_score = (Score.empty(len(classes)) for _ in range(3))
    for done, fold in enumerate(folds):
        _report(progress, "score", done, len(folds) + 1)
        held = frozenset(fold)
        new_way = fitted(units - held)
        seen = current.fitted_on & {u.split(PART)[0] for u in held}
        current_way = current if not seen else fitted(current_units - held)
        for token in fold:
            check = memory.unit_samples(token, by_token, len(classes))[1]
            after = after + score_labels(predict_samples(new_way, check), check.labels, len(classes))
            before = before + score_labels(predict_samples(current_way, check), check.labels, len(classes))
            if as_it_is is not None:
                model_score = model_score + score_labels(predict_samples(as_it_is, check), check.labels,
                                                         len(classes))
    if parts and not after.total:  # the margins took every labelled pixel (a small image): no honest score
        height, width = images[0].labels.shape
        raise NothingToLearn(f"nothing to check on yet: the one corrected image ({width}x{height}) keeps no labelled "
                             "pixel to score once parts of it are held out; a second is needed")
    model_better = as_it_is is not None and model_score.correct > before.correct
    adopted = should_adopt(after, model_score if model_better else before)
    head, reverted = current, False
    if adopted:
        _report(progress, "fit", len(folds), len(folds) + 1)
        head = fitted(everything)
        summary = summary_line(len(images), after, model_score if model_better else before, True, parts)
    elif model_better:
        head, adopted, reverted = as_it_is, True, True
        summary = reverted_line(len(images), model_score, before, parts)
    else:
        summary = summary_line(len(images), after, before, False, parts)
    _report(progress, "fit" if adopted else "score", len(folds) + 1, len(folds) + 1)
    return AdaptResult(head, adopted, summary, len(images), len(images), parts, before,
                       model_score if reverted else after, notes, time.perf_counter() - began, reverted)


def fit_with_scribble(model: "LoadedModel", classes: Sequence[str], corrected: Sequence[CorrectedImage],
                      memory: AdaptMemory, features: FeatureMap, scribble: np.ndarray, *,
                      current: LinearHead | None = None, budget_s: float | None = 0.5,
                      cancel: threading.Event | None = None) -> LinearHead:
    """The stroke-scale loop: a head fitted on the corrected images and the strokes a person is
    painting on the current image (``scribble``: class ids where painted, 255 elsewhere), within
    ``budget_s``, for re-labelling that image's untouched pixels at once. Not guarded: the person
    sees the result where they paint, and one undo takes the strokes and their effect back."""
    classes = tuple(classes)
    conv_seg = model.network.decode_head.conv_seg
    painted = scribble != 255
    kept = [memory.samples(image, len(classes))[0] for image in corrected]
    strokes = image_samples(features, scribble, painted, len(classes), pixel_share=False)  # a lesson
    start = initial_head(conv_seg.weight, conv_seg.bias, model.classes.names, classes, [*kept, strokes])
    warm = current if current is not None and current.rows == len(classes) else None
    return fit_head(start, [*fewer_samples(kept, STROKE_SAMPLES), strokes], warm=warm, budget_s=budget_s,
                    cancel=cancel)


STROKE_SAMPLES = 3000  # the corrected images' pixels a stroke's fit uses at most (the strokes' own: all)


def fewer_samples(samples: Sequence[Samples], limit: int) -> list[Samples]:
    """At most ``limit`` of the pixels of ``samples``, the same share of each (seeded): a stroke's
    fit, warm from the current head, needs the corrected images as an anchor, not every pixel of
    them, and each L-BFGS step costs in proportion to its pixels (so a short budget buys more steps)."""
    total = sum(len(sample) for sample in samples)
    if total <= limit:
        return list(samples)
    rng, share = np.random.default_rng(0), limit / total
    out = []
    for sample in samples:
        keep = np.sort(rng.choice(len(sample), size=max(1, round(len(sample) * share)), replace=False))
        out.append(Samples(sample.features[keep], sample.labels[keep], sample.weights[keep]))
    return out


def load_corrected(project: Project, extractor: FeatureExtractor, cache: FeatureCache, keys: ContentKeys,
                   notes: list[str], progress: Progress | None = None, cancel: threading.Event | None = None,
                   memory: AdaptMemory | None = None) -> list[CorrectedImage]:
    """The corrected (and exported) images with labels, their features from the cache or computed
    now; an image that cannot be used is left out with a note naming it and why.

    With ``memory``, an image whose samples it keeps has its features read only if something
    asks (the first round after a restart reads 52 images' samples instead of 300 MiB of
    features), and an image read now has its samples drawn at once and its features let go,
    not kept in the cache's memory: a round holds one image's features at a time, and the
    memory keeps the untouched images' features that re-labelling reads."""
    paths = [p for p in project.images_with_state(*DONE_STATES) if project.label_path(p).is_file()]
    num_classes = len(project.classes)
    images = []
    for done, path in enumerate(paths):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        _report(progress, "features", done, len(paths))
        try:
            labels = project.read_labels(path)
            edited = project.read_edited(path) if project.edited_path(path).is_file() else None
            key = keys.of(path)
            token = labels_token(key, labels, edited)
            read = _features_reader(path, key, extractor, cache, notes, remember=memory is None)
            if memory is not None and memory.has_samples(token, num_classes):
                images.append(CorrectedImage(path, token, read, labels, edited))
                continue
            features = read()
        except (ImageReadError, OSError) as error:
            notes.append(f"{project.relative(path)} left out: {getattr(error, 'reason', None) or error}")
            continue
        if labels.shape != features.image_size or (edited is not None and edited.shape != labels.shape):
            notes.append(f"{project.relative(path)} left out: its labels are {labels.shape[1]}x{labels.shape[0]}, "
                         f"the image {features.image_size[1]}x{features.image_size[0]}")
            continue
        if memory is not None:  # drawn from the features at hand; later asks read them again
            memory.samples(CorrectedImage(path, token, features, labels, edited), num_classes)
        images.append(CorrectedImage(path, token, read, labels, edited))
    _report(progress, "features", len(paths), len(paths))
    return images


def _features_reader(path: Path, key: str, extractor: FeatureExtractor, cache: FeatureCache,
                     notes: list[str], remember: bool = True) -> Callable[[], FeatureMap]:
    """An image's features each time they are asked for: from the cache (memory, then disk;
    ``remember``: what is read from disk stays in the cache's memory), else computed with the
    network and kept there (a disk problem noted once); features the cache could not keep (no
    folder, too large for its memory) are held here, never computed twice."""
    held: list[FeatureMap] = []

    def read() -> FeatureMap:
        features = held[0] if held else cache.get(key, extractor.version, remember=remember)
        if features is None:
            features = extractor(read_image_rgb(path))
            problem = cache.put(key, extractor.version, features)
            if problem and problem not in notes:
                notes.append(problem)
            if (key, extractor.version) not in cache:
                held.append(features)
        return features

    return read


def _check_learnable(project: Project, images: list[CorrectedImage], notes: list[str]) -> None:
    if not images:
        left_out = f" ({len(notes)} could not be used: {notes[0]})" if notes else ""
        raise NothingToLearn(f"nothing to learn from: {project.root} has no corrected images with labels{left_out}")
    present = set()
    for image in images:  # a count per value: far cheaper than np.unique's sort of every pixel
        counts = np.bincount(image.labels.reshape(-1), minlength=len(project.classes))[:len(project.classes)]
        present.update(int(v) for v in np.flatnonzero(counts))
    if len(present) < 2:
        which = f" ({project.classes.names[present.pop()]})" if present else ""
        raise NothingToLearn(f"nothing to learn from: the corrected images hold a single class{which}; "
                             "label at least two classes")


def untouched_images(project: Project) -> list[Path]:
    """Images nobody has touched: pre-segmented or new, and no pixel a person edited."""
    found = []
    for path in project.images_with_state(*MODEL_STATES):
        try:
            if project.edited_path(path).is_file() and project.read_edited(path).any():
                continue
        except ImageReadError:
            continue  # unreadable edits: never overwrite what may be a person's work
        found.append(path)
    return found


def relabel_untouched(project: Project, head: LinearHead, cache: FeatureCache, version: str,
                      keys: ContentKeys | None = None, images: Sequence[Path] | None = None,
                      progress: Progress | None = None, cancel: threading.Event | None = None,
                      edges: bool = True) -> Iterator[tuple[Path, np.ndarray]]:
    """(image, labels in the project's ids) for each untouched image with cached features
    (``images``: those to do, default :func:`untouched_images`); the others are skipped.
    ``edges``: the boundaries follow the image's edges (:func:`relabel_following_edges`)."""
    keys = keys or ContentKeys()
    todo = list(images) if images is not None else untouched_images(project)
    for done, path in enumerate(todo):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        _report(progress, "relabel", done, len(todo))
        try:
            features = cache.get(keys.of(path), version)
        except OSError:
            continue
        if features is not None:
            yield path, relabel_following_edges(head, features, path) if edges else relabel(head, features)
    _report(progress, "relabel", len(todo), len(todo))


def relabel_following_edges(head: LinearHead, features: FeatureMap, path: Path) -> np.ndarray:
    """:func:`~.head.relabel` with the boundaries on the edges of the image at ``path``; an
    image that cannot be read, or is not the one the features are of (another size), gives
    the labels from the features alone (logged with the reason)."""
    try:
        return relabel(head, features, read_image_rgb(path))
    except (ImageReadError, OSError, ValueError) as error:
        log.warning("%s: re-labelled without following its edges: %s", path.name,
                    getattr(error, "reason", None) or error)
        return relabel(head, features)


class LiveAdapter:
    """What live adaptation keeps between rounds for one project and one model: the model and
    its feature extractor, the feature cache, the samples and fits already made, the corrected
    images of the last round and the head in use (:attr:`head`, None: the model as it is).

    The window's adaptation worker calls it from one thread at a time: :meth:`round` when a
    person finished an image, :meth:`relabel_untouched` after an adopted round, and
    :meth:`follow_strokes` while a person paints.
    """

    def __init__(self, model: "LoadedModel", cache: FeatureCache, kept_in: Path | None = None) -> None:
        self.model, self.cache = model, cache
        self.extractor = FeatureExtractor(model.network, model.entry)
        shelf = SampleShelf(kept_in / f"{self.extractor.version}-samples") if kept_in is not None else None
        self.memory, self.keys = AdaptMemory(shelf=shelf), ContentKeys()
        self.head: LinearHead | None = None
        self.warm_start: LinearHead | None = None  # where fits start while no head is in use
        self.corrected: list[CorrectedImage] = []
        self.kept = learnt_path(kept_in, self.version) if kept_in is not None else None
        if self.kept is not None:
            self._restore()

    def _restore(self) -> None:
        """The fits of the last session and the head it used (:mod:`.learnt`): the first round
        finds the fits of images that did not change and starts new ones from that head. The
        head is not in use until that round adopts it as any other (against the model as it is)."""
        head, fits, problem = load_learnt(self.kept, self.version)
        if problem:
            log.warning("%s", problem)
        self.warm_start = head
        for fit in fits:
            self.memory.keep_fit((self.version, fit.class_names, fit.fitted_on), fit)

    def keep(self) -> None:
        """Write what this session learnt into the project (:mod:`.learnt`): the head in use,
        the recent fits and the samples of the corrected images; what could not be written is
        logged. :meth:`round` does it unless told not to (the window's worker does it once the
        round's labels are out). Nothing without a project folder to keep it in."""
        if self.kept is None:
            return
        problems = [save_learnt(self.kept, self.version, self.head, self.memory.recent_fits())]
        if self.memory.shelf is not None:  # a round samples every corrected image it uses: the rest are unused
            self.memory.shelf.keep_only(self.memory.sample_keys())
            problems += self.memory.shelf.take_problems()
        for problem in dict.fromkeys(p for p in problems if p):  # each once
            log.warning("%s", problem)

    @property
    def version(self) -> str:
        """The feature version (the weights the features come from): the cache's key."""
        return self.extractor.version

    def round(self, project: Project, *, progress: Progress | None = None,
              cancel: threading.Event | None = None, keep: bool = True) -> AdaptResult:
        """:func:`adapt_project` against the head in use; an adopted head becomes :attr:`head`;
        then, with ``keep``, :meth:`keep`. Raises :class:`NothingToLearn` and :class:`Cancelled`."""
        notes: list[str] = []
        images = load_corrected(project, self.extractor, self.cache, self.keys, notes, progress, cancel, self.memory)
        self.corrected = images
        result = adapt_project(project, self.model, self.cache, current=self.head, extractor=self.extractor,
                               memory=self.memory, keys=self.keys, progress=progress, cancel=cancel, images=images,
                               warm_start=self.warm_start)
        result.notes[:0] = notes
        if result.adopted:
            self.head = result.head
        if keep:
            self.keep()
        return result

    def relabel_untouched(self, project: Project, images: Sequence[Path] | None = None, *,
                          progress: Progress | None = None, cancel: threading.Event | None = None,
                          edges: bool = True) -> Iterator[tuple[Path, np.ndarray]]:
        """The untouched images (or ``images``) with cached features, re-labelled by :attr:`head`
        (nothing while the model as it is is in use: that is what their masks already say, nor
        once the project's classes changed: the head's rows mean the old ones); ``edges``: their
        boundaries follow the images' edges."""
        if self.head is None or self.head.class_names != tuple(project.classes.names):
            return iter(())
        return relabel_untouched(project, self.head, self.cache, self.version, self.keys, images, progress, cancel,
                                 edges)

    def features(self, path: Path) -> FeatureMap:
        """An image's features: from the cache, else computed with the network and kept."""
        problems: list[str] = []
        found = _features_reader(path, self.keys.of(path), self.extractor, self.cache, problems)()
        for problem in problems:
            log.warning("%s", problem)
        return found

    def follow_strokes(self, classes: Sequence[str], path: Path, scribble: np.ndarray, *,
                       budget_s: float | None = 0.5, cancel: threading.Event | None = None) -> np.ndarray:
        """The stroke-scale loop: (H, W) labels of image ``path`` from a head fitted on the
        corrected images of the last round and ``scribble`` (project ids where a person painted
        on it, 255 elsewhere), their boundaries on the image's edges. The caller writes them only
        where nobody painted."""
        features = self.features(path)
        if features.image_size != scribble.shape:
            raise ValueError(f"{path.name}: the strokes are {scribble.shape[1]}x{scribble.shape[0]}, the image "
                             f"{features.image_size[1]}x{features.image_size[0]}")
        corrected = [image for image in self.corrected if image.path != path]  # its strokes stand for it
        head = self.head if self.head is not None and self.head.class_names == tuple(classes) else None
        fitted = fit_with_scribble(self.model, classes, corrected, self.memory, features, scribble, current=head,
                                   budget_s=budget_s, cancel=cancel)
        return relabel_following_edges(fitted, features, path)


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


__all__ = ["AdaptMemory", "AdaptResult", "ContentKeys", "CorrectedImage", "LiveAdapter", "NothingToLearn",
           "STROKE_SAMPLES", "adapt_project", "fewer_samples", "fit_with_scribble", "load_corrected",
           "relabel_following_edges", "relabel_untouched", "sample_seed", "starting_head", "untouched_images"]
