"""``gcnet import`` and File ▸ Import Labels: pick the format's reader, then the common import.

:func:`import_labels` does both steps; the window runs it in a worker thread on its own copy of
the project and saves the states and classes itself.
"""

from __future__ import annotations

from pathlib import Path

from ..model.classes import ClassSet
from ..project.store import Project
from .format import LAYOUT, NOT_IT, Source
from .importing import Found, ImportReport, Progress, import_found
from .registry import import_format, import_formats


def guess_format(source: str | Path) -> str | None:
    """The import format a file or folder looks like, or None. Shallow (a few stat calls and one
    lazy listing of ``source`` itself), so a dialog can call it as a path is typed.

    Each format's recogniser says how sure it is; the surest wins, the registry's order breaks
    ties (so the first format that recognises its own layout's names is the answer).
    """
    source = Source(source)
    if not source.is_file and (not source.is_dir or source.path.parent == source.path):  # never the root
        return None
    best, best_score = None, NOT_IT
    for fmt in import_formats():
        score = fmt.recognise(source) if fmt.recognise is not None else NOT_IT
        if score == LAYOUT:
            return fmt.name
        if score > best_score:
            best, best_score = fmt.name, score
    return best


def find_labels(fmt: str, source: str | Path, project: Project, split: str | None = None,
                class_list: str | Path | None = None) -> tuple[list[Found], ClassSet]:
    """The label files of ``source`` in ``fmt`` and the format's class list."""
    reader = import_format(fmt).reader
    return reader(Path(source), split, class_list=Path(class_list) if class_list else None, root=project.root)


def import_labels(project: Project, fmt: str, source: str | Path, *, split: str | None = None,
                  class_list: str | Path | None = None, add_unknown: bool = False, replace: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Import the labels of ``source`` into ``project`` (files written; the project not saved).

    Raises FileNotFoundError / ValueError naming the file when the source is not of the format.
    """
    found, classes = find_labels(fmt, source, project, split, class_list)
    return import_found(project, found, add_unknown=add_unknown, replace=replace, base_classes=classes,
                        progress=progress)


__all__ = ["Found", "ImportReport", "find_labels", "guess_format", "import_labels"]
