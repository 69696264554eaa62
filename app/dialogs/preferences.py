"""Edit ▸ Preferences: cache folder, default device and precision, autosave interval,
overlay opacity and keyboard shortcuts, stored in QSettings and applied at once.

Ranges, defaults and tooltips come from the settings table (:mod:`app.settings.table`).
The cache folder is this process's through :func:`gcnet_core.paths.set_cache_folder`; the
batch and training processes are told it when they start. Device, precision and opacity
are the same values the model panel and the opacity slider show: the preference is where
the next session starts, and the panel can still change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QKeySequenceEdit, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gcnet_core import paths

from app.panels.model_panel import PRECISION_CHOICES
from app.settings.table import SETTING
from app.settings.shortcuts import ShortcutMap, action_title

DEVICE_TITLES = {"auto": "Auto (CUDA if present)", "cpu": "CPU", "cuda": "CUDA"}


@dataclass
class PreferenceValues:
    cache_folder: str  # "" = the default location
    device: str
    precision: str
    autosave_ms: int
    opacity: float
    shortcuts: dict[str, QKeySequence]  # action id -> first key
    live_adaptation: bool = True  # the Model menu's Live Adaptation switch
    feature_cache_mb: int = SETTING["feature_cache_mb"].default  # each project's image features on disk


class Preferences:
    """Applies the stored preferences to one window and this process, and new ones live."""

    def __init__(self, window) -> None:
        self.window = window
        self.settings = window.settings
        self.shortcuts = ShortcutMap(window, self.settings)
        self.dialog: PreferencesDialog | None = None
        if self.settings.get("cache_folder"):  # else the folder the process already uses
            self._apply_cache(self.settings.get("cache_folder"))
        window.set_autosave_interval(self.settings.get("autosave_ms"))
        window.session.feature_cache_mb = self.settings.get("feature_cache_mb")  # for the next project opened

    def current(self) -> PreferenceValues:
        s, panel = self.settings, self.window.model_panel
        return PreferenceValues(s.get("cache_folder"), panel.device.currentData(), panel.precision.currentData(),
                                s.get("autosave_ms"), self.window.toolbar.opacity.value() / 100,
                                {key: self.shortcuts.primary(key) for key in self.shortcuts.actions},
                                s.get("live_adaptation"), s.get("feature_cache_mb"))

    def apply(self, values: PreferenceValues) -> None:
        """Remember ``values`` and apply them now (raises OSError for an unusable folder)."""
        folder = values.cache_folder.strip()
        if folder:
            Path(folder).expanduser().mkdir(parents=True, exist_ok=True)
        s, window = self.settings, self.window
        s.set("cache_folder", folder)
        self._apply_cache(folder)
        window.model_panel.set_options(values.device, values.precision, window.model_panel.tta.isChecked())
        s.set("autosave_ms", values.autosave_ms)
        window.set_autosave_interval(values.autosave_ms)
        window.toolbar.opacity.setValue(round(values.opacity * 100))
        s.set("opacity", values.opacity)
        window.live.set_enabled(values.live_adaptation)  # the menu's switch follows
        s.set("feature_cache_mb", values.feature_cache_mb)
        window.session.feature_cache_mb = values.feature_cache_mb
        if window.session.features is not None:  # the open project's, from its next write
            window.session.features.disk_mb = values.feature_cache_mb
        for key, sequence in values.shortcuts.items():
            if key in self.shortcuts.actions and sequence != self.shortcuts.primary(key):
                self.shortcuts.set(key, sequence)
        s.sync()

    def _apply_cache(self, folder: str) -> None:
        paths.set_cache_folder(folder or None)
        self.window.model_panel.refresh_status()

    def show_dialog(self) -> "PreferencesDialog":
        if self.dialog is None or not self.dialog.isVisible():
            self.dialog = PreferencesDialog(self, self.window)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


class PreferencesDialog(QDialog):
    """Two tabs (General, Keyboard shortcuts); OK and Apply apply, Cancel forgets."""

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preferences = preferences
        self.setWindowTitle("Preferences")
        values = preferences.current()
        tabs = QTabWidget()
        tabs.addTab(self._general_tab(values), "General")
        tabs.addTab(self._shortcuts_tab(values), "Keyboard shortcuts")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.Apply)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.buttons)
        self.resize(620, 560)
        self._check_conflicts()

    # -- tabs ----------------------------------------------------------------------------
    def _general_tab(self, values: PreferenceValues) -> QWidget:
        self.cache_edit = QLineEdit(values.cache_folder, placeholderText=str(paths.default_cache_folder()))
        self.cache_edit.setToolTip(SETTING["cache_folder"].description)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        cache_row = QHBoxLayout()
        cache_row.addWidget(self.cache_edit, 1)
        cache_row.addWidget(browse)
        self.device_combo = _combo([(value, DEVICE_TITLES[value]) for value in SETTING["device"].choices],
                                   values.device)
        self.device_combo.setToolTip(SETTING["device"].description)
        panel_device = self.preferences.window.model_panel.device
        for row in range(panel_device.count()):  # CUDA is greyed out where there is none
            self.device_combo.model().item(row).setEnabled(panel_device.model().item(row).isEnabled())
        self.precision_combo = _combo(PRECISION_CHOICES, values.precision)
        self.precision_combo.setToolTip(SETTING["precision"].description)
        autosave, opacity = SETTING["autosave_ms"], SETTING["opacity"]
        self.autosave_spin = QDoubleSpinBox(minimum=autosave.minimum / 1000, maximum=autosave.maximum / 1000,
                                            singleStep=0.5, decimals=1, suffix=" s")
        self.autosave_spin.setValue(values.autosave_ms / 1000)
        self.autosave_spin.setToolTip(autosave.description)
        self.opacity_spin = QSpinBox(minimum=round(opacity.minimum * 100), maximum=round(opacity.maximum * 100),
                                     suffix=" %")
        self.opacity_spin.setValue(round(values.opacity * 100))
        self.opacity_spin.setToolTip(opacity.description)
        self.live_check = QCheckBox("Re-fit the model on done images as you work", checked=values.live_adaptation)
        self.live_check.setToolTip(SETTING["live_adaptation"].description)
        cache_mb = SETTING["feature_cache_mb"]
        self.feature_cache_spin = QSpinBox(minimum=int(cache_mb.minimum), maximum=int(cache_mb.maximum),
                                           singleStep=256, suffix=" MB")
        self.feature_cache_spin.setValue(values.feature_cache_mb)
        self.feature_cache_spin.setToolTip(cache_mb.description)
        page = QWidget()
        form = QFormLayout(page)
        form.addRow("Model cache folder", cache_row)
        form.addRow("Default device", self.device_combo)
        form.addRow("Default precision", self.precision_combo)
        form.addRow("Autosave after", self.autosave_spin)
        form.addRow("Mask overlay opacity", self.opacity_spin)
        form.addRow("Live adaptation", self.live_check)
        form.addRow("Feature cache size", self.feature_cache_spin)
        return page

    def _shortcuts_tab(self, values: PreferenceValues) -> QWidget:
        shortcuts = self.preferences.shortcuts
        self.table = QTableWidget(len(shortcuts.actions), 3)
        self.table.setHorizontalHeaderLabels(("Action", "Shortcut", "Also"))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.key_edits: dict[str, QKeySequenceEdit] = {}
        for row, (key, action) in enumerate(shortcuts.actions.items()):
            title = QTableWidgetItem(action_title(action))
            title.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 0, title)
            edit = QKeySequenceEdit(values.shortcuts.get(key, QKeySequence()))
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            edit.keySequenceChanged.connect(self._check_conflicts)
            self.table.setCellWidget(row, 1, edit)
            self.key_edits[key] = edit
            also = QTableWidgetItem(", ".join(s.toString(QKeySequence.SequenceFormat.NativeText)
                                              for s in shortcuts.extras(key)))
            also.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 2, also)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.conflict_label = QLabel(wordWrap=True)
        self.conflict_label.setStyleSheet("color: #c0392b")
        reset = QPushButton("Restore default shortcuts")
        reset.clicked.connect(self.restore_default_shortcuts)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Click a shortcut and press the new keys; the clear button removes it."))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.conflict_label)
        layout.addWidget(reset, 0, Qt.AlignmentFlag.AlignLeft)
        return page

    # -- behaviour ---------------------------------------------------------------------------
    def values(self) -> PreferenceValues:
        return PreferenceValues(self.cache_edit.text().strip(), self.device_combo.currentData(),
                                self.precision_combo.currentData(), round(self.autosave_spin.value() * 1000),
                                self.opacity_spin.value() / 100,
                                {key: edit.keySequence() for key, edit in self.key_edits.items()},
                                self.live_check.isChecked(), self.feature_cache_spin.value())

    def restore_default_shortcuts(self) -> None:
        shortcuts = self.preferences.shortcuts
        for key, edit in self.key_edits.items():
            edit.setKeySequence(shortcuts.defaults[key][0] if shortcuts.defaults[key] else QKeySequence())

    def _check_conflicts(self) -> bool:
        shortcuts = self.preferences.shortcuts
        clashes = shortcuts.conflicts({key: edit.keySequence() for key, edit in self.key_edits.items()})
        names = {key: action_title(action) for key, action in shortcuts.actions.items()}
        lines = [f"{QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText).toString()}: "
                 + ", ".join(names.get(who, who) for who in users) for text, users in clashes.items()]
        self.conflict_label.setText("Used twice (choose another key): " + "; ".join(lines) if lines else "")
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            if hasattr(self, "buttons"):
                self.buttons.button(button).setEnabled(not lines)
        return not lines

    def apply(self) -> bool:
        if not self._check_conflicts():
            return False
        try:
            self.preferences.apply(self.values())
        except OSError as error:
            QMessageBox.warning(self, "Preferences", f"The cache folder cannot be used: {error}")
            return False
        return True

    def _ok(self) -> None:
        if self.apply():
            self.accept()

    def _browse(self) -> None:
        start = self.cache_edit.text() or self.cache_edit.placeholderText()
        folder = QFileDialog.getExistingDirectory(self, "Model cache folder", start)
        if folder:
            self.cache_edit.setText(folder)


def _combo(items, current: str) -> QComboBox:
    combo = QComboBox()
    for value, title in items:
        combo.addItem(title, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(index, 0))
    return combo
