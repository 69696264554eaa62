"""A plain folder of indexed or grayscale PNGs (value = class index, 255 = ignore) + a class list.

The class list is a text file with one class name per line, line ``i`` naming value ``i``.
A file's path relative to the folder, without suffix, names its image (``street/a.png`` ->
``street/a.jpg``). Two exports write this layout, mirroring the project's folders and adding
``classes.txt``: ``index`` (8-bit indexed PNGs with the class palette) and ``gray`` (8-bit
grayscale PNGs); the ``png`` import reads both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files.class_list import CLASS_LIST, class_set_of, write_class_list
from ..files.masks import write_index_mask
from ..model.classes import ClassSet
from .files import FlatWriter, in_own_output, write_png
from .format import CONTENT, NOT_IT, Format, Source
from .importing import Found, read_values


def find(source: Path, split: str | None = None, class_list: Path | None = None, **_: object
         ) -> tuple[list[Found], ClassSet]:
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(f"label folder not found: {source}")
    class_list = Path(class_list) if class_list else source / CLASS_LIST
    if not class_list.is_file():
        raise FileNotFoundError(f"no class list: {class_list} (one class name per line; pass --classes FILE)")
    classes = class_set_of(class_list)
    names = classes.names
    palette = dict(zip(classes.names, classes.palette))
    found = []
    for path in sorted(p for p in source.rglob("*.png") if not in_own_output(source, p)):
        rel = path.relative_to(source).with_suffix("").as_posix()
        keys = (rel, path.stem) if "/" in rel else (path.stem,)
        found.append(Found(path, keys, (lambda p=path: (read_values(p), names)), palette))
    return found, classes


class IndexWriter(FlatWriter):
    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        write_index_mask(self.out / rel.with_suffix(".png"), labels, self.classes)

    def close(self) -> None:
        write_class_list(self.out, self.classes)


class GrayWriter(FlatWriter):
    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        write_png(self.out / rel.with_suffix(".png"), labels)

    def close(self) -> None:
        write_class_list(self.out, self.classes)


def recognise(source: Source) -> int:
    if source.is_dir and (".png" in source.first_files or (source.path / CLASS_LIST).is_file()):
        return CONTENT
    return NOT_IT


INDEX = Format("index", "Indexed PNG with palette", writer=IndexWriter, read_back_as="png")
GRAY = Format("gray", "Grayscale class-index PNG", writer=GrayWriter, read_back_as="png")
PNG = Format("png", "Folder of indexed or grayscale PNGs + class list", reader=find, recognise=recognise,
             options=frozenset({"class_list"}))
