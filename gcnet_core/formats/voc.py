"""Pascal VOC 2012 (+ SBD aug): ``SegmentationClass[Aug]/<id>.png``, ``JPEGImages/<id>.jpg``.

Values are class indices (0 background, 255 void), as mmsegmentation's PascalVOCDataset
reads them: the export writes the project's background class (any of its names, labelme's
``_background_`` too) as ``background`` at 0 and the other classes after it in their order (a
project without one keeps its indices, named in the class tables below); the palette's void entry is VOC's (224, 224, 192), which datumaro needs. Our export
adds ``classes.txt`` (the project's class names) and datumaro's ``labelmap.txt``
(``name:r,g,b::`` lines, then ``ignored:224,224,192::`` for 255 as datumaro writes it) so a project with other classes than VOC's 21 comes back with its
names and loads in datumaro; without either the VOC classes are used. Masks saved as RGB colour
images (datumaro's exporter, some annotation tools) are read through ``labelmap.txt``'s colours,
else the VOC palette.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..files.class_list import CLASS_LIST, class_set_of, generated_palette, write_class_list
from ..files.atomic import atomic_write_bytes, atomic_write_text
from ..files.images import pillow_errors
from ..model.classes import IGNORE_INDEX, VOC_CLASSES, VOC_PALETTE, ClassSet
from .files import background_index, copy_image, flat_id
from .format import LAYOUT, NOT_IT, Format, Source
from .importing import Found, read_values

LABEL_DIRS = ("SegmentationClass", "SegmentationClassAug")
LABEL_MAP = "labelmap.txt"  # datumaro's VOC class table
VOID_COLOUR = (224, 224, 192)  # VOC's colour of value 255 (object borders, "don't care")
VOID_LABEL = "ignored"  # datumaro's name for it in labelmap.txt


def _root(source: Path) -> Path:
    if not any((source / d).is_dir() for d in LABEL_DIRS) and (source / "VOC2012").is_dir():
        return source / "VOC2012"  # a VOCdevkit folder
    return source


def find(source: Path, split: str | None = None, **_: object) -> tuple[list[Found], ClassSet]:
    """Label files of a VOC folder; ``split`` restricts them to ``ImageSets/Segmentation/<split>.txt``."""
    root = _root(Path(source))
    dirs = [root / d for d in LABEL_DIRS if (root / d).is_dir()]
    if not dirs:
        raise FileNotFoundError(f"no SegmentationClass or SegmentationClassAug folder in {root}")
    voc = ClassSet(VOC_CLASSES, VOC_PALETTE)
    if (root / LABEL_MAP).is_file():
        classes = read_label_map(root / LABEL_MAP)
    elif (root / CLASS_LIST).is_file():
        classes = class_set_of(root / CLASS_LIST, [voc])
    else:
        classes = voc
    wanted = None
    if split:
        split_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not split_file.is_file():
            raise FileNotFoundError(f"VOC split file not found: {split_file}")
        wanted = set(split_file.read_text(encoding="utf-8").split())
    labels: dict[str, Path] = {}
    for folder in dirs:  # SegmentationClass wins over the Aug copy of the same id
        for path in sorted(folder.glob("*.png")):
            if (wanted is None or path.stem in wanted) and path.stem not in labels:
                labels[path.stem] = path
    found = [Found(path, _keys(image_id), _loader(path, classes), dict(zip(classes.names, classes.palette)))
             for image_id, path in sorted(labels.items())]
    return found, classes


def _keys(image_id: str) -> tuple[str, ...]:
    if "__" in image_id:  # our export's flattened nested path
        return image_id.replace("__", "/"), image_id
    return (image_id,)


def _loader(path: Path, classes: ClassSet):
    return lambda: (read_voc_mask(path, classes), classes.names)


def read_voc_mask(path: Path, classes: ClassSet) -> np.ndarray:
    """Class indices of a VOC mask: palette or grey values as they are, RGB colours through
    ``classes``' palette (VOC's void colour = 255); a colour of no class is refused, naming it."""
    with pillow_errors(path), Image.open(path) as im:
        mode = im.mode
        colours = np.asarray(im.convert("RGB")) if mode in ("RGB", "RGBA") else None
    if colours is None:
        return read_values(path)
    code = (colours[..., 0].astype(np.int32) << 16) | (colours[..., 1].astype(np.int32) << 8) | colours[..., 2]
    table = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in reversed(list(enumerate(classes.palette)))}
    table.setdefault((VOID_COLOUR[0] << 16) | (VOID_COLOUR[1] << 8) | VOID_COLOUR[2], IGNORE_INDEX)
    present, inverse = np.unique(code, return_inverse=True)
    missing = [int(c) for c in present if int(c) not in table]
    if missing:
        shown = ", ".join(f"({c >> 16}, {(c >> 8) & 255}, {c & 255})" for c in missing[:3])
        raise ValueError(f"{path}: colour {shown} is no class of {LABEL_MAP if classes.names != VOC_CLASSES else 'VOC'}"
                         f" ({len(missing)} unknown colour(s)); a colour mask needs a {LABEL_MAP} naming its colours")
    values = np.asarray([table[int(c)] for c in present], dtype=np.uint8)
    return values[inverse].reshape(code.shape)


def read_label_map(path: Path) -> ClassSet:
    """datumaro's ``labelmap.txt`` (``name:r,g,b:parts:actions``, ``#`` comments) as a class set."""
    names, palette = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        try:
            colour = tuple(int(c) for c in fields[1].split(",")) if len(fields) > 1 and fields[1] else None
            if colour is not None and (len(colour) != 3 or not all(0 <= c <= 255 for c in colour)):
                raise ValueError(fields[1])
        except ValueError:
            raise ValueError(f"{path}, line {number}: {line!r} has no r,g,b colour") from None
        if fields[0].strip() == VOID_LABEL and colour == VOID_COLOUR:
            continue  # value 255, not a class
        names.append(fields[0].strip())
        palette.append(colour)
    generated = generated_palette(tuple(names))
    return ClassSet(tuple(names), tuple(c or g for c, g in zip(palette, generated)))  # type: ignore[arg-type]


def write_label_map(out: Path, classes: ClassSet) -> None:
    lines = ["# label:color_rgb:parts:actions"]
    lines += [f"{name}:{r},{g},{b}::" for name, (r, g, b) in zip(classes.names, classes.palette)]
    lines.append(f"{VOID_LABEL}:{','.join(map(str, VOID_COLOUR))}::")  # datumaro's last VOC label
    atomic_write_text(out / LABEL_MAP, "\n".join(lines) + "\n")


def write_voc_mask(path: Path, labels: np.ndarray, classes: ClassSet) -> None:
    """A palette PNG of class indices whose void entry (255) is VOC's colour."""
    palette = classes.palette_array()
    palette[IGNORE_INDEX] = VOID_COLOUR
    im = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8))  # mode "L"
    im.putpalette(palette.tobytes(), rawmode="RGB")
    buffer = io.BytesIO()
    im.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def voc_order(classes: ClassSet) -> tuple[ClassSet, np.ndarray]:
    """The classes as the VOC export writes them: the project's background class (when it has
    one) first, as ``background``, the others in their order; and the 256-entry table from the
    project's values to the written ones (255 stays 255)."""
    background = background_index(classes)
    others = [i for i in range(len(classes)) if i != background]
    order = others if background is None else [background, *others]
    lut = np.arange(256, dtype=np.uint8)
    lut[order] = np.arange(len(order))
    names = tuple(VOC_CLASSES[0] if i == background else classes.names[i] for i in order)
    return ClassSet(names, tuple(classes.palette[i] for i in order)), lut


class Writer:
    """``SegmentationClass/<id>.png`` (palette PNG), ``JPEGImages/<id>.jpg``, the split file;
    the background class at value 0 (:func:`voc_order`)."""

    def __init__(self, out: Path, classes: ClassSet, split: str = "train", **_: object) -> None:
        self.out, self.split = out, split
        self.classes, self.lut = voc_order(classes)
        self.ids: list[str] = []

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        voc_id = flat_id(rel)
        write_voc_mask(self.out / "SegmentationClass" / f"{voc_id}.png", self.lut[labels], self.classes)
        copy_image(image, self.out / "JPEGImages" / f"{voc_id}.jpg", labels)
        self.ids.append(voc_id)

    def close(self) -> None:
        atomic_write_text(self.out / "ImageSets" / "Segmentation" / f"{self.split}.txt",
                          "".join(i + "\n" for i in self.ids))
        write_class_list(self.out, self.classes)
        write_label_map(self.out, self.classes)


def recognise(source: Source) -> int:
    return LAYOUT if source.has_dir(*LABEL_DIRS, "VOC2012") else NOT_IT


FORMAT = Format("voc", "Pascal VOC layout", find, Writer, split=True, recognise=recognise,
                import_title="Pascal VOC (SegmentationClass, SegmentationClassAug)")
