"""Finding a project's images off the UI thread, delivered in chunks as a model grows."""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from gcnet_core.files.outputs import skip_own_outputs
from gcnet_core.files.probe import image_problem
from gcnet_core.project.store import Project

CHUNK = 500


class ScanSignals(QObject):
    skipped = Signal(int, dict)  # (scan id, {folder: why}): our own outputs, before found
    found = Signal(int, list)  # (scan id, relative posix paths)
    finished = Signal(int, int)  # (scan id, total)
    problems = Signal(int, dict)  # (scan id, {relative path: why it cannot be read}), after found
    failed = Signal(int, str)


class FolderScan(QRunnable):
    """Lists ``project.image_paths()`` (the project's own rules) less the folders that hold
    our own outputs (``gcnet predict`` masks, exports: :func:`skip_own_outputs`; those in
    ``include`` are kept), emits them in chunks, then checks each file's header and structure
    and emits the unreadable ones.

    A scan id lets the receiver drop results of a scan that a newer folder replaced.
    """

    def __init__(self, project: Project, scan_id: int, include: Collection[str] = ()) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it, so its signals outlive run()
        self.root = project.root
        self.project = Project(project.root, project.classes)  # a private copy: no shared state
        self.scan_id = scan_id
        self.include = frozenset(include)
        self.signals = ScanSignals()
        self.cancelled = False

    def run(self) -> None:
        try:
            paths = self.project.image_paths()
        except OSError as error:
            self.signals.failed.emit(self.scan_id, str(error))
            return
        rels, skipped = skip_own_outputs(self.root, [p.relative_to(self.root).as_posix() for p in paths],
                                         self.include)
        if self.cancelled:
            return
        self.signals.skipped.emit(self.scan_id, skipped)
        for start in range(0, len(rels), CHUNK):
            if self.cancelled:
                return
            self.signals.found.emit(self.scan_id, rels[start:start + CHUNK])
        self.signals.finished.emit(self.scan_id, len(rels))
        broken: dict[str, str] = {}
        for i, rel in enumerate(rels):
            if self.cancelled:
                return
            reason = image_problem(self.root / rel)
            if reason is not None:
                broken[rel] = reason
            if broken and (len(broken) >= CHUNK or i == len(rels) - 1):
                self.signals.problems.emit(self.scan_id, broken)
                broken = {}



def start_scan(scan: FolderScan, pool: QThreadPool | None = None) -> FolderScan:
    """Start a scan whose signals are already connected (results may come at once)."""
    (pool or QThreadPool.globalInstance()).start(scan)
    return scan
