"""Checkpoints of people's own mmengine / mmcv training runs load; code in a pickle never runs.

The files are built here with the structure those tools write: mmengine's Runner
(``meta.dataset_meta``, ``message_hub`` holding ``HistoryBuffer`` objects, ``optimizer``,
``param_schedulers``) and mmcv 1.x with ``save_best`` (legacy non-zip serialisation,
``meta.hook_msgs.best_score`` a ``numpy.float64``). The classes they pickle live in a fake
``mmengine`` module that is removed before loading, and an import hook records any attempt
to import it again.
"""

from __future__ import annotations

import os
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

from gcnet_core import inference, init_model
from gcnet_core.weights.checkpoint import CheckpointError, UnsafeCheckpointError, read_checkpoint

from helpers import WHOLE_ADE, register_entry, small_entry

BUILT: list[str] = []  # every __init__ / __setstate__ of the fake mmengine classes that ran


def _fake_mmengine() -> types.ModuleType:
    module = types.ModuleType("mmengine.logging.history_buffer")

    class HistoryBuffer:
        def __init__(self, values):
            BUILT.append("init")
            self._log_history = np.asarray(values, dtype=np.float64)
            self._count_history = np.ones(len(values))
            self.max_length = 1000000
            self.statistics_methods = {"min": self.min}  # bound methods: pickled as getattr(obj, 'min')

        def min(self):
            return self._log_history.min()

        def __setstate__(self, state):
            BUILT.append("setstate")
            self.__dict__.update(state)

    class ConfigDict(dict):  # a dict subclass, pickled with SETITEMS
        pass

    HistoryBuffer.__module__ = ConfigDict.__module__ = module.__name__
    HistoryBuffer.__qualname__, ConfigDict.__qualname__ = "HistoryBuffer", "ConfigDict"
    module.HistoryBuffer, module.ConfigDict = HistoryBuffer, ConfigDict
    return module


class _ImportRecorder:
    """A meta-path finder that records (and blocks) imports of ``mmengine``/``mmcv``."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("mmengine", "mmcv"):
            self.attempts.append(name)
            raise ImportError(f"blocked in the test: {name}")
        return None


@pytest.fixture
def fake_mmengine(monkeypatch):
    module = _fake_mmengine()
    for name in ("mmengine", "mmengine.logging", module.__name__):
        monkeypatch.setitem(sys.modules, name, module if name == module.__name__ else types.ModuleType(name))
    return module


def _forget(module) -> _ImportRecorder:
    for name in ("mmengine", "mmengine.logging", module.__name__):
        sys.modules.pop(name, None)
    recorder = _ImportRecorder()
    sys.meta_path.insert(0, recorder)
    BUILT.clear()
    return recorder


def _mmengine_run(plain: dict, mm) -> dict:
    state = plain["state_dict"]
    first = next(iter(state))
    return {
        "meta": {"dataset_meta": {"classes": plain["meta"]["CLASSES"], "palette": plain["meta"]["PALETTE"]},
                 "mmengine_version": "0.10.7", "epoch": 0, "iter": 80000, "seed": np.int64(1234),
                 "experiment_name": "gcnet_r50-d8_4xb4-80k_ade20k-512x512_20240101", "time": "x",
                 "cfg": mm.ConfigDict(model=mm.ConfigDict(type="EncoderDecoder"))},
        "state_dict": OrderedDict(state),
        "message_hub": {"log_scalars": {"train/loss": mm.HistoryBuffer([0.9, 0.8]),
                                        "train/lr": mm.HistoryBuffer([0.01])},
                        "runtime_info": {"iter": 80000, "best_score": np.float64(0.41)},
                        "resumed_keys": {"iter": False}},
        "optimizer": {"state": {0: {"momentum_buffer": torch.zeros_like(state[first])}},
                      "param_groups": [{"lr": 0.01, "momentum": 0.9, "params": [0]}]},
        "param_schedulers": [{"eta_min": 1e-4, "power": 0.9, "last_step": 80000, "_get_lr_called_within_step": False}],
    }


def _mmcv_run(plain: dict) -> dict:
    return {
        "meta": {"env_info": "sys.platform: linux", "config": "model = dict(...)", "seed": 0,
                 "exp_name": "gcnet.py", "mmcv_version": "1.7.1", "CLASSES": plain["meta"]["CLASSES"],
                 "PALETTE": plain["meta"]["PALETTE"], "epoch": 1, "iter": 160000,
                 "hook_msgs": {"last_ckpt": "work_dirs/iter_160000.pth", "best_score": np.float64(0.4321),
                               "best_ckpt": "work_dirs/best_mIoU_iter_160000.pth"}},
        "state_dict": OrderedDict(plain["state_dict"]),
        "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4, "weight_decay": np.float32(5e-4), "params": []}]},
    }


@pytest.mark.parametrize("layout", ["mmengine", "mmcv-legacy"])
def test_training_run_checkpoints_load_and_predict_like_the_plain_file(
        tmp_path, monkeypatch, ade_checkpoint, fake_mmengine, layout):
    plain = torch.load(ade_checkpoint, weights_only=True)
    path = tmp_path / f"{layout}.pth"
    if layout == "mmengine":
        torch.save(_mmengine_run(plain, fake_mmengine), path)
    else:
        torch.save(_mmcv_run(plain), path, _use_new_zipfile_serialization=False)
        assert not zipfile.is_zipfile(path)
    recorder = _forget(fake_mmengine)
    try:
        state, meta = read_checkpoint(path)
        register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
        ours = init_model(WHOLE_ADE, path, device="cpu")
    finally:
        sys.meta_path.remove(recorder)
    assert recorder.attempts == [] and BUILT == []  # nothing imported, no method of theirs ran
    assert state.keys() == plain["state_dict"].keys()
    assert all(torch.equal(state[k], v) for k, v in plain["state_dict"].items())
    if layout == "mmengine":
        assert meta["dataset_meta"]["classes"] == plain["meta"]["CLASSES"]
        assert meta["seed"] == 1234 and type(meta["seed"]) is int
        assert "cfg" not in meta  # an object of an unknown class: dropped
    else:
        assert meta["hook_msgs"]["best_score"] == pytest.approx(0.4321) and type(meta["hook_msgs"]["best_score"]) is float
    reference = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    expected = inference(reference, image).labels
    assert np.array_equal(inference(ours, image).labels, expected)


def _payload(marker):
    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return Payload()


@pytest.mark.parametrize("position", ["meta", "message_hub", "history_state", "state_dict", "optimizer", "legacy"])
def test_a_reduce_payload_anywhere_is_refused_and_never_runs(tmp_path, ade_checkpoint, fake_mmengine, position):
    marker = tmp_path / "executed"
    plain = torch.load(ade_checkpoint, weights_only=True)
    run = _mmengine_run(plain, fake_mmengine)
    payload = _payload(marker)
    if position in ("meta", "legacy"):
        run["meta"]["hook_msgs"] = {"best_score": payload}
    elif position == "message_hub":
        run["message_hub"]["runtime_info"]["x"] = payload
    elif position == "history_state":
        run["message_hub"]["log_scalars"]["train/loss"].__dict__["_log_history"] = payload
    elif position == "state_dict":
        run["state_dict"]["decode_head.extra"] = payload
    else:
        run["optimizer"]["state"][1] = [payload]
    path = tmp_path / "evil.pth"
    torch.save(run, path, _use_new_zipfile_serialization=position != "legacy")
    recorder = _forget(fake_mmengine)
    try:
        with pytest.raises(UnsafeCheckpointError, match=r"arbitrary Python objects \(it would call \w+\.system\).*not executed"):
            read_checkpoint(path)
    finally:
        sys.meta_path.remove(recorder)
    assert not marker.exists() and recorder.attempts == []


@pytest.mark.parametrize("kind", ["random", "text", "zip-of-garbage", "directory"])
def test_files_that_are_no_checkpoint_say_so(tmp_path, kind):
    path = tmp_path / "bad.pth"
    if kind == "random":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("model = dict(type='EncoderDecoder')\n")
    elif kind == "zip-of-garbage":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", b"\x00garbage\xff" * 50)
            archive.writestr("archive/version", b"3\n")
    else:
        path.mkdir()
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(path)
    message = str(error.value)
    assert not isinstance(error.value, UnsafeCheckpointError) and "arbitrary" not in message
    assert str(path) in message
    assert ("is a directory" in message) if kind == "directory" else ("is not a PyTorch checkpoint" in message)


def test_getattr_on_anything_real_is_refused(tmp_path):
    """Bound methods of unknown objects stay inert; getattr on a real object could reach code."""

    class Reach:
        def __reduce__(self):
            return (getattr, (torch.zeros(1), "numpy"))

    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"x": Reach()}}, tmp_path / "reach.pth")
    with pytest.raises(UnsafeCheckpointError, match=r"it would call getattr"):
        read_checkpoint(tmp_path / "reach.pth")

