"""Keeping a project file before something replaces it (an import, a class removal, a batch
result, a mask that cannot be used).

One operation keeps its files in one folder, ``.gcnet/backups/<reason>-<UTC time>[-n]/``,
each at the place it had under ``.gcnet/labels/`` (edited pixels under ``.edited/``), so putting
one back is one copy. A file is kept as a hard link where the file system allows: every write
of the project replaces files (temporary file, then rename) and never changes one in place, so
the link keeps the old content at no cost in space.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from ..files.atomic import atomic_link_or_copy


class Backup:
    """The backup folder of one operation; created when the first file is kept."""

    def __init__(self, backups_root: Path, labels_root: Path, reason: str) -> None:
        self.backups_root, self.labels_root, self.reason = Path(backups_root), Path(labels_root), reason
        self._folder: Path | None = None

    @property
    def folder(self) -> Path | None:
        """Where the files went; None while nothing was kept."""
        return self._folder

    def keep(self, path: str | os.PathLike, *, move: bool = False) -> Path | None:
        """Keep ``path`` (a copy, or the file itself with ``move``) and return where it went;
        None when there is no such file. A file copied twice by one operation keeps its first
        content (what it was before the operation); moving one kept before is refused."""
        path = Path(path)
        if not path.exists():
            return None
        target = self._make_folder() / self._inside(path)
        if target.exists():
            if move:
                raise FileExistsError(f"{path} cannot be moved to the backups: {target} is taken")
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        if move:
            os.replace(path, target)
        else:
            atomic_link_or_copy(path, target)
        return target

    def _inside(self, path: Path) -> Path:
        try:
            return path.relative_to(self.labels_root)
        except ValueError:
            return Path(path.name)

    def _make_folder(self) -> Path:
        if self._folder is None:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
            self.backups_root.mkdir(parents=True, exist_ok=True)
            n = 1
            while True:  # twice in one second: never into an earlier operation's folder
                folder = self.backups_root / (f"{self.reason}-{stamp}" + (f"-{n}" if n > 1 else ""))
                try:
                    folder.mkdir()
                except FileExistsError:
                    n += 1
                    continue
                self._folder = folder
                break
        return self._folder
