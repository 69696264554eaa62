"""The image each project folder was left at, so a restart goes back to it (not to the first).

One setting (``last_images``: JSON text, folder -> image path relative to it) keeps the
newest folders; a value that is not such a mapping (an older version's, a hand edit) is
forgotten rather than trusted.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.settings.store import AppSettings

KEEP = 50  # folders remembered; the oldest is forgotten first


def _remembered(settings: AppSettings) -> dict[str, str]:
    try:
        value = json.loads(settings.get("last_images") or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {folder: rel for folder, rel in value.items() if isinstance(rel, str) and rel}


def last_image(settings: AppSettings, folder: Path) -> str | None:
    """The image (relative to ``folder``) that was shown last in ``folder``, if any."""
    return _remembered(settings).get(str(folder))


def remember_image(settings: AppSettings, folder: Path, rel: str) -> None:
    """``rel`` is the image shown now in ``folder`` (the newest entry)."""
    remembered = _remembered(settings)
    remembered.pop(str(folder), None)
    remembered[str(folder)] = rel
    settings.set("last_images", json.dumps(dict(list(remembered.items())[-KEEP:])))
