"""Old import paths (``gcnet_core.inference``, ``gcnet_core.masks``...) kept working after the regrouping.

Before the modules were grouped into sub-packages they all sat at the top of the package, and
scripts may still import them from there. A finder on ``sys.meta_path`` answers those names with
the module at its new place (the same module object, so monkeypatching either name affects both).
Nothing here is imported eagerly: an old name costs nothing until someone uses it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

OLD_TO_NEW = {
    "gcnet_core.acceleration": "gcnet_core.predict.acceleration",
    "gcnet_core.benchmark": "gcnet_core.predict.benchmark",
    "gcnet_core.checkpoint": "gcnet_core.weights.checkpoint",
    "gcnet_core.classes": "gcnet_core.model.classes",
    "gcnet_core.distributed": "gcnet_core.predict.distributed",
    "gcnet_core.download": "gcnet_core.weights.download",
    "gcnet_core.evaluate": "gcnet_core.evaluation.evaluate",
    "gcnet_core.export": "gcnet_core.formats.export",
    "gcnet_core.fast_inference": "gcnet_core.predict.fast",
    "gcnet_core.folder_run": "gcnet_core.predict.folder",
    "gcnet_core.imageio": "gcnet_core.files.images",
    "gcnet_core.inference": "gcnet_core.predict.exact",
    "gcnet_core.masks": "gcnet_core.files.masks",
    "gcnet_core.metrics": "gcnet_core.evaluation.metrics",
    "gcnet_core.mmseg_bridge": "gcnet_core.predict.mmseg_bridge",
    "gcnet_core.versions": "gcnet_core.project.versions",
    "gcnet_core.zoo": "gcnet_core.weights.zoo",
    "gcnet_core.train.cli": "gcnet_core.cli.train",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__  # the import system writes the alias's spec over it
        return module

    def exec_module(self, module) -> None:  # already executed under its new name
        module.__spec__ = self.own_spec


class _OldPathFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        new = OLD_TO_NEW.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    if not any(isinstance(finder, _OldPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(_OldPathFinder())
