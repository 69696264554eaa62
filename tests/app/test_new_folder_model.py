"""A new folder never inherits another project's fine-tuned version (issue 24 item 9): it gets
the last zoo entry (or imported file) used; the project the version was chosen in keeps it."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pytestqt")

from test_window import make_folder, make_window, open_and_wait  # noqa: E402,F401

from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

ZOO_PICK = "gcnet_r101-d8_4xb4-20k_voc12aug-512x512"  # not what a folder of photos gets by default
BASE = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"


def pick(window, text: str) -> None:
    """Choose the model panel's row whose text contains ``text``, as a person does in its list."""
    combo = window.model_panel.combo
    rows = [row for row in range(combo.count()) if text in combo.itemText(row)
            and combo.model().item(row).isEnabled()]
    assert len(rows) == 1, [combo.itemText(row) for row in range(combo.count())]
    combo.setCurrentIndex(rows[0])


def test_a_new_folder_gets_the_last_zoo_model_not_another_projects_fine_tuned_version(
        qtbot, make_window, tmp_path):
    checkpoint = tmp_path / "best.pth"  # the registry reads only the meta of a fine-tuned file
    classes = get_entry(BASE).classes
    torch.save({"meta": {"base_model": BASE, "CLASSES": classes.names, "PALETTE": classes.palette},
                "state_dict": {}}, checkpoint)
    streets = make_folder(tmp_path / "streets", names=("astronaut.png",), size=(48, 36))
    Project.create(streets, classes).save()  # a project already (it remembers its model)
    window = make_window()
    window.workahead.on_open_action.setChecked(False)  # nothing runs: only which model is chosen
    window.workahead.ahead_action.setChecked(False)
    open_and_wait(qtbot, window, streets, 1)
    entry = get_entry(ZOO_PICK)
    pick(window, f"{entry.backbone} · {'x'.join(map(str, entry.crop_size))} · {entry.schedule}")
    version = window.finetune.registry.publish(checkpoint, name="streets tuned", parent=BASE, project=streets)
    window.finetune.refresh_versions()
    pick(window, "streets tuned")
    assert window.model_panel.config().label == version.id
    window.flush()

    photos = make_folder(tmp_path / "photos", names=("coffee.png",), size=(48, 36))
    open_and_wait(qtbot, window, photos, 1)
    chosen = window.model_panel.config()
    assert chosen.checkpoint is None and chosen.name == ZOO_PICK  # the last zoo model, not the version
    assert window.session.project.model == ZOO_PICK
    window.flush()

    open_and_wait(qtbot, window, streets, 1)  # the project it was chosen in still uses it
    assert window.model_panel.config().label == version.id
