"""Checkpoint files: every accepted layout loads, every wrong file gives a readable error."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest
import torch

from gcnet_core import init_model
from gcnet_core.weights.checkpoint import CheckpointError, IncompatibleCheckpointError, UnsafeCheckpointError
from gcnet_core.weights.zoo import get_entry

from helpers import SLIDE_CS, WHOLE_ADE, random_checkpoint, register_entry


def _same_weights(model, path: Path) -> bool:
    state = torch.load(path, weights_only=True)
    state = state.get("state_dict", state)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    return all(torch.equal(v, state[k]) for k, v in model.network.state_dict().items())


def test_official_layout_round_trips(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    assert _same_weights(model, ade_checkpoint)
    assert model.network.auxiliary_head is None  # skipped at inference
    assert not model.network.training and model.classes.names[7] == "bed "
    assert model.entry.name == WHOLE_ADE and model.checkpoint_meta["CLASSES"][0] == "wall"


@pytest.mark.parametrize("layout", ["bare", "module-prefixed"])
def test_bare_and_ddp_state_dicts_load(tmp_path, layout):
    entry = get_entry(WHOLE_ADE)
    path = random_checkpoint(entry, tmp_path / "w.pth", seed=3, official=False,
                             prefix="module." if layout == "module-prefixed" else "")
    assert _same_weights(init_model(WHOLE_ADE, path, device="cpu"), path)


def test_training_model_keeps_the_auxiliary_head(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu", with_auxiliary_head=True)
    assert _same_weights(model, ade_checkpoint)
    assert "auxiliary_head.conv_seg.weight" in model.network.state_dict()


def test_fine_tuned_checkpoint_carries_its_own_classes(tmp_path, ade_checkpoint):
    """Our training writes meta with base_model and a custom class set; no name needed."""
    state = torch.load(ade_checkpoint, weights_only=True)["state_dict"]
    for key in ("decode_head.conv_seg.weight", "auxiliary_head.conv_seg.weight"):
        state[key] = state[key][:3].clone()
    for key in ("decode_head.conv_seg.bias", "auxiliary_head.conv_seg.bias"):
        state[key] = state[key][:3].clone()
    meta = {"CLASSES": ["road", "cat", "sky"], "PALETTE": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "base_model": WHOLE_ADE}
    torch.save({"meta": meta, "state_dict": state}, tmp_path / "ft.pth")
    model = init_model(checkpoint=tmp_path / "ft.pth", device="cpu")
    assert model.entry.name == WHOLE_ADE and model.network.num_classes == 3
    assert model.classes.names == ("road", "cat", "sky") and model.classes.palette[2] == (7, 8, 9)


def test_cityscapes_checkpoint_for_an_ade_entry_names_the_shapes(cityscapes_checkpoint):
    with pytest.raises(IncompatibleCheckpointError) as error:
        init_model(WHOLE_ADE, cityscapes_checkpoint, device="cpu")
    message = str(error.value)
    assert "decode_head.conv_seg.weight: checkpoint [19, 512, 1, 1], model [150, 512, 1, 1]" in message
    assert "19 classes" in message


def test_r101_checkpoint_for_an_r50_entry_lists_unexpected_keys(tmp_path):
    path = random_checkpoint(get_entry("gcnet_r101-d8_4xb4-20k_voc12aug-512x512"), tmp_path / "r101.pth")
    with pytest.raises(IncompatibleCheckpointError, match=r"(?s)unexpected keys: backbone\.layer3\.6\..*R-101"):
        init_model("gcnet_r50-d8_4xb4-20k_voc12aug-512x512", path, device="cpu")


def test_missing_keys_are_named(tmp_path, ade_checkpoint):
    state = torch.load(ade_checkpoint, weights_only=True)["state_dict"]
    del state["decode_head.gc_block.conv_mask.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(IncompatibleCheckpointError, match="missing keys: decode_head.gc_block.conv_mask.weight"):
        init_model(WHOLE_ADE, tmp_path / "partial.pth", device="cpu")


def test_pickle_with_code_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "executed"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"meta": {"x": Payload()}, "state_dict": {}}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeCheckpointError, match="arbitrary Python objects.*not executed"):
        init_model(WHOLE_ADE, tmp_path / "evil.pth", device="cpu")
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["text", "truncated", "empty", "missing"])
def test_unreadable_files_give_readable_errors(tmp_path, ade_checkpoint, kind):
    path = tmp_path / "bad.pth"
    if kind == "text":
        path.write_text("this is not a checkpoint\n")
    elif kind == "truncated":
        path.write_bytes(ade_checkpoint.read_bytes()[: 1_000_000])
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=str(path.name)):
        init_model(WHOLE_ADE, path, device="cpu")


def test_init_model_downloads_the_official_file_into_the_cache(tmp_path, monkeypatch):
    """No checkpoint given: the entry's file is fetched (here from 127.0.0.1) and cached."""
    import dataclasses

    from gcnet_core.weights import zoo
    from gcnet_core.paths import cache_folder
    from gcnet_core.weights.download import cached_checkpoint

    entry = get_entry(WHOLE_ADE)
    served = random_checkpoint(entry, tmp_path / "served.pth", seed=5)
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    entry = dataclasses.replace(entry, checkpoint_stamp=f"20200101_000000-{digest[:8]}")

    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **k)  # noqa: E731
    target = tmp_path / "www" / entry.legacy_name / entry.checkpoint_filename
    target.parent.mkdir(parents=True)
    target.write_bytes(served.read_bytes())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(zoo, "CHECKPOINT_ROOT", f"http://127.0.0.1:{server.server_address[1]}")
        register_entry(monkeypatch, entry)
        seen = []
        model = init_model(WHOLE_ADE, device="cpu", progress=lambda done, total: seen.append((done, total)))
    finally:
        server.shutdown()
    assert cached_checkpoint(entry) == cache_folder() / entry.checkpoint_filename
    assert seen[-1][0] == served.stat().st_size
    assert _same_weights(model, served)


def test_offline_error_says_how_to_import(monkeypatch):
    from gcnet_core.weights import zoo

    monkeypatch.setattr(zoo, "CHECKPOINT_ROOT", "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(CheckpointError, match="--checkpoint"):
        init_model(SLIDE_CS, device="cpu")
