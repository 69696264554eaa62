"""The format registry is the one list: the CLI's choices, the guesser and the export read it, so a
format registered there and nowhere else is offered, recognised and round-trips."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gcnet_core.cli.formats import add_format_commands
from gcnet_core.files.class_list import CLASS_LIST, class_set_of, write_class_list
from gcnet_core.formats import registry
from gcnet_core.formats.files import FlatWriter
from gcnet_core.formats.format import LAYOUT, NOT_IT, Format, Source
from gcnet_core.formats.importing import Found
from gcnet_core.formats.label_import import guess_format
from gcnet_core.project.store import PROJECT_FILE
from test_formats_roundtrip import round_trip


class TextWriter(FlatWriter):
    """``<rel>.txt``: the class indices as numbers, one row of pixels per line."""

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        target = self.out / rel.with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(target, labels, fmt="%d")

    def close(self) -> None:
        write_class_list(self.out, self.classes)


def find_text(source: Path, split: str | None = None, **_: object):
    classes = class_set_of(source / CLASS_LIST)
    found = []
    for path in sorted(p for p in source.rglob("*.txt") if p.name != CLASS_LIST):
        rel = path.relative_to(source).with_suffix("").as_posix()
        found.append(Found(path, (rel, path.stem),
                           lambda p=path: (np.loadtxt(p, dtype=np.uint8, ndmin=2), classes.names)))
    return found, classes


def recognise_text(source: Source) -> int:
    return LAYOUT if source.is_dir and any(p.name != CLASS_LIST for p in source.path.rglob("*.txt")) else NOT_IT


TEXT = Format("text", "Class numbers in text files", find_text, TextWriter, recognise=recognise_text)


def choices(parser: argparse.ArgumentParser, command: str) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    return list(next(a for a in sub._actions if a.dest == "format").choices)


def format_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_format_commands(parser.add_subparsers())
    return parser


def test_the_cli_offers_exactly_the_registered_formats():
    parser = format_parser()
    assert choices(parser, "import") == [fmt.name for fmt in registry.import_formats()] == [
        "voc", "cityscapes", "ade20k", "coco", "labelme", "png"]
    assert choices(parser, "export") == [fmt.name for fmt in registry.export_formats()]
    assert set(choices(parser, "export")) == {"index", "color", "gray", "labelids", "trainids", "cityscapes",
                                              "ade20k", "overlay", "voc", "coco", "labelme"}


def test_a_format_registered_only_in_the_registry_is_offered_recognised_and_round_trips(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "FORMATS", registry.FORMATS + (TEXT,))
    parser = format_parser()
    assert "text" in choices(parser, "import") and "text" in choices(parser, "export")
    round_trip(tmp_path, TEXT)  # guess_format included


def test_names_are_unique_and_every_format_has_a_half():
    names = [fmt.name for fmt in registry.FORMATS]
    assert len(names) == len(set(names))
    assert all(fmt.reader or fmt.writer for fmt in registry.FORMATS)
    with pytest.raises(ValueError, match="unknown import format 'index'; expected one of voc, cityscapes"):
        registry.import_format("index")


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(path)
    return path


COCO_JSON = json.dumps({"images": [], "annotations": [], "categories": []})
LABELME_JSON = json.dumps({"shapes": [], "imagePath": "a.jpg"})


@pytest.mark.parametrize("layout,source,expected", [
    ({"VOC2012/SegmentationClass/a.png": "png"}, ".", "voc"),
    ({"SegmentationClassAug/a.png": "png"}, ".", "voc"),
    ({"gtFine/train/aachen/a_gtFine_labelIds.png": "png"}, ".", "cityscapes"),
    ({"gtFine/train/aachen/a_gtFine_labelIds.png": "png"}, "gtFine/train", "cityscapes"),
    ({"x/aachen_000000_000019_gtFine_labelTrainIds.png": "png"}, "x", "cityscapes"),
    ({"annotations/training/a.png": "png"}, ".", "ade20k"),
    ({"annotations/training/a.png": "png"}, "annotations/training", "ade20k"),
    ({"c/instances.json": COCO_JSON}, "c", "coco"),
    ({"c/instances.json": COCO_JSON}, "c/instances.json", "coco"),
    ({"l/a.json": LABELME_JSON}, "l", "labelme"),
    ({"l/a.json": LABELME_JSON}, "l/a.json", "labelme"),
    ({"gtFine/a.json": LABELME_JSON}, "gtFine/a.json", "labelme"),  # a file: the folder names do not count
    ({"p/sub/a.png": "png"}, "p", "png"),
    ({"p/classes.txt": "cat\n"}, "p", "png"),
    ({f"q/{PROJECT_FILE}": "{}"}, "q", None),
    ({"r/a.txt": "x"}, "r/a.txt", None),
    ({}, "missing", None),
])
def test_the_guesser(tmp_path, layout, source, expected):
    for rel, content in layout.items():
        _png(tmp_path / rel) if content == "png" else _write(tmp_path / rel, content)
    assert guess_format(tmp_path / source) == expected


def test_the_guesser_never_lists_the_file_system_root():
    assert guess_format(Path("/")) is None
