"""Shared fixtures (helpers live in helpers.py so test modules can import them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import SLIDE_CS, WHOLE_ADE, random_checkpoint

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's real checkpoint cache or data folder (model versions, runs)."""
    monkeypatch.setenv("GCNET_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GCNET_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def ade_checkpoint(tmp_path_factory) -> Path:
    from gcnet_core.zoo import get_entry

    return random_checkpoint(get_entry(WHOLE_ADE), tmp_path_factory.mktemp("ckpt") / "ade.pth")


@pytest.fixture(scope="session")
def cityscapes_checkpoint(tmp_path_factory) -> Path:
    from gcnet_core.zoo import get_entry

    return random_checkpoint(get_entry(SLIDE_CS), tmp_path_factory.mktemp("ckpt") / "cs.pth", seed=1)
