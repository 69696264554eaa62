"""Window tests start with work-ahead and live adaptation off (they would segment and re-label
images behind their backs); tests/app/test_workahead.py and test_live_adaptation.py turn them on."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture(autouse=True)
def _no_work_ahead_by_default(monkeypatch):
    from app.settings.table import SETTING

    for name in ("segment_on_open", "work_ahead", "live_adaptation"):
        monkeypatch.setitem(SETTING, name, dataclasses.replace(SETTING[name], default=False))
