"""What a label format is to the rest of the program: one :class:`Format` record per format.

A format module (``voc.py``, ``cityscapes.py`` ...) keeps its reader and writer side by side and
describes them in a ``Format``; :mod:`.registry` lists the records. The CLI, the dialogs, the
export and the guesser read only the records, so a new format is one module and one registry line.

The two halves a record points at:

* a **reader** ``find(source, split=None, **options) -> (found, classes)`` finds the label files
  of a source (:class:`~gcnet_core.formats.importing.Found`) and gives the format's class list;
  the options it may use are ``class_list`` (a class-list file) and ``root`` (the project folder);
* a **writer** ``Writer(out, classes, split="train", **options)`` with ``add(image, rel, labels)``
  per image and ``close()`` at the end writes an export under ``out``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..model.classes import ClassSet
from ..project.store import PROJECT_FILE

if TYPE_CHECKING:
    from .importing import Found

#: How sure a recogniser is that a source is of its format: the layout's own folder or file names
#: beat what the first files look like; the registry's order breaks a tie.
LAYOUT, CONTENT, NOT_IT = 2, 1, 0


class Writer(Protocol):
    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None: ...

    def close(self) -> None: ...


Reader = Callable[..., "tuple[list[Found], ClassSet]"]


class Source:
    """A file or folder the guesser looks at, with the looks the recognisers share, each taken
    at most once and shallow (a few stat calls, one lazy listing), so a dialog can guess as a
    path is typed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @cached_property
    def is_file(self) -> bool:
        return self.path.is_file()

    @cached_property
    def is_dir(self) -> bool:
        return self.path.is_dir()

    def has_dir(self, *names: str) -> bool:
        """Whether the folder holds a sub-folder of one of ``names``."""
        return self.is_dir and any((self.path / name).is_dir() for name in names)

    def within(self, name: str, levels: int) -> bool:
        """Whether the folder, or one of the ``levels`` folders above it, is named ``name``."""
        return self.is_dir and name in [self.path.name, *(p.name for p in list(self.path.parents)[:levels])]

    @cached_property
    def first_files(self) -> dict[str, Path]:
        """The first ``.json`` and ``.png`` file of the folder, or of its first few sub-folders."""
        return _first_files(self.path) if self.is_dir else {}

    def holds(self, path: Path, text: str) -> bool:
        """Whether the first MiB of ``path`` contains ``text``."""
        try:
            with path.open("r", encoding="utf-8", errors="replace") as fh:
                return text in fh.read(1 << 20)
        except OSError:
            return False


def _first_files(source: Path, depth: int = 1, folders: int = 20) -> dict[str, Path]:
    """The first .json and .png file in ``source``, or in its first few sub-folders (the first
    1000 entries of each folder are looked at, so a huge image folder costs little)."""
    first: dict[str, Path] = {}
    subdirs = []
    try:
        entries = list(itertools.islice(source.iterdir(), 1000))
    except OSError:
        return first
    for entry in entries:
        suffix = entry.suffix.lower()
        if suffix in (".json", ".png") and entry.name != PROJECT_FILE and entry.is_file():
            first.setdefault(suffix, entry)
        elif depth and not entry.name.startswith(".") and len(subdirs) < folders and entry.is_dir():
            subdirs.append(entry)
        if len(first) == 2:
            return first
    for folder in subdirs:
        for suffix, path in _first_files(folder, depth - 1).items():
            first.setdefault(suffix, path)
        if len(first) == 2:
            break
    return first


@dataclass(frozen=True)
class Format:
    """One label format: its name on the command line, its titles in the dialogs, its reader
    and writer (None where it has no such half), and what the dialogs and the guesser need."""

    name: str  #: the ``--format`` value
    title: str  #: how the export dialog lists it (and the import dialog, without ``import_title``)
    reader: Reader | None = None
    writer: Callable[..., Writer] | None = None
    import_title: str = ""  #: how the import dialog lists it, where reading is described differently
    split: bool = False  #: the layout has splits (a split folder or split file): ``--split`` applies
    options: frozenset[str] = frozenset()  #: the other options it takes (``class_list``, ``with_images``...)
    recognise: Callable[[Source], int] | None = None  #: LAYOUT, CONTENT or NOT_IT for a source
    check_classes: Callable[[ClassSet], str | None] | None = None  #: why a class set cannot be written
    read_back_as: str | None = None  #: the import format that reads this export (writer-only formats)

    @property
    def import_label(self) -> str:
        """Its title in the import dialog."""
        return self.import_title or self.title

    def problem_with(self, classes: ClassSet) -> str | None:
        """Why ``classes`` cannot be written in this format, or None."""
        return self.check_classes(classes) if self.check_classes is not None else None


__all__ = ["CONTENT", "Format", "LAYOUT", "NOT_IT", "Reader", "Source", "Writer"]
