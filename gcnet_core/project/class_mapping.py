"""Which project class each class name of another source becomes: one rule for imports and models.

A label import (``gcnet import``, File ▸ Import Labels) and a model whose classes are not the
project's both bring class names the project may spell differently, or not have. For each
source name the rule proposes, in this order:

1. something chosen for it (``--map``, the dialog's row, a choice remembered from the last
   import of the same source);
2. the project class of the same name;
3. the project class whose name differs only in case, spaces, ``_`` or ``-``
   (``Potted Plant`` = ``pottedplant``, ``_background_`` = ``background``);
4. a synonym from :data:`SYNONYMS`, a small table for the zoo's and the formats' class sets,
   only where the source name means the target (VOC ``pottedplant`` is an ADE20K ``plant``;
   VOC ``tvmonitor`` is not mapped to ADE20K, which splits it into ``television receiver``
   and ``monitor``);
5. a background name (``background``, ``unlabeled``...): the source's own name for what lies
   outside every shape (labelme's ``_background_``, issue 23 "Background is background")
   becomes the class ``background``; another source's background (VOC's class 0, which
   stands for whatever is none of its 20 classes) becomes *unlabelled*;
   an ignore name (labelme's ``__ignore__``, datumaro's VOC ``ignored``, which its COCO export
   keeps as a category) becomes *ignore*;
6. a new class of the same name when new classes are wanted; otherwise nothing: the name is
   *undecided* and the caller asks (the CLI stops, naming ``--add-classes`` and ``--map``).

The result is a plain table ``{source name: target}``; a target is a project class name, the
name of a new class, :data:`UNLABELLED` (no class: left for a model to fill) or :data:`IGNORE`
(no class and marked as a person's decision: no model fills it, training skips it). The two
keywords are not class names here. Predictions use the same table (:func:`model_lut`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_write_text
from ..model.classes import IGNORE_INDEX, ClassSet, class_lut

UNLABELLED = "unlabelled"
IGNORE = "ignore"
KEYWORDS = (UNLABELLED, IGNORE)

#: Background names across the formats (keys as :func:`name_key` writes them).
BACKGROUND_KEYS = frozenset({"background", "unlabeled", "unlabelled"})
#: Ignore (void) names across the formats: labelme's ``__ignore__``, datumaro's ``ignored``.
IGNORE_KEYS = frozenset({"ignore", "ignored"})

#: Source name -> the project names it may become, tried in order (keys as :func:`name_key`
#: writes them). One direction only where one set's class is a part of the other's
#: (a potted plant is a plant, not every plant is potted).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "aeroplane": ("airplane",),  # VOC / COCO, ADE20K
    "airplane": ("aeroplane",),
    "motorbike": ("motorcycle", "minibike"),  # VOC / COCO, Cityscapes / ADE20K's "minibike, motorbike"
    "motorcycle": ("motorbike", "minibike"),
    "minibike": ("motorbike", "motorcycle"),
    "sofa": ("couch",),  # VOC, ADE20K / COCO
    "couch": ("sofa",),
    "pottedplant": ("plant",),  # VOC, COCO "potted plant" -> ADE20K "plant, flora, plant life"
    "diningtable": ("table",),  # VOC, COCO "dining table" -> ADE20K "table"
    "tvmonitor": ("tv",),  # VOC -> COCO (COCO's tv holds monitors too)
    "tv": ("tvmonitor", "televisionreceiver"),
    "trafficsign": ("signboard",),  # Cityscapes -> ADE20K "signboard, sign"
}


def name_key(name: str) -> str:
    """The name as the rule compares it: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", name.lower())


@dataclass(frozen=True)
class ClassMapping:
    """The rule's answer for each source name: ``targets`` (decided), ``reasons`` (why, as
    shown beside each row) and ``undecided`` (names nothing was proposed for)."""

    targets: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    undecided: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every source name, decided or not, in the source's order."""
        return tuple(self.reasons)

    def lines(self) -> list[str]:
        """One readable line per source name (``name -> target (why)``)."""
        return [f"{name} -> {self.targets.get(name, '?')} ({self.reasons[name]})" for name in self.reasons]


def propose_mapping(source_names: Iterable[str], classes: ClassSet, *, add_unknown: bool = False,
                    background: str | None = None, chosen: Mapping[str, str] | None = None,
                    remembered: Mapping[str, str] | None = None) -> ClassMapping:
    """The rule of the module docstring for ``source_names`` onto the project's ``classes``.

    ``background``: the source's own name for unlabelled pixels (labelme's ``_background_``);
    ``chosen`` (given now) wins over ``remembered`` (the last import's table)."""
    targets: dict[str, str] = {}
    reasons: dict[str, str] = {}
    undecided: list[str] = []
    for name in dict.fromkeys(source_names):
        target, reason = _propose(name, classes, add_unknown, background, chosen or {}, remembered or {})
        reasons[name] = reason
        if target is None:
            undecided.append(name)
        else:
            targets[name] = target
    return ClassMapping(targets, reasons, tuple(undecided))


def _propose(name: str, classes: ClassSet, add_unknown: bool, background: str | None,
             chosen: Mapping[str, str], remembered: Mapping[str, str]) -> tuple[str | None, str]:
    if name in chosen:
        return chosen[name], "chosen"
    if name in remembered:
        return remembered[name], "as the last import from this source"
    if name in classes.names:
        return name, "same name"
    found = find_class(name, classes)
    if found is not None:
        return found, "same name, other spelling"
    for synonym in SYNONYMS.get(name_key(name), ()):
        found = find_class(synonym, classes)
        if found is not None:
            return found, "synonym"
    if name_key(name) in BACKGROUND_KEYS:
        if name == background:
            return "background", "new class: what lies outside every shape"
        return UNLABELLED, "background: no such class in the project"
    if name_key(name) in IGNORE_KEYS:
        return IGNORE, "the source's ignore (void) label"
    if add_unknown:
        return name, "new class"
    return None, "not a class of the project"


def find_class(name: str, classes: ClassSet) -> str | None:
    """The project class called ``name``, exactly or in another spelling (:func:`name_key`)."""
    if name in classes.names:
        return name
    key = name_key(name)
    return next((own for own in classes.names if name_key(own) == key), None) if key else None


def target_index(target: str, classes: ClassSet) -> int | None:
    """The class index ``target`` names in ``classes``; None for a keyword or a new class."""
    if target in KEYWORDS:
        return None
    found = find_class(target, classes)
    return None if found is None else classes.names.index(found)


def model_lut(model: ClassSet, project: ClassSet, table: Mapping[str, str] | None = None) -> np.ndarray:
    """A model's class ids to the project's: by name (:func:`~gcnet_core.model.classes.class_lut`),
    then ``table`` (model class -> project class, ``unlabelled``/``ignore``: no class) on top.
    A target the project lacks gives no class: a prediction never adds classes."""
    lut = class_lut(model, project)
    for i, name in enumerate(model.names):
        if table and name in table:
            index = target_index(table[name], project)
            lut[i] = IGNORE_INDEX if index is None else index
    return lut


def prediction_mapping(model: ClassSet, project: ClassSet, chosen: Mapping[str, str] | None = None) -> ClassMapping:
    """The rule's proposal for a model's classes onto the project's, ``chosen`` first; nothing
    new is added: a model class without a counterpart is unlabelled (gives no class)."""
    proposal = propose_mapping(model.names, project, chosen=chosen)
    targets = {name: proposal.targets.get(name, UNLABELLED) for name in proposal.names}
    reasons = {name: proposal.reasons[name] if name in proposal.targets else "no such class in the project"
               for name in proposal.names}
    return ClassMapping(targets, reasons)


# ------------------------------------------------------------------------------ written tables
#: How people write the two keywords (keys as :func:`name_key` writes them): labelme's
#: ``__ignore__``, datumaro's ``ignored``, Cityscapes' ``unlabeled``, any case.
KEYWORD_SPELLINGS = {"ignore": IGNORE, "ignored": IGNORE, "unlabelled": UNLABELLED, "unlabeled": UNLABELLED}


def written_target(target: str) -> str:
    """A written (``--map``, ``--map-file``) target: a keyword in any of its spellings is the
    keyword, never a new class called ``Ignore``; anything else as written."""
    target = target.strip()
    return KEYWORD_SPELLINGS.get(name_key(target), target)


def parse_pairs(lines: Iterable[str], origin: str | None = None) -> dict[str, str]:
    """``NAME=TARGET`` lines (blank lines and ``#`` comments skipped) as a table; ValueError
    naming the file ``origin`` and the line otherwise (without ``origin``: ``--map`` values)."""
    table: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, target = text.partition("=")
        if not sep or not name.strip() or not target.strip():
            where = f"{origin}: line {number}" if origin else "--map"
            raise ValueError(f"{where}: {text!r} is not NAME=TARGET")
        table[name.strip()] = written_target(target)
    return table


def read_mapping_file(path: str | os.PathLike) -> dict[str, str]:
    """A ``--map-file``: a JSON object ``{"name": "target"}`` or ``name=target`` lines."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the mapping file {path}: {error}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
        if not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in data.items()):
            raise ValueError(f"{path}: every entry must be \"name\": \"target\" (strings)")
        return {k.strip(): written_target(v) for k, v in data.items()}
    return parse_pairs(text.splitlines(), str(path))


# ------------------------------------------------------------------------------ remembered per source
def source_key(project, source: str | os.PathLike) -> str:
    """How a source is named among the remembered tables: relative to the project when inside it."""
    path = Path(source).resolve()
    try:
        return path.relative_to(project.root).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _read_remembered(project) -> dict:
    try:
        data = json.loads(project.class_mappings_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_mapping(project, source: str | os.PathLike, kind: str = "sources") -> dict[str, str]:
    """The table the last import from ``source`` into ``project`` used (empty when none); with
    ``kind="models"``, ``source`` is a model's name and the table its predictions' mapping."""
    key = source_key(project, source) if kind == "sources" else str(source)
    tables = _read_remembered(project).get(kind)
    table = tables.get(key) if isinstance(tables, dict) else None
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(table, dict) else {}


def remember_mapping(project, source: str | os.PathLike, table: Mapping[str, str], kind: str = "sources") -> None:
    """Keep ``table`` as the choice for ``source`` (of ``kind``, as :func:`remembered_mapping`;
    written atomically)."""
    data = _read_remembered(project)
    tables = data.setdefault(kind, {})
    if not isinstance(tables, dict):
        data[kind] = tables = {}
    tables[source_key(project, source) if kind == "sources" else str(source)] = dict(table)
    project.class_mappings_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(project.class_mappings_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


__all__ = ["BACKGROUND_KEYS", "ClassMapping", "IGNORE", "IGNORE_KEYS", "KEYWORDS", "KEYWORD_SPELLINGS", "SYNONYMS",
           "UNLABELLED", "find_class", "model_lut", "name_key", "parse_pairs", "prediction_mapping",
           "propose_mapping", "read_mapping_file", "remember_mapping", "remembered_mapping", "source_key",
           "target_index", "written_target"]
