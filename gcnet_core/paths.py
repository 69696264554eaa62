"""Where the program keeps its per-user files: the one place that decides the folders.

Three roots, each a room's subfolders below it (``engines/`` and ``imported/`` in the cache,
``models/``, ``runs/`` and ``samples/`` in the data folder):

- the **cache** (checkpoints, CPU engines): remade or downloaded again when deleted;
- the **data** folder (fine-tuned models, training runs, sample copies): a person's work;
- the **log** folder of the annotator.

A folder is chosen in this order: what the program set with :func:`set_cache_folder` /
:func:`set_data_folder` (the annotator's Preferences), else the environment the process was
started with (``GCNET_CACHE_DIR``, ``GCNET_DATA_DIR``: tests, portable installs), else the
platform's user folder. Nothing here writes ``os.environ``: a ``gcnet`` process started by
this one is given :func:`worker_environment` so it uses the same folders.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "gcnet-annotator"
CACHE_ENV = "GCNET_CACHE_DIR"
DATA_ENV = "GCNET_DATA_DIR"

_chosen: dict[str, Path] = {}  # environment variable -> the folder this process was told to use


def set_cache_folder(folder: str | os.PathLike | None) -> None:
    """Use ``folder`` for the cache from now on (None or "": back to the default)."""
    _choose(CACHE_ENV, folder)


def set_data_folder(folder: str | os.PathLike | None) -> None:
    """Use ``folder`` for the data folder from now on (None or "": back to the default)."""
    _choose(DATA_ENV, folder)


def default_cache_folder() -> Path:
    """The cache without a choice made in this process: ``$GCNET_CACHE_DIR``, else the user cache."""
    return _from_environment(CACHE_ENV) or platformdirs.user_cache_path(APP_NAME) / "checkpoints"


def cache_folder() -> Path:
    """The cache folder in use (checkpoints, imported files, CPU engines), created on demand."""
    folder = _chosen.get(CACHE_ENV) or default_cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def data_folder() -> Path:
    """The data folder in use (model versions, training runs, samples); not created here."""
    return _chosen.get(DATA_ENV) or _from_environment(DATA_ENV) or platformdirs.user_data_path(APP_NAME)


def log_folder() -> Path:
    """The annotator's log folder; not created here."""
    return platformdirs.user_log_path(APP_NAME)


def worker_environment() -> dict[str, str]:
    """The variables a ``gcnet`` process started by this one needs to use the same folders."""
    return {CACHE_ENV: str(cache_folder()), DATA_ENV: str(data_folder())}


def _choose(variable: str, folder: str | os.PathLike | None) -> None:
    if folder is None or str(folder) == "":
        _chosen.pop(variable, None)
    else:
        _chosen[variable] = Path(folder).expanduser()


def _from_environment(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


__all__ = ["APP_NAME", "CACHE_ENV", "DATA_ENV", "cache_folder", "data_folder", "default_cache_folder",
           "log_folder", "set_cache_folder", "set_data_folder", "worker_environment"]
