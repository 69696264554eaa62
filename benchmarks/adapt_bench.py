"""Live adaptation timings (gcnet_core/adapt) at the ADE20K R50 size, on this machine's CPU.

    nice -n 19 .venv/bin/python benchmarks/adapt_bench.py [--sizes 5 20 50] [--repeat 3]
        [--candidates fit_threads=1 fit_threads=2 ...] [--network] [--session]

A project of 770x512 synthetic scenes (six known ADE20K classes and one the model does not
know) is written to a temporary folder, and each image gets a 512x64x97 float16 feature map
in the cache (class prototypes mixed as the network's 1/8 grid mixes its pixels, plus noise;
the network's own features cost one pass each, which ``--network`` times once). Then, for
each number of corrected images:

- ``cold``: one ``adapt_project`` round that has seen nothing (held-out folds + final fit;
  what ``gcnet adapt`` does once its features are cached, and the window's first round);
- ``live``: the round after one more image is corrected, the earlier images' pixel samples
  kept (what the window runs after each correction): fit without the new image, score it,
  and, when adopted, fit on all; ``adopted``: that round with the fit on all counted
  whether or not this round adopted it (``+fit``: that fit alone);
- ``relabel``: one untouched image re-labelled from its cached features with the live head
  (the project's seven classes), then with 150-row heads: a project with every ADE20K class
  and the new one (151 rows: the live head the window fits for such a project, on 20 corrected
  images; the goal's case there), the model's random classifier (whose logits are close and
  change from cell to cell: the hard case for re-labelling's pruning) and a smooth head (150
  rows scoring the features' eight main directions, many of them nearly tied); ``+edges``: the
  same with the boundaries moved onto the image's edges, as the window's re-labelled masks are;
- ``stroke``: a scribble of the new class on the current image, re-fitted with it and the
  current image re-labelled.

``--stroke-loop`` times the window's stroke loop at this size (:func:`stroke_loop_figures`): the
pause after a stroke, then ``LiveAdapter.follow_strokes`` with the fit budget the window's
controller gives (``stroke_budget``: what 0.9 s leaves after the pause and the rest of the
last stroke's job), stroke after stroke; ``--busy`` keeps one more core busy meanwhile (a
spinning process), as a work-ahead pass or another program would.

``--session`` also times the first round of a session as the window's worker runs it
(:func:`session_figures`): the model loaded from a checkpoint file on the CPU, a new
``LiveAdapter`` (its feature version hashed from the weights), the features read from the
project's cache on disk, every image's content key and samples made afresh; then the round
after one more correction with the same adapter (the warm round it is compared with); then
the app "restarts" (a new adapter, nothing in memory), one more image is corrected, and the
first round of that session starts from what the last one kept in the project
(``adapt.learnt``: its fits, the head it used and the images' samples). Each round is timed
as the worker runs it before the untouched images get their labels (``round(keep=False)``);
writing what it learnt into the project comes after them and is timed apart.

A candidate is a setting of the fit (``fit_threads=N``: ``head.FIT_THREADS``, the torch
threads of a fit and a re-label, ``--threads`` those of the rest; ``samples=N``:
``head.MAX_FIT_SAMPLES``; ``iterations=N``: ``head.MAX_ITERATIONS``); the first is the one
the goals are read on. On a shared machine the candidates take turns within each repeat, and
each figure is the median (min-max) over the repeats.

Goals (2 CPU cores): live adaptation <= 3 s for 50 corrected images, re-labelling <= 50 ms,
stroke to refreshed image <= 1 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gcnet_core.adapt import head  # noqa: E402
from gcnet_core.adapt.head import class_key, fit_head, image_samples, initial_head, model_head, relabel  # noqa: E402
from gcnet_core.adapt.job import (AdaptMemory, ContentKeys, adapt_project, fit_with_scribble,  # noqa: E402
                                  load_corrected)
from gcnet_core.files.images import read_image_rgb  # noqa: E402
from gcnet_core.model.build import build_model  # noqa: E402
from gcnet_core.model.classes import ClassSet  # noqa: E402
from gcnet_core.predict.features import FeatureExtractor, FeatureMap, head_features  # noqa: E402
from gcnet_core.predict.loaded import LoadedModel  # noqa: E402
from gcnet_core.project.feature_cache import FeatureCache  # noqa: E402
from gcnet_core.predict.network_input import normalize  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

ENTRY = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"
HEIGHT, WIDTH = 512, 770
KNOWN = ("wall", "floor", "ceiling", "bed", "windowpane", "cabinet")
NEW = "graffiti"


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(RGB image, labels): a room of six known classes in bands and blocks, a blob of the new one."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((HEIGHT, WIDTH), np.uint8)  # wall
    labels[: rng.integers(40, 90)] = 2  # ceiling
    labels[rng.integers(380, 430):] = 1  # floor
    for class_id, (h, w) in ((3, (140, 260)), (4, (120, 140)), (5, (160, 120))):
        top, left = rng.integers(60, HEIGHT - h - 40), rng.integers(0, WIDTH - w)
        labels[top:top + h, left:left + w] = class_id
    rows, cols = np.mgrid[:HEIGHT, :WIDTH]
    cy, cx, ry, rx = rng.integers(120, 380), rng.integers(120, 650), rng.integers(40, 90), rng.integers(60, 120)
    labels[((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1] = 6
    palette = rng.integers(0, 255, (7, 3))
    image = np.clip(palette[labels] + rng.integers(-20, 20, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    return image, labels


def synthetic_features(labels: np.ndarray, prototypes: np.ndarray, rng: np.random.Generator) -> FeatureMap:
    """The grid the network would give a 770x512 image (64x97), classes mixed per cell by area."""
    grid_h, grid_w = (HEIGHT + 7) // 8, (WIDTH + 7) // 8
    mixed = np.stack([cv2.resize((labels == c).astype(np.float32), (grid_w, grid_h), interpolation=cv2.INTER_AREA)
                      for c in range(len(prototypes))], axis=2)  # (h, w, classes): each cell's share
    features = mixed @ prototypes + rng.normal(0, 0.35, (grid_h, grid_w, prototypes.shape[1]))
    features = np.maximum(features, 0).transpose(2, 0, 1).astype(np.float16)
    return FeatureMap(np.ascontiguousarray(features), (HEIGHT, WIDTH), (HEIGHT, WIDTH), False, False)


def timed(function, repeat: int = 1) -> tuple[float, object]:
    """(median wall-clock seconds, result); the median CPU seconds go to CPU_SECONDS. On a
    shared machine the CPU time is the steadier figure: it does not count waiting for a core."""
    times, cpu_times, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
    CPU_SECONDS[0] = statistics.median(cpu_times)
    return statistics.median(times), result


CPU_SECONDS = [0.0]


def timed_cpu(function, repeat: int = 1) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of :func:`timed`."""
    seconds, result = timed(function, repeat)
    return seconds, CPU_SECONDS[0], result


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """median (min-max) of ``values`` times ``scale``."""
    values = [v * scale for v in values]
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def parse_candidate(text: str) -> dict[str, int]:
    """``fit_threads=2,samples=5000`` -> {"fit_threads": 2, "samples": 5000}."""
    settings = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in ("fit_threads", "samples", "iterations") or not value.isdigit() or int(value) < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: a candidate is fit_threads=N, samples=N or iterations=N")
        settings[key] = int(value)
    return settings


def use_candidate(settings: dict[str, int]) -> None:
    head.FIT_THREADS = settings.get("fit_threads", DEFAULT_FIT_THREADS)
    head.MAX_FIT_SAMPLES = settings.get("samples", DEFAULT_SAMPLES)
    head.MAX_ITERATIONS = settings.get("iterations", DEFAULT_ITERATIONS)


DEFAULT_FIT_THREADS, DEFAULT_SAMPLES, DEFAULT_ITERATIONS = head.FIT_THREADS, head.MAX_FIT_SAMPLES, head.MAX_ITERATIONS


def round_figures(project, model, cache, extractor, keys, paths, size: int, untouched: Path) -> dict:
    """Seconds of the cold round on ``size`` corrected images, the live round after one more
    (and the fit on all that an adopting round adds), and one re-label."""
    for path in paths[:size]:
        project.set_state(path, "corrected")
    for path in paths[size:]:
        project.set_state(path, "predicted")
    memory = AdaptMemory()
    cold_s, cold_cpu, cold = timed_cpu(lambda: adapt_project(project, model, cache, extractor=extractor,
                                                             memory=memory, keys=keys))
    project.set_state(paths[size], "corrected")  # one more correction: the live round
    live_s, live_cpu, live = timed_cpu(lambda: adapt_project(project, model, cache, current=cold.head,
                                                             extractor=extractor, memory=memory, keys=keys))
    corrected = load_corrected(project, extractor, cache, keys, [])
    conv_seg = model.network.decode_head.conv_seg
    classes = tuple(project.classes.names)

    def fit_on_all():
        chosen = [memory.samples(image, len(classes))[0] for image in corrected]
        start = initial_head(conv_seg.weight, conv_seg.bias, model.classes.names, classes, chosen)
        return fit_head(start, chosen, warm=cold.head)

    fit_s, fit_cpu, _ = timed_cpu(fit_on_all)
    features = cache.get(keys.of(untouched), extractor.version)
    relabel_s, relabel_cpu, _ = timed_cpu(lambda: relabel(live.head, features), repeat=5)
    image = read_image_rgb(untouched)
    edges_s, edges_cpu, _ = timed_cpu(lambda: relabel(live.head, features, image), repeat=5)
    extra = (0.0, 0.0) if live.adopted else (fit_s, fit_cpu)
    return {"cold": cold_s, "live": live_s, "adopted": live_s + extra[0], "fit": fit_s, "relabel": relabel_s,
            "cold cpu": cold_cpu, "live cpu": live_cpu, "adopted cpu": live_cpu + extra[1], "fit cpu": fit_cpu,
            "relabel cpu": relabel_cpu, "relabel+edges": edges_s, "relabel+edges cpu": edges_cpu,
            "summary": live.summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 50])
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the process")
    parser.add_argument("--repeat", type=int, default=3, help="runs of every candidate, taking turns")
    parser.add_argument("--candidates", type=parse_candidate, nargs="+", default=[{}],
                        help="fit settings to compare, e.g. fit_threads=1 fit_threads=2 samples=5000")
    parser.add_argument("--network", action="store_true", help="also time one R50 pass with and without "
                                                               "keeping its features")
    parser.add_argument("--stroke-loop", action="store_true", help="also time the window's stroke loop, stroke "
                        "after stroke, with its adaptive fit budget")
    parser.add_argument("--busy", action="store_true", help="keep one more core busy during --stroke-loop")
    parser.add_argument("--session", action="store_true", help="also time the first round of a session as the "
                        "window runs it: model loaded from a file, features read from disk")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    entry = get_entry(ENTRY)
    torch.manual_seed(0)
    network = build_model(entry).eval()
    with torch.no_grad():
        network.decode_head.conv_seg.weight.normal_(0, 0.05)
    model = LoadedModel(network, entry, entry.classes)
    extractor = FeatureExtractor(network, entry)
    classes = ClassSet((*KNOWN, NEW), tuple((40 * i, 255 - 30 * i, 90) for i in range(len(KNOWN) + 1)))
    rng = np.random.default_rng(0)
    prototypes = np.abs(rng.normal(0.6, 0.5, (len(classes), 512))).astype(np.float32)
    cache, keys = FeatureCache(None, memory_mb=4096), ContentKeys()
    total = max(args.sizes) + 1 + 3
    names = [",".join(f"{k}={v}" for k, v in c.items()) or f"fit_threads={head.FIT_THREADS}" for c in args.candidates]
    print(f"ADE20K R50 features of 770x512 images: 512x64x97 float16 = {512 * 64 * 97 * 2 / 2**20:.1f} MiB each; "
          f"torch threads {args.threads}; candidates {', '.join(names)}; {args.repeat} runs each, taking turns; "
          "median (min-max) seconds")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        project = Project.create(root, classes)
        paths = []
        for seed in range(total):
            image, labels = scene(seed)
            path = root / f"img{seed:03d}.png"
            cv2.imwrite(str(path), image)
            project.write_masks(path, labels)
            cache.put(keys.of(path), extractor.version, synthetic_features(labels, prototypes, rng))
            paths.append(path)
        untouched = paths[-3:]
        if args.network:
            network_figures(network, extractor, scene(0)[0])
        runs = {(name, size): [] for name in names for size in args.sizes}
        for _ in range(args.repeat):
            for name, settings in zip(names, args.candidates):
                use_candidate(settings)
                for size in args.sizes:
                    runs[name, size].append(round_figures(project, model, cache, extractor, keys, paths, size,
                                                          untouched[0]))
        for size in args.sizes:
            for name in names:
                figures = runs[name, size]
                for clock in ("", " cpu"):
                    column = {key: [f[key + clock] for f in figures] for key in ("cold", "live", "adopted", "fit",
                                                                                   "relabel", "relabel+edges")}
                    print(f"{size:3d} corrected, {name + (clock or ' wall'):24}: cold {spread(column['cold'])} s; "
                          f"live after image {size + 1} {spread(column['live'])} s, adopted "
                          f"{spread(column['adopted'])} s (+fit {spread(column['fit'])} s); relabel "
                          f"{spread(column['relabel'], 1000, 0)} ms (+edges {spread(column['relabel+edges'], 1000, 0)} ms)")
            print(f"    {figures[-1]['summary']}")
        use_candidate(args.candidates[0])
        features = cache.get(keys.of(untouched[0]), extractor.version)
        conv_seg = network.decode_head.conv_seg
        every = model_head(conv_seg.weight, conv_seg.bias, entry.classes.names, entry.classes.names)
        image = read_image_rgb(untouched[0])
        fitted = fitted_wide_head(conv_seg, entry.classes.names, classes, cache, keys, extractor, paths[:20])
        wide_goal = []
        for name, wide_head in (("every ADE20K class and the new one, fitted", fitted),
                                ("every ADE20K class, random classifier", every),
                                ("every ADE20K class, smooth", smooth_head(every, features))):
            for label, with_image in (("", None), (" +edges", image)):
                wide = [timed_cpu(lambda: relabel(wide_head, features, with_image))[:2] for _ in range(5)]
                print(f"relabel{label} with a {wide_head.rows}-row head ({name}): "
                      f"{spread([w for w, _ in wide], 1000, 0)} ms per 770x512 image "
                      f"(cpu {spread([c for _, c in wide], 1000, 0)} ms)")
                if wide_head is fitted and not label:
                    wide_goal = [w for w, _ in wide]
        stroke_figures(project, model, cache, extractor, keys, classes, untouched[1])
        if args.stroke_loop:
            stroke_loop_figures(project, model, cache, keys, classes, paths, untouched[1], args.busy)
        if args.session:
            session_figures(project, network, cache, keys, paths, args.sizes, args.repeat, root)
        largest = max(args.sizes)
        goal_run = runs[names[0], largest]
        for clock in ("", " cpu"):
            adopted = statistics.median(f["adopted" + clock] for f in goal_run)
            cold = statistics.median(f["cold" + clock] for f in goal_run)
            relabel_ms = 1000 * statistics.median(f["relabel" + clock] for f in goal_run)
            print(f"goals ({names[0]}, {largest} corrected, {clock.strip() or 'wall'} seconds): live round adopting "
                  f"{adopted:.2f} s (<= 3 s: {'met' if adopted <= 3 else 'missed'}), cold round {cold:.2f} s "
                  f"({'met' if cold <= 3 else 'missed'}); relabel {relabel_ms:.0f} ms (<= 50 ms: "
                  f"{'met' if relabel_ms <= 50 else 'missed'})")
        wide_ms = 1000 * statistics.median(wide_goal)
        print(f"goal (wall), a project with every ADE20K class: relabel {wide_ms:.0f} ms (<= 50 ms: "
              f"{'met' if wide_ms <= 50 else 'missed'})")
    return 0


def fitted_wide_head(conv_seg, model_classes, classes: ClassSet, cache, keys, extractor, paths: list[Path]):
    """The live head of a project whose classes are every ADE20K class and the new one (151
    rows), fitted on the scenes of ``paths`` as the window fits it: the model's rows to start
    from, each scene's labels in that project's ids."""
    wide_classes = (*model_classes, NEW)
    index = {class_key(name): i for i, name in enumerate(wide_classes)}
    to_wide = np.array([index[class_key(name)] for name in classes.names], np.uint8)
    samples = []
    for seed, path in enumerate(paths):
        labels = to_wide[scene(seed)[1]]
        samples.append(image_samples(cache.get(keys.of(path), extractor.version), labels, None, len(wide_classes)))
    start = initial_head(conv_seg.weight, conv_seg.bias, model_classes, wide_classes, samples)
    return fit_head(start, samples)


def smooth_head(head, features: FeatureMap):
    """A 150-row head whose logits on ``features`` are as smooth as a trained classifier's: each
    row scores the features' own few directions (blocks of classes), the rest of its weights 0."""
    rng = np.random.default_rng(1)
    grid = features.features.astype(np.float32).reshape(512, -1)
    directions = np.linalg.svd(grid - grid.mean(1, keepdims=True), full_matrices=False)[0][:, :8]  # (512, 8)
    weight = (rng.normal(0, 1, (head.rows, 8)) @ directions.T).astype(np.float32) * 3
    return dataclasses.replace(head, weight=weight, bias=np.zeros(head.rows, np.float32))


def stroke_figures(project, model, cache, extractor, keys, classes, current: Path) -> None:
    """A few strokes of the new class on the current image: re-fit with them, re-label the image."""
    others = load_corrected(project, extractor, cache, keys, [])[:20]
    memory = AdaptMemory()
    for image in others:  # kept from the rounds before, as in the window
        memory.samples(image, len(classes))
    features = cache.get(keys.of(current), extractor.version)
    image = read_image_rgb(current)
    _, labels = scene(int(current.stem[3:]))
    scribble = np.full(labels.shape, 255, np.uint8)
    rows, cols = np.nonzero(labels == len(classes) - 1)
    for k in range(3):  # three short strokes across the blob
        row = int(np.percentile(rows, 30 + 20 * k))
        scribble[row - 4:row + 4, cols.min() + 10:cols.max() - 10] = len(classes) - 1

    def refresh():
        fitted = fit_with_scribble(model, classes.names, others, memory, features, scribble, budget_s=0.6)
        return relabel(fitted, features, image)  # as the window's stroke loop: on the image's edges

    seconds, cpu, refreshed = timed_cpu(refresh, repeat=3)
    blob = labels == len(classes) - 1
    iou = ((refreshed == len(classes) - 1) & blob).sum() / max(1, ((refreshed == len(classes) - 1) | blob).sum())
    print(f"stroke of a new class on the current image (+ 20 corrected images' samples): re-fit and re-label "
          f"{seconds:.2f} s (cpu {cpu:.2f} s), new class IoU on that image {iou:.2f}")


def stroke_loop_figures(project, model, cache, keys, classes, paths, current: Path, busy: bool) -> None:
    """The window's stroke loop on ``current`` after a round on 20 corrected images: for each of
    seven strokes of the new class, the pause (STROKE_DEBOUNCE_MS) and the stroke job as the
    controller runs it, its budget from what the last job's rest took."""
    import subprocess

    from app.controllers.live_adaptation import STROKE_DEBOUNCE_MS, stroke_budget
    from gcnet_core.adapt.job import LiveAdapter

    for path in paths[:20]:
        project.set_state(path, "corrected")
    for path in paths[20:]:
        project.set_state(path, "predicted")
    adapter = LiveAdapter(model, cache)
    adapter.round(project)
    _, labels = scene(int(current.stem[3:]))
    rows, cols = np.nonzero(labels == len(classes) - 1)
    spinner = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if busy else None
    try:
        rest, totals, budgets = 0.5, [], []
        for k in range(7):
            scribble = np.full(labels.shape, 255, np.uint8)
            for j in range(k % 3 + 1):
                row = int(np.percentile(rows, 30 + 20 * j))
                scribble[row - 4:row + 4, cols.min() + 10:cols.max() - 10] = len(classes) - 1
            time.sleep(STROKE_DEBOUNCE_MS / 1000)
            began = time.perf_counter()
            budget = stroke_budget(STROKE_DEBOUNCE_MS / 1000, rest)
            adapter.follow_strokes(classes.names, current, scribble, budget_s=budget)
            job = time.perf_counter() - began
            rest = max(0.0, job - budget)
            totals.append(STROKE_DEBOUNCE_MS / 1000 + job)
            budgets.append(budget)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    print(f"stroke loop{' with one more core busy' if busy else ''}: a stroke's end to its result "
          f"{spread(totals[1:])} s after the first ({totals[0]:.2f} s; goal <= 1 s), fit budgets "
          f"{spread(budgets[1:])} s")


def session_figures(project, network, cache, keys, paths, sizes, repeat: int, root: Path) -> None:
    """The first round of a session, as the window's adaptation worker runs it (AdapterHolder:
    init_model from the file on the CPU, a new LiveAdapter over the project's disk cache),
    against the round after one more correction with the same adapter, and against the first
    round of the next session (a new adapter, nothing in memory) after one more correction,
    which starts from what the last one kept (adapt.learnt)."""
    from gcnet_core.adapt.job import LiveAdapter
    from gcnet_core.api import init_model

    checkpoint = root / "session.pth"  # ~180 MB, inside the temporary folder
    torch.save({"state_dict": network.state_dict(), "meta": {}}, checkpoint)
    disk = FeatureCache(root / "features", memory_mb=4096)
    version = FeatureExtractor(network, get_entry(ENTRY)).version
    for path in paths:
        disk.put(keys.of(path), version, cache.get(keys.of(path), version))
    kept = root / "live-model"
    for size in sizes:
        figures = []
        for _ in range(repeat):
            shutil.rmtree(kept, ignore_errors=True)
            for path in paths[:size]:
                project.set_state(path, "corrected")
            for path in paths[size:]:
                project.set_state(path, "predicted")
            load_s, load_cpu, model = timed_cpu(lambda: init_model(ENTRY, checkpoint, device="cpu"))
            fresh = FeatureCache(root / "features", memory_mb=4096)  # nothing in memory: read from disk
            first_s, first_cpu, adapter = timed_cpu(lambda: LiveAdapter(model, fresh, kept_in=kept))
            # as the window's worker: the round, its labels out, then what it learnt kept (not timed here)
            round_s, round_cpu, first = timed_cpu(lambda: adapter.round(project, keep=False))
            keep_s = [timed(adapter.keep)[0]]
            project.set_state(paths[size], "corrected")
            next_s, next_cpu, _ = timed_cpu(lambda: adapter.round(project, keep=False))
            keep_s.append(timed(adapter.keep)[0])
            # the app restarts, and the person corrects one more image: what the last session kept
            project.set_state(paths[size + 1], "corrected")
            fresh = FeatureCache(root / "features", memory_mb=4096)
            again_s, again_cpu, restarted = timed_cpu(lambda: LiveAdapter(model, fresh, kept_in=kept))
            resumed_s, resumed_cpu, resumed = timed_cpu(lambda: restarted.round(project, keep=False))
            keep_s.append(timed(restarted.keep)[0])
            figures.append((load_s, load_cpu, first_s + round_s, first_cpu + round_cpu, next_s, next_cpu,
                            again_s + resumed_s, again_cpu + resumed_cpu, *keep_s))
        column = list(zip(*figures))
        print(f"{size:3d} corrected, first round of a session: model loaded {spread(column[0])} s (cpu "
              f"{spread(column[1])}); first round {spread(column[2])} s (cpu {spread(column[3])}); the round after "
              f"one more correction {spread(column[4])} s (cpu {spread(column[5])}); after a restart and one more "
              f"correction, from what the last session kept, {spread(column[6])} s (cpu {spread(column[7])}); "
              f"each then kept in the project in {spread(column[8])}, {spread(column[9])}, {spread(column[10])} s")
        print(f"    {first.summary}")
        print(f"    after the restart: {resumed.summary}")
    checkpoint.unlink()


def network_figures(network, extractor, image: np.ndarray) -> None:
    """One R50 pass at 770x512: logits alone, and logits plus the float16 features kept."""
    x = normalize([image], next(network.parameters()).device)

    def logits_only():
        with torch.inference_mode():
            return network(x)

    def with_features():
        with torch.inference_mode():
            features = head_features(network, x)
            logits = torch.nn.functional.interpolate(network.decode_head.conv_seg(features), size=x.shape[2:],
                                                     mode="bilinear", align_corners=False)
            return logits, features[0].numpy().astype(np.float16)

    logits_only()
    plain, _ = timed(logits_only, repeat=3)
    kept, _ = timed(with_features, repeat=3)
    print(f"R50 pass at 770x512: {plain:.2f} s; with the features kept (float16 copy): {kept:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
