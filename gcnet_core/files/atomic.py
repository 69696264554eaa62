"""Atomic file writes: readers see the old file or the new one, never a mix, and a crash
leaves no half-written file under the real name. Every write of a project, a checkpoint or a
model version goes through here."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be queried by setting it, which is not thread-safe.
FILE_MODE = 0o666 & ~_current_umask()  # what open() would give; mkstemp's files are 0o600


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new one, never a mix.

    The bytes go to a temporary file in the same folder, which is flushed, fsync'ed and then
    renamed over ``path`` with :func:`os.replace`. Missing parent folders are created. On any
    error the temporary file is removed and the error re-raised; an existing ``path`` is then
    left untouched. The new file gets ordinary permissions (:data:`FILE_MODE`).
    """
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(parent)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """:func:`atomic_write_bytes` for text (written as-is, no newline translation)."""
    atomic_write_bytes(path, text.encode(encoding))


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the OS allows (POSIX); best effort."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file (fd, name) in ``path``'s folder, hidden and named after it, so an
    ``os.replace`` onto ``path`` stays on one file system and a leftover is recognisable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def link_or_copy(source: str | os.PathLike[str], new_path: str | os.PathLike[str]) -> None:
    """``new_path`` (which must not exist) becomes a hard link to ``source`` (instant, no extra
    space), or a copy where links fail (another file system, FAT)."""
    try:
        os.link(source, new_path)
    except OSError:
        shutil.copyfile(source, new_path)


def atomic_link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """:func:`link_or_copy` onto ``target`` through a temporary name, so it is never half there."""
    target = Path(target)
    fd, tmp = temporary_beside(target)
    os.close(fd)
    os.unlink(tmp)
    try:
        link_or_copy(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = ["FILE_MODE", "atomic_link_or_copy", "atomic_write_bytes", "atomic_write_text", "fsync_dir",
           "link_or_copy", "temporary_beside"]
