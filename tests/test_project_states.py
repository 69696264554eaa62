"""The project's domain rules without Qt: image states and the model-to-project class mapping."""

from __future__ import annotations

import pytest

from gcnet_core.model.classes import DATASET_CLASSES, ClassSet, class_lut
from gcnet_core.project import states
from gcnet_core.project.store import STATES, Project


def change(opened, at_opening=False, person=False, edited=False, labelled=True):
    return states.after_change(opened, at_opening=at_opening, person_changed=person,
                               edited_pixels=edited, labelled=labelled)


def test_a_persons_change_makes_an_image_edited_not_done():
    for opened in ("new", "predicted", "edited"):
        assert change(opened, person=True) == "edited"
        assert change(opened, edited=True) == "edited"
    assert change("corrected", person=True) == "corrected"  # done stays done
    assert change("exported", edited=True) == "corrected"  # done, but it needs a new export


def test_model_output_makes_new_images_predicted_and_keeps_the_others():
    assert change("new") == "predicted"
    assert change("predicted") == "predicted"
    assert change("corrected") == "corrected"  # labels that came from elsewhere (an import)
    assert states.after_prediction("new") == "predicted"
    assert states.after_prediction("edited") == "edited"
    assert states.after_prediction("corrected") == "corrected"


def test_undoing_everything_gives_back_the_opening_state_or_new():
    assert change("new", at_opening=True, person=True, edited=True) == "new"
    assert change("exported", at_opening=True) == "exported"
    # the pre-segmentation was undone too, through a history that lost its bottom
    assert change("predicted", labelled=False) == "new"
    assert change("predicted", labelled=False, edited=True) == "edited"
    assert change("edited") == "predicted"  # marked not done, then every stroke undone: the model's labels


def test_only_done_images_count_as_done_and_not_done_keeps_a_persons_pixels():
    assert states.DONE_STATES == ("corrected", "exported")
    assert "edited" not in states.DONE_STATES and "edited" not in states.MODEL_STATES
    assert states.not_done(has_mask=True, edited_pixels=True) == "edited"
    assert states.not_done(has_mask=True, edited_pixels=False) == "predicted"
    assert states.not_done(has_mask=False, edited_pixels=False) == "new"
    assert [states.TITLES[s] for s in states.STATES] == ["new", "pre-segmented", "edited", "done", "exported"]


def test_the_models_uncertainty_is_kept_until_a_person_says_the_mask_is_right(tmp_path):
    assert [states.keeps_uncertainty(s) for s in states.STATES] == [True, True, True, False, False]
    project = Project(tmp_path, DATASET_CLASSES["voc"])
    project.set_state("a.png", "predicted")
    project.set_uncertainty("a.png", 0.3)
    project.set_state("a.png", "edited")
    assert project.uncertainty("a.png") == 0.3
    project.set_state("a.png", "corrected")  # marked done, imported
    assert project.uncertainty("a.png") is None
    project.set_state("a.png", "edited")  # not done again: the old number does not come back
    assert project.uncertainty("a.png") is None


def test_batches_never_replace_a_persons_work_and_exports_mark_done_images():
    assert states.replaceable_by_batch(states.STATES) == ("new", "predicted")
    assert states.has_human_work("corrected") and states.has_human_work("edited")
    assert states.has_human_work("new", edited_pixels=True)
    assert not states.has_human_work("predicted")
    assert [states.after_export(s) for s in STATES] == ["new", "predicted", "edited", "exported", "exported"]
    with pytest.raises(ValueError, match="unknown state"):
        change("done")


def test_the_project_file_accepts_exactly_these_states(tmp_path):
    project = Project(tmp_path, DATASET_CLASSES["voc"])
    for state in states.STATES:
        project.set_state("a.png", state)
        assert project.state("a.png") == state
    with pytest.raises(ValueError):
        project.set_state("a.png", "pre-segmented")  # a title, not a state


def test_class_lut_follows_renames_removals_and_other_datasets():
    voc = DATASET_CLASSES["voc"]
    names = list(voc.names)
    names[8] = "kitten"  # renamed
    del names[0]  # background removed: everything shifts down by one
    project = ClassSet(tuple(names) + ("unicorn",), voc.palette[1:] + ((1, 2, 3),))
    lut = class_lut(voc, project)
    assert lut[0] == 255 and lut[1] == 0 and lut[8] == 7 and lut[12] == 11 and lut[20] == 19
    renamed_only = ClassSet(("bg", "plane") + voc.names[2:], voc.palette)
    assert list(class_lut(voc, renamed_only)[:21]) == list(range(21))
    ade = class_lut(DATASET_CLASSES["ade20k"], voc)  # another dataset: by name only
    assert ade[12] == voc.names.index("person") and ade[0] == 255
