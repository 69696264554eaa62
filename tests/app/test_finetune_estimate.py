"""The fine-tune dock fits the device (issue 22 item 4): a CPU preset that finishes in minutes, the
full one where there is a GPU, and how long Start would take, measured before it in a
``gcnet train --estimate`` process and updated when the settings change."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.finetune.controller import about, estimate_text  # noqa: E402
from app.finetune.runs import FinetuneSettings  # noqa: E402
from test_finetune import entry, record, start_checkpoint, window  # noqa: E402,F401 (fixtures)


def pick_device(form, device: str) -> None:
    form.device.setCurrentIndex(form.device.findData(device))  # as a person picks it


def test_the_defaults_follow_the_training_device_and_keep_a_persons_choice(window, entry):
    form = window.finetune.panel.form
    pick_device(form, "cpu")
    assert (form.iters.value(), form.batch.value(), (form.crop_h.value(), form.crop_w.value()),
            form.val_interval.value()) == (60, 1, (256, 256), 20)  # minutes on a laptop
    pick_device(form, "cuda")
    assert (form.iters.value(), form.batch.value(), (form.crop_h.value(), form.crop_w.value()),
            form.val_interval.value()) == (500, entry.dataset.batch_per_gpu, tuple(entry.crop_size), 50)
    form.iters.setValue(40)  # a person's own number stays over a device change
    pick_device(form, "cpu")
    assert form.iters.value() == 40 and form.batch.value() == 1


def test_a_run_time_reads_as_people_say_it():
    assert about(42.4) == "about 42 s" and about(6 * 60 + 20) == "about 6 min" and about(7500) == "about 2 h 05 min"


@pytest.mark.training
@pytest.mark.slow
def test_the_estimate_is_measured_off_the_ui_thread_and_follows_the_settings(qtbot, window):
    ft, panel = window.finetune, window.finetune.panel
    measured = record(ft.estimator.estimated)
    panel.form.set_settings(FinetuneSettings(iters=8, batch_size=1, crop=(16, 16), lr=0.01, val_share=0.25,
                                             val_interval=4, device="cpu", workers=0))
    assert not ft.estimator.running  # nothing measured while the dock is out of sight
    panel.show()
    panel.raise_()
    qtbot.waitUntil(lambda: "measuring" in panel.estimate_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: bool(measured), timeout=180000)
    estimate = measured[0]
    assert estimate.device == "cpu" and estimate.iters == 8 and estimate.num_val == 3
    assert estimate.step_s > 0 and estimate.val_image_s > 0
    assert panel.estimate_label.text() == estimate_text(estimate)
    assert "on this CPU" in panel.estimate_label.text() and not panel.estimate_label.isHidden()

    # more iterations: the same measured step, multiplied again at once (no new measurement)
    panel.form.iters.setValue(800)
    QApplication.processEvents()
    longer = dataclasses.replace(estimate, iters=800)
    assert panel.estimate_label.text() == estimate_text(longer) and longer.total_s > estimate.total_s
    assert not ft.estimator.running
    # a bigger crop costs another measurement, in a process again
    panel.form.crop_h.setValue(32)
    qtbot.waitUntil(lambda: ft.estimator.running or len(measured) > 1, timeout=5000)
    qtbot.waitUntil(lambda: len(measured) == 2, timeout=180000)
    assert panel.estimate_label.text() == estimate_text(dataclasses.replace(measured[1], iters=800))
