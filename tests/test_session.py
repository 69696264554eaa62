"""The annotation session and the one rule for a person's work, without Qt: which pixels of
which image a model's result may change, and what applying, placing and saving do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.model.classes import ClassSet
from gcnet_core.project.document import MaskDocument
from gcnet_core.project.events import Events
from gcnet_core.project.overwrite import may_overwrite
from gcnet_core.project.predictions import load_prediction
from gcnet_core.project.session import AnnotationSession
from gcnet_core.project.store import Project

CLASSES = ClassSet(("road", "car", "tree"), ((128, 64, 128), (0, 0, 142), (107, 142, 35)))
SHAPE = (12, 16)


class ImmediateWriter:
    """The project's writer, writing at once on this thread (the app's runs on its own)."""

    def __init__(self) -> None:
        self.documents: list[tuple[str, np.ndarray]] = []

    def submit(self, job, done=None, failed=None) -> None:
        result = job()
        if done is not None:
            done(result)

    def save_document(self, project, rel, document) -> None:
        write_index_mask(project.label_path(rel), document.labels, project.classes)
        self.documents.append((rel, document.labels.copy()))

    def save_project(self, project) -> None:
        project.save()


@pytest.fixture
def session(tmp_path) -> AnnotationSession:
    made = AnnotationSession(ImmediateWriter())
    made.open_project(Project.create(tmp_path / "p", CLASSES))
    return made


def recorded(session: AnnotationSession, *names: str) -> list[tuple]:
    seen: list[tuple] = []
    for name in names:
        session.events.connect(name, lambda *args, name=name: seen.append((name, *args)))
    return seen


def open_blank(session: AnnotationSession, rel: str = "a.png") -> MaskDocument:
    doc = MaskDocument.blank(*SHAPE, session.project.classes)
    session.show(rel, doc)
    return doc


def model_output(session: AnnotationSession, value: int = 2, model: str = "v1", preview: bool = False):
    labels = np.full(SHAPE, value, np.uint8)
    confidence = np.full(SHAPE, 0.75, np.float32)
    return session.prediction(labels, confidence, None, CLASSES, model, preview=preview)


# ---------------------------------------------------------------------------- the rule alone
def test_the_rule_keeps_edited_pixels_and_refuses_finished_busy_and_stale_results():
    edited = np.zeros(SHAPE, bool)
    edited[2:4, 3:6] = True
    allowed = may_overwrite(edited, state="predicted")
    assert allowed and np.array_equal(allowed.protected, edited)
    assert np.array_equal(allowed.writable(SHAPE), ~edited)
    assert allowed.writable(SHAPE, (2, 4, 3, 7)).tolist() == [[False, False, False, True]] * 2
    assert may_overwrite(None, state="new").protected is None  # nothing a person made: all of it

    for state in ("corrected", "exported"):
        refused = may_overwrite(None, state=state)
        assert not refused and state in refused.refused
        assert not refused.writable(SHAPE).any()
        asked = may_overwrite(edited, state=state, asked=True)  # the person said yes: never their pixels
        assert asked and np.array_equal(asked.protected, edited)

    assert not may_overwrite(None, state="new", busy=True)
    assert may_overwrite(None, state="new", busy=True, asked=True)
    stale = may_overwrite(None, state="new", made_with="v1", wanted="v2")
    assert not stale and "v1" in stale.refused and "v2" in stale.refused
    assert may_overwrite(None, state="new", made_with="v2", wanted="v2")
    assert not may_overwrite(None, state="new", asked=True, made_with="v1", wanted="v2")  # stale stays stale
    region = may_overwrite(edited)  # a region tool on the open image: only the edited pixels limit it
    assert region and np.array_equal(region.protected, edited)


def test_events_refuse_unknown_names():
    events = Events(["a"])
    heard = []
    events.connect("a", heard.append)
    events.emit("a", 1)
    events.disconnect("a", heard.append)
    events.emit("a", 2)
    assert heard == [1]
    with pytest.raises(KeyError, match="no event 'b'"):
        events.connect("b", print)


# ---------------------------------------------------------------------------- the open image
def test_apply_prediction_on_an_untouched_image_labels_it_all_and_keeps_the_prediction(session):
    seen = recorded(session, "state_changed", "uncertainty_changed", "model_output_changed")
    doc = open_blank(session)
    prediction = model_output(session)
    assert session.apply_prediction("a.png", prediction)
    assert (doc.labels == 2).all() and doc.prediction is not None
    project = session.project
    assert project.state("a.png") == "predicted" and project.image_model("a.png") == "v1"
    assert project.uncertainty("a.png") == pytest.approx(0.25)
    assert (read_index_mask(project.label_path("a.png")) == 2).all()  # saved
    assert load_prediction(project.prediction_path("a.png"), SHAPE).model == "v1"  # the sidecar too
    assert ("state_changed", "a.png", "predicted") in seen and ("model_output_changed",) in seen
    assert Project.open(project.root).state("a.png") == "predicted"


def test_apply_prediction_on_an_image_with_edits_changes_only_the_unedited_pixels(session):
    doc = open_blank(session)
    doc.paint_disc((4, 4), (9, 4), 1.5, 1)  # a person painted a car
    painted = doc.edited.copy()
    before = doc.labels.copy()
    refused = session.apply_prediction("a.png", model_output(session))  # background work: not asked
    assert not refused and "working on it" in refused.refused
    assert np.array_equal(doc.labels, before) and doc.prediction is not None  # kept aside for the tools
    assert session.apply_prediction("a.png", model_output(session), asked=True)  # the person said yes
    assert (doc.labels[painted] == 1).all() and (doc.labels[~painted] == 2).all()
    assert session.project.state("a.png") == "edited"  # saved with the person's pixels in it


def test_a_preview_is_shown_but_never_kept(session):
    doc = open_blank(session)
    assert session.apply_prediction("a.png", model_output(session, preview=True))
    assert doc.preview and (doc.labels == 2).all()
    assert session.project.state("a.png") == "new" and not session.project.prediction_path("a.png").exists()


def test_a_corrected_image_is_left_alone_unless_the_person_asks(session):
    doc = open_blank(session)
    doc.paint_disc((1, 1), None, 1, 0)
    session.mark_done("a.png", True)
    assert session.project.state("a.png") == "corrected"
    painted = doc.labels.copy()
    assert not session.apply_prediction("a.png", model_output(session))
    assert np.array_equal(doc.labels, painted)
    assert session.apply_prediction("a.png", model_output(session), asked=True)
    assert (doc.labels[doc.edited] == 0).all() and (doc.labels[~doc.edited] == 2).all()
    assert session.project.state("a.png") == "corrected"


def test_done_is_the_persons_word_and_toggles_back(session):
    seen = recorded(session, "state_changed", "uncertainty_changed")
    doc = open_blank(session)
    session.toggle_done()
    assert session.project.state("a.png") == "new"  # nothing labelled: nothing to call done
    session.apply_prediction("a.png", model_output(session))
    assert session.project.state("a.png") == "predicted" and session.project.uncertainty("a.png") == 0.25
    session.toggle_done()
    assert session.project.state("a.png") == "corrected"
    assert session.project.uncertainty("a.png") is None  # a person's mask now, not the model's
    session.toggle_done()
    assert session.project.state("a.png") == "predicted"  # no pixel of theirs: pre-segmented again
    doc.paint_disc((1, 1), None, 1, 0)
    assert session.save_current() and session.project.state("a.png") == "edited"
    session.toggle_done()
    session.toggle_done()
    assert session.project.state("a.png") == "edited"
    assert ("uncertainty_changed", "a.png", None) in seen and ("state_changed", "a.png", "corrected") in seen
    session.mark_done("b.png", True)  # not open, no mask file
    assert session.project.state("b.png") == "new"


def test_saving_follows_the_state_rules(session):
    doc = open_blank(session)
    session.apply_prediction("a.png", model_output(session))
    assert session.project.state("a.png") == "predicted"
    doc.paint_disc((1, 1), None, 1, 0)
    assert session.save_current() and session.project.state("a.png") == "edited"
    doc.undo()
    assert session.save_current() and session.project.state("a.png") == "predicted"
    assert not session.save_current()  # nothing changed since


# ---------------------------------------------------------------------------- other images
def test_a_background_result_fills_a_new_image_and_can_be_reopened_before_it_is_written(session):
    open_blank(session, "a.png")
    assert session.apply_prediction("b.png", model_output(session, value=1), wanted="v1")
    project = session.project
    assert project.state("b.png") == "predicted" and (read_index_mask(project.label_path("b.png")) == 1).all()
    reopened = session.reopen("b.png", SHAPE)
    assert reopened is not None and (reopened[0].labels == 1).all() and reopened[1] == "predicted"
    assert session.reopen("b.png", (3, 3)) is None  # another size: from its files


def test_a_background_result_keeps_the_pixels_edited_on_disk(session):
    project = session.project
    saved = np.zeros(SHAPE, np.uint8)
    edited = np.zeros(SHAPE, np.uint8)
    edited[:, :4] = 255  # a person's pixels, saved; the image was then marked "not done"
    write_index_mask(project.label_path("b.png"), saved, CLASSES)
    write_index_mask(project.edited_path("b.png"), edited, CLASSES)
    project.set_state("b.png", "predicted", "v0")
    assert session.apply_prediction("b.png", model_output(session, value=2))
    labels = read_index_mask(project.label_path("b.png"))
    assert (labels[:, :4] == 0).all() and (labels[:, 4:] == 2).all()
    assert session.reopen("b.png", SHAPE) is None  # the file, not the model's labels, is what it holds


def test_stale_and_finished_images_are_refused(session):
    project = session.project
    write_index_mask(project.label_path("c.png"), np.zeros(SHAPE, np.uint8), CLASSES)
    project.set_state("c.png", "corrected")
    before = project.label_path("c.png").read_bytes()
    assert not session.apply_prediction("c.png", model_output(session))
    assert project.label_path("c.png").read_bytes() == before
    stale = session.apply_prediction("d.png", model_output(session, model="v1"), wanted="v2")
    assert not stale and not project.label_path("d.png").exists() and project.state("d.png") == "new"


def staged_mask(tmp_path: Path, value: int) -> Path:
    path = tmp_path / "staging" / f"m{value}.png"
    write_index_mask(path, np.full(SHAPE, value, np.uint8), CLASSES)
    return path


def test_batch_results_go_through_the_rule(session, tmp_path):
    project = session.project
    assert session.place_staged("b.png", staged_mask(tmp_path, 1), None, model="ade", classes=CLASSES)
    assert (read_index_mask(project.label_path("b.png")) == 1).all()
    assert project.state("b.png") == "predicted" and project.image_model("b.png") == "ade"

    project.set_state("c.png", "corrected")
    staged = staged_mask(tmp_path, 2)
    assert not session.place_staged("c.png", staged, None, model="ade", classes=CLASSES)
    assert not project.label_path("c.png").exists() and not staged.exists()  # dropped, not placed

    seen = recorded(session, "reload_wanted")
    doc = open_blank(session, "e.png")
    assert session.place_staged("e.png", staged_mask(tmp_path, 2), None, model="ade", classes=CLASSES)
    assert seen == [("reload_wanted", "e.png")]  # nobody touched it: the window shows the new file
    doc.paint_disc((2, 2), None, 1, 0)
    assert not session.place_staged("e.png", staged_mask(tmp_path, 1), None, model="ade", classes=CLASSES)
    assert session.batch_targets(["b.png", "c.png", "e.png", "f.png"], ("new", "predicted")) == ["b.png", "f.png"]


def test_a_batch_result_in_other_class_ids_follows_the_names(session, tmp_path):
    model_classes = ClassSet(("tree", "road"), ((107, 142, 35), (128, 64, 128)))
    open_blank(session, "a.png")
    session.project.set_state("a.png", "corrected")  # something is labelled: the project keeps its classes
    assert session.place_staged("b.png", staged_mask(tmp_path, 0), None, model="m", classes=model_classes)
    assert (read_index_mask(session.project.label_path("b.png")) == 2).all()  # the model's 0 is our tree


# ---------------------------------------------------------------------------- classes
def test_a_project_with_nothing_labelled_takes_the_models_classes(session):
    seen = recorded(session, "classes_changed")
    doc = open_blank(session)
    other = ClassSet(("sky", "grass"), ((70, 130, 180), (152, 251, 152)))
    prediction = session.prediction(np.ones(SHAPE, np.uint8), None, None, other, "m")
    assert session.project.classes == other and doc.classes == other and seen == [("classes_changed", other, True)]
    assert (prediction.labels == 1).all()
    doc.paint_disc((1, 1), None, 1, 0)  # a person's work: the project keeps its classes from now on
    messages = recorded(session, "status")
    session.prediction(np.ones(SHAPE, np.uint8), None, None, CLASSES, "m")
    assert session.project.classes == other and "not in this project" in messages[0][1]


def test_class_edits_say_why_they_are_refused(session):
    assert session.rename_class(1, "road") == "There is already a class named 'road'."
    assert session.rename_class(1, "bus") is None and session.project.classes.names[1] == "bus"
    assert session.add_class("sky", (1, 2, 3)) is None and session.project.classes.names[-1] == "sky"
    session.recolour_class(0, (9, 9, 9))
    assert session.project.classes.palette[0] == (9, 9, 9)
    assert Project.open(session.project.root).classes == session.project.classes


def test_removing_a_class_renumbers_the_saved_masks(session):
    doc = open_blank(session)
    doc.paint_disc((3, 3), None, 2, 2)
    session.save_current()
    counts = []
    assert session.remove_class(0, counts.append, pytest.fail)
    assert counts == [1] and session.document is None
    assert session.project.classes.names == ("car", "tree")
    assert (read_index_mask(session.project.label_path("a.png"))[3, 3]) == 1


def test_imported_and_exported_images_forget_the_models_uncertainty(session):
    project = session.project
    project.set_state("b.png", "predicted")
    session.record_uncertainty("b.png", 0.4)
    project.set_state("c.png", "corrected")
    session.record_uncertainty("c.png", 0.3)  # a done image takes none
    assert project.uncertainty("b.png") == 0.4 and project.uncertainty("c.png") is None
    seen = recorded(session, "uncertainty_changed")
    imported = Project(project.root, project.classes)  # the project as an import left it
    imported.set_state("b.png", "corrected")
    assert session.labels_imported([project.root / "b.png"], imported) == 1
    assert project.state("b.png") == "corrected" and project.uncertainty("b.png") is None
    assert seen == [("uncertainty_changed", "b.png", None)]  # the file list drops its number
    project.set_state("d.png", "edited")
    project.set_uncertainty("d.png", 0.2)
    session.mark_exported([project.root / "d.png"])  # not done: exporting leaves it as it is
    assert project.state("d.png") == "edited" and project.uncertainty("d.png") == 0.2


def test_undoing_every_stroke_after_not_done_gives_back_the_opening_state(session):
    doc = open_blank(session)
    session.apply_prediction("a.png", model_output(session))
    session.show("a.png", doc, "predicted")  # as opened: pre-segmented
    doc.paint_disc((1, 1), None, 1, 0)
    session.mark_done("a.png", True)
    session.mark_done("a.png", False)
    assert session.project.state("a.png") == "edited"
    doc.undo()
    assert session.save_current() and session.project.state("a.png") == "predicted"  # no stroke left
