"""What a project's live adaptation learnt, kept in its data folder between sessions: the head
in use and the recent fits (each with the corrected images it was fitted on), and each
corrected image's pixel samples (:class:`SampleShelf`), so the first round after a restart
neither samples every image nor fits every fold anew.

One file per feature version (the weights the features come from), written atomically after
each round. Nothing in it is trusted: a file that does not read back as written, holds a
non-finite weight, or comes from other weights is ignored with a note and the round fits
afresh. A fit is keyed by the tokens of the images it saw (their content and labels), so a fit
of labels changed since can never be reused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..files.arrays import UNREADABLE, write_arrays
from ..model.classes import IGNORE_INDEX
from ..predict.features import CHANNELS
from .head import CHECK_PIXELS, EDITED_WEIGHT, PER_CLASS, SAMPLING_RULE, LinearHead, Samples

FORMAT = 1
HEAD = "head"  # the role of the head in use; the others are fits


def learnt_path(folder: Path, version: str) -> Path:
    """The file of one feature version in ``folder`` (the project's live-model folder)."""
    return folder / f"{version}.npz"


def save_learnt(path: Path, version: str, head: LinearHead | None, fits: list[tuple[tuple, LinearHead]]) -> str | None:
    """Write the head in use and ``fits`` ((key, head): key ``(version, classes, tokens)``, as
    :class:`~.job.AdaptMemory` keeps them) atomically; returns a problem to tell, or None."""
    entries, arrays = [], {}
    chosen = ([(HEAD, head)] if head is not None else []) + [("fit", fit) for key, fit in fits if key[0] == version]
    for number, (role, one) in enumerate(chosen):
        entries.append({"role": role, "classes": list(one.class_names), "tokens": sorted(one.fitted_on)})
        arrays[f"weight{number}"], arrays[f"bias{number}"] = one.weight, one.bias
        arrays[f"ids{number}"] = one.output_ids
    arrays["header"] = np.array(json.dumps({"format": FORMAT, "version": version, "sampling": SAMPLING_RULE,
                                            "entries": entries}))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_arrays(path, arrays)
    except OSError as error:
        return f"live model not kept for the next session: {path}: {error.strerror or error}"
    return None


def load_learnt(path: Path, version: str) -> tuple[LinearHead | None, list[LinearHead], str | None]:
    """(head in use or None, fits, problem or None) read from ``path``; nothing (and no
    problem) where there is no file, nothing and the problem where it cannot be trusted."""
    if not path.is_file():
        return None, [], None
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
            if (header.get("format"), header.get("version"), header.get("sampling")) != (FORMAT, version,
                                                                                         SAMPLING_RULE):
                return None, [], (f"{path.name}: kept for other weights, another format or another sampling rule; "
                                  "fitting afresh")
            heads = [_head(stored, number, entry) for number, entry in enumerate(header["entries"])]
    except UNREADABLE as error:
        return None, [], f"{path}: unreadable ({error}); fitting afresh"
    in_use = [one for one, entry in zip(heads, header["entries"]) if entry["role"] == HEAD]
    fits = [one for one, entry in zip(heads, header["entries"]) if entry["role"] != HEAD]
    return (in_use[0] if in_use else None), fits, None


def _head(stored, number: int, entry: dict) -> LinearHead:
    weight = stored[f"weight{number}"]
    bias, ids = stored[f"bias{number}"], stored[f"ids{number}"]
    rows = len(bias)
    classes = tuple(str(name) for name in entry["classes"])
    if (weight.dtype != np.float32 or bias.dtype != np.float32 or ids.dtype != np.uint8
            or weight.shape != (rows, CHANNELS) or ids.shape != (rows,)):
        raise ValueError(f"entry {number} has weights of the wrong shape or type")
    if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
        raise ValueError(f"entry {number} holds a weight that is not finite")
    if ((ids >= len(classes)) & (ids != IGNORE_INDEX)).any():
        raise ValueError(f"entry {number} labels a class it does not name")
    return LinearHead(weight, bias, classes, ids, frozenset(str(token) for token in entry["tokens"]))


class SampleShelf:
    """Each unit's (fit, check) pixel samples on disk, a file per unit, written once: a unit's
    key names its image's content and labels (and the sampling's settings are in the file's
    name), so a file is never out of date, only unused (:meth:`keep_only` removes those).
    :meth:`put` only notes a unit; :meth:`keep_only` writes what was noted, once the round's
    labels are out (the first round of a session samples every corrected image: 50 files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []  # what could not be read or written, to tell once
        self._unwritten: dict[str, tuple[Samples, Samples]] = {}

    def _path(self, key: str) -> Path:
        name = f"{key}|{PER_CLASS}|{CHECK_PIXELS}|{EDITED_WEIGHT}|{SAMPLING_RULE}"
        return self.folder / (hashlib.blake2b(name.encode(), digest_size=16).hexdigest() + ".npz")

    def has(self, key: str) -> bool:
        """Whether the unit's samples are noted or their file is there (it may still fail to
        read: :meth:`get`)."""
        return key in self._unwritten or self._path(key).is_file()

    def get(self, key: str, num_classes: int) -> tuple[Samples, Samples] | None:
        if key in self._unwritten:
            return self._unwritten[key]
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                if str(stored["key"]) != key:
                    raise ValueError("written for another image")
                pair = tuple(_samples(stored, kind, num_classes) for kind in ("fit", "check"))
        except UNREADABLE as error:
            self.problems.append(f"{path}: unreadable samples ({error}); sampled again")
            return None
        return pair  # type: ignore[return-value]

    def put(self, key: str, pair: tuple[Samples, Samples]) -> None:
        """Note a unit's samples, to be written by the next :meth:`keep_only` that keeps it."""
        self._unwritten[key] = pair

    def _write(self, key: str, pair: tuple[Samples, Samples]) -> None:
        arrays = {"key": np.array(key)}
        for kind, samples in zip(("fit", "check"), pair):
            arrays.update({f"{kind}_features": samples.features, f"{kind}_labels": samples.labels,
                           f"{kind}_weights": samples.weights})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_arrays(self._path(key), arrays)
        except OSError as error:
            self.problems.append(f"samples not kept for the next session: {self.folder}: {error.strerror or error}")

    def take_problems(self) -> list[str]:
        """What could not be read or written since the last call (each told once)."""
        problems, self.problems = self.problems, []
        return problems

    def keep_only(self, keys: set[str]) -> None:
        """Write the noted units of ``keys`` and remove the files of every other unit (images no
        longer corrected, labels changed)."""
        unwritten, self._unwritten = self._unwritten, {}
        for key, pair in unwritten.items():
            if key in keys:
                self._write(key, pair)
        if not self.folder.is_dir():
            return
        kept = {self._path(key).name for key in keys}
        for path in self.folder.glob("*.npz"):
            if path.name not in kept:
                path.unlink(missing_ok=True)


def _samples(stored, kind: str, num_classes: int) -> Samples:
    features, labels, weights = (stored[f"{kind}_{part}"] for part in ("features", "labels", "weights"))
    count = len(labels)
    if (features.dtype != np.float16 or labels.dtype != np.int64 or weights.dtype != np.float32
            or features.shape != (count, CHANNELS) or weights.shape != (count,)):
        raise ValueError(f"{kind} samples of the wrong shape or type")
    if not np.isfinite(features).all() or not np.isfinite(weights).all():
        raise ValueError(f"{kind} samples hold a value that is not finite")
    if count and (labels.min() < 0 or labels.max() >= max(num_classes, IGNORE_INDEX + 1)):
        raise ValueError(f"{kind} samples label a class out of range")
    return Samples(features, labels, weights)


__all__ = ["SampleShelf", "learnt_path", "load_learnt", "save_learnt"]
