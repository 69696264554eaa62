"""The image sets a simulated annotator works on: (RGB, class-index labels) pairs.

- ``flat``: objects of four classes drawn in flat colours with a little noise on a flat
  background. Hard edges between clean colours: the best case for GrabCut.
- ``photo``: the same geometry, each class filled with a crop of its own real photograph
  (``shared/data/images``) at a random place and scale, edges softened a little: texture
  inside objects, edges that colour alone does not give away.
- a labelled folder: real photos with class-index masks of the same stem.
- ``sequence`` (:func:`sequence_pair`): the flat set's kind of scene, larger, with one more
  class the starting model of the sequence mode does not know (:data:`UNKNOWN`: striped
  bands), in three images of four (not in those whose seed is 3 modulo 4); its ``photo``
  kind (:func:`sequence_photo_pair`) fills the same scenes' classes with real photographs.
  There are five photographs for six classes: :data:`UNKNOWN` (class 5) takes the
  background's (class 0), so on photo textures only its darkened stripes tell it apart.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import cv2
import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet

SIZE = 96
CLASSES = ClassSet(("background", "disc", "box", "triangle", "blob"),
                   ((90, 90, 90), (220, 60, 60), (60, 160, 220), (240, 200, 40), (60, 200, 90)))
SETS = ("flat", "photo")
UNKNOWN = "stripes"
SEQUENCE_CLASSES = ClassSet((*CLASSES.names, UNKNOWN), (*CLASSES.palette, (200, 80, 200)))
SEQUENCE_SIZE = 160


def synthetic_labels(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """3-5 objects of four shapes (class 1-4) on background (class 0)."""
    labels = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(3, 6)):
        cls = int(rng.integers(1, 5))
        cx, cy = rng.integers(12, size - 12, 2)
        r = int(rng.integers(7, 16))
        shape = np.zeros_like(labels)
        if cls == 1:
            cv2.circle(shape, (int(cx), int(cy)), r, 1, -1)
        elif cls == 2:
            cv2.rectangle(shape, (int(cx - r), int(cy - r * 0.7)), (int(cx + r), int(cy + r * 0.7)), 1, -1)
        elif cls == 3:
            pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(shape, [pts], 1)
        else:
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(shape, (int(cx), int(cy)), (r, max(3, r // 2)), angle, 0, 360, 1, -1)
        labels[shape > 0] = cls
    return labels


def synthetic_pair(seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, labels) of the flat set: each class its colour, lit differently per image, plus noise."""
    rng = np.random.default_rng(seed)
    labels = synthetic_labels(rng, size)
    base = np.asarray(CLASSES.palette, np.float32)[labels]
    texture = cv2.GaussianBlur(rng.normal(0, 35, (size, size, 3)).astype(np.float32), (0, 0), 1.2)
    shade = rng.uniform(0.75, 1.15, 3).astype(np.float32)  # lighting differs per image
    rgb = np.clip(base * shade + texture, 0, 255).astype(np.uint8)
    return rgb, labels


@functools.lru_cache(maxsize=1)
def texture_photos() -> tuple[np.ndarray, ...]:
    """The shared real photographs, sorted by name (class k takes photo k modulo their count:
    with the five shared ones, the sequence set's class 5 takes class 0's)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from helpers import SHARED_IMAGES

    from gcnet_core.files.images import read_image_rgb

    paths = sorted(p for p in SHARED_IMAGES.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not paths:
        raise FileNotFoundError(f"no photos in {SHARED_IMAGES} for the photo-textured set")
    return tuple(read_image_rgb(p) for p in paths)


def photo_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``size`` x ``size`` crop of ``photo`` at a random place, shrunk by a random factor first."""
    factor = rng.uniform(0.3, 0.6) * 512 / max(photo.shape[:2])
    height, width = (max(size, round(n * factor)) for n in photo.shape[:2])
    small = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    y, x = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    return small[y:y + size, x:x + size]


def photo_filled(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32: each class of ``labels`` filled with its own photo (a random crop)."""
    photos, size = texture_photos(), labels.shape[0]
    rgb = np.zeros((*labels.shape, 3), np.float32)
    for cls in np.unique(labels):
        crop = photo_crop(photos[int(cls) % len(photos)], size, rng).astype(np.float32)
        rgb[labels == cls] = crop[labels == cls]
    return rgb


def textured_pair(seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, labels) of the photo set: the flat set's geometry for ``seed``, each class filled
    with its own photo (a random crop per image), lit differently per image, edges softened."""
    labels = synthetic_pair(seed, size)[1]
    rng = np.random.default_rng([seed, 7])
    rgb = photo_filled(labels, rng)
    rgb *= rng.uniform(0.8, 1.1, 3).astype(np.float32)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.7)  # a lens: edges a pixel wide, not a step
    return np.clip(rgb, 0, 255).astype(np.uint8), labels


def sequence_labels(rng: np.random.Generator, size: int = SEQUENCE_SIZE, unknown: bool = True) -> np.ndarray:
    """3-5 objects of the four known shapes, then (``unknown``) a band of :data:`UNKNOWN` across
    part of the image, drawn over them."""
    labels = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(3, 6)):
        cls = int(rng.integers(1, 5))
        cx, cy = (int(v) for v in rng.integers(size // 8, size - size // 8, 2))
        r = int(rng.integers(size // 12, size // 6))
        if cls == 1:
            cv2.circle(labels, (cx, cy), r, cls, -1)
        elif cls == 2:
            cv2.rectangle(labels, (cx - r, cy - int(r * 0.7)), (cx + r, cy + int(r * 0.7)), cls, -1)
        elif cls == 3:
            cv2.fillPoly(labels, [np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)], cls)
        else:
            cv2.ellipse(labels, (cx, cy), (r, max(3, r // 2)), float(rng.uniform(0, 180)), 0, 360, cls, -1)
    if unknown:
        centre = tuple(int(v) for v in rng.integers(size // 4, 3 * size // 4, 2))
        axes = (int(rng.integers(size // 5, size // 3)), int(rng.integers(size // 14, size // 9)))
        cv2.ellipse(labels, centre, axes, float(rng.uniform(0, 180)), 0, 360, len(CLASSES), -1)
    return labels


def sequence_pair(seed: int, size: int = SEQUENCE_SIZE, unknown: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, labels) of the sequence set: flat colours lit per image plus noise, the
    :data:`UNKNOWN` band striped dark across its length, unless ``seed`` is 3 modulo 4 (or
    ``unknown`` says). ``unknown=False``: only the known classes (what the starting model
    is fitted on)."""
    rng = np.random.default_rng([seed, 11])
    labels = sequence_labels(rng, size, seed % 4 != 3 if unknown is None else unknown)
    base = np.asarray(SEQUENCE_CLASSES.palette, np.float32)[labels]
    rows, cols = np.mgrid[:size, :size]
    base[(labels == len(CLASSES)) & ((rows + cols) % 8 < 3)] *= 0.45  # its stripes
    texture = cv2.GaussianBlur(rng.normal(0, 35, (size, size, 3)).astype(np.float32), (0, 0), 1.2)
    shade = rng.uniform(0.75, 1.15, 3).astype(np.float32)
    return np.clip(base * shade + texture, 0, 255).astype(np.uint8), labels


def sequence_photo_pair(seed: int, size: int = SEQUENCE_SIZE,
                        unknown: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, labels) of the sequence set's photo kind: :func:`sequence_pair`'s labels, each
    class filled with its own photo (a random crop per image; :data:`UNKNOWN` with its stripes
    darkened across it), lit differently per image, edges softened as by a lens."""
    labels = sequence_pair(seed, size, unknown)[1]
    rng = np.random.default_rng([seed, 13])
    rgb = photo_filled(labels, rng)
    rows, cols = np.mgrid[:size, :size]
    rgb[(labels == len(CLASSES)) & ((rows + cols) % 8 < 3)] *= 0.45
    rgb *= rng.uniform(0.8, 1.1, 3).astype(np.float32)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 0.7)
    return np.clip(rgb, 0, 255).astype(np.uint8), labels


SEQUENCE_SETS = {"flat": sequence_pair, "photo": sequence_photo_pair}


def image_set(name: str, seeds) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pairs of set ``name`` (see :data:`SETS`) for ``seeds``."""
    make = {"flat": synthetic_pair, "photo": textured_pair}[name]
    return [make(int(s)) for s in seeds]


def labelled_folder(images: Path, masks: Path, size: int = 256) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB, labels) of each image with a same-stem mask, shrunk to at most ``size`` pixels.
    Raises ValueError naming the folder when it holds no labelled image."""
    from gcnet_core.files.images import find_images, read_image_rgb
    from gcnet_core.files.masks import read_index_mask

    for folder in (images, masks):
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder")
    pairs = []
    for path in find_images([images]):
        mask_path = masks / path.relative_to(images).with_suffix(".png")
        if not mask_path.exists():
            continue
        rgb, gt = read_image_rgb(path), read_index_mask(mask_path)
        if gt.shape != rgb.shape[:2]:
            raise ValueError(f"{mask_path}: the mask is {gt.shape[1]}x{gt.shape[0]}, its image "
                             f"{rgb.shape[1]}x{rgb.shape[0]}")
        factor = min(1.0, size / max(gt.shape))
        if factor < 1.0:
            dsize = (round(gt.shape[1] * factor), round(gt.shape[0] * factor))
            rgb = cv2.resize(rgb, dsize, interpolation=cv2.INTER_AREA)
            gt = cv2.resize(gt, dsize, interpolation=cv2.INTER_NEAREST)
        pairs.append((rgb, gt))
    if not pairs:
        raise ValueError(f"{images}: no image has a mask of the same stem in {masks}")
    return pairs


def folder_classes(pairs) -> ClassSet:
    """Classes 0..max label of a labelled folder, with generated colours."""
    count = int(max(gt[gt != IGNORE_INDEX].max(initial=0) for _, gt in pairs)) + 1
    rng = np.random.default_rng(0)
    return ClassSet(tuple(f"class {i}" for i in range(count)),
                    tuple(tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(count)))
