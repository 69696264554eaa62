"""Where ``gcnet predict`` writes each mask: one distinct file per input, checked before any work.

Inputs that would share an output (``a.png`` and ``a.jpg`` both giving ``a.png``) keep their
whole file name instead (``a.png.png``, ``a.jpg.png``), so neither mask overwrites the other;
the output folder is proved writable before the model is even loaded.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path


class OutputError(ValueError):
    """The outputs cannot be written as asked; the message says which and why."""


def relative_output(path: Path, roots: list[Path], suffix: str = ".png") -> Path:
    """Mirror the input folder structure; loose files go to the top of the output folder."""
    for root in roots:
        try:
            return path.relative_to(root).with_suffix(suffix)
        except ValueError:
            continue
    return Path(path.name).with_suffix(suffix)


def output_names(inputs: list[Path], roots: list[Path]) -> tuple[dict[Path, Path], list[list[Path]]]:
    """Each input's output path relative to the output folder, and the groups of inputs that
    had to keep their full names because they shared a stem. Raises :class:`OutputError`
    when two inputs would still write the same file."""
    wanted = {path: relative_output(path, roots) for path in inputs}
    groups: dict[str, list[Path]] = defaultdict(list)
    for path, name in wanted.items():
        groups[_key(name)].append(path)
    renamed = [group for group in groups.values() if len(group) > 1]
    for group in renamed:
        for path in group:
            wanted[path] = wanted[path].with_name(path.name + ".png")
    seen: dict[str, Path] = {}
    for path, name in wanted.items():
        other = seen.setdefault(_key(name), path)
        if other != path:
            raise OutputError(f"{other} and {path} would both be written to {name}; "
                              "rename one of them (nothing was written)")
    return wanted, renamed


def check_writable(folder: Path) -> None:
    """Create ``folder`` and write (then remove) a small file in it: a read-only or full disk
    is reported now, before any image is segmented."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".gcnet-write-check.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b"\0" * 65536)  # about one mask: a full disk fails here
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            os.unlink(probe)
    except OSError as error:
        raise OutputError(f"cannot write masks to {folder}: {error.strerror or error}") from error


def _key(name: Path) -> str:
    return os.path.normcase(name.as_posix()).lower()
