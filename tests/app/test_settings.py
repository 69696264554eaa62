"""The settings table: every value survives a restart, an unusable one reads back as its
default, Preferences and the fine-tune form start from the table, and the cache folder
chosen in Preferences is the process's (and its workers') without touching os.environ."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from app.finetune.runs import device_defaults, training_device_type  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.settings.table import SETTING, Setting  # noqa: E402
from app.window import MainWindow  # noqa: E402
from app.workers.jsonl_process import JsonLinesProcess  # noqa: E402
from gcnet_core import paths  # noqa: E402
from gcnet_core.project.defaults import GENERAL_MODEL, STREET_MODEL  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

from test_window import ScriptedPrompter, make_window  # noqa: E402,F401 (make_window: a fixture)


def other_value(setting: Setting, tmp_path: Path):
    """A valid value that is not the default."""
    if setting.type is bool:
        return not setting.default
    if setting.choices:
        return next(choice for choice in setting.choices if choice != setting.default)
    if setting.type is Path:
        return tmp_path / "a folder, with a comma"
    if setting.type is str:
        return "text, with a comma = and quotes \" '"
    if setting.type is int:
        return int(setting.maximum) if setting.default != setting.maximum else int(setting.minimum)
    return setting.minimum + (setting.maximum - setting.minimum) / 3


def test_every_setting_round_trips_through_the_settings_file(tmp_path):
    settings = AppSettings.at(tmp_path / "settings.ini")
    chosen = {setting.name: other_value(setting, tmp_path) for setting in SETTING.values()}
    for name, value in chosen.items():
        assert value != SETTING[name].default, name
        settings.set(name, value)
    settings.sync()
    again = AppSettings.at(tmp_path / "settings.ini")
    assert {setting.name: again.get(setting.name) for setting in SETTING.values()} == chosen
    assert all(again.chosen(name) for name in chosen)


def test_an_unusable_stored_value_reads_back_as_the_default(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[preferences]\nautosave_ms=fast\n"
                    "[view]\nopacity=7\nconfidence_threshold=nan\n"
                    "[model]\ndevice=tpu\ntta=perhaps\nname=a, b\n"
                    "[finetune]\nbatch_size=2.5\ncrop_height=\niters=-3\n"
                    "[shortcuts]\nsave=Ctrl+K, Ctrl+L\n", encoding="utf-8")
    settings = AppSettings.at(path)
    for name in ("autosave_ms", "opacity", "confidence_threshold", "device", "tta", "model_name",
                 "finetune_batch_size", "finetune_crop_height", "finetune_iters"):
        assert settings.get(name) == SETTING[name].default, name
        assert not settings.chosen(name), name
    assert settings.shortcut("save") is None  # two values (an unquoted comma): the built-in key
    with pytest.raises(ValueError, match="opacity"):
        settings.set("opacity", 1.5)
    with pytest.raises(ValueError, match="device"):
        settings.set("device", "tpu")
    assert settings.get("opacity") == SETTING["opacity"].default  # nothing was written


def test_preferences_start_from_the_table_even_on_a_damaged_settings_file(make_window, tmp_path):
    (tmp_path / "settings.ini").write_text("[preferences]\nautosave_ms=0\n[view]\nopacity=-1\n"
                                           "[model]\nprecision=fp64\n", encoding="utf-8")
    window = make_window()
    assert window._autosave.interval() == SETTING["autosave_ms"].default
    dialog = window.show_preferences()
    assert dialog.cache_edit.text() == "" and dialog.cache_edit.placeholderText() == str(paths.default_cache_folder())
    assert dialog.device_combo.currentData() == SETTING["device"].default
    assert dialog.precision_combo.currentData() == SETTING["precision"].default
    assert dialog.autosave_spin.value() * 1000 == SETTING["autosave_ms"].default
    assert dialog.opacity_spin.value() == SETTING["opacity"].default * 100
    assert (dialog.autosave_spin.minimum() * 1000, dialog.autosave_spin.maximum() * 1000) == \
        (SETTING["autosave_ms"].minimum, SETTING["autosave_ms"].maximum)
    assert dialog.autosave_spin.toolTip() == SETTING["autosave_ms"].description
    dialog.close()


def test_the_cache_folder_chosen_in_preferences_reaches_the_workers_not_os_environ(make_window, tmp_path, qtbot):
    environment = dict(os.environ)
    default = paths.cache_folder()
    window = make_window()
    dialog = window.show_preferences()
    dialog.cache_edit.setText(str(tmp_path / "models"))
    assert dialog.apply()
    assert paths.cache_folder() == tmp_path / "models"
    assert dict(os.environ) == environment

    worker = JsonLinesProcess()
    events = []
    worker.event.connect(lambda event, _line: events.append(event))
    with qtbot.waitSignal(worker.finished, timeout=20000):
        worker.start(sys.executable, ["-c", "import json, os; print(json.dumps({'event': 'env', "
                                            f"'cache': os.environ.get({paths.CACHE_ENV!r})}}))"])
    assert events == [{"event": "env", "cache": str(tmp_path / "models")}]

    dialog.cache_edit.clear()
    assert dialog.apply()
    assert paths.cache_folder() == default and dict(os.environ) == environment
    dialog.close()


def test_fine_tune_settings_a_person_changed_stay_over_a_model_change_and_a_restart(make_window, qtbot):
    window = make_window()
    form = window.finetune.panel.form
    window.model_panel.select(GENERAL_MODEL)
    general = get_entry(GENERAL_MODEL)
    defaults = device_defaults(general, training_device_type("auto"))
    assert (form.batch.value(), (form.crop_h.value(), form.crop_w.value())) == \
        (defaults["batch_size"], defaults["crop"])  # nothing chosen: the model's on this device

    form.batch.setValue(3)  # as a person would: the value changes
    form.crop_h.setValue(320)
    form.iters.setValue(77)
    form.device.setCurrentIndex(form.device.findData("cuda"))  # a GPU trains with the model's own crop
    window.model_panel.select(STREET_MODEL)  # another batch and crop: the person's stay
    street = get_entry(STREET_MODEL)
    assert street.dataset.batch_per_gpu != 3 and street.crop_size[1] != general.crop_size[1]
    assert (form.batch.value(), form.crop_h.value()) == (3, 320)
    assert form.crop_w.value() == street.crop_size[1]  # not chosen: follows the model

    window.close()
    again = make_window()
    form = again.finetune.panel.form
    assert (form.iters.value(), form.batch.value(), form.crop_h.value(), form.device.currentData()) == \
        (77, 3, 320, "cuda")
    assert form.val_interval.value() == SETTING["finetune_val_interval"].default
