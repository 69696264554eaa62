"""The live model as a fine-tune's start never knows the labels the run is judged on
(app/finetune/live_start.py): its classifier is the live fit re-done on the run's training
images (of a single image, outside its held-out blocks). Real fits on the tiny R50's features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.finetune.live_start import run_split, start_head
from gcnet_core.adapt.head import DISABLED_BIAS, labels_token
from gcnet_core.adapt.job import CorrectedImage
from gcnet_core.api import init_model
from gcnet_core.files.masks import write_index_mask
from gcnet_core.predict.features import FeatureExtractor
from gcnet_core.project.store import Project
from gcnet_core.train.data import block_mask, held_out_blocks
from gcnet_core.weights import zoo

from helpers import tiny_classes, tiny_entry, tiny_sample, tiny_start_checkpoint

CLASSES = tiny_classes()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tiny = tiny_entry()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(zoo._BY_NAME, tiny.name, tiny)
        patch.setitem(zoo._BY_NAME, tiny.legacy_name, tiny)
        checkpoint = tiny_start_checkpoint(tmp_path_factory.mktemp("start") / "start.pth")
        yield init_model(tiny.name, checkpoint, device="cpu")


def done_images(root: Path, count: int, model) -> list[CorrectedImage]:
    """``count`` done images on disk (what the run splits) and as a live round holds them."""
    project = Project.create(root, CLASSES)
    extractor = FeatureExtractor(model.network, model.entry)
    images = []
    for i in range(count):
        image, label = tiny_sample(i)
        path = root / f"img{i:02d}.png"
        Image.fromarray(image).save(path)
        write_index_mask(project.label_path(path), label, CLASSES)
        project.set_state(path, "corrected")
        images.append(CorrectedImage(path, labels_token(f"key{i}", label, None), extractor(image), label, None))
    project.save()
    return images


def relabelled(images: list[CorrectedImage], name: str, where=None) -> list[CorrectedImage]:
    """The images with ``name``'s labels swapped (road <-> square), only ``where`` if given."""
    out = []
    for image in images:
        if image.path.name == name:
            swapped = np.where(where if where is not None else True, 1 - image.labels, image.labels).astype(np.uint8)
            image = CorrectedImage(image.path, image.token, image.features, swapped, image.edited)
        out.append(image)
    return out


def same(a, b) -> bool:
    return np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)


def test_the_start_is_fitted_on_the_training_images_and_never_on_the_held_out_one(tmp_path, model):
    images = done_images(tmp_path / "p", 3, model)
    split = run_split(tmp_path / "p", 0.25)
    assert len(split.held_out) == 1 and len(split.train) == 2 and not split.blocks
    head, fitted = start_head(images, model, CLASSES.names, tmp_path / "p", split)
    assert fitted == 2 and head.class_names == ("road", "square")
    assert "square" not in model.classes.names and head.conv_seg()[1][1] > DISABLED_BIAS / 2  # the new class learnt
    held, trained = next(iter(split.held_out)), sorted(split.train)[0]
    assert same(start_head(relabelled(images, held), model, CLASSES.names, tmp_path / "p", split)[0], head)
    assert not same(start_head(relabelled(images, trained), model, CLASSES.names, tmp_path / "p", split)[0], head)


def test_a_single_image_start_never_sees_its_held_out_blocks(tmp_path, model):
    images = done_images(tmp_path / "p", 1, model)
    split = run_split(tmp_path / "p", 0.1)
    assert split.blocks and split.train == {"img00.png"}
    head, fitted = start_head(images, model, CLASSES.names, tmp_path / "p", split)
    assert fitted == 1
    inside = block_mask(images[0].labels.shape, held_out_blocks(0))
    assert same(start_head(relabelled(images, "img00.png", inside), model, CLASSES.names, tmp_path / "p", split)[0],
                head)
    assert not same(start_head(relabelled(images, "img00.png", ~inside), model, CLASSES.names, tmp_path / "p",
                               split)[0], head)


def test_no_training_image_known_to_the_live_model_is_said(tmp_path, model):
    images = done_images(tmp_path / "p", 3, model)
    split = run_split(tmp_path / "p", 0.25)
    held = [image for image in images if image.path.name in split.held_out]
    with pytest.raises(ValueError, match="none of the images the run trains on"):
        start_head(held, model, CLASSES.names, tmp_path / "p", split)
