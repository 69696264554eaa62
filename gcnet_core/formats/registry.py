"""Every label format, in the order the CLI and the dialogs list them.

The order also breaks ties in the guesser (:func:`~gcnet_core.formats.label_import.guess_format`):
among the formats equally sure of a source, the first listed wins. A new format is a module
with its :class:`~gcnet_core.formats.format.Format` record and one line here.
"""

from __future__ import annotations

from . import ade20k, cityscapes, coco, labelme, pictures, png_folder, voc
from .format import Format

FORMATS: tuple[Format, ...] = (
    png_folder.INDEX,
    pictures.COLOUR,
    png_folder.GRAY,
    cityscapes.LABEL_IDS,
    cityscapes.TRAIN_IDS,
    voc.FORMAT,
    cityscapes.FORMAT,
    ade20k.FORMAT,
    pictures.OVERLAY,
    coco.FORMAT,
    labelme.FORMAT,
    png_folder.PNG,
)


def import_formats() -> tuple[Format, ...]:
    """The formats labels can be imported from (``gcnet import --format``, File ▸ Import Labels)."""
    return tuple(fmt for fmt in FORMATS if fmt.reader is not None)


def export_formats() -> tuple[Format, ...]:
    """The formats a project can be exported to (``gcnet export --format``, File ▸ Export)."""
    return tuple(fmt for fmt in FORMATS if fmt.writer is not None)


def import_format(name: str) -> Format:
    """The import format called ``name``; ValueError naming the choices otherwise."""
    return _named(name, import_formats(), "import")


def export_format(name: str) -> Format:
    """The export format called ``name``; ValueError naming the choices otherwise."""
    return _named(name, export_formats(), "export")


def _named(name: str, formats: tuple[Format, ...], kind: str) -> Format:
    for fmt in formats:
        if fmt.name == name:
            return fmt
    raise ValueError(f"unknown {kind} format {name!r}; expected one of {', '.join(f.name for f in formats)}")


__all__ = ["FORMATS", "export_format", "export_formats", "import_format", "import_formats"]
