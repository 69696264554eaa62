"""The ways of working compared, and the rule that adding tools never makes a way dearer.

| way | starts from | tools |
| --- | --- | --- |
| polygons | an empty mask | polygon |
| manual | the pre-segmentation's labels (no model output kept) | polygon, brush, flood fill, snap from the stroke alone |
| model | the pre-segmentation with the model's output | manual's, pick (K), next likely class (N), snap with the model's labels and rankings |

Each way names the way it extends: a person with more tools can always work as with fewer.
So over an image set a way costs what it costs or, when that is dearer, what the way it
extends costs (:func:`worked_as`); the figures say when that happened.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from gcnet_core.project.document import MaskDocument
from gcnet_core.model.classes import IGNORE_INDEX, ClassSet

from .annotator import Annotator, Effort
from .model import Prediction


@dataclasses.dataclass(frozen=True)
class Way:
    name: str
    tools: tuple[str, ...]
    from_prediction: bool  # False: from an empty mask
    model_output: bool  # the document keeps the model's output (rankings for K/N, the snap's prior)
    extends: str | None = None

    def with_tool(self, tool: str, model_output: bool | None = None) -> Way:
        """This way plus ``tool``: a way that extends this one."""
        return Way(f"{self.name}+{tool}", self.tools + (tool,), self.from_prediction,
                   self.model_output if model_output is None else model_output, self.name)


POLYGONS = Way("polygons", ("polygon",), from_prediction=False, model_output=False)
MANUAL = Way("manual", ("polygon", "brush", "fill", "snap"), True, False, extends="polygons")
MODEL = Way("model", MANUAL.tools + ("pick", "next"), True, True, extends="manual")
WAYS = {w.name: w for w in (POLYGONS, MANUAL, MODEL)}


# The annotator weighs a tool by applying it and undoing it (``Annotator._weigh``): a history
# that drops its oldest step once full (the app keeps 200) would leave a weighed edit applied
# and unpaid, and make an edit look as if it changed nothing.
WHOLE_HISTORY = {"undo_limit": 1_000_000, "undo_max_bytes": 1 << 62}


def document(way: Way, prediction: Prediction, classes: ClassSet) -> MaskDocument:
    """The document a way starts from."""
    if not way.from_prediction:
        return MaskDocument(np.full(prediction.labels.shape, IGNORE_INDEX, np.uint8), classes, **WHOLE_HISTORY)
    doc = MaskDocument(prediction.labels, classes, **WHOLE_HISTORY)
    if way.model_output:
        doc.keep_model_output(prediction.labels, prediction.confidence, prediction.rankings)
    return doc


def annotate(rgb: np.ndarray, gt: np.ndarray, prediction: Prediction, way: Way, classes: ClassSet,
             seed: int = 0) -> tuple[Effort, np.ndarray]:
    """(effort, finished labels) of one image worked the ``way`` (``seed``: GrabCut's)."""
    doc = document(way, prediction, classes)
    effort = Annotator(rgb, gt, doc, way.tools, seed).run()
    return effort, doc.labels.copy()


def worked_as(seconds: dict[str, float], ways: dict[str, Way]) -> dict[str, str]:
    """For each way (``ways`` in order, each after the way it extends), the way a person
    works it as over the set: itself, or the cheaper way it extends."""
    chosen: dict[str, str] = {}
    for name, way in ways.items():
        base = chosen.get(way.extends) if way.extends else None
        chosen[name] = base if base is not None and seconds[base] < seconds[name] else name
    return chosen
