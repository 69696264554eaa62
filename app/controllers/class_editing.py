"""The class panel's requests (rename, add, recolour, remove, "paint only over") carried out
on the annotation session, and the panel and canvas following the session's classes."""

from __future__ import annotations

from PySide6.QtCore import QObject

from gcnet_core.model.classes import ClassSet


class ClassEditing(QObject):
    """Wires one window's class panel to its session (the window's public parts only)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        panel, session = window.classes_panel, window.session
        panel.colourRequested.connect(session.recolour_class)
        panel.onlyOverRequested.connect(self.paint_only_over)
        panel.renameRequested.connect(self.rename)
        panel.addRequested.connect(self.add)
        panel.removeRequested.connect(self.remove)
        session.events.connect("classes_changed", self._classes_changed)

    def _classes_changed(self, classes: ClassSet, renumbered: bool) -> None:
        window = self.window
        if renumbered:  # an index means another class now: every class is shown again
            for i in range(len(window.classes_panel.classes)):
                window.canvas.set_class_visible(i, True)
        window.classes_panel.set_classes(classes)
        if window.session.document is not None:
            window.canvas.set_document(window.session.document)  # new colour table
            window.update_shares()

    def paint_only_over(self, index: int) -> None:
        """The class menu's "paint only over this class": the toolbar's restriction, on that class."""
        window = self.window
        window.classes_panel.set_current(index)
        window.canvas.set_only_over(index)
        box = window.toolbar.only_over
        box.blockSignals(True)
        box.setChecked(True)
        box.blockSignals(False)

    def rename(self, index: int, name: str) -> None:
        problem = self.window.session.rename_class(index, name)
        if problem:
            self.window.prompter.warning("Rename class", problem)

    def add(self, name: str, colour: tuple[int, int, int]) -> None:
        problem = self.window.session.add_class(name, colour)
        if problem:
            self.window.prompter.warning("Add class", problem)

    def remove(self, index: int) -> None:
        """Drop a class from the project: its pixels become ignore in every saved mask."""
        window = self.window
        session, project, prompter = window.session, window.session.project, window.prompter
        if project is None or not 0 <= index < len(project.classes) or len(project.classes) <= 1:
            return
        name = project.classes.names[index]
        if not prompter.question("Remove class", f"Remove class {name!r} from this project? Its pixels become "
                                 "ignore in every mask and the classes after it are renumbered. This cannot be "
                                 "undone."):
            return
        if window.batch.running:  # its masks arrive in the old numbering: one renumbering at a time
            prompter.warning("Remove class", "Segment all is running: wait for it to finish (or cancel it), then "
                             "remove the class.")
            return
        window.flush()
        reopen = session.current

        def finished() -> None:
            window.canvas.setEnabled(True)
            if reopen is not None and session.project is project:
                window.open_image(reopen)

        def done(count: int) -> None:
            finished()
            window.show_status(f"Removed {name!r}; {count} mask(s) renumbered")

        def failed(message: str) -> None:
            finished()
            prompter.warning("Remove class", f"Could not renumber the masks (none was changed): {message}")

        if session.remove_class(index, done, failed):  # nothing is edited, nor a prediction applied, meanwhile
            window.clear_canvas()
            window.canvas.setEnabled(False)
            window.show_status(f"Removing {name!r} from every mask…")
