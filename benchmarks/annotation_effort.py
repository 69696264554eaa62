"""Annotation effort: actions per finished mask for three ways of working, and the wait per image.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/annotation_effort.py [--folder IMAGES --labels MASKS]
[--window] [--json OUT]``.

1. A simulated annotator works on images with ground truth: a synthetic set this script
   generates (objects of four classes on textured backgrounds), and any labelled folder
   passed in (masks = class index PNGs of the same stem). The model is GCNet R50 fine-tuned
   for a few CPU iterations on the other half of the synthetic set (partly right, as a
   model is on a new project). The annotator repeatedly takes the largest wrong region and
   fixes it with the correction of its tool set that costs least per pixel made right
   (one that fixes half the region at least, else the best partial one), until >= 98 % of
   the pixels are right, counting clicks, keys, strokes and polygon vertices, and painted
   pixels: ``polygons`` (from an empty mask), ``manual`` (pre-segmentation + brush / fill /
   polygon) and ``model`` (pre-segmentation + the model-aware tools: pick a likely class,
   next likely class, snap a stroke or rough polygon to the edges, re-snap the neighbouring
   object that spilled over the region, plus brush / fill / polygon). Every correction runs through the
   real :class:`~app.canvas.document.MaskDocument` and :mod:`app.canvas.model_tools`.
2. ``--window``: the real window (offscreen), ADE20K R50 (random weights: the same work
   as the real file) on photos at 770x512: the time from "next image" to a visible mask,
   work-ahead on and off, for a person who spends as long as the model needs per image;
   the first (preview) and full mask of the first image of a folder (the model selected at
   start-up and loaded meanwhile, and "cold": the folder opened while it still loads), and
   of a freshly opened image.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from app.canvas.model_tools import snap_polygon, snap_stroke  # noqa: E402
from gcnet_core.model.classes import IGNORE_INDEX, ClassSet  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402

TARGET = 0.98
SIZE = 96
CLASSES = ClassSet(("background", "disc", "box", "triangle", "blob"),
                   ((90, 90, 90), (220, 60, 60), (60, 160, 220), (240, 200, 40), (60, 200, 90)))


# ---------------------------------------------------------------------------- the synthetic set

def synthetic_pair(seed: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, labels): 3-5 objects of four shapes/colours (with texture) on a textured background."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint8)
    for _ in range(rng.integers(3, 6)):
        cls = int(rng.integers(1, 5))
        cx, cy = rng.integers(12, size - 12, 2)
        r = int(rng.integers(7, 16))
        shape = np.zeros_like(labels)
        if cls == 1:
            cv2.circle(shape, (int(cx), int(cy)), r, 1, -1)
        elif cls == 2:
            cv2.rectangle(shape, (int(cx - r), int(cy - r * 0.7)), (int(cx + r), int(cy + r * 0.7)), 1, -1)
        elif cls == 3:
            pts = np.array([[cx, cy - r], [cx - r, cy + r], [cx + r, cy + r]], np.int32)
            cv2.fillPoly(shape, [pts], 1)
        else:
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(shape, (int(cx), int(cy)), (r, max(3, r // 2)), angle, 0, 360, 1, -1)
        labels[shape > 0] = cls
    base = np.asarray(CLASSES.palette, np.float32)[labels]
    texture = cv2.GaussianBlur(rng.normal(0, 35, (size, size, 3)).astype(np.float32), (0, 0), 1.2)
    shade = rng.uniform(0.75, 1.15, 3).astype(np.float32)  # lighting differs per image
    rgb = np.clip(base * shade + texture, 0, 255).astype(np.uint8)
    return rgb, labels


# ---------------------------------------------------------------------------- the model

def finetuned_model(work: Path, train_pairs, classes: ClassSet, iters: int, size: int):
    """GCNet R50 (the Cityscapes entry at the set's size) trained briefly on ``train_pairs``."""
    from helpers import tiny_start_checkpoint

    from gcnet_core import init_model
    from gcnet_core.files.masks import write_index_mask
    from gcnet_core.project.store import Project
    from gcnet_core.train import TrainConfig, train
    from gcnet_core.weights import zoo

    entry = zoo.get_entry("gcnet_r50-d8_4xb2-40k_cityscapes-512x1024")
    recipe = dataclasses.replace(entry.dataset, base_scale=(size, size), crop_size=(size, size))
    entry = dataclasses.replace(entry, dataset=recipe)
    zoo._BY_NAME[entry.name] = zoo._BY_NAME[entry.legacy_name] = entry
    work.mkdir(parents=True, exist_ok=True)
    start = tiny_start_checkpoint(work / "start.pth", entry)  # residual branches start as the identity
    root = work / "train"
    root.mkdir()
    project = Project.create(root, classes)
    for i, (rgb, labels) in enumerate(train_pairs):
        cv2.imwrite(str(root / f"t{i:02d}.png"), rgb[:, :, ::-1])
        write_index_mask(project.label_path(f"t{i:02d}.png"), labels, classes)
        project.set_state(f"t{i:02d}.png", "corrected")
    project.save()
    started = time.perf_counter()
    result = train(TrainConfig(out=str(work / "out"), data_root=str(root), dataset="project", checkpoint=str(start),
                               model=entry.name, workers=0, device="cpu", iters=iters, val_share=0.0,
                               val_split="none", lr=0.03))
    print(f"fine-tuned {iters} iterations on {len(train_pairs)} images in {time.perf_counter() - started:.0f} s")
    return init_model(entry.name, result.last_path, device="cpu")


# ---------------------------------------------------------------------------- the simulated annotator

def _distance_inside(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the mask's edge (0 outside)."""
    return cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]


def ridge(mask: np.ndarray) -> np.ndarray:
    """The middle of a region, where a person draws a stroke inside it: its pixels at least
    0.6 of the largest distance from the edge."""
    distance = _distance_inside(mask)
    return distance >= 0.6 * distance.max()


@dataclasses.dataclass
class Effort:
    actions: Counter = dataclasses.field(default_factory=Counter)  # click, key, stroke, vertex
    painted: int = 0
    accuracy: float = 0.0
    corrections: Counter = dataclasses.field(default_factory=Counter)  # which tool fixed what

    @property
    def total(self) -> int:
        return sum(self.actions.values())


class Annotator:
    """Fixes the largest wrong region with the cheapest correction of its ``tools``."""

    def __init__(self, rgb, gt, doc: MaskDocument, tools: tuple[str, ...]) -> None:
        self.rgb, self.gt, self.doc, self.tools = rgb, gt, doc, tools
        self.valid = gt != IGNORE_INDEX
        self.effort = Effort()
        self.tool: str | None = None
        self.cls: int | None = None
        self.radius: float | None = None  # the brush size last used

    def accuracy(self) -> float:
        return float(((self.doc.labels == self.gt) & self.valid).sum() / max(1, self.valid.sum()))

    def run(self, limit: int = 400) -> Effort:
        for _ in range(limit):
            if self.accuracy() >= TARGET:
                break
            region = self._largest_wrong()
            if region is None:
                break
            self._fix(*region)
        self.effort.accuracy = self.accuracy()
        return self.effort

    def _largest_wrong(self):
        wrong = (self.doc.labels != self.gt) & self.valid
        best = None
        for g in np.unique(self.gt[wrong]):
            count, parts, stats, _ = cv2.connectedComponentsWithStats((wrong & (self.gt == g)).astype(np.uint8), 4)
            if count > 1:
                k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
                if best is None or stats[k, cv2.CC_STAT_AREA] > best[2]:
                    best = (int(g), parts == k, int(stats[k, cv2.CC_STAT_AREA]))
        return None if best is None else best[:2]

    def _inside(self, component: np.ndarray) -> tuple[int, int]:
        """The component's most interior pixel (where a person would click)."""
        distance = _distance_inside(component)
        y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
        return int(x), int(y)

    def _costs(self, tool: str, cls: int | None, **actions) -> Counter:
        cost = Counter(actions)
        if tool != self.tool:
            cost["key"] += 1  # the tool's key
        if cls is not None and cls != self.cls:
            cost["key"] += 1  # the class's key
        return cost

    def _candidates(self, g: int, component: np.ndarray):
        """(name, cost, apply) for each correction the tool set offers for this region."""
        doc, (x, y) = self.doc, self._inside(component)
        out = []
        if "fill" in self.tools:
            out.append(("fill", self._costs("fill", g, click=1), lambda: doc.flood_fill(x, y, g)))
        if "brush" in self.tools:  # one stroke along the region, the brush as wide as the region
            path, radius = self._centre_line(component)
            cost = self._costs("brush", g, stroke=1)
            cost["key"] += int(radius != self.radius)  # the brush size ([ / ])

            def brush():
                doc.begin_stroke()
                for p0, p1 in zip(path, path[1:] or path):
                    doc.paint_disc(p0, p1, radius, g)
                return doc.end_stroke()

            out.append((f"brush:{radius}", cost, brush))
        if "pick" in self.tools and doc.rankings is not None:
            ranked = [c for c, _ in doc.region_classes(x, y)]
            if g in ranked:
                region = doc.region_at(x, y)
                out.append(("pick", self._costs("pick", None, click=1, key=1),
                            lambda: doc.paint_mask(region[1], region[0], g)))
        if "next" in self.tools and doc.rankings is not None:
            ranked = [c for c, _ in doc.region_classes(x, y)]
            current = int(doc.labels[y, x])
            if g in ranked:
                steps = (ranked.index(g) - (ranked.index(current) if current in ranked else -1)) % len(ranked)
                region = doc.region_at(x, y)
                out.append(("next", Counter(key=max(1, steps)), lambda: doc.paint_mask(region[1], region[0], g)))
        if "snap" in self.tools:
            out += self._snaps(g, component)
        contour = self._polygon(component)
        if contour is not None:
            out.append(("polygon", self._costs("polygon", g, vertex=len(contour), key=1),
                        lambda: doc.fill_polygon(contour, g)))
        return out

    def _snaps(self, g: int, component: np.ndarray):
        """Snap tool corrections: a stroke along the middle of the region (class ``g``), a rough
        polygon around it, and a stroke inside the neighbouring object the region wrongly
        belongs to (re-outlined, it gives the region up)."""
        doc, out = self.doc, []

        def stroke_edit(stroke: np.ndarray, cls: int):
            def apply():
                snapped = snap_stroke(self.rgb, doc.labels, stroke, cls, doc.prediction, doc.rankings, len(doc.classes))
                return None if snapped is None else doc.paint_mask(snapped[2], snapped[0], snapped[1])
            return apply

        out.append(("snap", self._costs("snap", g, stroke=1), stroke_edit(ridge(component), g)))
        rough = self._polygon(component, epsilon=max(2.0, 0.12 * float(np.sqrt(component.sum()))))
        if rough is not None:  # a few clicks around the region, Enter: snapped to the edges

            def snap_rough():
                snapped = snap_polygon(self.rgb, doc.labels, rough, g, doc.prediction, doc.rankings, len(doc.classes))
                return None if snapped is None else doc.paint_mask(snapped[2], snapped[0], snapped[1])

            out.append(("snap-polygon", self._costs("snap", g, vertex=len(rough), key=1), snap_rough))
        wrong_as = np.bincount(doc.labels[component], minlength=256)
        h = int(np.argmax(wrong_as))
        if h != g and h != IGNORE_INDEX:  # the object labelled h is too big here: re-outline it
            right_h = ((doc.labels == h) & (self.gt == h)).astype(np.uint8)
            count, parts = cv2.connectedComponents(right_h, connectivity=4)
            touching = np.unique(parts[cv2.dilate(component.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0])
            touching = touching[touching > 0]
            if touching.size:
                piece = parts == touching[np.argmax(np.bincount(parts.ravel())[touching])]
                out.append((f"snap-outline:{h}", self._costs("snap", h, stroke=1), stroke_edit(ridge(piece), h)))
        return out

    @staticmethod
    def _centre_line(component: np.ndarray) -> tuple[list[tuple[float, float]], float]:
        """Where a person drags the brush over a region: its ridge (the pixels farthest from its
        edge), chained from one end, every ``radius`` pixels; the radius is the region's half width."""
        radius = float(max(1, round(_distance_inside(component).max())))
        ys, xs = np.nonzero(ridge(component))
        points = np.stack([xs, ys], 1).astype(np.float64)
        order = [int(np.argmin(points[:, 0] + points[:, 1]))]
        left = np.ones(len(points), bool)
        left[order[0]] = False
        while left.any():  # the nearest ridge pixel not yet visited
            gaps = np.hypot(*(points[left] - points[order[-1]]).T)
            order.append(int(np.flatnonzero(left)[np.argmin(gaps)]))
            left[order[-1]] = False
        path = [tuple(points[i]) for i in order[::max(1, int(radius))]] + [tuple(points[order[-1]])]
        return path, radius

    @staticmethod
    def _polygon(component: np.ndarray, epsilon: float = 1.0):
        contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        if not contours:
            return None
        points = cv2.approxPolyDP(max(contours, key=cv2.contourArea), epsilon, True).reshape(-1, 2)
        return [tuple(map(int, p)) for p in points] if len(points) >= 3 else None

    def _fix(self, g: int, component: np.ndarray) -> None:
        area = int(component.sum())
        before_right = int(((self.doc.labels == self.gt) & self.valid).sum())
        tried = []
        for name, cost, apply in self._candidates(g, component):
            labels_before = self.doc.labels.copy()
            if apply() is None:
                continue
            gain = int(((self.doc.labels == self.gt) & self.valid).sum()) - before_right
            painted = int((self.doc.labels != labels_before).sum())
            self.doc.undo()
            tried.append((name, cost, apply, gain, painted))
        # the cheapest action per pixel made right among those that fix half the region at least;
        # else among those that fix some of it (the rest is fixed next, as a person would)
        best = None
        for enough in (0.5 * area, 1):
            useful = [t for t in tried if t[3] >= enough]
            if useful:
                best = min(useful, key=lambda t: sum(t[1].values()) / t[3])
                break
        if best is None:  # nothing helps: careful brush strokes exactly along it, one per 20 px of outline
            contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            strokes = max(1, int(np.ceil(sum(len(c) for c in contours) / 2 / 20)))
            self.doc.paint_mask(component, (0, 0), g)
            best = ("brush-exact", self._costs("brush", g, stroke=strokes, key=1), None, area, area)
        else:
            best[2]()
        name, cost, _, _, painted = best
        cls = g
        if name.startswith("brush:"):  # the brush radius used
            name, self.radius = "brush", float(name.split(":")[1])
        elif name.startswith("snap-outline:"):  # the class of the object re-outlined
            name, cls = "snap-outline", int(name.split(":")[1])
        self.effort.actions.update(cost)
        self.effort.painted += painted
        self.effort.corrections[name] += 1
        self.tool = name.split("-")[0]  # snap-polygon and snap-outline are the snap tool, brush-exact the brush
        if self.tool in ("fill", "polygon", "snap", "brush"):
            self.cls = cls


WAYS = {"polygons": ("polygon",), "manual": ("brush", "fill", "polygon"),
        "model": ("pick", "next", "snap", "brush", "fill", "polygon")}


def predict(model, rgb):
    from gcnet_core.predict.running import inference

    result = inference(model, rgb)
    return result.labels, result.confidence, result.rankings


def annotate(rgb, gt, prediction, way: str, classes: ClassSet) -> Effort:
    labels, confidence, rankings = prediction
    if way == "polygons":
        doc = MaskDocument(np.full(gt.shape, IGNORE_INDEX, np.uint8), classes)
    else:
        doc = MaskDocument(labels, classes)
        doc.keep_model_output(labels, confidence, rankings)
    return Annotator(rgb, gt, doc, WAYS[way]).run()


def effort_table(pairs, predictions, title: str, classes: ClassSet) -> dict:
    rows = {}
    print(f"\n{title}: {len(pairs)} images, until >= {TARGET:.0%} of the pixels are right")
    print(f"{'way':10} {'actions/img':>11} {'click':>6} {'key':>6} {'stroke':>6} {'vertex':>6} "
          f"{'painted px/img':>14} {'final acc':>9}  corrections")
    start_acc = np.mean([np.mean(p[0][g != IGNORE_INDEX] == g[g != IGNORE_INDEX]) for p, (_, g) in
                         zip(predictions, pairs)])
    for way in WAYS:
        efforts = [annotate(rgb, gt, pred, way, classes) for (rgb, gt), pred in zip(pairs, predictions)]
        actions = sum((e.actions for e in efforts), Counter())
        corrections = sum((e.corrections for e in efforts), Counter())
        n = len(efforts)
        row = {"actions_per_image": sum(e.total for e in efforts) / n,
               **{k: actions[k] / n for k in ("click", "key", "stroke", "vertex")},
               "painted_per_image": sum(e.painted for e in efforts) / n,
               "final_accuracy": float(np.mean([e.accuracy for e in efforts])),
               "reached_target": sum(e.accuracy >= TARGET for e in efforts), "corrections": dict(corrections)}
        rows[way] = row
        print(f"{way:10} {row['actions_per_image']:11.1f} {row['click']:6.1f} {row['key']:6.1f} {row['stroke']:6.1f} "
              f"{row['vertex']:6.1f} {row['painted_per_image']:14.0f} {row['final_accuracy']:9.3f}  "
              + ", ".join(f"{k} {v}" for k, v in sorted(corrections.items())))
    ratio = rows["model"]["actions_per_image"] / max(rows["manual"]["actions_per_image"], 1e-9)
    print(f"model's starting pixel accuracy {start_acc:.3f}; model-aware / manual actions: {ratio:.2f} "
          f"(goal <= 0.50)")
    return {"images": len(pairs), "start_accuracy": float(start_acc), "ways": rows, "model_vs_manual": ratio}


def labelled_folder(images: Path, masks: Path, size: int = 256):
    """(RGB, labels) of each image with a same-stem mask, shrunk to at most ``size`` pixels."""
    from gcnet_core.files.images import find_images, read_image_rgb
    from gcnet_core.files.masks import read_index_mask

    pairs = []
    for path in find_images([images]):
        mask_path = masks / path.relative_to(images).with_suffix(".png")
        if not mask_path.exists():
            continue
        rgb, gt = read_image_rgb(path), read_index_mask(mask_path)
        factor = min(1.0, size / max(gt.shape))
        if factor < 1.0:
            dsize = (round(gt.shape[1] * factor), round(gt.shape[0] * factor))
            rgb = cv2.resize(rgb, dsize, interpolation=cv2.INTER_AREA)
            gt = cv2.resize(gt, dsize, interpolation=cv2.INTER_NEAREST)
        pairs.append((rgb, gt))
    return pairs


def folder_classes(pairs) -> ClassSet:
    """Classes 0..max label of a labelled folder, with generated colours."""
    count = int(max(gt[gt != IGNORE_INDEX].max(initial=0) for _, gt in pairs)) + 1
    rng = np.random.default_rng(0)
    return ClassSet(tuple(f"class {i}" for i in range(count)),
                    tuple(tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(count)))


# ---------------------------------------------------------------------------- the wait in the window

def window_latency(work: Path, count: int) -> dict:
    """Seconds from "next image" to a visible mask, work-ahead off and on (ADE20K R50)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from helpers import SHARED_IMAGES, WHOLE_ADE, random_checkpoint

    from app.settings import AppSettings
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
            wait_until(lambda: window.document is not None)
            asked = time.perf_counter()  # off: Pre-segment is pressed; cold: the model is chosen
            window.use_checkpoint(checkpoint, WHOLE_ADE, label="ade-r50")

        def visible() -> bool:
            return window.document is not None and window.document.prediction is not None

        def full() -> bool:
            return visible() and not window.document.preview

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="synthetic images annotated (0: none)")
    parser.add_argument("--train-images", type=int, default=12, help="synthetic images the model is tuned on")
    parser.add_argument("--iters", type=int, default=60, help="fine-tuning iterations (CPU)")
    parser.add_argument("--folder", type=Path, help="a labelled folder of images ...")
    parser.add_argument("--labels", type=Path, help="... and its class-index masks (same stems)")
    parser.add_argument("--window", action="store_true", help="also time next image -> mask in the window")
    parser.add_argument("--window-images", type=int, default=4)
    parser.add_argument("--skip-effort", action="store_true", help="only the window timings")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        import os

        os.environ.setdefault("GCNET_CACHE_DIR", str(work / "cache"))
        os.environ.setdefault("GCNET_DATA_DIR", str(work / "data"))
        if not args.skip_effort and args.images > 0:
            train_pairs = [synthetic_pair(1000 + i) for i in range(args.train_images)]
            pairs = [synthetic_pair(i) for i in range(args.images)]
            model = finetuned_model(work / "synthetic", train_pairs, CLASSES, args.iters, SIZE)
            report["synthetic"] = effort_table(pairs, [predict(model, rgb) for rgb, _ in pairs], "synthetic set",
                                               CLASSES)
        if args.folder and args.labels and not args.skip_effort:  # tuned on its first half, annotated on the second
            folder_pairs = labelled_folder(args.folder, args.labels)
            if len(folder_pairs) >= 2:
                half = len(folder_pairs) // 2
                classes = folder_classes(folder_pairs)
                side = max(max(gt.shape) for _, gt in folder_pairs)
                model = finetuned_model(work / "folder", folder_pairs[:half], classes, args.iters, side)
                report["folder"] = effort_table(folder_pairs[half:],
                                                [predict(model, rgb) for rgb, _ in folder_pairs[half:]],
                                                str(args.folder), classes)
        if args.window:
            report["window"] = window_latency(work, args.window_images)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
