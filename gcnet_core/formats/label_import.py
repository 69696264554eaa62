"""``gcnet import`` and File ▸ Import Labels: pick the format's reader, then the common import.

:func:`plan_import` finds the labels and maps the source's class names (the dialog shows that
table, the CLI checks it), :func:`run_import` writes; :func:`import_labels` does both. The
window runs them in a worker thread on its own copy of the project and saves the states and
classes itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..model.classes import ClassSet
from ..project.class_mapping import ClassMapping, propose_mapping, remember_mapping, remembered_mapping
from ..project.store import Project
from .format import LAYOUT, NOT_IT, Source
from .importing import Found, ImportReport, Progress, import_found, source_class_names, starting_classes
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


@dataclass
class ImportPlan:
    """An import before it writes anything: the files found, the class table it starts from
    and where each of the source's class names goes (what the dialog's table shows and the
    CLI checks)."""

    source: Path
    found: list[Found]
    classes: ClassSet  # the table the import starts from (importing.starting_classes)
    mapping: ClassMapping


def plan_import(project: Project, fmt: str, source: str | Path, *, split: str | None = None,
                class_list: str | Path | None = None, add_unknown: bool = False,
                chosen: Mapping[str, str] | None = None) -> ImportPlan:
    """Find the labels and map the source's class names (``chosen`` first, then the table the
    last import from this source used, then the rule); reads no label file. Raises
    FileNotFoundError / ValueError naming the file when the source is not of the format."""
    found, source_classes = find_labels(fmt, source, project, split, class_list)
    classes = starting_classes(project, source_classes)
    background = next((item.background for item in found if item.background), None)
    mapping = propose_mapping(source_class_names(found, source_classes), classes, add_unknown=add_unknown,
                              background=background, chosen=chosen,
                              remembered=remembered_mapping(project, source))
    return ImportPlan(Path(source), found, classes, mapping)


def run_import(project: Project, plan: ImportPlan, *, add_unknown: bool = False, replace: bool = False,
               progress: Progress | None = None) -> ImportReport:
    """Carry ``plan`` out (nothing, naming them, while a class name is undecided); a table that
    imported something is remembered for the next import from the same source."""
    report = import_found(project, plan.found, plan.mapping, plan.classes, add_unknown=add_unknown,
                          replace=replace, progress=progress)
    if report.imported:
        remember_mapping(project, plan.source, plan.mapping.targets)
    return report


def import_labels(project: Project, fmt: str, source: str | Path, *, split: str | None = None,
                  class_list: str | Path | None = None, add_unknown: bool = False, replace: bool = False,
                  chosen: Mapping[str, str] | None = None, progress: Progress | None = None) -> ImportReport:
    """Import the labels of ``source`` into ``project`` (files written; the project not saved):
    :func:`plan_import`, then :func:`run_import`."""
    plan = plan_import(project, fmt, source, split=split, class_list=class_list, add_unknown=add_unknown,
                       chosen=chosen)
    return run_import(project, plan, add_unknown=add_unknown, replace=replace, progress=progress)


__all__ = ["Found", "ImportPlan", "ImportReport", "find_labels", "guess_format", "import_labels", "plan_import",
           "run_import"]
