"""labelme JSON: one file per image, shapes painted in list order (a later shape wins).

Shapes are drawn as labelme's ``utils.shape_to_mask`` draws them (Pillow's polygon, rectangle
and ellipse fill; lines 10 px wide, points of radius 5) and mask shapes are placed at the
integer corners of their box, so an import gives the labels labelme's own conversion gives.
As in labelme's own converter (labelme2voc), pixels outside every shape and ``_background_``
shapes are background (the project's ``background`` class, created when it has none), and
``__ignore__`` shapes mark ignore (255). Export writes, per class present in an image, one
``mask`` shape (exact) or, with ``shapes="polygon"``, one polygon per outer contour (holes are
filled: approximate); the background class is written as ``_background_`` and ignore pixels as
an ``__ignore__`` shape, so labelme's converter and our import read the labels back unchanged.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ..files.class_list import generated_palette
from ..files.atomic import atomic_write_text
from ..files.probe import shown_size
from ..model.classes import IGNORE_INDEX, ClassSet
from ..project.store import PROJECT_FILE
from .files import background_index, in_own_output
from .format import CONTENT, LAYOUT, NOT_IT, Format, Source
from .importing import Found

LABELME_VERSION = "5.5.0"
IGNORE_LABEL = "__ignore__"
BACKGROUND_LABEL = "_background_"  # labelme's name of class 0, what lies outside every shape


def find(source: Path, split: str | None = None, root: Path | None = None, **_: object
         ) -> tuple[list[Found], ClassSet]:
    """Every ``*.json`` under ``source``; ``root`` (the project) turns imagePath into a key."""
    source = Path(source)
    files = [source] if source.is_file() else sorted(
        p for p in source.rglob("*.json")  # not our project file, nothing in hidden folders or our exports
        if p.name != PROJECT_FILE and not any(part.startswith(".") for part in p.relative_to(source).parts)
        and not in_own_output(source, p))
    if not files:
        raise FileNotFoundError(f"no labelme JSON files under {source}")
    found, names = [], []
    for path in files:
        data = _read(path)
        image_path = data.get("imagePath") if isinstance(data, dict) else None
        keys, hint = [path.stem], ""
        if isinstance(image_path, str) and image_path:
            image = (path.parent / image_path.replace("\\", "/")).resolve()
            keys.insert(0, image.stem)
            if not image.exists():
                hint = f"its image {image} is missing" + (
                    " (the JSON embeds it as imageData: save it there, then import again)"
                    if data.get("imageData") else "")
            if root is not None:
                try:
                    keys.insert(0, "/" + image.relative_to(Path(root).resolve()).with_suffix("").as_posix())
                except ValueError:
                    pass
        for shape in (data.get("shapes") or []) if isinstance(data, dict) else []:
            label = shape.get("label") if isinstance(shape, dict) else None
            if isinstance(label, str) and label not in (IGNORE_LABEL, BACKGROUND_LABEL) and label not in names:
                names.append(label)
        found.append(Found(path, tuple(dict.fromkeys(keys)), _loader(path), background=BACKGROUND_LABEL,
                           hint=hint))
    classes = ClassSet(tuple(names), generated_palette(names))  # background: added when a file has some
    for item in found:
        item.palette = {BACKGROUND_LABEL: (0, 0, 0), **dict(zip(classes.names, classes.palette))}
    return found, classes


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _loader(path: Path):
    def load():
        data = _read(path)
        if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
            raise ValueError(f"{path} is not a labelme file (no 'shapes' list)")
        height, width = _size(path, data)
        canvas = np.zeros((height, width), dtype=np.uint8)  # value 0: background
        names: list[str] = [BACKGROUND_LABEL]
        for number, shape in enumerate(data["shapes"], start=1):
            try:
                mask = shape_mask((height, width), shape)
                label = shape["label"]
                if not isinstance(label, str) or not label:
                    raise ValueError(f"its label is {label!r}, not a class name")
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{path}: shape {number} cannot be read ({error})") from None
            if label == IGNORE_LABEL:
                canvas[mask] = IGNORE_INDEX
                continue
            if label not in names:
                names.append(label)
            canvas[mask] = names.index(label)
        return canvas, tuple(names)
    return load


def _size(path: Path, data: dict) -> tuple[int, int]:
    """(H, W) the file declares, else of its image as shown (EXIF orientation applied, as labelme)."""
    if isinstance(data.get("imageHeight"), int) and isinstance(data.get("imageWidth"), int):
        return data["imageHeight"], data["imageWidth"]
    try:
        if data.get("imageData"):
            source = io.BytesIO(base64.b64decode(data["imageData"]))
        else:
            source = path.parent / str(data["imagePath"]).replace("\\", "/")
        with Image.open(source) as im:
            return shown_size(im)
    except (OSError, KeyError, ValueError, SyntaxError) as error:
        raise ValueError(f"{path} gives no image size and its image cannot be read ({error})") from None


def shape_mask(size: tuple[int, int], shape: dict) -> np.ndarray:
    """The boolean mask of one labelme shape on an image of ``size`` (H, W)."""
    kind = shape.get("shape_type") or "polygon"
    points = [tuple(float(v) for v in p) for p in shape["points"]]
    if kind == "mask":
        bitmap = np.asarray(Image.open(io.BytesIO(base64.b64decode(shape["mask"])))).astype(bool)
        (x1, y1), _ = np.asarray(points[:2]).astype(int)
        out = np.zeros(size, dtype=bool)
        region = out[y1:y1 + bitmap.shape[0], x1:x1 + bitmap.shape[1]]
        region[...] = bitmap[: region.shape[0], : region.shape[1]]
        return out
    canvas = Image.new("L", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(canvas)
    if kind == "circle":
        (cx, cy), (px, py) = points[:2]
        d = math.hypot(cx - px, cy - py)
        draw.ellipse(((cx - d, cy - d), (cx + d, cy + d)), outline=1, fill=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = points[:2]
        draw.rectangle(((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1))), outline=1, fill=1)
    elif kind in ("line", "linestrip"):
        draw.line(xy=points, fill=1, width=10)
    elif kind == "point":
        cx, cy = points[0]
        draw.ellipse(((cx - 5, cy - 5), (cx + 5, cy + 5)), outline=1, fill=1)
    elif kind in ("polygon", "oriented_rectangle"):
        if len(points) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
        draw.polygon(xy=points, outline=1, fill=1)
    else:
        raise ValueError(f"unknown shape_type {kind!r}")
    return np.asarray(canvas, dtype=bool)


def _mask_b64(mask: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")  # a bool array saves as a 1-bit PNG
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _shape(label: str, points, kind: str, mask: str | None = None) -> dict:
    return {"label": label, "points": points, "group_id": None, "description": "", "shape_type": kind,
            "flags": {}, "mask": mask}


def shapes_of(labels: np.ndarray, classes: ClassSet, style: str = "mask") -> list[dict]:
    """The shapes of ``labels``: ignore pixels as an ``__ignore__`` shape (an ignore pixel is not
    outside every shape), first, so the classes' shapes are drawn over the holes a polygon of it
    fills; then one per class present (the background class as ``_background_``)."""
    shapes = []
    present = [i for i in np.unique(labels).tolist() if i < len(classes)]
    background = background_index(classes)
    for index in ([IGNORE_INDEX] if (labels == IGNORE_INDEX).any() else []) + present:
        binary = labels == index
        if index == IGNORE_INDEX:
            name = IGNORE_LABEL
        else:
            name = BACKGROUND_LABEL if index == background else classes.names[index]
        if style == "mask":
            ys, xs = np.nonzero(binary)
            y1, y2, x1, x2 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
            shapes.append(_shape(name, [[float(x1), float(y1)], [float(x2), float(y2)]], "mask",
                                 _mask_b64(binary[y1:y2 + 1, x1:x2 + 1])))
            continue
        contours, _ = cv2.findContours(binary.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            points = contour.reshape(-1, 2).astype(float).tolist()
            if len(points) >= 3:
                shapes.append(_shape(name, points, "polygon"))
            else:  # a one- or two-pixel region: its box
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                shapes.append(_shape(name, [[min(xs), min(ys)], [max(xs), max(ys)]], "rectangle"))
    return shapes


class Writer:
    """``<rel>.json`` per image, ``imagePath`` relative to it, no embedded image data."""

    def __init__(self, out: Path, classes: ClassSet, labelme_shapes: str = "mask", **_: object) -> None:
        if labelme_shapes not in ("mask", "polygon"):
            raise ValueError(f"labelme shapes are 'mask' or 'polygon', not {labelme_shapes!r}")
        self.out, self.classes, self.style = out, classes, labelme_shapes

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        target = self.out / rel.with_suffix(".json")
        data = {
            "version": LABELME_VERSION, "flags": {}, "shapes": shapes_of(labels, self.classes, self.style),
            "imagePath": Path(os.path.relpath(image, target.parent)).as_posix(), "imageData": None,
            "imageHeight": int(labels.shape[0]), "imageWidth": int(labels.shape[1]),
        }
        atomic_write_text(target, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def close(self) -> None:
        pass


def recognise(source: Source) -> int:
    """A JSON file, or a folder whose first JSON file has ``"shapes"`` (a COCO file, checked
    first, wins over both; the full ADE20K layout's JSON files are not labelme's)."""
    if source.is_file:
        return LAYOUT if source.path.suffix.lower() == ".json" else NOT_IT
    first = source.first_files.get(".json")
    return CONTENT if first is not None and source.holds(first, '"shapes"') else NOT_IT


FORMAT = Format("labelme", "labelme JSON (one file per image)", find, Writer, recognise=recognise,
                options=frozenset({"labelme_shapes"}), import_title="labelme JSON files")
