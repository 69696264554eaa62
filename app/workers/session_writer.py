"""The annotation session's writer in the app: the project's one serial writer thread.

:class:`~gcnet_core.project.session.AnnotationSession` asks for its writes through this
(:class:`~gcnet_core.project.session.ProjectWriter`); masks, prediction sidecars, batch
placements, class removals and the project file go through the same one-thread pool, in
the order asked, and the answers come back on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from gcnet_core.project.document import MaskDocument
from gcnet_core.project.store import Project

from .saving import SerialWriter, snapshot
from .tasks import run_in_pool


class SessionWriter:
    """``writer``'s thread for the session; ``failed(message)`` hears of writes nobody else waits for."""

    def __init__(self, writer: SerialWriter, failed: Callable[[str], None]) -> None:
        self.writer = writer
        self.failed = failed

    def submit(self, job: Callable[[], object], done: Callable[[object], None] | None = None,
               failed: Callable[[str], None] | None = None) -> None:
        run_in_pool(job, done, failed or self.failed, pool=self.writer.pool)

    def save_document(self, project: Project, rel: str, document: MaskDocument) -> None:
        self.writer.save_mask(snapshot(project, project.root / rel, document))

    def save_project(self, project: Project) -> None:
        self.writer.save_project(project)
