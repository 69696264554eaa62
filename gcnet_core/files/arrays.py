"""Named arrays in one ``.npz`` file: written atomically, read without pickles. What a damaged
or foreign archive raises on reading is :data:`UNREADABLE`, so each reader names its file and
the reason in one place."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np

from .atomic import atomic_write_bytes

UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


def write_arrays(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], compressed: bool = False) -> None:
    """Write ``arrays`` to ``path`` atomically (raises OSError, e.g. on a full disk)."""
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


__all__ = ["UNREADABLE", "write_arrays"]
