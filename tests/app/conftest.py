"""Window tests start with work-ahead off (it would segment images behind their backs);
tests/app/test_workahead.py turns it on."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture(autouse=True)
def _no_work_ahead_by_default(monkeypatch):
    from app.settings.table import SETTING

    for name in ("segment_on_open", "work_ahead"):
        monkeypatch.setitem(SETTING, name, dataclasses.replace(SETTING[name], default=False))
