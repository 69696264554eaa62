"""The per-user folders: a choice made in the process wins over the environment, which wins
over the platform's folder, and choosing never writes os.environ."""

from __future__ import annotations

import os

from gcnet_core import paths
from gcnet_core.predict.onnx_engine import engines_dir
from gcnet_core.project.versions import models_dir, runs_dir
from gcnet_core.weights.imported import imported_dir


def test_the_environment_is_an_input_and_the_cache_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "from-env"))
    assert not (tmp_path / "from-env").exists()
    assert paths.cache_folder() == tmp_path / "from-env" and (tmp_path / "from-env").is_dir()
    monkeypatch.delenv(paths.CACHE_ENV)
    assert paths.default_cache_folder().parts[-2:] == ("gcnet-annotator", "checkpoints")


def test_a_chosen_cache_wins_over_the_environment_without_writing_it(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "from-env"))
    before = dict(os.environ)
    paths.set_cache_folder(tmp_path / "chosen")
    assert paths.cache_folder() == tmp_path / "chosen"
    assert paths.default_cache_folder() == tmp_path / "from-env"  # what clearing the choice goes back to
    assert (imported_dir(), engines_dir()) == (tmp_path / "chosen" / "imported", tmp_path / "chosen" / "engines")
    assert dict(os.environ) == before
    paths.set_cache_folder("")
    assert paths.cache_folder() == tmp_path / "from-env"


def test_the_data_folder_holds_models_and_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "from-env"))
    assert (models_dir(), runs_dir()) == (tmp_path / "from-env" / "models", tmp_path / "from-env" / "runs")
    paths.set_data_folder(tmp_path / "chosen")
    assert models_dir() == tmp_path / "chosen" / "models"
    paths.set_data_folder(None)
    monkeypatch.delenv(paths.DATA_ENV)
    assert paths.data_folder().name == "gcnet-annotator"


def test_a_worker_process_is_told_the_folders_in_use(tmp_path):
    paths.set_cache_folder(tmp_path / "cache")
    paths.set_data_folder(tmp_path / "data")
    assert paths.worker_environment() == {paths.CACHE_ENV: str(tmp_path / "cache"),
                                          paths.DATA_ENV: str(tmp_path / "data")}
