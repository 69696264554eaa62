"""Which model the window uses, and remembering it: across restarts, per project, and for
imported checkpoint files.

- The selection (zoo entry, fine-tuned version or imported file) is kept in the settings
  and restored at start; when it is gone, a downloaded entry is preferred to one that
  would need the network.
- A project records its model (``gcnet-project.json``'s ``model``); reopening the folder
  selects it again. A new project starts with :func:`gcnet_core.project.defaults.default_model`
  (ADE20K R50 unless the folder looks like street scenes), unless a person picked a model
  since the last folder was opened, or their own imported file is selected. A fine-tuned
  version belongs to the project it was trained for: a new folder gets the last zoo entry or
  imported file used instead.
- File ▸ Import Checkpoint: an entry's official file goes into the cache under its name;
  any other GCNet checkpoint is matched to the entry it fits and kept in the cache, so it is
  listed after a restart and works offline.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from app.panels.model_panel import ModelChoice
from app.workers.download import DownloadDialog, DownloadFailure
from app.workers.inference import ModelConfig
from app.workers.tasks import run_in_pool
from gcnet_core.api import init_model
from gcnet_core.project.defaults import GENERAL_MODEL, default_model
from gcnet_core.weights.download import cached_checkpoint, file_sha256, import_checkpoint
from gcnet_core.weights.imported import keep_checkpoint, list_imported, matching_entry
from gcnet_core.weights.zoo import ZOO, get_entry

def imported_choices() -> list[ModelChoice]:
    return [ModelChoice(item.base, item.checkpoint, item.label) for item in list_imported()]


class ModelMemory(QObject):
    """Owned by the window; talks to its model panel, settings and annotation session."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._import_task = None
        self._download: DownloadDialog | None = None
        self._selecting = False  # our own selections are not a person's pick
        self._last_id: str | None = None
        self._last_shared: ModelChoice | None = None  # the last zoo entry or imported file selected
        self.picked = False  # a person chose a model since the last folder was opened
        panel = window.model_panel
        for choice in imported_choices():
            panel.add_extra_choice(choice, select=False)

    def _select(self, choice: ModelChoice | str) -> bool:
        self._selecting = True
        try:
            found = self.window.model_panel.select(choice)
        finally:
            self._selecting = False
        self._last_id = self.window.model_panel.config().model_id
        return found

    # ------------------------------------------------------------------ restart
    def restore(self) -> None:
        """Select what was selected when the window last closed (or the best fallback)."""
        s, panel = self.window.settings, self.window.model_panel
        remembered = panel.find(s.get("model_label") or s.get("model_name"), s.get("model_checkpoint"))
        if remembered is not None and self._usable(remembered):
            self._select(remembered)
            return
        if s.get("model_name"):
            try:
                entry = get_entry(s.get("model_name"))
                if cached_checkpoint(entry) is not None or not self._any_cached():
                    self._select(entry.name)
                    return
            except KeyError:
                pass
        self._select(self._fallback())

    @classmethod
    def _usable(cls, choice: ModelChoice) -> bool:
        """Its file is there; for a zoo entry, downloaded (or nothing is, so it may as well be this)."""
        if choice.checkpoint is not None:
            return Path(choice.checkpoint).is_file()
        return cached_checkpoint(choice.entry) is not None or not cls._any_cached()

    @staticmethod
    def _any_cached() -> bool:
        return any(cached_checkpoint(e) is not None for e in ZOO)

    @staticmethod
    def _fallback() -> str:
        """A zoo entry that works offline when there is one: the general one first."""
        general = get_entry(GENERAL_MODEL)
        if cached_checkpoint(general) is not None:
            return general.name
        return next((e.name for e in ZOO if cached_checkpoint(e) is not None), general.name)

    def config_changed(self, config: ModelConfig) -> None:
        """The panel's selection changed: remember it; a person's change counts as a pick."""
        if not self._selecting and config.model_id != self._last_id:
            self.picked = self.window.session.project is None  # with a folder open, the pick is that project's
        self._last_id = config.model_id
        choice = self.window.model_panel.choice()
        if not self.window.finetune.is_version_choice(choice):
            self._last_shared = choice
        self.remember(config)

    def remember(self, config: ModelConfig) -> None:
        """Keep the selection in the settings and, when a folder is open, in its project."""
        s = self.window.settings
        s.set("model_name", config.name)
        s.set("model_checkpoint", str(config.checkpoint) if config.checkpoint else "")
        s.set("model_label", config.label)
        self.window.session.record_model(config.model_id)

    # ------------------------------------------------------------------ projects
    def project_listed(self, folder: Path, names: list[str]) -> None:
        """The first images of a just-opened folder are known: select the project's model."""
        window = self.window
        project, panel = window.session.project, window.model_panel
        if project is None:
            return
        picked, self.picked = self.picked, False
        if project.model:
            choice = panel.find(project.model)
            if choice is not None:
                self._select(choice)
            else:
                window.show_status(f"This project was labelled with {project.model}, which is not "
                                   f"available here; using {panel.choice().label or panel.choice().name}")
            return
        if project.path.exists():
            self.remember(panel.config())  # an older project: record what it uses now
            return
        if window.finetune.is_version_choice(panel.choice()):  # another project's version stays with it
            if self._last_shared is not None and self._select(self._last_shared):
                self.remember(panel.config())
                return
        elif picked or panel.choice().checkpoint is not None:
            self.remember(panel.config())  # what the person chose, or their imported file, stays
            return
        name = default_model(str(folder), names)
        self._select(name)
        self.remember(panel.config())
        window.session.adopt_new_project_classes(get_entry(name).classes)

    # ------------------------------------------------------------------ checkpoints
    def with_checkpoint(self, config: ModelConfig, then) -> None:
        """Run ``then()`` once the configuration's checkpoint is on disk (downloading it first)."""
        entry = get_entry(config.name)
        if config.checkpoint is not None or cached_checkpoint(entry) is not None:
            then()
            return
        window = self.window
        dialog = DownloadDialog(entry, window)
        dialog.done.connect(lambda _path: (window.model_panel.refresh_status(), then()))
        dialog.failed.connect(self.download_failed)
        dialog.cancelled.connect(lambda: window.show_status("Download cancelled; it will resume next time"))
        self._download = dialog
        dialog.start()

    # ------------------------------------------------------------------ importing
    def ask_import(self) -> None:
        window = self.window
        path, _ = QFileDialog.getOpenFileName(window, "Import a checkpoint", str(Path.home()),
                                              "PyTorch checkpoints (*.pth *.pt);;All files (*)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Check ``path`` off the UI thread, keep it in the cache, list and select it."""
        window = self.window
        preferred = window.model_panel.choice().entry
        window.show_status(f"Checking {path.name}…")

        def work():
            sha = file_sha256(path)
            official = next((e for e in [preferred, *(get_entry(z.name) for z in ZOO)]
                             if sha.startswith(e.sha256_prefix)), None)
            if official is not None:
                import_checkpoint(official.checkpoint_filename, path, official.sha256_prefix)
                return official, None
            entry = matching_entry(path, preferred)

            init_model(entry.name, path, device="cpu", precision="fp32", fast=False)  # it must really load
            return entry, keep_checkpoint(path, entry)

        def done(result) -> None:
            entry, kept = result
            panel = window.model_panel
            if kept is None:
                panel.select(entry.name)
                panel.refresh_status()
                window.show_status(f"Imported the official checkpoint of {entry.name}")
                return
            choice = ModelChoice(kept.base, kept.checkpoint, kept.label)
            panel.add_extra_choice(choice)
            moved = "" if entry == preferred else (
                f"; it is a {entry.dataset.title.split()[0]} ResNet-{entry.depth} model, not "
                f"{preferred.dataset.title.split()[0]} ResNet-{preferred.depth}, so it runs on that entry")
            window.show_status(f"{path.name} kept in the model cache as “{kept.label}”{moved}")

        def failed(message: str) -> None:
            window.show_status(f"{path.name} was not imported", error=True)
            window.prompter.warning("Import checkpoint", f"{path.name} cannot be used: {message}")

        self._import_task = run_in_pool(work, done, failed)

    def download_failed(self, failure: DownloadFailure) -> None:
        """Offline: say what failed and offer choosing the file right there (it is imported)."""
        window = self.window
        window.show_status(f"Could not download {failure.entry.name}: {failure.reason}", error=True)
        if window.prompter.download_failed(failure):
            self.ask_import()
