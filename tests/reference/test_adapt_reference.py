"""``gcnet adapt``'s checkpoint loaded by mmsegmentation itself (opt-in: ``.refvenv``)::

    .refvenv/bin/python -m pytest tests/reference/test_adapt_reference.py -m reference -q

A project of three corrected images in its own classes (wall, floor and graffiti, a class no
ADE20K model knows) is adapted from a random official-layout ADE20K R50 checkpoint; mmseg's
``init_model`` on the official config, with ``num_classes`` set to the project's count, loads
the written file without a missing or unexpected key, and its ``inference_model`` gives the
labels our exact path gives with the same file: the project's class ids, as
``gcnet predict --checkpoint`` writes them.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_adapt import CLASSES, scene  # noqa: E402

import gcnet_core  # noqa: E402
from gcnet_core.cli.main import main  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402

pytestmark = [pytest.mark.reference,
              pytest.mark.skipif(importlib.util.find_spec("mmseg") is None, reason="mmsegmentation is not installed")]

NAME = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"


def _mmseg_reference():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mmseg_reference as R

    R.install_mmcv_ops_stub()
    return R


def test_mmseg_loads_the_adapted_checkpoint_and_labels_in_the_project_classes(tmp_path, capsys):
    R = _mmseg_reference()
    start = tmp_path / "random.pth"
    R.make_random_checkpoint(NAME, start, seed=3)
    root = tmp_path / "project"
    project = Project.create(root, CLASSES)
    for seed in (0, 1, 2):
        image, labels = scene(seed)
        path = root / f"scene{seed}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        project.write_masks(path, labels)
        project.set_state(path, "corrected")
    project.save()
    out = tmp_path / "adapted.pth"
    code = main(["adapt", "--project", str(root), "--model", NAME, "--checkpoint", str(start), "--out", str(out),
                 "--device", "cpu"])
    assert code == 0 and out.is_file(), capsys.readouterr()

    import torch
    from mmseg.apis import inference_model, init_model

    cfg = R.load_config(NAME)
    cfg.model.decode_head.num_classes = len(CLASSES)
    cfg.model.auxiliary_head.num_classes = len(CLASSES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = init_model(cfg, str(out), device="cpu").eval()
    written = torch.load(out, map_location="cpu", weights_only=True)["state_dict"]
    loaded = theirs.state_dict()
    assert set(written) == set(loaded)  # no key missing, none unexpected
    assert all(torch.equal(written[key], loaded[key]) for key in written)  # every weight as written
    assert list(theirs.dataset_meta["classes"]) == list(CLASSES.names)

    test_image = tmp_path / "untouched.png"
    cv2.imwrite(str(test_image), cv2.cvtColor(scene(5)[0], cv2.COLOR_RGB2BGR))
    reference = inference_model(theirs, str(test_image)).pred_sem_seg.data[0].cpu().numpy()
    ours = gcnet_core.inference(gcnet_core.init_model(NAME, checkpoint=out, device="cpu", fast=False), test_image)
    agree = float((ours.labels.astype(np.int64) == reference).mean())
    truth = scene(5)[1]
    right = float((ours.labels == truth).mean())
    print(f"\n[adapt] mmseg and ours agree on {agree:.6f} of the pixels; {right:.3f} of ours match the scene's truth; "
          f"classes in mmseg's map: {sorted(np.unique(reference).tolist())}")
    assert agree >= 0.999
    assert set(np.unique(reference).tolist()) <= {0, 1, 2}  # the project's ids, nothing else
    assert 2 in np.unique(reference)  # graffiti, which the starting model never knew, is predicted
