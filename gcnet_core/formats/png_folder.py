"""A plain folder of indexed or grayscale PNGs (value = class index, 255 = ignore) + a class list.

The class list is a text file with one class name per line, line ``i`` naming value ``i``
(our ``index`` and ``gray`` exports write it as ``classes.txt``). A file's path relative to
the folder, without suffix, names its image (``street/a.png`` -> ``street/a.jpg``).
"""

from __future__ import annotations

from pathlib import Path

from ..files.class_list import CLASS_LIST, class_set_of
from ..model.classes import ClassSet
from .importing import Found, read_values


def find(source: Path, split: str | None = None, class_list: Path | None = None) -> tuple[list[Found], ClassSet]:
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
    for path in sorted(source.rglob("*.png")):
        rel = path.relative_to(source).with_suffix("").as_posix()
        keys = (rel, path.stem) if "/" in rel else (path.stem,)
        found.append(Found(path, keys, (lambda p=path: (read_values(p), names)), palette))
    return found, classes
