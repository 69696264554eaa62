"""Canvas timings on a 4000x3000 photo: open + first paint, one brush step, undo of a stroke.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/canvas_bench.py [--image PATH]``.
Targets: open + show < 300 ms, brush step < 10 ms, undo < 50 ms. A brush step is the
document write, the overlay update and the repaint of the changed area (pending paint
events processed); "full frame" is a synchronous repaint of the whole viewport (pan/zoom).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.canvas import CanvasView, MaskDocument  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES  # noqa: E402

W, H = 4000, 3000


def photo(path: str | None) -> np.ndarray:
    """A 4000x3000 RGB image: the given photo (resized) or a smooth synthetic one."""
    if path:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        return np.ascontiguousarray(cv2.resize(bgr, (W, H))[:, :, ::-1])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([xx * 255 / W, yy * 255 / H, (xx + yy) * 127 / (W + H)], -1).astype(np.uint8)


def labels_like_segmentation() -> np.ndarray:
    """Blocky 19-class labels, like a model's prediction."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 19, size=(30, 40), dtype=np.uint8)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_NEAREST)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def flush(app: QApplication) -> None:
    app.processEvents()


def brush_steps(app, view, doc, n=60, radius=10.0, y=1500):
    flush(app)  # pending full repaints (after show, zoom, mode changes) are not part of a step
    times = []
    doc.begin_stroke()
    x = 1000
    for _ in range(n):
        t = time.perf_counter()
        doc.paint_disc((x, y), (x + 6, y + 2), radius, 5)
        flush(app)
        times.append(time.perf_counter() - t)
        x += 6
    doc.end_stroke()
    return times


def open_from_disk(app, view, rgb, labels, classes) -> float:
    """What a user waits for when switching images: decoding both files, then showing them."""
    import tempfile

    from gcnet_core.files.images import read_image_rgb
    from gcnet_core.files.masks import read_index_mask, write_index_mask

    with tempfile.TemporaryDirectory() as folder:
        image_path, mask_path = Path(folder) / "photo.jpg", Path(folder) / "photo.png"
        cv2.imwrite(str(image_path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        write_index_mask(mask_path, labels, classes)
        view.set_document(None)
        flush(app)
        t = time.perf_counter()
        doc = MaskDocument(read_index_mask(mask_path), classes)
        view.set_image(read_image_rgb(image_path))
        view.set_document(doc)
        view.viewport().repaint()
        return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", help="photo to resize to 4000x3000 (default: synthetic)")
    parser.add_argument("--size", default="1600x1000", help="viewport size WxH")
    args = parser.parse_args()
    vw, vh = (int(v) for v in args.size.split("x"))

    app = QApplication.instance() or QApplication(sys.argv[:1])
    classes = DATASET_CLASSES["cityscapes"]
    rgb = photo(args.image)
    labels = labels_like_segmentation()

    view = CanvasView()
    view.resize(vw, vh)
    view.show()
    flush(app)

    t = time.perf_counter()
    doc = MaskDocument(labels, classes)
    view.set_image(rgb)
    view.set_document(doc)
    view.viewport().repaint()
    open_time = time.perf_counter() - t
    print(f"open 4000x3000 (document + set_image + set_document + first paint): {ms(open_time)}  target < 300 ms")
    print(f"open from disk (JPEG + indexed-PNG mask decode, then the above):  {ms(open_from_disk(app, view, rgb, labels, classes))}")

    t = time.perf_counter()
    for _ in range(5):
        view.viewport().repaint()
    print(f"full-viewport frame, fitted ({view.scale_factor():.3f}x):            {ms((time.perf_counter() - t) / 5)}")

    fitted = brush_steps(app, view, doc)
    print(f"brush step r=10, fitted: median {ms(statistics.median(fitted))}, max {ms(max(fitted))}  target < 10 ms")

    view.zoom_1to1()
    view.centerOn(1200, 1500)
    flush(app)
    t = time.perf_counter()
    for _ in range(5):
        view.viewport().repaint()
    print(f"full-viewport frame, 1:1:                      {ms((time.perf_counter() - t) / 5)}")
    one = brush_steps(app, view, doc, radius=10.0)
    print(f"brush step r=10, 1:1:    median {ms(statistics.median(one))}, max {ms(max(one))}")
    big = brush_steps(app, view, doc, radius=50.0, y=1400)
    print(f"brush step r=50, 1:1:    median {ms(statistics.median(big))}, max {ms(max(big))}")
    view.set_outline_only(True)
    flush(app)
    outl = brush_steps(app, view, doc, radius=10.0, y=1600)
    print(f"brush step r=10, outline: median {ms(statistics.median(outl))}, max {ms(max(outl))}")
    view.set_outline_only(False)
    flush(app)

    # Undo of a 40-segment stroke.
    doc.begin_stroke()
    for i in range(40):
        doc.paint_disc((800 + 20 * i, 1000 + 5 * i), (820 + 20 * i, 1005 + 5 * i), 15, 7)
    doc.end_stroke()
    flush(app)
    t = time.perf_counter()
    doc.undo()
    flush(app)
    undo_time = time.perf_counter() - t
    print(f"undo of a 40-segment stroke (+ repaint):      {ms(undo_time)}  target < 50 ms")

    t = time.perf_counter()
    doc.redo()
    flush(app)
    print(f"redo of it (+ repaint):                       {ms(time.perf_counter() - t)}")

    t = time.perf_counter()
    doc.replace_class(3, 4)
    flush(app)
    print(f"replace_class on the whole image (+ repaint): {ms(time.perf_counter() - t)}")
    t = time.perf_counter()
    doc.undo()
    flush(app)
    print(f"undo of it (+ repaint):                       {ms(time.perf_counter() - t)}")
    t = time.perf_counter()
    doc.flood_fill(2000, 1500, 9)
    flush(app)
    print(f"flood fill of one region (+ repaint):         {ms(time.perf_counter() - t)}")
    print(f"undo history: {doc.undo_count} steps, {doc.history_nbytes / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
