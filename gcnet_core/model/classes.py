"""Class names, palettes and the Cityscapes label-id tables of the three zoo datasets.

The lists are the ones mmsegmentation ships (``CLASSES``/``PALETTE`` of its dataset
classes); index = class id predicted by the network. ADE20K spells class 7 ``'bed '``
with a trailing space, as mmsegmentation does, so checkpoints' meta compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE_INDEX = 255
MAX_CLASSES = IGNORE_INDEX  # values 0..254 are classes in an 8-bit mask

CITYSCAPES_CLASSES = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
    'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck',
    'bus', 'train', 'motorcycle', 'bicycle',
)

CITYSCAPES_PALETTE = (
    (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
    (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
    (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
    (0, 80, 100), (0, 0, 230), (119, 11, 32),
)

# trainId -> official Cityscapes labelId (for test-server submissions).
CITYSCAPES_TRAINID_TO_LABELID = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)

ADE20K_CLASSES = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed ',
    'windowpane', 'grass', 'cabinet', 'sidewalk', 'person', 'earth', 'door', 'table',
    'mountain', 'plant', 'curtain', 'chair', 'car', 'water', 'painting', 'sofa',
    'shelf', 'house', 'sea', 'mirror', 'rug', 'field', 'armchair', 'seat', 'fence',
    'desk', 'rock', 'wardrobe', 'lamp', 'bathtub', 'railing', 'cushion', 'base', 'box',
    'column', 'signboard', 'chest of drawers', 'counter', 'sand', 'sink', 'skyscraper',
    'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case',
    'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge', 'bookcase',
    'blind', 'coffee table', 'toilet', 'flower', 'book', 'hill', 'bench', 'countertop',
    'stove', 'palm', 'kitchen island', 'computer', 'swivel chair', 'boat', 'bar',
    'arcade machine', 'hovel', 'bus', 'towel', 'light', 'truck', 'tower', 'chandelier',
    'awning', 'streetlight', 'booth', 'television receiver', 'airplane', 'dirt track',
    'apparel', 'pole', 'land', 'bannister', 'escalator', 'ottoman', 'bottle', 'buffet',
    'poster', 'stage', 'van', 'ship', 'fountain', 'conveyer belt', 'canopy', 'washer',
    'plaything', 'swimming pool', 'stool', 'barrel', 'basket', 'waterfall', 'tent',
    'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step', 'tank', 'trade name',
    'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen', 'blanket',
    'sculpture', 'hood', 'sconce', 'vase', 'traffic light', 'tray', 'ashcan', 'fan',
    'pier', 'crt screen', 'plate', 'monitor', 'bulletin board', 'shower', 'radiator',
    'glass', 'clock', 'flag',
)

ADE20K_PALETTE = (
    (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3),
    (120, 120, 80), (140, 140, 140), (204, 5, 255), (230, 230, 230), (4, 250, 7),
    (224, 5, 255), (235, 255, 7), (150, 5, 61), (120, 120, 70), (8, 255, 51),
    (255, 6, 82), (143, 255, 140), (204, 255, 4), (255, 51, 7), (204, 70, 3),
    (0, 102, 200), (61, 230, 250), (255, 6, 51), (11, 102, 255), (255, 7, 71),
    (255, 9, 224), (9, 7, 230), (220, 220, 220), (255, 9, 92), (112, 9, 255),
    (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10),
    (7, 255, 255), (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7),
    (255, 122, 8), (0, 255, 20), (255, 8, 41), (255, 5, 153), (6, 51, 255),
    (235, 12, 255), (160, 150, 20), (0, 163, 255), (140, 140, 140), (250, 10, 15),
    (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0), (153, 255, 0),
    (0, 0, 255), (255, 71, 0), (0, 235, 255), (0, 173, 255), (31, 0, 255),
    (11, 200, 200), (255, 82, 0), (0, 255, 245), (0, 61, 255), (0, 255, 112),
    (0, 255, 133), (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0),
    (0, 143, 255), (51, 255, 0), (0, 82, 255), (0, 255, 41), (0, 255, 173),
    (10, 0, 255), (173, 255, 0), (0, 255, 153), (255, 92, 0), (255, 0, 255),
    (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20), (255, 184, 184),
    (0, 31, 255), (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194),
    (0, 255, 82), (0, 10, 255), (0, 112, 255), (51, 0, 255), (0, 194, 255),
    (0, 122, 255), (0, 255, 163), (255, 153, 0), (0, 255, 10), (255, 112, 0),
    (143, 255, 0), (82, 0, 255), (163, 255, 0), (255, 235, 0), (8, 184, 170),
    (133, 0, 255), (0, 255, 92), (184, 0, 255), (255, 0, 31), (0, 184, 255),
    (0, 214, 255), (255, 0, 112), (92, 255, 0), (0, 224, 255), (112, 224, 255),
    (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0), (255, 0, 163),
    (255, 204, 0), (255, 0, 143), (0, 255, 235), (133, 255, 0), (255, 0, 235),
    (245, 0, 255), (255, 0, 122), (255, 245, 0), (10, 190, 212), (214, 255, 0),
    (0, 204, 255), (20, 0, 255), (255, 255, 0), (0, 153, 255), (0, 41, 255),
    (0, 255, 204), (41, 0, 255), (41, 255, 0), (173, 0, 255), (0, 245, 255),
    (71, 0, 255), (122, 0, 255), (0, 255, 184), (0, 92, 255), (184, 255, 0),
    (0, 133, 255), (255, 214, 0), (25, 194, 194), (102, 255, 0), (92, 0, 255),
)

VOC_CLASSES = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
    'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
    'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
)

VOC_PALETTE = (
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128),
    (0, 128, 128), (128, 128, 128), (64, 0, 0), (192, 0, 0), (64, 128, 0),
    (192, 128, 0), (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128),
    (0, 64, 0), (128, 64, 0), (0, 192, 0), (128, 192, 0), (0, 64, 128),
)


def cityscapes_labelid_to_trainid_lut() -> np.ndarray:
    """256-entry lookup table mapping ``*_labelIds.png`` values to trainIds (255 = ignore)."""
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for train_id, label_id in enumerate(CITYSCAPES_TRAINID_TO_LABELID):
        lut[label_id] = train_id
    return lut


def cityscapes_trainid_to_labelid_lut() -> np.ndarray:
    """256-entry lookup table mapping trainIds to labelIds; ignore (255) becomes 0 (unlabeled)."""
    lut = np.zeros(256, dtype=np.uint8)
    for train_id, label_id in enumerate(CITYSCAPES_TRAINID_TO_LABELID):
        lut[train_id] = label_id
    return lut


@dataclass(frozen=True)
class ClassSet:
    """The classes a model predicts: names and an RGB palette, index = class id."""

    names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.palette):
            raise ValueError(f"{len(self.names)} class names but {len(self.palette)} palette colours")
        if len(self.names) > MAX_CLASSES:
            raise ValueError(f"{len(self.names)} classes, but a mask holds at most {MAX_CLASSES} "
                             f"(values 0-{MAX_CLASSES - 1}; {IGNORE_INDEX} = ignore)")
        for index, (name, color) in enumerate(zip(self.names, self.palette)):
            if not isinstance(name, str):
                raise ValueError(f"class {index} has a name of type {type(name).__name__}, not text")
            if len(color) != 3 or any(isinstance(c, bool) or not isinstance(c, (int, np.integer))
                                      or not 0 <= c <= 255 for c in color):
                raise ValueError(f"class {index} ({name!r}) has colour {list(color)}: a colour is three "
                                 "whole numbers from 0 to 255")

    def __len__(self) -> int:
        return len(self.names)

    def palette_array(self) -> np.ndarray:
        """(256, 3) uint8 palette for indexed PNGs: class colours, then black; 255 (ignore) white."""
        table = np.zeros((256, 3), dtype=np.uint8)
        table[: len(self.palette)] = np.asarray(self.palette, dtype=np.uint8)
        table[IGNORE_INDEX] = (255, 255, 255)
        return table


DATASET_CLASSES = {
    "cityscapes": ClassSet(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE),
    "ade20k": ClassSet(ADE20K_CLASSES, ADE20K_PALETTE),
    "voc": ClassSet(VOC_CLASSES, VOC_PALETTE),
}


def class_lut(source: ClassSet, target: ClassSet) -> np.ndarray:
    """Map a model's class indices to the project's (unknown classes become ignore).

    Classes are matched by name. When the two sets are of one family (half the names or
    more shared), a model class whose name is gone is matched to the project class that
    sits between the same neighbours and has a name the model does not know: a class the
    person renamed (the neighbours may have moved after a removal).
    """
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    where = {name: i for i, name in enumerate(target.names)}
    known = set(source.names)
    matched = {i: where[name] for i, name in enumerate(source.names) if name in where}
    for i, j in matched.items():
        lut[i] = j
    if len(matched) * 2 < min(len(source), len(target)):
        return lut  # another dataset: names only
    used = set(matched.values())
    for i in range(len(source)):
        if i in matched:
            continue
        before = matched.get(i - 1, -1 if i == 0 else None)
        after = matched.get(i + 1)
        if before is None:
            continue
        slot = before + 1
        if slot < len(target) and slot not in used and target.names[slot] not in known \
                and (after is None or after == slot + 1):
            lut[i] = slot
            used.add(slot)
            matched[i] = slot  # a neighbour for the next one (several renamed in a row)
    return lut
