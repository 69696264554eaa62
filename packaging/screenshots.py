"""Screenshots of the window's screens for the README and for looking at changes, under a
real X server (Xvfb) so menus and dialogs appear as a person sees them::

    Xvfb :99 -screen 0 1366x768x24 &
    DISPLAY=:99 .venv/bin/python packaging/screenshots.py OUT_DIR

One PNG per screen, named after the screen and the display size: the main window with
the image menu (states, an unreadable file), the class menu, a pre-segment in progress
with Cancel, the fine-tune dock, the offline download dialog, and the dark palette.
The model is a random-weight checkpoint (no network here), so masks are painted with the
polygon fill, as a person would; nothing of the user's (settings, cache) is touched.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="gcnet-shots-"))
    from gcnet_core import paths

    paths.set_cache_folder(work / "cache")
    paths.set_data_folder(work / "data")
    os.environ["GCNET_NO_WELCOME"] = "1"
    sys.path.insert(0, str(ROOT / "tests"))
    from urllib.error import URLError

    import gcnet_core.weights.download as download
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.settings.store import AppSettings
    from app.shell.theme import SystemTheme
    from app.window import MainWindow
    from helpers import random_checkpoint
    from gcnet_core.weights.zoo import get_entry

    app = QApplication.instance() or QApplication([sys.argv[0]])
    screen = app.primaryScreen().size()
    suffix = f"{screen.width()}x{screen.height()}"
    out.mkdir(parents=True, exist_ok=True)
    folder = work / "photos"
    shutil.copytree(ROOT / "resources" / "samples", folder, ignore=shutil.ignore_patterns("*.md"))
    (folder / "notes.jpg").write_bytes(b"\xff\xd8\xff this was never a photo")
    voc = "gcnet_r50-d8_4xb4-20k_voc12aug-512x512"
    checkpoint = random_checkpoint(get_entry(voc), work / "voc-demo.pth", seed=4)

    def settle(ms: int = 400) -> None:
        QTest.qWait(ms)

    def shot(name: str) -> None:
        settle()
        path = out / f"{name}-{suffix}.png"
        app.primaryScreen().grabWindow(0).save(str(path))
        print(path)

    def right_click(widget, pos: QPoint) -> None:
        QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos)))

    window = MainWindow(AppSettings.at(work / "settings.ini"))
    window.setGeometry(app.primaryScreen().availableGeometry())  # Xvfb has no window manager to maximise
    window.show()
    settle(800)
    window.model_panel.select(voc)
    window.open_folder(folder)
    while window.files.scanning or window.files.model.broken_count == 0:
        settle(100)
    window.open_image("chelsea.png")
    doc = window.session.document
    h, w = doc.shape
    doc.fill_polygon([(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)], 18)  # sofa behind
    doc.fill_polygon([(int(w * .12), h - 1), (int(w * .18), int(h * .2)), (int(w * .35), 0), (int(w * .7), 0),
                      (int(w * .9), int(h * .25)), (int(w * .95), h - 1)], 8)  # the cat
    window.classes_panel.set_current(8)
    window.flush()
    window.update_shares()

    # the image menu on a file (right-click), with an unreadable file in the list
    files = window.files
    rect = files.view.visualRect(files.proxy.mapFromSource(files.model.index(files.model.row_of("coffee.png"))))
    right_click(files.view.viewport(), rect.center())
    shot("image-menu")
    files.context_menu.close()
    window.open_image("chelsea.png")
    shot("main-window")

    # the class menu
    panel = window.classes_panel
    rect = panel.table.visualRect(panel.proxy.index(8, 0))
    right_click(panel.table.viewport(), rect.center())
    shot("class-menu")
    panel.context_menu.close()

    # a pre-segment in progress: busy bar, elapsed time, Cancel
    window.import_checkpoint_file(checkpoint)
    while window.model_panel.choice().label != "voc-demo":
        settle(100)
    window.open_image("astronaut.png")
    window.segment_current()
    settle(1500)
    shot("presegment-progress")
    while window.inference.busy:
        settle(200)

    # the fine-tune dock
    window.open_image("chelsea.png")
    window.finetune.panel.show()
    window.finetune.panel.raise_()
    shot("finetune")
    window.classes_panel.raise_()

    # offline: the real download failure, with the import offered (the box is modal: shot from a timer)
    def offline(*_args, **_kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    download.urlopen = offline
    window.model_panel.select("gcnet_r50-d8_4xb4-80k_ade20k-512x512")

    def answer() -> None:
        shot("download-failed")
        QApplication.activeModalWidget().reject()

    QTimer.singleShot(2500, answer)
    window.segment_current()
    while window.model_panel.choice().name != voc and QApplication.activeModalWidget() is not None:
        settle(100)
    window.model_panel.select(voc)

    # the dark palette (what a dark system setting gives)
    theme = SystemTheme(app)
    theme.apply(Qt.ColorScheme.Dark)
    window.open_image("chelsea.png")
    shot("dark")
    theme.apply(Qt.ColorScheme.Light)
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
