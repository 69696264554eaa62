"""Every action of the window, in one explicit table: its key (what the settings and
Preferences call it), text, default shortcut and what it does.

:func:`build_actions` makes the QActions of a window from :data:`ACTIONS` into an
:class:`Actions` record; ``app/settings/shortcuts.py`` and Preferences read the same table (in its
order), so a new action joins the editable shortcuts by being a row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

from app.shell.logs import open_log_folder
from app.panels.class_panel import HOTKEYS

Key = QKeySequence.StandardKey
Shortcut = str | Key | tuple[str, ...] | None


@dataclass(frozen=True)
class ActionSpec:
    """One row: ``run(window)`` when triggered, ``run(window, checked)`` when ``checkable``."""

    key: str  # "save", "tool.brush", "finetune.start": the settings' and Preferences' name
    text: str
    shortcut: Shortcut
    run: Callable[..., Any]
    checkable: bool = False
    tip: str = ""  # the tooltip (the text without one); the action's keys now are added to it
    icon_text: str = ""  # what the toolbar shows, when it differs from the text
    field: str = ""  # the Actions attribute, when it is not the key ("import" is Python's)

    @property
    def attribute(self) -> str:
        return self.field or self.key.replace(".", "_")


def _tool(name: str, title: str, key: str, short: str) -> ActionSpec:
    return ActionSpec(f"tool.{name}", title, key, lambda w, on: on and w.canvas.set_tool(name), checkable=True,
                      tip=title, icon_text=short)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open Folder…", Key.Open, lambda w: w.ask_open_folder()),
    ActionSpec("import", "&Import Checkpoint…", None, lambda w: w.models.ask_import(), field="import_checkpoint"),
    ActionSpec("import_labels", "Import &Labels…", None, lambda w: w.show_import_dialog(),
               tip="Bring in labels made elsewhere (VOC, Cityscapes, ADE20K, COCO, labelme, PNG)"),
    ActionSpec("export", "&Export…", "Ctrl+E", lambda w: w.show_export_dialog()),
    ActionSpec("save", "&Save", Key.Save, lambda w: w.save_current()),
    ActionSpec("quit", "&Quit", Key.Quit, lambda w: w.close()),
    ActionSpec("undo", "&Undo", Key.Undo, lambda w: w.undo()),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), lambda w: w.redo()),
    ActionSpec("done", "Mark Image &Done", "Ctrl+D", lambda w, on: w.mark_done(on), checkable=True,
               tip="This image's mask is right: it counts as done, is trained on and exported as corrected "
                   "(again: not done). Strokes alone make an image edited, not done", icon_text="Done"),
    ActionSpec("replace_class", "&Replace Class…", "Ctrl+Shift+R", lambda w: w.ask_replace_class(),
               tip="Every pixel of one class becomes another (one undo step)"),
    ActionSpec("ignore", "Mark low confidence as &ignore", "I", lambda w: w.ignore_low_confidence(),
               tip="Set pixels whose confidence is below the threshold to ignore", icon_text="Low conf → ignore"),
    ActionSpec("next_class", "&Next Most Likely Class", "N", lambda w: w.next_likely_class(),
               tip="Give the region under the cursor the model's next most likely class"),
    ActionSpec("segment", "&Pre-segment Image", ("Ctrl+Return", "Ctrl+Enter"), lambda w: w.segment_current()),
    ActionSpec("segment_all", "Segment &All New Images", None, lambda w: w.segment_all()),
    ActionSpec("cancel_batch", "&Cancel Segment All", None, lambda w: w.batch.cancel()),
    ActionSpec("next", "&Next Image", ("D", "PgDown"), lambda w: w.files.step(1), icon_text="▶"),
    ActionSpec("previous", "P&revious Image", ("A", "PgUp"), lambda w: w.files.step(-1), icon_text="◀"),
    ActionSpec("cancel_segment", "Cancel Pre-segment", "Esc", lambda w: w.cancel_segment()),
    ActionSpec("smaller_brush", "S&maller Brush", "[", lambda w: w.canvas.step_brush_size(-1)),
    ActionSpec("larger_brush", "&Larger Brush", "]", lambda w: w.canvas.step_brush_size(1)),
    ActionSpec("fit", "&Fit to Window", "Ctrl+0", lambda w: w.canvas.fit_to_window()),
    ActionSpec("zoom", "&Actual Size (1:1)", "Ctrl+1", lambda w: w.canvas.zoom_1to1()),
    ActionSpec("outline", "&Outline Only", "O", lambda w, on: w.canvas.set_outline_only(on), checkable=True,
               icon_text="Outline"),
    ActionSpec("confidence", "Show Low &Confidence", "C", lambda w, on: w.canvas.set_show_confidence(on),
               checkable=True, icon_text="Confidence"),
    ActionSpec("preferences", "&Preferences…", "Ctrl+,", lambda w: w.show_preferences()),
    ActionSpec("about", "&About GCNet Annotator", None, lambda w: w.show_about()),
    ActionSpec("shortcut_sheet", "&Keyboard Shortcuts", "F1", lambda w: w.show_shortcut_sheet(),
               tip="Every action and its shortcut, searchable (Preferences changes them)"),
    ActionSpec("welcome", "&Welcome", None, lambda w: w.show_welcome()),
    ActionSpec("log_folder", "Open &Log Folder", None, lambda w: open_log_folder()),
    _tool("brush", "Brush", "B", "Brush"),
    _tool("eraser", "Eraser", "E", "Eraser"),
    _tool("polygon", "Polygon", "P", "Polygon"),
    _tool("fill", "Flood fill", "F", "Fill"),
    _tool("relabel", "Relabel predicted region", "R", "Relabel"),
    _tool("accept", "Accept prediction (brush)", "G", "Accept"),
    _tool("pan", "Pan", "V", "Pan"),
    _tool("pick", "Pick a likely class for a region (then 1-5)", "K", "Pick"),
    _tool("snap", "Snap a stroke to the edges", "S", "Snap"),
    _tool("superpixel", "Superpixel brush", "X", "Superpixel"),
    ActionSpec("finetune.start", "&Fine-tune on Images Marked Done", None, lambda w: w.finetune.show_and_start(),
               tip="Train the selected model on the images marked done, in the background"),
    ActionSpec("finetune.resegment", "&Re-segment Untouched Images", None, lambda w: w.finetune.resegment(),
               tip="Run the selected model (e.g. a new version) over every new or pre-segmented image; "
                   "images a person edited or marked done are never touched"),
    ActionSpec("workahead.on_open", "Pre-segment Images When &Opened", None,
               lambda w, _on: w.workahead.options_changed(), checkable=True,
               tip="Pre-segment an image without a fresh prediction as soon as it opens"),
    ActionSpec("workahead.ahead", "&Work Ahead on the Next Images", None,
               lambda w, _on: w.workahead.options_changed(), checkable=True,
               tip="Pre-segment the next images of the list in the background"),
    ActionSpec("live.enabled", "&Live Adaptation", None, lambda w, on: w.live.set_enabled(on), checkable=True,
               tip="Re-fit the model's classifier on your done images as you work (kept only when it scores "
                   "better on images it was not fitted on) and re-label the untouched images and your strokes' "
                   "surroundings from their cached features"),
    ActionSpec("live.publish", "Publish Live Model as a &Version", None, lambda w: w.live.publish(),
               tip="Save the live model as a model version (an ordinary checkpoint with this project's classes), "
                   "listed with the fine-tuned ones"),
)
"""The editable actions, in the order Preferences lists them."""


@dataclass(frozen=True)
class Actions:
    """The window's actions: one attribute per row of :data:`ACTIONS` (``tool.*`` rows in
    ``tools``), and the class hotkeys 1-9, 0 (fixed, not editable)."""

    open: QAction
    import_checkpoint: QAction
    import_labels: QAction
    export: QAction
    save: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    done: QAction
    replace_class: QAction
    ignore: QAction
    next_class: QAction
    segment: QAction
    segment_all: QAction
    cancel_batch: QAction
    next: QAction
    previous: QAction
    cancel_segment: QAction
    smaller_brush: QAction
    larger_brush: QAction
    fit: QAction
    zoom: QAction
    outline: QAction
    confidence: QAction
    preferences: QAction
    about: QAction
    shortcut_sheet: QAction
    welcome: QAction
    log_folder: QAction
    finetune_start: QAction
    finetune_resegment: QAction
    workahead_on_open: QAction
    workahead_ahead: QAction
    live_enabled: QAction
    live_publish: QAction
    tools: dict[str, QAction] = field(default_factory=dict)  # canvas tool name -> its action
    classes: tuple[QAction, ...] = ()  # "Class 1" ... "Class 10"

    def editable(self) -> dict[str, QAction]:
        """Key -> action for every row of :data:`ACTIONS`, in its order."""
        return {spec.key: self.tools[spec.key[5:]] if spec.key.startswith("tool.") else getattr(self, spec.attribute)
                for spec in ACTIONS}


def make_action(owner: QWidget, text: str, shortcut: Shortcut, slot: Callable[..., Any], checkable: bool = False,
                tip: str = "") -> QAction:
    """A window-wide action: its shortcut works even when it is only in a hidden menu."""
    action = QAction(text, owner)
    if shortcut is not None:
        action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, tuple) else (shortcut,))])
    action.setCheckable(checkable)
    _tooltip_with_keys(action, tip or text.replace("&", "").rstrip("…"))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    (action.toggled if checkable else action.triggered).connect(slot)
    owner.addAction(action)
    return action


def _tooltip_with_keys(action: QAction, tip: str) -> None:
    """The tooltip is ``tip`` and the action's keys as they are now: a key changed in
    Preferences shows there too, never a stale default."""

    def update() -> None:
        keys = ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())
        text = f"{tip} ({keys})" if keys else tip
        if action.toolTip() != text:  # setToolTip emits changed again
            action.setToolTip(text)

    action.changed.connect(update)
    update()


def build_actions(window: QWidget) -> Actions:
    """The QActions of :data:`ACTIONS` for ``window`` (tools exclusive, the brush chosen)."""
    made: dict[str, QAction] = {}
    tools: dict[str, QAction] = {}
    group = QActionGroup(window)
    for spec in ACTIONS:
        slot = (lambda on, s=spec: s.run(window, on)) if spec.checkable else (lambda _c=False, s=spec: s.run(window))
        action = make_action(window, spec.text, spec.shortcut, slot, spec.checkable, spec.tip)
        if spec.icon_text:
            action.setIconText(spec.icon_text)
        if spec.key.startswith("tool."):
            group.addAction(action)
            tools[spec.key[5:]] = action
        else:
            made[spec.attribute] = action
    classes = tuple(make_action(window, f"Class {i + 1}", key,
                                lambda _c=False, i=i: window.classes_panel.set_current(i))
                    for i, key in enumerate(HOTKEYS))
    actions = Actions(**made, tools=tools, classes=classes)
    actions.tools["brush"].setChecked(True)
    actions.cancel_segment.setEnabled(False)  # only while waiting: Esc is the polygon's too
    return actions
