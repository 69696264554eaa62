"""Our GCNet against mmsegmentation itself, on random weights in the official file layout.

Opt-in and heavy (CPU only, a few minutes): runs only where mmsegmentation is importable,
i.e. in ``.refvenv`` (see ``mmseg_reference.py`` for the install commands)::

    .refvenv/bin/python -m pytest tests/reference -m reference -s

Everywhere else (the normal ``.venv``, CI) the whole module is skipped.

What is compared, for each zoo entry: a random checkpoint saved as the v0.5 zoo files are
(``meta`` + ``state_dict`` with the auxiliary head) is loaded by mmseg (``init_model`` on the
official 1.x config shipped in the wheel) and by us (``gcnet_core.init_model``), then

* the network alone: our ``GCNet.forward`` vs mmseg's ``EncoderDecoder.encode_decode`` on
  the same normalised tensor;
* the full single-image path from the image file: ``gcnet_core.inference(...,
  return_logits=True)`` vs ``mmseg.apis.inference_model`` (test pipeline resize,
  normalisation, whole/slide inference, resize back to the original size);
* ms+flip (``tta=True``, the 0.x scale rule of docs/inference.md) vs mmseg's own ``TestTimeAug`` +
  ``SegTTAModel`` configured with the 0.x scales (mmseg 1.x's shipped ``tta_pipeline`` uses
  the 1.x rule, ratio x original size, which the published ms+flip numbers did not use).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.reference

if importlib.util.find_spec("mmseg") is None:
    pytest.skip("mmsegmentation is not installed (the reference tests run in .refvenv)",
                allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mmseg_reference as R  # noqa: E402

R.install_mmcv_ops_stub()
pytest.importorskip("mmseg")

import gcnet_core  # noqa: E402
from gcnet_core.files.images import read_image_rgb  # noqa: E402
from gcnet_core.model import GCNet  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402

IMAGES = Path(__file__).resolve().parents[3] / "shared" / "data" / "images"

R50_ADE = "gcnet_r50-d8_4xb4-80k_ade20k-512x512"
R101_VOC = "gcnet_r101-d8_4xb4-20k_voc12aug-512x512"
R50_CS769 = "gcnet_r50-d8_4xb2-40k_cityscapes-769x769"
R101_CS769 = "gcnet_r101-d8_4xb2-40k_cityscapes-769x769"
ENTRIES = (R50_ADE, R101_VOC, R50_CS769, R101_CS769)

LABEL_AGREEMENT = 0.999  # fraction of pixels whose argmax must agree
LOGIT_REL_TOL = 1e-4  # max |ours - mmseg| / max |mmseg logit|
PROB_ABS_TOL = 1e-4  # averaged probabilities (tta)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """``checkpoint(name)`` -> path of a random checkpoint for that entry (made once)."""
    folder = tmp_path_factory.mktemp("random_checkpoints")
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            path = folder / f"{name}_random.pth"
            stats = R.make_random_checkpoint(name, path, seed=sum(map(ord, name)) % 1000)
            print(f"\n[random checkpoint] {name}: {stats}")
            assert stats["n_classes_predicted"] >= 5, stats
            assert stats["logit_std_over_classes"] > 1.0, stats
            made[name] = path
        return made[name]

    return make


@pytest.fixture(scope="module")
def mmseg_models():
    """``mmseg_models(name, path)`` -> mmseg's model, cached per entry."""
    built = {}

    def get(name: str, path: Path):
        if name not in built:
            built.clear()  # keep one R101 at a time in memory
            built[name] = R.build_model(name, path)
        return built[name]

    return get


@pytest.fixture(scope="module")
def cityscapes_like_image(tmp_path_factory) -> Path:
    """A 1024x2048 photo (resized coffee.png): the test pipeline makes it 1025x2049, so the
    769 models run their real 2 x 4 sliding windows."""
    import cv2
    image = cv2.imread(str(IMAGES / "coffee.png"), cv2.IMREAD_COLOR)
    path = tmp_path_factory.mktemp("images") / "coffee_1024x2048.png"
    cv2.imwrite(str(path), cv2.resize(image, (2048, 1024), interpolation=cv2.INTER_CUBIC))
    return path


def _image(name: str, cityscapes_like_image: Path) -> Path:
    return cityscapes_like_image if name == "cityscapes_1024x2048" else IMAGES / name


def _compare_logits(ours: np.ndarray, ref: np.ndarray) -> dict:
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    return {"max_abs_diff": float(diff.max()), "max_abs_logit": float(np.abs(ref).max()),
            "rel": float(diff.max() / np.abs(ref).max())}


# ----------------------------------------------------------------------------- tests

@pytest.mark.parametrize("name", ENTRIES)
def test_random_checkpoint_has_the_official_layout(name, checkpoint):
    ckpt = torch.load(checkpoint(name), map_location="cpu", weights_only=True)
    entry = get_entry(name)
    assert set(ckpt) == {"meta", "state_dict"}
    assert len(ckpt["meta"]["CLASSES"]) == entry.num_classes
    sd = ckpt["state_dict"]
    assert len(sd) == (366 if entry.depth == 50 else 672)
    assert sum(k.endswith("num_batches_tracked") for k in sd) == (59 if entry.depth == 50 else 110)
    assert not any(k.startswith("module.") for k in sd)
    assert sd["decode_head.conv_seg.weight"].shape == (entry.num_classes, 512, 1, 1)


@pytest.mark.parametrize("name", ENTRIES)
def test_network_matches_encode_decode(name, checkpoint, mmseg_models):
    """Our raw network (strict load minus the aux head) vs mmseg's ``encode_decode``."""
    entry = get_entry(name)
    path = checkpoint(name)
    ref_model = mmseg_models(name, path)
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    ours = GCNet(entry.num_classes, entry.depth, entry.align_corners).eval()
    ours.load_state_dict({k: v for k, v in state.items() if not k.startswith("auxiliary_head.")})

    size = (769, 769) if entry.test_mode == "slide" else (512, 683)
    x = R.smooth_image(torch.Generator().manual_seed(7), size) * 1.5
    with torch.no_grad():
        ref = R.encode_decode(ref_model, x)[0].numpy()
        out = ours(x)[0].numpy()
    numbers = _compare_logits(out, ref)
    agree = float((out.argmax(0) == ref.argmax(0)).mean())
    print(f"\n[network] {name} {size}: {numbers} labels agree {agree:.6f}")
    assert numbers["rel"] <= LOGIT_REL_TOL
    assert agree >= LABEL_AGREEMENT


WHOLE_CASES = [(R50_ADE, "chelsea.png"), (R50_ADE, "camera.png"), (R101_VOC, "rocket.jpg")]
SLIDE_CASES = [(R50_CS769, "cityscapes_1024x2048"), (R101_CS769, "cityscapes_1024x2048")]


@pytest.mark.parametrize("name, image", WHOLE_CASES + SLIDE_CASES)
def test_inference_matches_inference_model(name, image, checkpoint, mmseg_models, cityscapes_like_image):
    """The full single-image path, from the file to labels and logits at the original size."""
    path = checkpoint(name)
    image_path = _image(image, cityscapes_like_image)
    ref = R.inference(mmseg_models(name, path), image_path)

    model = gcnet_core.init_model(name, checkpoint=path, device="cpu", fast=False)  # the exact path
    result = gcnet_core.inference(model, image_path, return_logits=True)

    assert result.labels.shape == ref.labels.shape
    assert result.logits.shape == ref.logits.shape
    assert result.logits.dtype == np.float32
    numbers = _compare_logits(result.logits, ref.logits)
    agree = float((result.labels.astype(np.int64) == ref.labels).mean())
    probs = torch.from_numpy(ref.logits).softmax(0).max(0).values.numpy()
    conf_diff = float(np.abs(result.confidence - probs).max())
    n_classes = len(np.unique(ref.labels))
    print(f"\n[inference] {name} {image} ori {ref.labels.shape} net-input {ref.input_shape}: "
          f"{numbers} labels agree {agree:.6f} ({n_classes} classes in mmseg's map), "
          f"confidence max diff {conf_diff:.2e}")
    assert n_classes >= 3, "random weights gave a near-constant label map: weak test"
    assert numbers["rel"] <= LOGIT_REL_TOL
    assert agree >= LABEL_AGREEMENT
    assert conf_diff <= 1e-4


# fp32: the fast path's plumbing (folded BN, channels-last; the exact path's input bit for
# bit) must keep 99.9 %, on resized images too (chelsea.png is resized 451x300 -> 770x512).
# fp16 (autocast, as on a GPU, here on the CPU) is bounded lower: these random checkpoints
# have median top-2 margins of ~0.25 logits, far below a trained model's, so half-precision
# rounding flips more pixels than it would on real weights.
FAST_BARS = {"fp32": 0.999, "fp16": 0.95}


@pytest.mark.parametrize("precision", sorted(FAST_BARS))
@pytest.mark.parametrize("name, image", [WHOLE_CASES[0], SLIDE_CASES[0]])
def test_fast_path_labels_agree_with_inference_model(name, image, precision, checkpoint, mmseg_models,
                                                     cityscapes_like_image):
    """The fast path against mmseg's own inference (labels at the original size)."""
    from gcnet_core.predict.fast import FastPredictor

    path = checkpoint(name)
    image_path = _image(image, cityscapes_like_image)
    ref = R.inference(mmseg_models(name, path), image_path)
    model = gcnet_core.init_model(name, checkpoint=path, device="cpu")
    labels = FastPredictor(model.network, model.entry, precision).predict(read_image_rgb(image_path)).labels
    agree = float((labels.astype(np.int64) == ref.labels).mean())
    print(f"\n[fast {precision}] {name} {image}: labels agree with mmseg {agree:.6f}")
    assert agree >= FAST_BARS[precision]


@pytest.mark.parametrize("name, image", [WHOLE_CASES[0], SLIDE_CASES[0]])
def test_cpu_engine_labels_agree_with_inference_model(name, image, checkpoint, mmseg_models, cityscapes_like_image,
                                                      tmp_path, monkeypatch):
    """The onnxruntime CPU engine (the CPU default) against mmseg's own inference."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export needs it
    from gcnet_core.predict.onnx_engine import EnginePredictor

    monkeypatch.setenv("GCNET_CACHE_DIR", str(tmp_path))
    path = checkpoint(name)
    image_path = _image(image, cityscapes_like_image)
    ref = R.inference(mmseg_models(name, path), image_path)
    model = gcnet_core.init_model(name, checkpoint=path, device="cpu", fast=False)
    labels = EnginePredictor(model.network, model.entry).predict(read_image_rgb(image_path)).labels
    agree = float((labels.astype(np.int64) == ref.labels).mean())
    print(f"\n[engine] {name} {image}: labels agree with mmseg {agree:.6f}")
    assert agree >= LABEL_AGREEMENT


@pytest.mark.filterwarnings("ignore:The shape of value will convert")  # mmseg's merge_preds
def test_tta_matches_seg_tta_model_with_0x_scales(checkpoint, mmseg_models):
    """``tta=True`` vs mmseg's ``TestTimeAug`` + ``SegTTAModel.merge_preds`` (12 passes)."""
    name, image = R50_ADE, IMAGES / "chelsea.png"
    path = checkpoint(name)
    ref = R.inference_tta(mmseg_models(name, path), image, rule="0.x")
    # 0.x rule on a 300x451 image: short side 256, 384, 512, 640, 768, 896, each also flipped
    assert sorted({s[0] for s in ref.input_shapes}) == [256, 384, 512, 640, 768, 896]

    model = gcnet_core.init_model(name, checkpoint=path, device="cpu", fast=False)  # the exact path
    result = gcnet_core.inference(model, image, tta=True, return_logits=True)

    assert result.logits.shape == ref.probs.shape  # with tta, .logits holds the averaged probabilities
    prob_diff = float(np.abs(result.logits - ref.probs).max())
    conf_diff = float(np.abs(result.confidence - ref.probs.max(0)).max())
    agree = float((result.labels.astype(np.int64) == ref.labels).mean())
    print(f"\n[tta] {name} chelsea.png: prob max abs diff {prob_diff:.2e}, confidence max diff "
          f"{conf_diff:.2e}, labels agree {agree:.6f} ({len(np.unique(ref.labels))} classes)")
    assert prob_diff <= PROB_ABS_TOL
    assert conf_diff <= PROB_ABS_TOL
    assert agree >= LABEL_AGREEMENT


@pytest.mark.parametrize("name", [R50_ADE, R101_VOC, R50_CS769])
def test_class_names_and_palettes_match_mmseg(name):
    entry = get_entry(name)
    meta = R.dataset_meta(name)
    assert tuple(entry.classes.names) == meta["classes"]
    assert [list(c) for c in entry.classes.palette] == meta["palette"]
