"""Run by ``.refvenv-datumaro/bin/python``: load a dataset with datumaro and write what it read.

``python datumaro_read.py DATASET FORMAT OUT.npz``: every item's class mask (255 where no mask
covers a pixel, later annotations painted over earlier ones) under its id, each of its masks
under ``<id>#layers`` (N, H, W) with their labels under ``<id>#labels``, its image's pixels
under ``<id>#image``, and the label names under ``__names__``. Polygons are rasterised by datumaro's own ``polygons_to_masks``.
"""

import sys

import datumaro as dm
import numpy as np

dataset = dm.Dataset.import_from(sys.argv[1], sys.argv[2])
dataset.transform("polygons_to_masks")
names = [label.name for label in dataset.categories()[dm.AnnotationType.label]]
out = {"__names__": np.asarray(names)}
for item in dataset:
    masks = [a for a in item.annotations if a.type == dm.AnnotationType.mask]
    if not masks:
        continue
    canvas = np.full(masks[0].image.shape, 255, np.uint8)
    for mask in masks:
        canvas[mask.image.astype(bool)] = mask.label
    out[item.id] = canvas
    out[item.id + "#layers"] = np.stack([mask.image.astype(bool) for mask in masks])
    out[item.id + "#labels"] = np.asarray([mask.label for mask in masks])
    if item.media is not None and item.media.has_data:
        out[item.id + "#image"] = item.media.data  # its pixels as datumaro decodes them
np.savez(sys.argv[3], **out)
