"""Canvas timings on a 4000x3000 photo: open + first paint, one brush step, undo of a stroke.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/canvas_bench.py [--image PATH]``.
Targets: open + show < 300 ms, brush step < 10 ms, undo < 50 ms. ``--background`` keeps an
ADE20K R50 (random weights) segmenting in a thread meanwhile, as work-ahead does. A brush step is the
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

from app.canvas import CanvasView  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402

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
    parser.add_argument("--background", action="store_true", help="a model segments in a thread meanwhile")
    args = parser.parse_args()
    vw, vh = (int(v) for v in args.size.split("x"))

    app = QApplication.instance() or QApplication(sys.argv[:1])
    classes = DATASET_CLASSES["cityscapes"]
    rgb = photo(args.image)
    labels = labels_like_segmentation()

    stop_background = background_inference() if args.background else None
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
    model_tool_steps(app, view, doc, rgb)
    if stop_background is not None:
        print(f"background passes finished meanwhile: {stop_background()}")
    return 0


def model_tool_steps(app, view, doc, rgb) -> None:
    """The model-aware tools on the 4000x3000 document (rankings on their 320-pixel grid)."""
    from app.canvas.model_tools import SuperpixelTool, snap_stroke
    from gcnet_core.predict.rankings import ClassRankings, grid_size

    rows, cols = grid_size(H, W)
    rng = np.random.default_rng(1)
    doc.keep_model_output(doc.labels.copy(), None, ClassRankings(rng.integers(0, 19, (5, rows, cols)),
                                                                 rng.integers(0, 256, (5, rows, cols)), (H, W)))
    t = time.perf_counter()
    ranked = doc.region_classes(2000, 1500)
    print(f"pick: ranking of one region ({len(ranked)} classes):       {ms(time.perf_counter() - t)}")
    tool = SuperpixelTool(view)
    view.set_brush_size(20)
    times = []
    tool.press(1000, 1800)
    for i in range(1, 40):
        t = time.perf_counter()
        tool.move(1000 + 6 * i, 1800 + 2 * i)
        flush(app)
        times.append(time.perf_counter() - t)
    tool.release()
    print(f"superpixel brush step r=10: median {ms(statistics.median(times))}, max {ms(max(times))} "
          "(the first step in a 256-px tile computes its superpixels)")
    labels = doc.labels.copy()
    yy, xx = np.ogrid[:H, :W]
    labels[(yy - 1500) ** 2 + (xx - 2000) ** 2 <= 260 ** 2] = 7  # an object of 520 px the model drew
    stroke = np.zeros((H, W), bool)
    stroke[1480:1520, 1900:2100] = True  # a short stroke inside it
    for what, cls in (("grows and re-outlines the object it is in", 7), ("grows a new class over it", 8)):
        t = time.perf_counter()
        snap_stroke(rgb, labels, stroke, cls, labels, doc.rankings, 19)
        print(f"snap of a 200-px stroke that {what}: {ms(time.perf_counter() - t)}")


def background_inference():
    """Segment a 770x512 photo again and again in a thread (torch releases the GIL); returns a
    function that stops it and gives the number of passes."""
    import threading

    from gcnet_core.api import LoadedModel, build_model
    from gcnet_core.predict.running import inference
    from gcnet_core.weights.zoo import get_entry

    entry = get_entry("gcnet_r50-d8_4xb4-80k_ade20k-512x512")
    model = LoadedModel(build_model(entry).eval(), entry, entry.classes)  # untrained: the same cost
    image = np.random.default_rng(0).integers(0, 255, (512, 770, 3), dtype=np.uint8)
    done, stop = [0], threading.Event()

    def loop() -> None:
        while not stop.is_set():
            inference(model, image)
            done[0] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def finish() -> int:
        stop.set()
        thread.join()
        return done[0]

    return finish


if __name__ == "__main__":
    raise SystemExit(main())
