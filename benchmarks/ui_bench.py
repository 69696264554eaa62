"""UI responsiveness and memory of the main window.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/ui_bench.py [--images 2000] [--runs 2]``.

1. Event latency while inference runs: a 10 ms QTimer on the UI thread measures its own
   lateness (actual minus planned firing time) while (a) nothing runs, (b) the inference
   thread pre-segments a 512x512 photo with the real-scale VOC R-50 network (random
   weights: same cost as the real ones), and (c) the same inference is called on the UI
   thread, which is what the worker thread avoids. Target: p95 lateness in (b) < 50 ms.
2. Memory: resident set size of the window with nothing open vs with a folder of N tiny
   images open (listed, visible thumbnails decoded). Target: < 100 MB for 2,000 images.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from PIL import Image  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

VOC = "gcnet_r50-d8_4xb4-20k_voc12aug-512x512"
TICK_MS = 10


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux /proc; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pump(app: QApplication, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


class LatenessProbe:
    """A repeating timer that records how late each tick fires (ms)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer(interval=TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.samples.clear()
        self.clock.start()
        self.last = self.clock.elapsed()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return list(self.samples)

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.samples.append(max(0.0, now - self.last - TICK_MS))
        self.last = now


def summary(samples: list[float]) -> str:
    if not samples:
        return "no samples"
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"median {statistics.median(ordered):6.1f} ms  p95 {p95:7.1f} ms  max {ordered[-1]:8.1f} ms  "
            f"({len(ordered)} ticks)")


def latency(app: QApplication, runs: int, workdir: Path) -> None:
    from helpers import random_checkpoint

    from app.workers.inference import InferenceService, ModelConfig
    from gcnet_core import inference, init_model
    from gcnet_core.weights.zoo import get_entry

    checkpoint = random_checkpoint(get_entry(VOC), workdir / "voc.pth")
    photo = REPO / "resources" / "samples" / "astronaut.png"
    config = ModelConfig(VOC, checkpoint, device="cpu")
    service = InferenceService()
    done: list[float] = []
    service.finished.connect(lambda result: done.append(result.seconds))
    service.failed.connect(lambda _id, message: print("inference failed:", message))
    probe = LatenessProbe()

    service.submit(photo, config)  # warm-up: loads the model, first pass
    while not done:
        pump(app, 0.05)
    done.clear()

    probe.start()
    pump(app, 2.0)
    idle = probe.stop()

    probe.start()
    for _ in range(runs):
        service.submit(photo, config)
    while len(done) < runs:
        pump(app, 0.01)
    threaded = probe.stop()

    model = init_model(VOC, checkpoint, device="cpu")
    probe.start()
    blocked_seconds: list[float] = []
    for run in range(runs):  # what the window would do without the worker thread
        QTimer.singleShot(0, lambda: blocked_seconds.append(_timed(inference, model, photo)))
        while len(blocked_seconds) <= run:
            pump(app, 0.01)
        pump(app, 0.3)  # let the probe tick between two runs
    on_ui_thread = probe.stop()
    service.shutdown()

    import torch

    print(f"inference: VOC R-50 real scale on a 512x512 photo, CPU, {torch.get_num_threads()} torch threads, "
          f"{statistics.mean(done):.2f} s per image on the worker thread")
    print(f"  UI timer lateness, idle                     : {summary(idle)}")
    print(f"  UI timer lateness, inference on worker      : {summary(threaded)}")
    print(f"  UI timer lateness, inference on UI thread   : {summary(on_ui_thread)}")


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def memory(app: QApplication, count: int, workdir: Path) -> None:
    from app.settings.store import AppSettings
    from app.window import MainWindow, Prompter

    folder = workdir / "many"
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = folder / f"part{i // 500:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(sub / f"img{i:05d}.png")

    window = MainWindow(AppSettings.at(workdir / "settings.ini"), Prompter())
    window.resize(1400, 900)
    window.show()
    pump(app, 1.0)
    empty = rss_mb()
    start = time.perf_counter()
    window.open_folder(folder)
    returned = time.perf_counter() - start
    first_row = None
    while window.scanning or window.files.model.rowCount() < count:
        if first_row is None and window.files.model.rowCount():
            first_row = time.perf_counter() - start
        app.processEvents()
    listed = time.perf_counter() - start
    pump(app, 2.0)  # visible thumbnails decoded
    opened = rss_mb()
    window.files.view.scrollToBottom()
    pump(app, 2.0)
    scrolled = rss_mb()
    print(f"folder of {count} images ({count // 500 + 1} subfolders):")
    print(f"  open_folder returned in {returned * 1000:.0f} ms; first rows after "
          f"{(first_row or listed) * 1000:.0f} ms; all listed after {listed * 1000:.0f} ms")
    print(f"  RSS empty window {empty:.0f} MiB; with the folder open {opened:.0f} MiB "
          f"(+{opened - empty:.1f} MiB); after scrolling to the end {scrolled:.0f} MiB (+{scrolled - empty:.1f} MiB)")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images in the generated folder")
    parser.add_argument("--runs", type=int, default=2, help="inferences timed per mode")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_memory:  # first, so the model's memory does not blur the figure
            memory(app, args.images, Path(tmp))
        if not args.skip_latency:
            latency(app, args.runs, Path(tmp))


if __name__ == "__main__":
    main()
