"""Window tests start with work-ahead off (it would segment images behind their backs);
tests/app/test_workahead.py turns it on."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_work_ahead_by_default(monkeypatch):
    monkeypatch.setattr("app.settings.WORK_AHEAD_DEFAULT", False)
