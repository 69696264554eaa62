"""The annotation session: one open project, the image being edited and the rules, with no Qt.

The window shows the session and forwards what a person does; the controllers (work-ahead,
batch segmentation, fine-tuning) call its methods and subscribe to its events, never to the
window's or each other's privates (napari's ``ViewerModel`` under its ``QtViewer`` is the
model). It owns:

- the project: image states, uncertainty, classes, and when the project file is written;
- the current image, its :class:`MaskDocument` and the undo history each image keeps while
  the app runs (:class:`DocumentHistory`);
- the predictions kept: sidecars, and results for images not open yet that may still be on
  their way to the disk;
- the one rule for a person's work (:func:`~gcnet_core.project.overwrite.may_overwrite`),
  asked through :meth:`permission` by every machine write: :meth:`apply_prediction` (the open
  image or another one), :meth:`place_staged` (batch results), :meth:`apply_relabel` (live
  adaptation's masks); the region tools ask it in the document.

Every write goes through the ``writer`` it is given (:class:`ProjectWriter`: the project's one
ordered writer thread in the app; tests write at once).

Events (``session.events.connect(name, callback)``), with their arguments:

- ``image_opened(rel)``: another image is current (its document may be None: unreadable);
- ``labels_changed(rect)``: the current document's labels changed (an edit, undo, a prediction);
- ``model_output_changed()``: the current document holds a new model output (confidence, rankings);
- ``state_changed(rel, state)``, ``uncertainty_changed(rel, value)``: an image's record changed;
- ``classes_changed(classes, renumbered)``: the project's classes (``renumbered``: an index
  now means another class, so per-class view settings start afresh);
- ``project_changed()``: records changed that are not written yet (save soon);
- ``reload_wanted(rel)``: the open image's mask file changed under a document nobody touched;
- ``status(text, error)``: a line for the person.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..model.classes import IGNORE_INDEX, ClassSet
from ..predict.predictor import mean_uncertainty
from . import states as image_states
from .class_mapping import model_lut
from .document import MaskDocument
from .events import Events
from .feature_cache import DEFAULT_DISK_MB, FeatureCache
from .history import DocumentHistory
from .overwrite import Permission, may_overwrite
from .placement import discard, place_labels, place_staged
from .predictions import StoredPrediction
from .renumber import renumber_masks, without_class
from .store import Project

__all__ = ["AnnotationSession", "Prediction", "ProjectWriter"]

EVENTS = ("image_opened", "labels_changed", "model_output_changed", "state_changed", "uncertainty_changed",
          "classes_changed", "project_changed", "reload_wanted", "status")


class ProjectWriter(Protocol):
    """Where the session's writes go, in the order they are asked for."""

    def submit(self, job: Callable[[], object], done: Callable[[object], None] | None = None,
               failed: Callable[[str], None] | None = None) -> None:
        """Run ``job`` after every write before it; ``done(result)`` / ``failed(message)`` come
        back on the session's thread."""

    def save_document(self, project: Project, rel: str, document: MaskDocument) -> None:
        """Write the document's labels and edited pixels as they are now (copied at once)."""

    def save_project(self, project: Project) -> None:
        """Write the project file as it is now (copied at once)."""


@dataclass(frozen=True)
class Prediction:
    """A model's output for one image in the project's class ids, and what is kept of it."""

    labels: np.ndarray
    confidence: np.ndarray | None = None
    rankings: object = None  # gcnet_core.predict.rankings.ClassRankings
    model: str | None = None  # the model version that made it
    stored: StoredPrediction | None = None  # the sidecar (the model's own class ids)
    uncertainty: float | None = None  # mean 1 - confidence
    preview: bool = False  # a coarse pass; the full result follows


class AnnotationSession:
    """One open project and the image being edited (see the module docstring)."""

    def __init__(self, writer: ProjectWriter, fresh_limit: int = 6) -> None:
        self.writer = writer
        self.events = Events(EVENTS)
        self.project: Project | None = None
        self.current: str | None = None  # relative path of the image being edited
        self.document: MaskDocument | None = None
        self.histories = DocumentHistory()  # each image's undo history while the app runs
        self._opened_state = "new"  # the current image's state when its document (and history) began
        self._fresh: OrderedDict[str, Prediction] = OrderedDict()  # placed, maybe not on disk yet
        self.fresh_limit = fresh_limit
        self.features: FeatureCache | None = None  # the open project's image features (passes put, live adaptation reads)
        self.feature_cache_mb: float = DEFAULT_DISK_MB  # their limit on disk (Preferences)
        self.model_classes: dict[str, str] = {}  # model class -> project class for predictions (model_lut)

    # ================================================================== project
    def open_project(self, project: Project) -> None:
        """Work on ``project`` from now on; nothing of the previous one is kept."""
        self.close_document(park=False)
        self.histories.clear()
        self._fresh.clear()
        self.model_classes = {}
        self.project = project
        self.features = FeatureCache(project.features_root, disk_mb=self.feature_cache_mb)  # the last one's dropped

    def save_project(self) -> None:
        """Queue the project file for writing now."""
        if self.project is not None:
            self.writer.save_project(self.project)

    def record_model(self, model: str) -> None:
        """The project is labelled with ``model`` from now on (reopening it selects it again);
        written soon, once the folder is a project (something was saved)."""
        project = self.project
        if project is not None and project.model != model:
            project.model = model
            if project.path.exists():
                self.events.emit("project_changed")

    def tell(self, text: str, error: bool = False) -> None:
        """A line for the person (the window's status bar)."""
        self.events.emit("status", text, error)

    def _set_state(self, rel: str, state: str, model: str | None = None) -> None:
        self.project.set_state(rel, state, model)
        self.events.emit("state_changed", rel, state)
        if not image_states.keeps_uncertainty(state):  # the project dropped it: a person's mask now
            self.events.emit("uncertainty_changed", rel, None)

    def record_uncertainty(self, rel: str, value: float | None) -> None:
        """Remember how unsure the model was (the file list can put such images first); not
        for an image a person marked done (:func:`~gcnet_core.project.states.keeps_uncertainty`)."""
        project = self.project
        if value is not None and project is not None and image_states.keeps_uncertainty(project.state(rel)):
            self.project.set_uncertainty(rel, value)
            self.events.emit("uncertainty_changed", rel, value)

    def mark_done(self, rel: str, done: bool) -> None:
        """A person says image ``rel``'s mask is right (done: corrected), or takes that back
        (:func:`~gcnet_core.project.states.not_done`: edited, pre-segmented or new)."""
        if self.project is None:
            return
        if rel == self.current:
            self.save_current()
        has_mask, edited = self._mask_facts(rel)
        if done and not has_mask:
            self.tell(f"Nothing is labelled in {rel} yet: paint or pre-segment it before marking it done")
            return
        state = "corrected" if done else image_states.not_done(has_mask, edited)
        if state != self.project.state(rel):
            self._set_state(rel, state)
        if rel == self.current and (done or self._opened_state in image_states.DONE_STATES):
            self._opened_state = state  # undoing back to the opening keeps the person's choice
        self.save_project()
        title = image_states.TITLES[state]
        self.tell(f"{rel} marked {title}" if done else f"{rel} is not done any more ({title})")

    def toggle_done(self, rel: str | None = None) -> None:
        """Mark as Done on ``rel`` (default: the current image): done, or not done when it was."""
        rel = rel or self.current
        if self.project is not None and rel is not None:
            self.mark_done(rel, self.project.state(rel) not in image_states.DONE_STATES)

    def _mask_facts(self, rel: str) -> tuple[bool, bool]:
        """(has a mask, has pixels a person edited) of ``rel``: from its open document, else
        from its files."""
        if rel == self.current and self.document is not None:
            doc = self.document
            return bool((doc.labels != IGNORE_INDEX).any()), bool(doc.edited.any())
        return self.project.label_path(rel).is_file(), self.project.edited_path(rel).is_file()

    def mark_exported(self, images: Iterable[Path | str]) -> None:
        """Exported corrected images become exported (an edit makes them corrected again)."""
        for image in images:
            rel = self.project.relative(image)
            state = self.project.state(rel)
            if image_states.after_export(state) != state:
                self._set_state(rel, image_states.after_export(state))
        self.save_project()

    def labels_imported(self, images: Iterable[Path | str], imported: Project) -> int:
        """Labels a person imported are on disk (``imported``: the project as the import left
        it): take its classes and those images' states; returns how many images."""
        project = self.project
        if project is None or project.root != imported.root:
            return 0
        if imported.classes != project.classes:
            self.set_classes(imported.classes)
        rels = sorted({project.relative(image) for image in images})
        for rel in rels:
            self._set_state(rel, imported.state(rel))
        self.histories.clear()  # parked documents hold the masks from before
        if self.current in rels:
            self.events.emit("reload_wanted", self.current)
        self.save_project()
        return len(rels)

    # ================================================================== the current image
    def _record(self, rel: str) -> tuple:
        """What the project says of an image: a parked document is stale once it changes."""
        return (self.project.state(rel), self.project.image_model(rel)) if self.project else ()

    def reopen(self, rel: str, shape: tuple[int, int]) -> tuple[MaskDocument, str] | None:
        """(document, state its history began in) of ``rel`` without reading its files: its
        parked undo history, or a prediction placed for it that may not be on disk yet."""
        parked = self.histories.take(rel, shape, self._record(rel))
        if parked is not None:
            return parked.document, parked.opened_state
        fresh = self._fresh.get(rel)
        project = self.project
        if fresh is None or project is None or fresh.labels.shape != tuple(shape) \
                or project.state(rel) != "predicted" or project.image_model(rel) != fresh.model:
            return None
        document = MaskDocument(fresh.labels, project.classes)
        document.keep_model_output(fresh.labels, fresh.confidence, fresh.rankings)
        return document, project.state(rel)

    def show(self, rel: str, document: MaskDocument | None, opened_state: str | None = None) -> None:
        """Make ``rel`` the current image with ``document`` (None: it could not be opened, the
        list still moves on from it); the previous document is parked with its history."""
        self.close_document()
        self.current = rel
        self.document = document
        if document is not None:
            document.add_listener(self._labels_changed)
            self._opened_state = opened_state or self.project.state(rel)
        self.events.emit("image_opened", rel)

    def close_document(self, park: bool = True) -> None:
        """No current image any more; its document keeps its history (``park``) for later."""
        doc = self.document
        if doc is not None:
            doc.remove_listener(self._labels_changed)
            if park and self.current is not None and self.project is not None:
                self.histories.park(self.current, doc, self._opened_state, self._record(self.current))
        self.document = None
        self.current = None

    def discard_document(self) -> str | None:
        """Forget the current document unsaved and its history (its mask file changed on disk);
        returns the image, to be opened again from its files."""
        rel = self.current
        if self.document is not None:
            self.document.remove_listener(self._labels_changed)
        self.document = None
        self.current = None
        if rel is not None:
            self.histories.take(rel, (0, 0), ())  # voids what was parked
        return rel

    def _labels_changed(self, rect) -> None:
        self.events.emit("labels_changed", rect)
        doc = self.document
        if doc is not None and not doc.in_stroke and doc.dirty and (doc.person_changed or doc.at_opening):
            # a person's change: the list says "edited" when the stroke ends, not at the autosave
            # (a model's output moves the state itself, in apply_prediction)
            self._state_follows_labels()

    def _state_follows_labels(self) -> None:
        """The open image's state as its labels make it now
        (:func:`~gcnet_core.project.states.after_change`); the mask is written by :meth:`save_current`."""
        doc, project, rel = self.document, self.project, self.current
        new_state = image_states.after_change(
            self._opened_state, at_opening=doc.at_opening, person_changed=doc.person_changed,
            edited_pixels=bool(doc.edited.any()), labelled=bool((doc.labels != IGNORE_INDEX).any()))
        if new_state != project.state(rel):
            self._set_state(rel, new_state)

    def save_current(self) -> bool:
        """Queue the current mask (if changed) and the project file for writing; the image's
        state follows the change (:func:`~gcnet_core.project.states.after_change`)."""
        doc, project, rel = self.document, self.project, self.current
        if doc is None or project is None or rel is None or not doc.dirty:
            return False
        self._state_follows_labels()
        self.writer.save_document(project, rel, doc)
        doc.mark_clean()
        self.save_project()
        return True

    # ================================================================== the rule
    def person_at_work(self, rel: str | None = None) -> bool:
        """A person is working on ``rel`` (default: the current image): it is open and holds
        their edits, a change of theirs or a stroke being drawn."""
        doc = self.document
        if doc is None or (rel is not None and rel != self.current):
            return False
        return doc.person_changed or doc.in_stroke or bool(doc.edited.any())

    def permission(self, rel: str, *, asked: bool = False, made_with: str | None = None,
                   wanted: str | None = None) -> Permission:
        """The rule's answer for a machine result on image ``rel`` (see
        :func:`~gcnet_core.project.overwrite.may_overwrite` for ``asked``, ``made_with`` and
        ``wanted``). For the open image its document's edited pixels count; for another image
        the pixels edited on disk are checked where its file is written."""
        if self.project is None:
            return Permission("no project is open")
        state = self.project.state(rel)
        if rel == self.current and self.document is not None:
            return may_overwrite(self.document.edited, state=state, asked=asked, busy=self.person_at_work(),
                                 made_with=made_with, wanted=wanted)
        return may_overwrite(None, state=state, asked=asked, made_with=made_with, wanted=wanted)

    # ================================================================== predictions
    def prediction(self, labels: np.ndarray, confidence: np.ndarray | None, rankings, classes: ClassSet,
                   model: str | None, preview: bool = False) -> Prediction:
        """A model's output (values index ``classes``) in the project's class ids; a project with
        nothing labelled yet takes the model's classes first (:meth:`adopt_model_classes`)."""
        self.adopt_model_classes(classes)
        lut = model_lut(classes, self.project.classes, self.model_classes)
        stored = None if preview else StoredPrediction(labels, confidence, rankings, tuple(classes.names), model)
        uncertainty = None if preview or confidence is None else mean_uncertainty(confidence)
        return Prediction(lut[labels], confidence, rankings.remapped(lut) if rankings is not None else None,
                          model, stored, uncertainty, preview)

    def apply_prediction(self, rel: str, prediction: Prediction, *, asked: bool = False,
                         wanted: str | None = None) -> Permission:
        """Give image ``rel`` a model's labels where the rule allows (never a person's edited
        pixels): the open image in its document (refused: the output is kept aside for the
        model-aware tools), another image in its mask file. A full result is kept (sidecar,
        uncertainty) and moves a new image to predicted. Returns the rule's answer."""
        if self.project is None:
            return Permission("no project is open")
        permission = self.permission(rel, asked=asked, made_with=prediction.model, wanted=wanted)
        if rel == self.current and self.document is not None:
            self._apply_to_document(prediction, permission)
        elif permission and not prediction.preview:
            self._place(rel, prediction)
        return permission

    def _apply_to_document(self, prediction: Prediction, permission: Permission) -> None:
        doc, rel = self.document, self.current
        if permission:
            doc.set_prediction(prediction.labels, prediction.confidence, rankings=prediction.rankings,
                               preview=prediction.preview)
        elif not prediction.preview:
            doc.keep_model_output(prediction.labels, prediction.confidence, prediction.rankings)
        self.events.emit("model_output_changed")
        if prediction.preview:
            return
        self._keep(rel, prediction)
        state = self.project.state(rel)
        if permission and state in image_states.MODEL_STATES:  # the prediction's model is recorded
            self._set_state(rel, image_states.after_prediction(state), prediction.model)
        if permission:
            self.save_current()

    def _place(self, rel: str, prediction: Prediction) -> None:
        """An image that is not open: its mask file on the writer, its record at once."""
        project, state = self.project, self.project.state(rel)
        labels, classes = prediction.labels, project.classes
        edited_on_disk = project.edited_path(rel).exists()
        self.writer.submit(lambda: place_labels(project, rel, labels, classes, state=state), None,
                           lambda message: self.tell(f"Could not store the mask of {rel}: {message}", error=True))
        self._keep(rel, prediction)
        self._set_state(rel, image_states.after_prediction(state), prediction.model)
        self.save_project()
        if not edited_on_disk:  # what the file will hold, for opening it before it is written
            self._fresh[rel] = prediction
            while len(self._fresh) > self.fresh_limit:
                self._fresh.popitem(last=False)

    def _keep(self, rel: str, prediction: Prediction) -> None:
        """The prediction's sidecar (confidence, rankings, model) and uncertainty."""
        if prediction.stored is not None:
            project, stored = self.project, prediction.stored
            self.writer.submit(lambda: project.write_prediction(rel, stored))
        self.record_uncertainty(rel, prediction.uncertainty)

    def place_staged(self, rel: str, staged: Path, staged_prediction: Path | None, *, model: str | None,
                     classes: ClassSet | None, uncertainty: float | None = None,
                     states: tuple[str, ...] = image_states.MODEL_STATES) -> bool:
        """A batch result (a mask ``gcnet predict`` staged, with its sidecar) goes into place on
        the writer when the rule allows and the image is still in one of ``states``; the open
        image follows if nobody touched it. Returns False when it was dropped at once."""
        project = self.project
        if project is None:
            self.writer.submit(lambda: discard(staged, staged_prediction))
            return False
        if not self._batch_may_replace(rel, states):
            self.writer.submit(lambda: discard(staged, staged_prediction))  # a person got there first
            return False
        if classes is not None:
            self.adopt_model_classes(classes)
        lut = None if classes is None or classes.names == project.classes.names \
            else model_lut(classes, project.classes, self.model_classes)  # e.g. a class was removed: names
        state, target_classes = project.state(rel), project.classes

        def placed(permission: Permission) -> None:
            if not permission or self.project is not project:
                return
            if self._batch_may_replace(rel, states):  # nobody started on it while the file moved
                self._set_state(rel, "predicted", model)
            self.record_uncertainty(rel, uncertainty)
            self.events.emit("project_changed")
            doc = self.document
            if rel == self.current and doc is not None and not self.person_at_work() and not doc.dirty:
                self.events.emit("reload_wanted", rel)

        def place() -> Permission:  # on the writer thread
            return place_staged(project, rel, staged, staged_prediction, target_classes, lut, state=state)

        self.writer.submit(place, placed, lambda message: self.tell(f"Could not store the mask of {rel}: {message}",
                                                                    error=True))
        return True

    def _batch_may_replace(self, rel: str, states: tuple[str, ...]) -> bool:
        """A batch result may go into ``rel``'s file: the rule allows, the image is one the
        batch targets, and no open document holds changes its next save would write over it."""
        unsaved = rel == self.current and self.document is not None and self.document.dirty
        return self.project.state(rel) in states and bool(self.permission(rel)) and not unsaved

    def batch_targets(self, rels: Iterable[str], states: tuple[str, ...]) -> list[str]:
        """The images among ``rels`` a batch over ``states`` may segment."""
        return [rel for rel in rels if self._batch_may_replace(rel, states)]

    # ================================================================== live adaptation
    def apply_relabel(self, rel: str, labels: np.ndarray) -> Permission:
        """Live adaptation's labels for a pre-segmented image ``rel`` (project ids, re-labelled
        from its cached features) where the rule allows, as a prediction goes (never a person's
        edited pixels, a finished image or one being edited); the model output the tools read
        (confidence, rankings, sidecar), the state and the model recorded stay the network's."""
        project = self.project
        if project is None:
            return Permission("no project is open")
        if project.state(rel) != "predicted":  # a new image has no model's mask to improve on
            return Permission(f"it is {image_states.TITLES[project.state(rel)]}, not pre-segmented")
        permission = self.permission(rel)
        if not permission:
            return permission
        if rel == self.current and self.document is not None:
            doc = self.document
            if doc.shape != labels.shape:
                return Permission("its labels do not fit the image")
            if not np.array_equal(doc.labels, np.where(doc.edited, doc.labels, labels)):
                doc.set_prediction(labels, doc.confidence, rankings=doc.rankings)
                self.save_current()
            return permission
        state, classes = project.state(rel), project.classes
        self.writer.submit(lambda: place_labels(project, rel, labels, classes, state=state), None,
                           lambda message: self.tell(f"Could not store the mask of {rel}: {message}", error=True))
        self.histories.take(rel, (0, 0), ())  # a parked document holds the labels from before
        fresh = self._fresh.get(rel)
        if fresh is not None:
            self._fresh[rel] = replace(fresh, labels=labels)
        return permission

    def follow_strokes(self, labels: np.ndarray, token: object) -> bool:
        """The stroke-scale loop's labels for the open image: its pixels nobody painted take
        them as part of the stroke's undo step (``token``: the document's ``last_step`` when the
        stroke ended; a newer step or an undo meanwhile drops them). Returns whether any changed."""
        doc = self.document
        return doc is not None and doc.shape == labels.shape and doc.join_last_step(labels, token) is not None

    # ================================================================== classes
    def nothing_labelled(self) -> bool:
        """No image has labels yet and the open one has no person's work."""
        recorded = all(record["state"] == "new" for _rel, record in self.project.records())
        return recorded and not self.person_at_work()

    def adopt_model_classes(self, classes: ClassSet) -> None:
        """A project with nothing labelled yet takes the classes of the model that labels it."""
        if self.project is None or classes.names == self.project.classes.names:
            return
        if self.nothing_labelled():
            self.set_classes(classes, renumbered=True)
            return
        missing = sum(1 for n in classes.names if n not in self.project.classes.names)
        if missing:
            self.tell(f"{missing} of the model's classes are not in this project: they become ignore")

    def adopt_new_project_classes(self, classes: ClassSet) -> None:
        """A folder that is not a project yet takes the classes of the model chosen for it
        (nothing is written: a folder becomes a project when something is saved)."""
        project, doc = self.project, self.document
        if project is None or project.path.exists() or classes.names == project.classes.names:
            return
        project.classes = classes
        if doc is not None and not doc.dirty and not doc.can_undo:
            doc.classes = classes
        self.events.emit("classes_changed", classes, False)

    def set_classes(self, classes: ClassSet, renumbered: bool = False) -> None:
        """The project's classes become ``classes`` (the masks already use their numbering)."""
        if self.project is None:
            return
        self.project.classes = classes
        self.histories.clear()  # parked documents hold the old class set
        if self.document is not None:
            self.document.classes = classes
        self.events.emit("classes_changed", classes, renumbered)
        self.save_project()

    def rename_class(self, index: int, name: str) -> str | None:
        """Rename class ``index``; returns why not, or None."""
        classes = self.project.classes if self.project else None
        if classes is None or not 0 <= index < len(classes):
            return None
        if name in classes.names:
            return f"There is already a class named {name!r}."
        names = list(classes.names)
        names[index] = name
        self.set_classes(ClassSet(tuple(names), classes.palette))
        return None

    def add_class(self, name: str, colour: tuple[int, int, int]) -> str | None:
        """Add a class at the end; returns why not, or None."""
        classes = self.project.classes if self.project else None
        if classes is None:
            return None
        if name in classes.names:
            return f"There is already a class named {name!r}."
        if len(classes) >= IGNORE_INDEX:
            return "A project holds at most 255 classes."
        self.set_classes(ClassSet(classes.names + (name,), classes.palette + (tuple(colour),)))
        return None

    def recolour_class(self, index: int, colour: tuple[int, int, int]) -> None:
        classes = self.project.classes if self.project else None
        if classes is None or not 0 <= index < len(classes):
            return
        palette = list(classes.palette)
        palette[index] = tuple(int(c) for c in colour)
        self.set_classes(ClassSet(classes.names, tuple(palette)))

    def remove_class(self, index: int, done: Callable[[int], None], failed: Callable[[str], None]) -> bool:
        """Drop class ``index``: its pixels become ignore in every saved mask and the classes
        after it are renumbered, on the writer after every save queued before. The current
        image is closed meanwhile (nothing is edited in the old numbering); ``done(count)``
        once the session has the new classes, ``failed(message)`` when no mask was changed."""
        project = self.project
        if project is None or not 0 <= index < len(project.classes) or len(project.classes) <= 1:
            return False
        self.save_current()
        classes, lut = without_class(project.classes, index)
        self.close_document()
        renumbered = Project(project.root, classes)

        def finished(count: int) -> None:
            if self.project is project:
                self.set_classes(classes, renumbered=True)
            done(count)

        self.writer.submit(lambda: renumber_masks(renumbered, lut, classes), finished, failed)
        return True
