"""The rules of an image's annotation state: new, pre-segmented, edited, corrected, exported.

One place decides what a save, a prediction, a batch result, a person's "done" or an export
does to the state, so the window, the command line and the tests agree. The rules::

    new ──prediction──▶ predicted ──a person edits──▶ edited
                                                         │  ▲
                                         Mark as Done ── │  │ ── Mark as Done again (not done)
                                                         ▼  │
                        exported ◀──export────────── corrected (done; edits keep it done)

An edited exported image is corrected again (it needs a new export); undoing every change
gives back the state the image was opened in (new when nothing is labelled any more).

"corrected" is the one state a person gives explicitly (Mark as Done): it says "this mask
is right". Only then does an image count as done, get trained on and exported as a
corrected image (:data:`DONE_STATES`); strokes alone make it "edited". A state is plain data
(a string stored in ``gcnet-project.json``); nothing here touches files.
"""

from __future__ import annotations

STATES = ("new", "predicted", "edited", "corrected", "exported")
TITLES = {"new": "new", "predicted": "pre-segmented", "edited": "edited", "corrected": "done",
          "exported": "exported"}
DONE_STATES = ("corrected", "exported")  # a person says the mask is right: counted as done, trained on
MODEL_STATES = ("new", "predicted")  # what a model run may (re)write
PERSON_STATES = ("edited",) + DONE_STATES  # a person's work is in the mask


def has_human_work(state: str, edited_pixels: bool = False) -> bool:
    """True when replacing the labels would lose a person's work (so ask first)."""
    return state in PERSON_STATES or edited_pixels


def replaceable_by_batch(states: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The subset of ``states`` a batch run may overwrite: never edited, corrected or exported."""
    return tuple(s for s in states if s in MODEL_STATES)


def keeps_uncertainty(state: str) -> bool:
    """Whether the model's uncertainty still describes an image in ``state``: not once a
    person said its mask is right (marked done, imported, exported): then it is their mask."""
    return state not in DONE_STATES


def after_prediction(state: str) -> str:
    """The state once a model's labels were applied to the image (edited pixels kept)."""
    return "predicted" if state == "new" else state


def after_export(state: str) -> str:
    """Exporting marks done (corrected) images exported; other states stay what they are."""
    return "exported" if state == "corrected" else state


def after_change(opened: str, *, at_opening: bool, person_changed: bool, edited_pixels: bool,
                 labelled: bool) -> str:
    """The state of an image whose mask changed since it was opened in state ``opened``.

    ``at_opening``: every change was undone (the mask is as it was opened): the opening
    state holds. ``person_changed``: some change still applied was made by a person (a
    stroke, a fill, ignoring low confidence), not by a model. ``edited_pixels``: the mask
    has pixels a person set. ``labelled``: some pixel is not ignore.

    A person's change makes a new or pre-segmented image edited (not done: only the person
    says that); a done image stays done, an edited exported one is done but needs a new
    export (corrected). Model changes only make a new image predicted, and an edited one whose
    person's changes are all undone predicted again; an image left with nothing labelled and
    no person's pixels is new again (undoing everything, the pre-segmentation included).
    """
    if opened not in STATES:
        raise ValueError(f"unknown state {opened!r}; expected one of {STATES}")
    if at_opening:
        return opened
    if person_changed or edited_pixels:
        return "corrected" if opened in DONE_STATES else "edited"
    if not labelled:
        return "new"
    return "predicted" if opened == "edited" else after_prediction(opened)  # nothing of theirs is left


def not_done(has_mask: bool, edited_pixels: bool) -> str:
    """What an image a person marks "not done" becomes: edited with pixels of theirs,
    pre-segmented with a mask, else new."""
    return "edited" if edited_pixels else "predicted" if has_mask else "new"

