"""The one version number of the project: ``version`` in pyproject.toml.

An installed copy (pip, editable or not, or a PyInstaller bundle that carries the
metadata) reads it from the distribution's metadata; a plain source checkout that was
never installed reads pyproject.toml itself, so no second copy of the number exists.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "gcnet-annotator"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
UNKNOWN = "0+unknown"


def pyproject_version(path: Path = PYPROJECT) -> str | None:
    """``version`` of the ``[project]`` table (a few lines of TOML: no parser needed, and
    Python 3.10 has no tomllib)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    table = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    found = table and re.search(r"""^version\s*=\s*["']([^"']+)["']""", table.group(1), re.MULTILINE)
    return found.group(1) if found else None


def read_version() -> str:
    """The installed distribution's version, else the source tree's, else ``0+unknown``."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return pyproject_version() or UNKNOWN
