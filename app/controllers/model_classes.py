"""The selected model's classes against the project's (issue 24 item 9).

An ADE20K model on a project with VOC's classes gives nearly empty masks: most of its classes
have no project class of their name. When the two differ (and the project keeps its own
classes: something is labelled), the Model panel says so in one line with the counts and offers
Map classes…: the one mapping rule's proposal (:mod:`gcnet_core.project.class_mapping`) in the
same table File ▸ Import Labels shows, one row per model class. The table is kept per project
and model, and the session applies it wherever a prediction becomes the project's labels
(``AnnotationSession.model_classes``, through ``model_lut``). A zoo entry's classes are its
dataset's; a fine-tuned version's are in its record (a version trained on another project says
so too); another checkpoint file's are not known without reading its weights: no line.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from gcnet_core.files.class_list import generated_palette
from gcnet_core.model.classes import ClassSet
from gcnet_core.project.class_mapping import model_lut, prediction_mapping, remember_mapping, remembered_mapping
from gcnet_core.project.session import AnnotationSession
from gcnet_core.project.versions import VersionError, VersionRegistry

from app.panels.mapping_table import MappingTable
from app.panels.model_panel import ModelPanel


class ModelClasses(QObject):
    """Keeps the Model panel's classes line and the session's prediction mapping up to date."""

    def __init__(self, session: AnnotationSession, panel: ModelPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.panel = panel
        self.dialog: QDialog | None = None
        self._tables: dict[tuple, dict[str, str]] = {}  # (project root, model) -> its predictions' table
        self._versions: dict[Path, ClassSet | None] = {}  # a fine-tuned version's classes, read once
        panel.mapClassesRequested.connect(self.ask_mapping)
        panel.configChanged.connect(lambda _config: self.refresh())
        for event in ("image_opened", "classes_changed"):  # a folder opened, the classes changed
            session.events.connect(event, lambda *_args: self.refresh())
        session.events.connect("state_changed", self._state_changed)

    def _state_changed(self, _rel: str, state: str) -> None:
        """A first labelled image makes the project keep its classes: the line may be due (a
        batch changes thousands of states, so only then is the project looked at)."""
        if state != "new" and not self.panel.classes_line.text():
            self.refresh()

    def model_classes(self) -> ClassSet | None:
        """The selected model's classes, where known without reading its weights: a zoo entry's,
        or a fine-tuned version's from the ``version.json`` beside its checkpoint (another
        checkpoint file: None)."""
        choice = self.panel.choice()
        if choice.checkpoint is None:
            return choice.entry.classes
        checkpoint = Path(choice.checkpoint)
        if checkpoint not in self._versions:
            self._versions[checkpoint] = version_classes(checkpoint)
        return self._versions[checkpoint]

    def model_name(self) -> str:
        """How the selected model is named among the kept tables: its version id or file name
        when it has its own weights, else the zoo entry."""
        choice = self.panel.choice()
        return choice.label or choice.name if choice.checkpoint else choice.name

    def differs(self) -> bool:
        """Whether the model's classes are not the project's and the project keeps its own."""
        project, model = self.session.project, self.model_classes()
        return project is not None and model is not None and len(project.classes) > 0 \
            and model.names != project.classes.names and not self.session.nothing_labelled()

    def refresh(self) -> None:
        """The line and the session's table for the project and model selected now."""
        if not self.differs():
            self.session.model_classes = {}
            self.panel.show_classes_line("")
            return
        self.session.model_classes = self._table()
        self._show()

    def _table(self) -> dict[str, str]:
        """The table kept for this project and model (read once, then as Map classes… set it)."""
        key = (self.session.project.root, self.model_name())
        if key not in self._tables:
            self._tables[key] = remembered_mapping(self.session.project, key[1], kind="models")
        return self._tables[key]

    def _show(self) -> None:
        project, model = self.session.project, self.model_classes()
        lut = model_lut(model, project.classes, self.session.model_classes)
        mapped = int((lut[:len(model)] != 255).sum())
        self.panel.show_classes_line(f"Model and project classes differ ({len(model)} vs {len(project.classes)}): "
                                     f"{mapped} map, {len(model) - mapped} give no class")

    def ask_mapping(self) -> QDialog | None:
        """Map classes…: one row per model class, a combo of the project's classes (a prediction
        never adds a class), unlabelled or ignore; OK applies and keeps it."""
        project, model = self.session.project, self.model_classes()
        if project is None or model is None:
            return None
        name = self.model_name()
        mapping = prediction_mapping(model, project.classes, chosen=self._table())
        dialog = QDialog(self.panel)
        dialog.setWindowTitle("Map the model's classes")
        dialog.table = table = MappingTable(allow_new=False, source_title="Model class")
        table.set_mapping(mapping, project.classes)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(QLabel(f"What each of the {len(model)} classes of {name} becomes in this project "
                                "when its predictions are placed:",
                                wordWrap=True))
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        dialog.accepted.connect(lambda: self._apply(project, name, table.choices()))
        dialog.resize(560, 520)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _apply(self, project, model_name: str, table: dict[str, str]) -> None:
        if self.session.project is not project or self.model_name() != model_name:
            return
        self._tables[(project.root, model_name)] = table
        self.session.writer.submit(lambda: remember_mapping(project, model_name, table, kind="models"))
        self.refresh()


def version_classes(checkpoint: Path) -> ClassSet | None:
    """The classes a fine-tuned version records beside its checkpoint (``<id>/model.pth``), or
    None for a checkpoint that is not a version's (or records none)."""
    try:
        version = VersionRegistry(checkpoint.parent.parent).get(checkpoint.parent.name)
    except VersionError:
        return None
    names = tuple(version.classes)
    palette = tuple(tuple(c) for c in version.palette)
    try:
        return ClassSet(names, palette if len(palette) == len(names) else generated_palette(names)) if names else None
    except ValueError:  # a damaged record: as if it said nothing
        return None
