"""Export a project's label maps into the formats other tools read (no Qt).

The formats (``--format``) are the writers of :mod:`.registry`; each format module documents
the files it writes under the output folder. :func:`export_images` only writes files;
:func:`mark_exported` then moves *corrected* images to the ``exported`` state (predicted-only
images stay as they are), so a GUI can run the first in a worker thread and the second on its
own copy of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..files.images import ImageReadError
from ..files.outputs import mark_output_folder
from ..model.classes import ClassSet
from ..project.store import Project
from .registry import export_format

Progress = Callable[[int, int, Path], None]  # (done, total, image just handled)


class ExportCancelled(Exception):
    """Raised from a progress callback to stop an export between two images."""


@dataclass
class ExportReport:
    """What an export wrote and what it could not."""

    out: Path
    fmt: str
    written: list[Path] = field(default_factory=list)  # source images exported
    failed: list[tuple[Path, str]] = field(default_factory=list)


def check_format(fmt: str, classes: ClassSet) -> None:
    """Raise ValueError for an unknown format or one the class set cannot be written in."""
    problem = export_format(fmt).problem_with(classes)
    if problem is not None:
        raise ValueError(f"the {fmt!r} format {problem}")


def corrected_images(project: Project) -> list[Path]:
    """Images a person has checked: state ``corrected`` or already ``exported``."""
    return project.images_with_state("corrected", "exported")


def export_images(project: Project, images: Sequence[str | Path], fmt: str, out: str | Path,
                  progress: Progress | None = None, split: str = "train", with_images: bool = False,
                  labelme_shapes: str = "mask", coco_layout: str = "dataset",
                  cityscapes_kinds: str = "all") -> ExportReport:
    """Write the label maps of ``images`` (paths or project-relative names) in ``fmt`` under ``out``.

    Images without a label file, or whose photo cannot be read where the format needs it,
    are reported in ``failed`` and skipped. Every file is written atomically. ``split`` names
    the split of the dataset layouts, ``with_images`` copies the images into the Cityscapes
    layout, ``labelme_shapes`` is ``mask`` (exact) or ``polygon``, ``coco_layout`` is ``dataset``
    (``annotations/instances_<split>.json`` + ``images/<split>/``) or ``file`` (one ``annotations.json``),
    ``cityscapes_kinds`` is ``all`` (with labelTrainIds) or ``official`` (labelIds, color and
    instanceIds only, which datumaro reads).
    """
    check_format(fmt, project.classes)
    out = Path(out)
    _check_out(project, out)
    try:
        mark_output_folder(out, "gcnet export")  # created; a project scan does not list an export as photos
    except OSError as error:  # a file of that name, no permission...
        raise ValueError(f"cannot write the export into {out}: {error.strerror or error}") from None
    paths = [_absolute(project, image) for image in images]
    report = ExportReport(out, fmt)
    writer = export_format(fmt).writer(out, project.classes, split=split, with_images=with_images,
                                       labelme_shapes=labelme_shapes, coco_layout=coco_layout,
                                       cityscapes_kinds=cityscapes_kinds)
    for done, image in enumerate(paths, start=1):
        try:
            labels = _labels_of(project, image)
            writer.add(image, Path(project.relative(image)), labels)
            report.written.append(image)
        except (ImageReadError, OSError, ValueError) as error:
            report.failed.append((image, str(error)))
        if progress:
            progress(done, len(paths), image)
    try:
        writer.close()
    except OSError as error:
        raise ValueError(f"cannot finish the export in {out}: {error}") from None
    return report


def _check_out(project: Project, out: Path) -> None:
    """Refuse the project folder itself (its scan would list the export's copies and masks as
    images to annotate; a sub-folder is marked as an output and left out) and its data folder."""
    where = out.resolve()
    if where == project.root:
        raise ValueError(f"{out} is the project folder: the export's files would be listed as images to "
                         "annotate; export into another folder (a sub-folder of the project is fine)")
    if where == project.data_root.resolve() or project.data_root.resolve() in where.parents:
        raise ValueError(f"{out} is inside the project's own data folder {project.data_root}; export elsewhere")


def _labels_of(project: Project, image: Path):
    """The image's labels; ValueError saying why it has none (outside the project, no such
    image, never labelled) rather than naming the project's inner mask file."""
    try:
        project.relative(image)
    except ValueError:
        raise ValueError(f"not in the project folder {project.root}") from None
    if not project.label_path(image).is_file():
        raise ValueError("no such image in the project" if not image.is_file()
                         else "it has no labels in the project (nothing annotated or imported yet)")
    return project.read_labels(image)


def mark_exported(project: Project, images: Iterable[Path]) -> int:
    """Move the corrected ones among ``images`` to state ``exported`` and save; returns how many."""
    count = 0
    for image in images:
        if project.state(image) == "corrected":
            project.set_state(image, "exported")
            count += 1
    if count:
        project.save()
    return count


def _absolute(project: Project, image: str | Path) -> Path:
    path = Path(image)
    return path if path.is_absolute() else project.root / path


__all__ = ["ExportCancelled", "ExportReport", "check_format",
           "corrected_images", "export_images", "mark_exported"]
