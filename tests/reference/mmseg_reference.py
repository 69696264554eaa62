"""mmsegmentation itself as the reference for our GCNet (opt-in; needs the ``.refvenv``).

Nothing here re-implements mmsegmentation: the model is built by mmseg from the official
1.x config that ships inside the pip package (``mmseg/.mim/configs/gcnet/<name>.py``), and
inference goes through ``mmseg.apis.inference_model`` (the config's test pipeline, the
``SegDataPreProcessor`` and ``EncoderDecoder.predict``), so resizing, normalisation,
whole/slide inference and the resize back to the original size are mmseg's own.

Only two things are changed, both inference-neutral:

* ``mmcv-lite`` has no compiled ops, so :func:`install_mmcv_ops_stub` puts an empty
  ``mmcv.ops`` module into ``sys.modules`` before mmseg is imported (GCNet uses none of
  them; calling any stubbed op raises).
* ``SyncBN`` is replaced by ``BN`` in the config (identical in eval mode; SyncBN needs a
  process group).

Install (see the README section "Reference tests against mmsegmentation")::

    python3 -m venv .refvenv
    .refvenv/bin/pip install torch==2.13.0
    .refvenv/bin/pip install "numpy<2" "opencv-python-headless<4.11"
    .refvenv/bin/pip install --no-deps mmengine==0.10.7 mmcv-lite==2.1.0
    .refvenv/bin/pip install -c <(echo "numpy<2") mmsegmentation==1.2.2 addict pyyaml \
        yapf rich termcolor matplotlib prettytable scipy ftfy regex packaging pillow \
        platformdirs tqdm pytest
    .refvenv/bin/pip install --no-deps -e .
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ENTRY_DATASET = {"cityscapes": "CityscapesDataset", "ade20k": "ADE20KDataset",
                 "voc12aug": "PascalVOCDataset"}
TTA_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)


# The mmcv.ops stub, config loading and model building live in gcnet_core (the benchmark's
# --mmseg mode uses them too).
from gcnet_core.predict.mmseg_bridge import (  # noqa: E402,F401
    build_mmseg_model as build_model,
    config_path,
    import_mmseg,
    install_mmcv_ops_stub,
    load_config,
)


def dataset_meta(name: str) -> dict:
    """Class names and palette of the entry's dataset, from mmseg's dataset class."""
    import_mmseg()
    import mmseg.datasets as datasets
    key = next(k for k in ENTRY_DATASET if name.endswith(k) or f"_{k}-" in name)
    meta = getattr(datasets, ENTRY_DATASET[key]).METAINFO
    return {"classes": tuple(meta["classes"]), "palette": [list(p) for p in meta["palette"]]}


# ----------------------------------------------------------------------------- random checkpoint

@torch.no_grad()
def randomize_(model: torch.nn.Module, seed: int, conv_seg_scale: float = 40.0) -> None:
    """Give every weight and BN running statistic a random value (deterministic in ``seed``).

    Conv weights: He-normal (fan_in); biases small normal; BN gamma U(0.5, 1.5), beta N(0, 0.1),
    running_mean N(0, 0.1), running_var U(0.5, 2). The last BN of every residual branch gets a
    small gamma (U(0.1, 0.3)) so that 16/33 residual blocks do not blow activations up. The
    classifiers (``conv_seg``) are then standardised per class on a synthetic image and
    scaled (logit std ~ ``conv_seg_scale``/10) so that many classes win somewhere and the
    argmax is decided by clear margins.
    """
    gen = torch.Generator().manual_seed(seed)

    def normal(t, std, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    for mod_name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            fan_in = module.weight[0].numel()
            normal(module.weight, (2.0 / fan_in) ** 0.5)
            if module.bias is not None:
                normal(module.bias, 0.1)
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            residual_end = mod_name.endswith("bn3") or mod_name.endswith("downsample.1")
            uniform(module.weight, *((0.1, 0.3) if residual_end else (0.5, 1.5)))
            normal(module.bias, 0.1)
            normal(module.running_mean, 0.1)
            uniform(module.running_var, 0.5, 2.0)
            module.num_batches_tracked.fill_(int(torch.randint(1000, 80000, (), generator=gen)))
        elif isinstance(module, torch.nn.LayerNorm):
            uniform(module.weight, 0.5, 1.5)
            normal(module.bias, 0.1)
    for head_name in ("decode_head", "auxiliary_head"):
        head = getattr(model, head_name, None)
        if head is not None:
            _standardize_classifier_(model, head, gen, conv_seg_scale)


@torch.no_grad()
def _standardize_classifier_(model, head, gen: torch.Generator, scale: float) -> None:
    """Rescale ``head.conv_seg`` so every class logit has mean ~0 and std ~``scale``/10 over
    the positions of a smooth synthetic image: with raw random weights one class tends to win
    everywhere (the ReLU features share a large common component), which makes a weak test."""
    captured = []
    hook = head.conv_seg.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    was_training = model.training
    model.eval()
    try:
        x = smooth_image(gen, (193, 257))
        feats = model.extract_feat(x)
        head(feats)  # BaseDecodeHead.forward -> conv_seg
    finally:
        hook.remove()
        model.train(was_training)
    logits = captured[0][0].flatten(1)  # [nc, h*w]
    mean, std = logits.mean(1), logits.std(1).clamp_min(1e-6)
    factor = scale / 10.0 / std
    head.conv_seg.weight.mul_(factor.view(-1, 1, 1, 1))
    bias = (head.conv_seg.bias - mean) * factor
    head.conv_seg.bias.copy_(bias + torch.randn(bias.shape, generator=gen) * 0.5)


def smooth_image(gen: torch.Generator, size) -> torch.Tensor:
    """A smooth, roughly normalised random NCHW image (bilinear up-sampled 1/16 noise)."""
    h, w = size
    x = torch.randn(1, 3, (h + 15) // 16, (w + 15) // 16, generator=gen)
    return torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)


def make_random_checkpoint(name: str, path: str | Path, seed: int = 0) -> dict:
    """Build mmseg's model for ``name``, randomise it and save it in the v0.5 zoo file layout.

    Returns a dict of statistics of mmseg's own output on a smooth synthetic image (logit
    spread, number of distinct predicted classes, smallest top-1/top-2 margins), so callers
    can assert the checkpoint is a meaningful test (not near-uniform logits).
    """
    model = build_model(name)
    randomize_(model, seed)
    meta = dataset_meta(name)
    state_dict = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ckpt = {"meta": {"CLASSES": meta["classes"], "PALETTE": meta["palette"],
                     "mmseg_version": "random-test-weights", "seed": seed},
            "state_dict": state_dict}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return logit_stats(model, size=(257, 385), seed=seed)


@torch.no_grad()
def logit_stats(model, size=(257, 385), seed: int = 0) -> dict:
    """Statistics of ``encode_decode`` on a smooth normalised random image."""
    x = smooth_image(torch.Generator().manual_seed(seed + 1), size)
    logits = encode_decode(model, x)[0]
    return summarize_logits(logits)


def summarize_logits(logits: torch.Tensor) -> dict:
    top2 = logits.topk(2, dim=0).values
    margin = (top2[0] - top2[1]).flatten()
    labels = logits.argmax(0)
    counts = torch.bincount(labels.flatten(), minlength=logits.shape[0])
    return {
        "max_abs_logit": float(logits.abs().max()),
        "logit_std_over_classes": float(logits.std(0).mean()),
        "n_classes_predicted": int((counts > 0).sum()),
        "largest_class_fraction": float(counts.max() / labels.numel()),
        "margin_median": float(margin.median()),
        "margin_frac_below_1e-3": float((margin < 1e-3).float().mean()),
    }


# ----------------------------------------------------------------------------- inference

@torch.no_grad()
def encode_decode(model, x: torch.Tensor) -> torch.Tensor:
    """mmseg's ``EncoderDecoder.encode_decode`` on an already normalised NCHW tensor."""
    metas = [{"img_shape": tuple(x.shape[2:]), "ori_shape": tuple(x.shape[2:]),
              "pad_shape": tuple(x.shape[2:])}] * x.shape[0]
    return model.encode_decode(x, metas)


@dataclass
class Reference:
    labels: np.ndarray  # (H, W) int64, original size
    logits: np.ndarray  # (C, H, W) float32, original size (pre-softmax)
    input_shape: tuple[int, int]  # (h', w') the network saw after the test-pipeline resize


@torch.no_grad()
def inference(model, image_path: str | Path) -> Reference:
    """mmseg's ``inference_model`` (full single-image test path) on an image file."""
    from mmseg.apis import inference_model
    result = inference_model(model, str(image_path))
    return Reference(labels=result.pred_sem_seg.data[0].cpu().numpy().astype(np.int64),
                     logits=result.seg_logits.data.cpu().numpy().astype(np.float32),
                     input_shape=tuple(result.metainfo["img_shape"]))


def tta_pipeline(model, rule: str = "0.x") -> list:
    """mmseg's ``TestTimeAug`` pipeline: 6 scales x {no flip, horizontal flip}.

    ``rule="0.x"``: scales are ratio x the config's base test scale, the image then fitted
    into it keep-ratio (mmseg 0.x ``MultiScaleFlipAug(img_ratios=...)``, which the README
    ms+flip numbers used; docs/inference.md, "Flip and multi-scale aggregation"); built as
    ``Resize(scale=(int(S_w*r), int(S_h*r)), keep_ratio=True)``. ``rule="1.x"``: mmseg 1.x
    config's ``Resize(scale_factor=r)``.
    """
    base = next(t for t in model.cfg.test_pipeline if t["type"] == "Resize")["scale"]
    if rule == "0.x":
        resizes = [dict(type="Resize", scale=(int(base[0] * r), int(base[1] * r)), keep_ratio=True)
                   for r in TTA_RATIOS]
    elif rule == "1.x":
        resizes = [dict(type="Resize", scale_factor=r, keep_ratio=True) for r in TTA_RATIOS]
    else:
        raise ValueError(rule)
    return [
        dict(type="LoadImageFromFile"),
        dict(type="TestTimeAug", transforms=[
            resizes,
            [dict(type="RandomFlip", prob=0.0, direction="horizontal"),
             dict(type="RandomFlip", prob=1.0, direction="horizontal")],
            [dict(type="PackSegInputs")],
        ]),
    ]


@dataclass
class TTAReference:
    labels: np.ndarray  # (H, W) int64 from SegTTAModel.merge_preds
    probs: np.ndarray  # (C, H, W) mean of softmax over the 12 passes (what merge_preds argmaxes)
    input_shapes: list  # (h', w', flip) of each pass


@torch.no_grad()
def inference_tta(model, image_path: str | Path, rule: str = "0.x") -> TTAReference:
    """mmseg's ``SegTTAModel`` on the ``TestTimeAug`` pipeline (what ``tools/test.py --tta`` runs)."""
    from mmengine.dataset import Compose
    from mmseg.models.segmentors import SegTTAModel
    pipeline = Compose(tta_pipeline(model, rule))
    data = pipeline({"img_path": str(image_path)})
    # what a dataloader with pseudo_collate yields for a batch of one image
    batch = {"inputs": [[x] for x in data["inputs"]],
             "data_samples": [[s] for s in data["data_samples"]]}
    # BaseTTAModel.test_step, unrolled so that the per-pass logits stay visible:
    # one module.test_step per augmentation, then SegTTAModel.merge_preds
    per_pass = [model.test_step({"inputs": i, "data_samples": s})[0]
                for i, s in zip(batch["inputs"], batch["data_samples"])]
    probs = sum(p.seg_logits.data.softmax(dim=0) for p in per_pass) / len(per_pass)
    merged = SegTTAModel(module=model).merge_preds([tuple(per_pass)])[0]
    return TTAReference(
        labels=merged.pred_sem_seg.data.cpu().numpy().reshape(probs.shape[1:]).astype(np.int64),
        probs=probs.cpu().numpy().astype(np.float32),
        input_shapes=[(*p.metainfo["img_shape"], bool(p.metainfo.get("flip"))) for p in per_pass])
