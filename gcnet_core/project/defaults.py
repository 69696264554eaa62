"""Which zoo model a new project starts with.

Most folders people open are everyday photos, for which ADE20K's 150 classes fit and the
R50 entry is the quickest on a CPU (512 px short side). The Cityscapes entries suit street
scenes seen from a car, and run at 1024x2048: much slower on a CPU. So ADE20K R50 unless
the folder's path or most of its file names say street scenes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath

GENERAL_MODEL = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"
STREET_MODEL = "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"
STREET_WORDS = frozenset({
    "street", "streets", "road", "roads", "traffic", "cityscapes", "urban", "driving",
    "dashcam", "kitti", "bdd", "bdd100k", "mapillary", "highway", "leftimg8bit",
    "streetview", "carla", "autonomous",
})


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


def looks_like_street_scenes(folder: str, names: Iterable[str]) -> bool:
    """True when the folder's name (or its parent's), or half of the (first 200) file names,
    use a street word."""
    if _words(" ".join(PurePath(folder).parts[-2:])) & STREET_WORDS:
        return True
    sample = [n for _, n in zip(range(200), names)]
    hits = sum(1 for n in sample if _words(n) & STREET_WORDS)
    return bool(sample) and hits * 2 >= len(sample)


def default_model(folder: str, names: Iterable[str]) -> str:
    """The zoo entry (1.x name) a project in ``folder`` with these image names starts with."""
    return STREET_MODEL if looks_like_street_scenes(folder, names) else GENERAL_MODEL
