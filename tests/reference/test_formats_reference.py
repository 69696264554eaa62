"""Each export read by the tool it is for (opt-in: the tools live in ``.refvenv``)::

    .refvenv/bin/python -m pytest tests/reference/test_formats_reference.py -m reference -q

* mmsegmentation 1.2.2's PascalVOCDataset, CityscapesDataset and ADE20KDataset load the VOC,
  Cityscapes and ADE20K exports (their own loading pipeline gives our labels), and its
  CityscapesDataset scan of a project that *is* a Cityscapes image folder finds only the images;
* cityscapesscripts' ``evalPixelLevelSemanticLabeling`` evaluates a Cityscapes export (with
  instanceIds, iIoU on) against predictions in labelIds: every present class scores IoU 1;
* pycocotools loads the COCO export and COCOeval of the export against itself gives AP 1;
* labelme's own ``LabelFile`` loads the labelme export, and its ``shapes_to_label`` with
  labelme2voc's table (``__ignore__`` -1, ``_background_`` 0) gives our labels (mask shapes
  exactly; polygon shapes on rectilinear regions exactly too).

Each test is skipped when its tool is not installed. The tools, added to the ``.refvenv`` of
README's reference section (they leave its torch, numpy and mmsegmentation as they are)::

    .refvenv/bin/pip install pycocotools==2.0.11 cityscapesscripts==2.3.0 labelme==6.3.1
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_formats_roundtrip import CITYSCAPES, CUSTOM, IMAGES, _labels, _project  # noqa: E402

from gcnet_core.formats.export import export_images  # noqa: E402

pytestmark = pytest.mark.reference


def _needs(module: str):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None, reason=f"{module} is not installed")


def _mmseg():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mmseg_reference as R

    R.install_mmcv_ops_stub()
    from mmseg.utils import register_all_modules

    register_all_modules()
    import mmseg.datasets as datasets

    return datasets


def _pipeline(reduce_zero_label: bool = False):
    return [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", reduce_zero_label=reduce_zero_label)]


def _check(dataset, expected: dict[str, np.ndarray]) -> None:
    assert len(dataset) == len(expected)
    for i in range(len(dataset)):
        item = dataset[i]
        name = Path(item["img_path"]).name
        np.testing.assert_array_equal(item["gt_seg_map"], expected[name], err_msg=name)


@_needs("mmseg")
def test_mmseg_reads_the_voc_export(tmp_path):
    datasets = _mmseg()
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "voc", tmp_path / "voc", split="train")
    dataset = datasets.PascalVOCDataset(
        data_root=str(tmp_path / "voc"), data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClass"),
        ann_file="ImageSets/Segmentation/train.txt", pipeline=_pipeline())
    _check(dataset, {rel.replace("/", "__").replace(".png", ".jpg"): _labels(i, CUSTOM) for i, rel in enumerate(IMAGES)})


@_needs("mmseg")
def test_mmseg_reads_the_cityscapes_export_and_never_sees_the_project_files(tmp_path):
    datasets = _mmseg()
    tree = tmp_path / "cityscapes"
    project = _project(tree / "leftImg8bit" / "val", CITYSCAPES, with_labels=True)  # a project on the tree
    scan = datasets.CityscapesDataset(data_root=str(tree), data_prefix=dict(img_path="leftImg8bit/val",
                                                                            seg_map_path="gtFine/val"),
                                      pipeline=[], lazy_init=False)
    assert sorted(Path(d["img_path"]).relative_to(project.root).as_posix() for d in scan.load_data_list()) == sorted(IMAGES)

    export_images(project, IMAGES, "cityscapes", tmp_path / "out", split="val", with_images=True)
    dataset = datasets.CityscapesDataset(data_root=str(tmp_path / "out"),
                                         data_prefix=dict(img_path="leftImg8bit/val", seg_map_path="gtFine/val"),
                                         pipeline=_pipeline())
    _check(dataset, {Path(rel).name: _labels(i, CITYSCAPES) for i, rel in enumerate(IMAGES)})


@_needs("mmseg")
def test_mmseg_reads_the_ade20k_export(tmp_path):
    datasets = _mmseg()
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "ade20k", tmp_path / "ade", split="val")
    dataset = datasets.BaseSegDataset(  # ADE20KDataset's layout and encoding, with our 4 classes
        data_root=str(tmp_path / "ade"), img_suffix=".jpg", seg_map_suffix=".png", reduce_zero_label=True,
        metainfo=dict(classes=CUSTOM.names, palette=[list(c) for c in CUSTOM.palette]),
        data_prefix=dict(img_path="images/validation", seg_map_path="annotations/validation"),
        pipeline=_pipeline(reduce_zero_label=True))
    _check(dataset, {rel.replace("/", "__").replace(".png", ".jpg"): _labels(i, CUSTOM) for i, rel in enumerate(IMAGES)})
    assert datasets.ADE20KDataset.__init__.__defaults__ is not None  # the real class exists here
    full = datasets.ADE20KDataset(data_root=str(tmp_path / "ade"), pipeline=[],
                                  data_prefix=dict(img_path="images/validation", seg_map_path="annotations/validation"))
    assert len(full) == 2


@_needs("cityscapesscripts")
def test_cityscapesscripts_evaluates_the_cityscapes_export(tmp_path):
    from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as ev

    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    export_images(project, IMAGES, "cityscapes", tmp_path / "gt", split="val")
    export_images(project, IMAGES, "labelids", tmp_path / "pred")  # a perfect prediction, in labelIds
    gt = sorted(str(p) for p in (tmp_path / "gt").rglob("*_gtFine_labelIds.png"))
    pred = sorted(str(p) for p in (tmp_path / "pred").rglob("*_gtFine_labelIds.png"))
    ev.args.evalInstLevelScore = True  # reads the ground truth's instanceIds
    ev.args.quiet = True
    ev.args.JSONOutput = False
    ev.args.exportFile = str(tmp_path / "result.json")
    result = ev.evaluateImgLists(pred, gt, ev.args)
    present = {CITYSCAPES.names[v] for i in range(2) for v in np.unique(_labels(i, CITYSCAPES)) if v != 255}
    scores = result["classScores"]
    assert present and all(scores[name] == pytest.approx(1.0) for name in present)
    print(f"cityscapesscripts: {len(present)} classes present, class IoU 1.0 each, "
          f"mean over all 19 {result['averageScoreClasses']:.3f}")


@_needs("pycocotools")
def test_pycocotools_reads_the_coco_export(tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "coco", tmp_path / "coco")
    coco = COCO(str(tmp_path / "coco" / "annotations" / "instances_train.json"))
    assert [c["supercategory"] for c in coco.loadCats(coco.getCatIds())] == list(CUSTOM.names)
    for i, image in enumerate(coco.loadImgs(coco.getImgIds())):
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), _labels(i, CUSTOM) == ann["category_id"] - 1)
    results = [dict(ann, score=1.0) for ann in coco.loadAnns(coco.getAnnIds())]
    evaluation = COCOeval(coco, coco.loadRes(json.loads(json.dumps(results))), "segm")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


@_needs("labelme")
@pytest.mark.parametrize("shapes", ["mask", "polygon"])
def test_labelme_loads_the_labelme_export(tmp_path, shapes):
    from labelme import LabelFile
    from labelme.utils import shapes_to_label

    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    if shapes == "polygon":  # rectilinear regions without holes: the contour polygons are exact
        for rel in IMAGES:
            from gcnet_core.files.masks import write_index_mask

            labels = np.full((24, 32), 255, np.uint8)
            labels[2:10, 3:20] = 1
            labels[12:20, 5:9] = 2
            labels[14:22, 20:30] = 3
            write_index_mask(project.label_path(rel), labels, CUSTOM)
    export_images(project, IMAGES, "labelme", tmp_path / "lm", labelme_shapes=shapes)
    for i, rel in enumerate(IMAGES):
        path = tmp_path / "lm" / Path(rel).with_suffix(".json")
        label_file = LabelFile(str(path))
        # labelme2voc's table: __ignore__ -1, _background_ (and no shape) 0, then the classes
        values = {"__ignore__": -1, "_background_": 0, **{name: k + 1 for k, name in enumerate(CUSTOM.names)}}
        cls, _ = shapes_to_label((24, 32), label_file.shapes, values)
        expected = _labels(i, CUSTOM) if shapes == "mask" else labels
        assert (cls != 0).all()  # every pixel is under a shape: ignore ones under __ignore__
        np.testing.assert_array_equal(np.where(cls == -1, 255, cls - 1), expected)


@_needs("mmengine")
def test_a_checkpoint_saved_with_real_mmengine_objects_loads_without_importing_mmengine(tmp_path, ade_checkpoint):
    """mmengine's own MessageHub (HistoryBuffer inside) and param scheduler, saved as its Runner
    does (``meta.cfg`` is the config's text there); read in a fresh interpreter, which must not
    import mmengine."""
    import subprocess

    script_save = f"""
import numpy as np, torch
from mmengine.logging import MessageHub
from mmengine.optim import PolyLR
hub = MessageHub.get_instance('run')
hub.update_scalar('train/loss', 0.5)
hub.update_scalar('train/loss', 0.25)
hub.update_info('iter', 80000)
plain = torch.load({str(ade_checkpoint)!r}, weights_only=True)
meta = dict(plain['meta'], dataset_meta=dict(classes=plain['meta']['CLASSES']), seed=np.int64(3),
            cfg="model = dict(type='EncoderDecoder')", hook_msgs=dict(best_score=np.float64(0.5)))
optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.01, momentum=0.9)
scheduler = PolyLR(optimizer, eta_min=1e-4, power=0.9, end=80000, by_epoch=False)
torch.save(dict(meta=meta, state_dict=plain['state_dict'], message_hub=hub.state_dict(),
                optimizer=optimizer.state_dict(), param_schedulers=[scheduler.state_dict()]),
           {str(tmp_path / 'run.pth')!r})
"""
    script_load = f"""
import sys
from gcnet_core.weights.checkpoint import read_checkpoint
state, meta = read_checkpoint({str(tmp_path / 'run.pth')!r})
assert 'mmengine' not in sys.modules, 'mmengine was imported'
print(len(state), meta['seed'], meta['hook_msgs']['best_score'], meta['dataset_meta']['classes'][0])
"""
    subprocess.run([sys.executable, "-c", script_save], check=True)
    out = subprocess.run([sys.executable, "-c", script_load], check=True, capture_output=True, text=True).stdout
    import torch

    assert out.split() == [str(len(torch.load(ade_checkpoint, weights_only=True)["state_dict"])), "3", "0.5", "wall"]


@_needs("labelme")
def test_labelme_s_examples_import_and_export_as_labelme_reads_them(tmp_path):
    """labelme's own examples: our import gives what labelme's shapes_to_label gives with the
    labelme2voc table of its labels.txt, and our labelme export of the result reads the same."""
    from labelme import LabelFile
    from labelme.utils import shapes_to_label
    from test_formats_samples import LABELME, project_of

    from gcnet_core.files.masks import read_index_mask
    from gcnet_core.formats.label_import import import_labels

    lines = (LABELME / "labels.txt").read_text().splitlines()
    table = {name: i - 1 for i, name in enumerate(lines)}  # labelme2voc's: __ignore__ -1, _background_ 0

    def labelme_names(json_path: Path) -> np.ndarray:
        label_file = LabelFile(str(json_path))
        data = json.loads(json_path.read_text())
        cls, _ = shapes_to_label((data["imageHeight"], data["imageWidth"]), label_file.shapes, table)
        names = np.array(["ignore", "background", *lines[2:]], dtype=object)  # value v at v + 1
        return names[cls + 1]

    project = project_of(LABELME, tmp_path / "p")
    assert import_labels(project, "labelme", LABELME).complete
    export_images(project, ["2011_000003.jpg", "2011_000025.jpg"], "labelme", tmp_path / "out")
    ours = np.array([*project.classes.names, *[""] * (255 - len(project.classes)), "ignore"], dtype=object)
    for stem in ("2011_000003", "2011_000025"):
        imported = ours[read_index_mask(project.label_path(project.root / f"{stem}.jpg"))]
        theirs = labelme_names(LABELME / f"{stem}.json")
        print(f"labelme sample {stem}: {(imported == theirs).mean():.1%} of {imported.size} pixels agree "
              "with labelme's shapes_to_label")
        np.testing.assert_array_equal(imported, theirs)
        np.testing.assert_array_equal(labelme_names(tmp_path / "out" / f"{stem}.json"), theirs)


@_needs("labelme")
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_labelme_loads_the_labelme_export_of_a_turned_photo(tmp_path, orientation):
    """labelme turns a photo by its EXIF tag and checks imageHeight/imageWidth against it: our
    export declares the displayed size, and labelme's shapes_to_label gives our mask."""
    from labelme import LabelFile
    from labelme.utils import img_data_to_arr, shapes_to_label
    from PIL import Image

    from gcnet_core.model.classes import ClassSet
    from gcnet_core.project.store import Project

    root = tmp_path / "p"
    root.mkdir()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.zeros((6, 10, 3), np.uint8)).save(root / "a.jpg", exif=exif)
    shown = (10, 6) if orientation >= 5 else (6, 10)
    classes = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))
    project = Project.create(root, classes)
    labels = np.zeros(shown, np.uint8)
    labels[: shown[0] // 2, :3] = 1
    project.write_masks(root / "a.jpg", labels, None)
    export_images(project, ["a.jpg"], "labelme", tmp_path / "lm")
    label_file = LabelFile(str(tmp_path / "lm" / "a.json"))  # raises on a size that is not labelme's
    assert img_data_to_arr(label_file.image_data).shape[:2] == shown
    cls, _ = shapes_to_label(shown, label_file.shapes, {"__ignore__": -1, "_background_": 0, "cat": 1})
    np.testing.assert_array_equal(cls, labels)
