"""The rules of an image's annotation state: new, pre-segmented, corrected, exported.

One place decides what a save, a prediction, a batch result or an export does to the
state, so the window, the command line and the tests agree. The rules::

    new ──prediction──▶ predicted ──a person edits──▶ corrected ──export──▶ exported
     ▲                                                    ▲                    │
     └── every change undone, nothing labelled ───────────┴──── edited again ──┘

A state is plain data (a string stored in ``gcnet-project.json``); nothing here touches
files.
"""

from __future__ import annotations

STATES = ("new", "predicted", "corrected", "exported")
TITLES = {"new": "new", "predicted": "pre-segmented", "corrected": "corrected", "exported": "exported"}
DONE_STATES = ("corrected", "exported")  # a person's work: counted as done, trained on
MODEL_STATES = ("new", "predicted")  # what a model run may (re)write


def has_human_work(state: str, edited_pixels: bool = False) -> bool:
    """True when replacing the labels would lose a person's work (so ask first)."""
    return state in DONE_STATES or edited_pixels


def replaceable_by_batch(states: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The subset of ``states`` a batch run may overwrite: never corrected or exported."""
    return tuple(s for s in states if s in MODEL_STATES)


def after_prediction(state: str) -> str:
    """The state once a model's labels were applied to the image (edited pixels kept)."""
    return "predicted" if state == "new" else state


def after_export(state: str) -> str:
    """Exporting marks corrected images exported; other states stay what they are."""
    return "exported" if state == "corrected" else state


def after_change(opened: str, *, at_opening: bool, person_changed: bool, edited_pixels: bool,
                 labelled: bool) -> str:
    """The state of an image whose mask changed since it was opened in state ``opened``.

    ``at_opening``: every change was undone (the mask is as it was opened): the opening
    state holds. ``person_changed``: some change still applied was made by a person (a
    stroke, a fill, ignoring low confidence), not by a model. ``edited_pixels``: the mask
    has pixels a person set. ``labelled``: some pixel is not ignore.

    A person's change makes it corrected (an edited exported image needs a new export);
    model changes only make a new image predicted; an image left with nothing labelled
    and no person's pixels is new again (undoing everything, the pre-segmentation included).
    """
    if opened not in STATES:
        raise ValueError(f"unknown state {opened!r}; expected one of {STATES}")
    if at_opening:
        return opened
    if person_changed or edited_pixels:
        return "corrected"
    if not labelled:
        return "new"
    return after_prediction(opened)


def not_done(has_mask: bool) -> str:
    """What an image a person marks "not done" becomes: pre-segmented with a mask, else new."""
    return "predicted" if has_mask else "new"
