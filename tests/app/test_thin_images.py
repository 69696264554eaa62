"""A 1 x 5000 image is visible on the canvas and in its thumbnail, and Reveal in folder says
when no file manager answers (issue 24 item 14)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QDesktopServices  # noqa: E402

from app.canvas import CanvasView  # noqa: E402
from app.canvas.view import MIN_VISIBLE_SIDE  # noqa: E402
from app.workers.thumbnails import MIN_SIDE, THUMB_SIZE, read_thumbnail  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402

from test_window import make_folder, make_window, open_and_wait  # noqa: E402,F401


@pytest.fixture
def view(qtbot):
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas


def show(view: CanvasView, height: int, width: int) -> None:
    view.set_image(np.full((height, width, 3), 200, np.uint8))
    view.set_document(MaskDocument.blank(height, width, DATASET_CLASSES["cityscapes"]))
    view.fit_to_window()


@pytest.mark.parametrize("height, width", [(5000, 1), (2, 8000)])
def test_a_thin_image_is_fitted_at_a_visible_size_and_centred(view, height, width):
    show(view, height, width)
    scale = view.scale_factor()
    assert scale * min(height, width) >= MIN_VISIBLE_SIDE
    centre = view.viewportTransform().map(QPointF(width / 2, height / 2))
    assert abs(centre.x() - view.viewport().width() / 2) <= 1
    assert abs(centre.y() - view.viewport().height() / 2) <= 1


def test_an_ordinary_image_is_still_fitted_whole(view):
    show(view, 120, 160)
    assert view.scale_factor() == pytest.approx(min(400 / 160, 300 / 120))


def test_a_thin_images_thumbnail_is_not_blank(tmp_path):
    path = tmp_path / "thin.png"
    Image.fromarray(np.full((5000, 1, 3), (200, 30, 30), np.uint8)).save(path)
    thumb = read_thumbnail(path)
    assert not thumb.isNull()
    assert thumb.width() >= MIN_SIDE and thumb.height() == THUMB_SIZE.height()
    assert thumb.pixelColor(thumb.width() // 2, thumb.height() // 2).red() == 200


def test_reveal_in_folder_without_a_file_manager_names_the_folder(qtbot, make_window, tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "photos", names=("coffee.png",))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda _url: False))
    window.files.revealRequested.emit("coffee.png")
    message = window.statusBar().currentMessage()
    assert "No file manager" in message and str(window.session.project.root) in message
