"""``gcnet adapt``: the live head fitted on a project's corrected images, written as a checkpoint.

The window's live adaptation without a window (:mod:`gcnet_core.adapt`): the features of the
corrected images missing from the project's cache are computed, the head is fitted and
scored on held-out images against the model as it is (a single corrected image: on its
held-out parts), and written (official layout, the project's classes in its order) only
when it scores better. Exit 1 with the reason when
there is nothing to learn from or the fit is not better; 2 for bad input.

``--progress jsonl`` events (one JSON object per line on stdout)::

    start    {project, corrected}
    progress {stage: features | score | fit, done, total}
    score    {held_out, held_out_parts, accuracy_before, accuracy_after, miou_before, miou_after, adopted}
    done     {adopted, out, summary, notes}
    error    {message}
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..adapt.guard import FOLDS, LEAVE_ONE_OUT_BELOW
from ..adapt.job import NothingToLearn, adapt_project
from ..adapt.publish import write_adapted_checkpoint
from ..api import init_model
from ..project.feature_cache import DEFAULT_DISK_MB, DEFAULT_MEMORY_MB, FeatureCache
from ..project.states import DONE_STATES
from ..project.store import Project, ProjectError
from ..weights.checkpoint import read_checkpoint
from .events import JsonLinesSink


def add_adapt_command(subparsers) -> None:
    """Register ``gcnet adapt`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("adapt", help="fit the live head on a project's corrected images and write it as "
                                              "a checkpoint")
    sub.add_argument("--project", required=True, metavar="DIR", help="an annotation project folder")
    sub.add_argument("--model", required=True, metavar="NAME", help="zoo model (1.x or 0.x config name)")
    sub.add_argument("--checkpoint", metavar="FILE", help="start from this file instead of the official one")
    sub.add_argument("--device", default="auto", help="where the missing features are computed: auto (CUDA if "
                                                      "present), cpu, cuda, cuda:N")
    sub.add_argument("--out", required=True, metavar="FILE.pth", help="the adapted checkpoint to write")
    sub.add_argument("--cache-mb", type=float, default=DEFAULT_DISK_MB, metavar="MB",
                     help=f"size limit of the project's feature cache on disk (default {DEFAULT_DISK_MB})")
    sub.add_argument("--progress", choices=("text", "jsonl"), default="text",
                     help="jsonl: one JSON event per line on stdout (start, progress, score, done) for programs")
    sub.set_defaults(func=cmd_adapt)


def cmd_adapt(args) -> int:
    events = JsonLinesSink() if args.progress == "jsonl" else None
    say = _Messages(events)
    try:
        project = Project.open(args.project)
    except ProjectError as error:
        return say.error(str(error), 2)
    if not project.path.is_file():
        return say.error(f"{args.project} is not an annotation project (no {project.path.name})", 2)
    out = Path(args.out)
    if not out.parent.is_dir():
        return say.error(f"cannot write {out}: the folder {out.parent} does not exist", 2)
    corrected = len(project.images_with_state(*DONE_STATES))
    say.event("start", project=str(project.root), corrected=corrected)
    model = init_model(args.model, args.checkpoint, device=args.device, precision="fp32", fast=False)
    cache = FeatureCache(project.features_root, memory_mb=DEFAULT_MEMORY_MB, disk_mb=args.cache_mb)
    try:
        result = adapt_project(project, model, cache, progress=say.progress)
    except NothingToLearn as reason:
        return say.error(str(reason), 1)
    for note in result.notes:
        say.text(f"note: {note}")
    before, after = result.score_before, result.score_after
    if before is None or after is None:  # nothing new for a head that saw everything: cannot happen here
        return say.error(result.summary, 1)
    say.event("score", held_out=result.held_out, held_out_parts=result.parts, accuracy_before=round(before.accuracy, 3),
              accuracy_after=round(after.accuracy, 3), miou_before=round(before.miou, 3),
              miou_after=round(after.miou, 3), adopted=result.adopted)
    if result.parts:
        say.text("held out: the two halves of a checkerboard over the one corrected image, each in turn (fitted on "
                 "one, scored on the other away from its edges)")
    else:
        say.text(f"held out: each of the {result.corrected} corrected images once "
                 f"({'leave-one-out' if result.corrected < LEAVE_ONE_OUT_BELOW else f'{FOLDS} folds'})")
    say.text(f"pixels right before: {before.accuracy:.1f} % (mIoU {before.miou:.1f} %), "
             f"after: {after.accuracy:.1f} % (mIoU {after.miou:.1f} %)")
    if not result.adopted:
        say.event("done", adopted=False, out=None, summary=result.summary, notes=result.notes)
        return say.error(f"not written: {result.summary}", 1)

    base_state = (read_checkpoint(model.checkpoint_path)[0] if model.checkpoint_path is not None
                  else model.network.state_dict())
    details = {"images": result.corrected, "held_out": result.held_out, "project": str(project.root),
               "accuracy_before": before.accuracy, "accuracy_after": after.accuracy,
               "miou_before": before.miou, "miou_after": after.miou}
    try:
        write_adapted_checkpoint(out, base_state, result.head, model.entry, model.classes.names, project.classes,
                                 details)
    except OSError as error:
        return say.error(f"cannot write {out}: {error.strerror or error}", 1)
    say.event("done", adopted=True, out=str(out), summary=result.summary, notes=result.notes)
    say.text(result.summary)
    say.text(f"written to {out} ({len(project.classes)} classes: {', '.join(project.classes.names)})")
    return 0


class _Messages:
    """Text for people (stdout, or stderr when stdout carries JSON lines) and the events."""

    def __init__(self, events: JsonLinesSink | None) -> None:
        self.events = events
        self._stage: str | None = None

    def event(self, name: str, **fields) -> None:
        if self.events is not None:
            self.events.emit(name, **fields)

    def text(self, line: str) -> None:
        print(line, file=sys.stderr if self.events is not None else sys.stdout, flush=True)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.event("progress", stage=stage, done=done, total=total)
        if self.events is None and stage != self._stage:
            self._stage = stage
            self.text({"features": "reading the corrected images' features…",
                       "score": "scoring on held-out images…", "fit": "fitting on every corrected image…"}
                      .get(stage, f"{stage}…"))

    def error(self, message: str, status: int) -> int:
        self.event("error", message=message)
        print(f"error: {message}", file=sys.stderr)
        return status


__all__ = ["add_adapt_command", "cmd_adapt"]
