"""The wait in the real window: seconds from "next image" to a visible mask, work-ahead
on and off (ADE20K R50 with random weights: the same work as the real file, on photos
at 770x512), and the first mask of a folder (the model loaded beforehand, and cold)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np


def window_latency(work: Path, count: int) -> dict:
    """Seconds from "next image" to a visible mask, work-ahead off and on (ADE20K R50)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    from helpers import SHARED_IMAGES, WHOLE_ADE, random_checkpoint

    from app.settings.store import AppSettings
    from app.window import MainWindow
    from gcnet_core.weights.zoo import get_entry

    app = QApplication.instance() or QApplication([])
    checkpoint = random_checkpoint(get_entry(WHOLE_ADE), work / "ade.pth")
    sources = sorted(p for p in SHARED_IMAGES.iterdir() if p.suffix in (".png", ".jpg"))
    figures = {}

    def wait_until(condition, timeout: float = 600.0, since: float | None = None) -> float:
        """Seconds from ``since`` (default: now) until ``condition()`` holds."""
        start = time.perf_counter() if since is None else since
        while not condition():
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - start > timeout:
                raise TimeoutError("no mask within the timeout")
        return time.perf_counter() - start

    # off: no work-ahead, the person presses Pre-segment; on: the model selected at start-up (it
    # loads while the person picks a folder), then the folder opens; cold: the folder opens while
    # the model is still loading (only the first mask is timed)
    for mode in ("off", "on", "cold"):
        folder = work / f"photos-{mode}"
        folder.mkdir()
        for i in range(count + 3):  # 3 more, never reached by stepping: a fresh open at the end
            rgb = cv2.imread(str(sources[i % len(sources)]))
            cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.resize(rgb, (770, 512)))
        window = MainWindow(AppSettings.at(work / f"settings-{mode}.ini"))
        window.workahead.on_open_action.setChecked(mode != "off")
        window.workahead.ahead_action.setChecked(mode != "off")
        window.resize(1366, 768)
        window.show()
        passes: list[float] = []  # network seconds of each full pass, the person's or work-ahead's
        window.inference.finished.connect(lambda result: None if result.preview else passes.append(result.seconds))
        loaded: list[float] = []
        window.inference.warmed.connect(lambda _name, seconds, _error: loaded.append(seconds))
        if mode == "on":
            window.use_checkpoint(checkpoint, WHOLE_ADE, label="ade-r50")
            wait_until(lambda: bool(loaded))
        asked = time.perf_counter()  # on: the folder is opened
        window.open_folder(folder)
        if mode != "on":
            wait_until(lambda: window.session.document is not None)
            asked = time.perf_counter()  # off: Pre-segment is pressed; cold: the model is chosen
            window.use_checkpoint(checkpoint, WHOLE_ADE, label="ade-r50")

        def visible() -> bool:
            return window.session.document is not None and window.session.document.prediction is not None

        def full() -> bool:
            return visible() and not window.session.document.preview

        first_preview = None
        if mode == "off":
            window.segment_current()
        else:
            first_preview = wait_until(visible, since=asked)
        first_full = wait_until(full, since=asked)
        waits = []
        for _ in range(count - 1 if mode != "cold" else 0):
            end = time.perf_counter() + passes[-1]  # the person works on this image as long as the model needs
            while time.perf_counter() < end:
                app.processEvents()
                time.sleep(0.005)
            start = time.perf_counter()
            QTest.keyClick(window.canvas, Qt.Key.Key_D)
            if mode == "off" and not visible():
                QTest.keyClick(window.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            wait_until(visible)
            waits.append(time.perf_counter() - start)
            wait_until(full)
        fresh = None
        if mode == "on":  # jump to an image nobody segmented yet, the model loaded: preview, then full
            window.workahead.ahead_action.setChecked(False)
            wait_until(lambda: not window.inference.busy)
            start = time.perf_counter()
            window.open_image(window.files.model.paths()[-1])
            shown = wait_until(visible)
            fresh = {"preview_s": shown, "full_s": shown + wait_until(full)}
            print(f"work-ahead on : a fresh image opened with the model loaded: preview after {fresh['preview_s']:.2f} s, "
                  f"full after {fresh['full_s']:.2f} s")
        window.flush()
        window.close()
        figures[mode] = {"fresh_open": fresh, "first_visible_s": first_preview if first_preview is not None else first_full,
                         "first_full_s": first_full, "next_image_waits_s": waits,
                         "median_next_wait_s": float(np.median(waits)) if waits else None,
                         "network_s": passes, "model_load_s": loaded[0] if loaded else None}
        print(f"work-ahead {mode:4}: first mask of the opened folder's image {figures[mode]['first_visible_s']:.2f} s "
              f"(full {first_full:.2f} s" + (f"; model loaded beforehand in {loaded[0]:.2f} s" if mode == "on" else "")
              + "); next image -> mask: " + (", ".join(f"{w * 1000:.0f} ms" for w in waits) or "-"))
    return figures
