"""Shared fixtures (helpers live in helpers.py so test modules can import them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from helpers import SLIDE_CS, WHOLE_ADE, random_checkpoint, register_entry, small_entry

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread: much faster for tiny tensors on a shared, busy 2-core CPU. A module
    asks for it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's real checkpoint cache or data folder (model versions, runs)."""
    from gcnet_core import paths

    cache, data = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("data")
    monkeypatch.setenv("GCNET_CACHE_DIR", str(cache))
    monkeypatch.setenv("GCNET_DATA_DIR", str(data))
    # The exact torch path on the CPU unless a test asks for the onnxruntime engine (an export
    # per test would dominate the suite's time); tests/test_onnx_engine.py turns it on.
    monkeypatch.setenv("GCNET_CPU_ENGINE", "torch")
    yield
    paths.set_cache_folder(None)  # a folder chosen in Preferences is this process's, not the next test's
    paths.set_data_folder(None)
    # Model versions and downloads are full-size checkpoints: gone with the test (a CI disk
    # filled up when every test's folders were kept to the end of the run).
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def ade_checkpoint(tmp_path_factory) -> Path:
    from gcnet_core.weights.zoo import get_entry

    return random_checkpoint(get_entry(WHOLE_ADE), tmp_path_factory.mktemp("ckpt") / "ade.pth")


@pytest.fixture(scope="session")
def cityscapes_checkpoint(tmp_path_factory) -> Path:
    from gcnet_core.weights.zoo import get_entry

    return random_checkpoint(get_entry(SLIDE_CS), tmp_path_factory.mktemp("ckpt") / "cs.pth", seed=1)


# CPU models on the real networks with shrunk test scales (and slide windows).
@pytest.fixture
def ade_model(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    from gcnet_core import init_model

    return init_model(WHOLE_ADE, ade_checkpoint, device="cpu")


@pytest.fixture
def slide_model(monkeypatch, cityscapes_checkpoint):
    register_entry(monkeypatch, small_entry(SLIDE_CS, base_scale=(97, 65), crop=(41, 41), stride=(25, 25)))
    from gcnet_core import init_model

    return init_model(SLIDE_CS, cityscapes_checkpoint, device="cpu")
