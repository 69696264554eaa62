"""The class-list file our exports write (``classes.txt``: one name per line, index = line),
and stable colours for class lists that come without any (imports, custom exports)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ..model.classes import ClassSet
from .atomic import atomic_write_text

CLASS_LIST = "classes.txt"


def write_class_list(folder: Path, classes: ClassSet) -> None:
    atomic_write_text(Path(folder) / CLASS_LIST, "".join(f"{name}\n" for name in classes.names))


def read_class_list(path: Path) -> tuple[str, ...]:
    """Class names, one a line (line endings stripped, blank lines left out); errors name the file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the class list {path}: {error}") from None
    names = tuple(line.rstrip("\r\n") for line in lines if line.strip())
    if not names:
        raise ValueError(f"the class list {path} names no class")
    return names


def new_class_colour(name: str, taken: set[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A colour derived from the name (stable across runs), nudged until unused; never white."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    for i in range(len(digest) - 2):
        colour = (digest[i], digest[i + 1], digest[i + 2])
        if colour not in taken and colour != (255, 255, 255):
            return colour
    return digest[0], digest[1], digest[2]


def generated_palette(names: Iterable[str]) -> tuple[tuple[int, int, int], ...]:
    """Distinct colours for a class list that comes without any."""
    colours: list[tuple[int, int, int]] = []
    taken: set[tuple[int, int, int]] = set()
    for name in names:
        colour = new_class_colour(name, taken)
        taken.add(colour)
        colours.append(colour)
    return tuple(colours)


def class_set_of(path: Path, known: Iterable[ClassSet] = ()) -> ClassSet:
    """A class list file as a ClassSet: one of ``known`` when the names are its, else generated colours."""
    names = read_class_list(path)
    return next((c for c in known if c.names == names), None) or ClassSet(names, generated_palette(names))
