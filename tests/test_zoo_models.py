"""Every one of the 16 zoo entries must build the network docs/network.md describes, key for key.

One shared set of checks runs for each entry (as segmentation_models.pytorch does for its
architectures); the expected keys and shapes are derived here from its rules, not
from our model code.
"""

from __future__ import annotations

import pytest
import torch

from gcnet_core import build_model
from gcnet_core.weights.zoo import ZOO, UnknownModelError, get_entry

# docs/network.md, "Whole-model totals": (state-dict entries, params for nc=19, nc=150, nc=21) per depth.
TOTALS = {50: (366, {19: 49_630_215, 150: 49_731_085, 21: 49_631_755}),
          101: (672, {19: 68_622_343, 150: 68_723_213, 21: 68_623_883})}
WITHOUT_AUX_NC19 = {50: 47_265_524, 101: 66_257_652}
NAMES = [e.name for e in ZOO]


def bn(prefix: str, channels: int) -> dict[str, tuple]:
    shapes = {f"{prefix}.{k}": (channels,) for k in ("weight", "bias", "running_mean", "running_var")}
    shapes[f"{prefix}.num_batches_tracked"] = ()
    return shapes


def expected_shapes(depth: int, nc: int) -> dict[str, tuple]:
    """Keys and shapes written out from docs/network.md: "Backbone state-dict keys", "Decode-head keys",
    "Auxiliary FCNHead"."""
    shapes = {"backbone.stem.0.weight": (32, 3, 3, 3), "backbone.stem.3.weight": (32, 32, 3, 3),
              "backbone.stem.6.weight": (64, 32, 3, 3)}
    shapes |= bn("backbone.stem.1", 32) | bn("backbone.stem.4", 32) | bn("backbone.stem.7", 64)
    blocks = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}[depth]
    in_channels = 64
    for stage, (count, planes) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for b in range(count):
            p = f"backbone.layer{stage}.{b}"
            cin = in_channels if b == 0 else 4 * planes
            shapes[f"{p}.conv1.weight"] = (planes, cin, 1, 1)
            shapes[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
            shapes[f"{p}.conv3.weight"] = (4 * planes, planes, 1, 1)
            shapes |= bn(f"{p}.bn1", planes) | bn(f"{p}.bn2", planes) | bn(f"{p}.bn3", 4 * planes)
            if b == 0:
                shapes[f"{p}.downsample.0.weight"] = (4 * planes, cin, 1, 1)
                shapes |= bn(f"{p}.downsample.1", 4 * planes)
        in_channels = 4 * planes
    d = "decode_head"
    shapes |= {f"{d}.conv_seg.weight": (nc, 512, 1, 1), f"{d}.conv_seg.bias": (nc,),
               f"{d}.convs.0.conv.weight": (512, 2048, 3, 3), f"{d}.convs.1.conv.weight": (512, 512, 3, 3),
               f"{d}.conv_cat.conv.weight": (512, 2560, 3, 3),
               f"{d}.gc_block.conv_mask.weight": (1, 512, 1, 1), f"{d}.gc_block.conv_mask.bias": (1,),
               f"{d}.gc_block.channel_add_conv.0.weight": (128, 512, 1, 1),
               f"{d}.gc_block.channel_add_conv.0.bias": (128,),
               f"{d}.gc_block.channel_add_conv.1.weight": (128, 1, 1),
               f"{d}.gc_block.channel_add_conv.1.bias": (128, 1, 1),
               f"{d}.gc_block.channel_add_conv.3.weight": (512, 128, 1, 1),
               f"{d}.gc_block.channel_add_conv.3.bias": (512,)}
    shapes |= bn(f"{d}.convs.0.bn", 512) | bn(f"{d}.convs.1.bn", 512) | bn(f"{d}.conv_cat.bn", 512)
    a = "auxiliary_head"
    shapes |= {f"{a}.conv_seg.weight": (nc, 256, 1, 1), f"{a}.conv_seg.bias": (nc,),
               f"{a}.convs.0.conv.weight": (256, 1024, 3, 3)} | bn(f"{a}.convs.0.bn", 256)
    return shapes


@pytest.mark.parametrize("name", NAMES)
class TestZooEntry:
    def test_state_dict_matches_spec_keys_and_shapes(self, name):
        entry = get_entry(name)
        model = build_model(entry, with_auxiliary_head=True)
        got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        expected = expected_shapes(entry.depth, entry.num_classes)
        assert got == expected
        assert len(got) == TOTALS[entry.depth][0]
        assert sum(k.endswith("num_batches_tracked") for k in got) == (59 if entry.depth == 50 else 110)

    def test_parameter_counts(self, name):
        entry = get_entry(name)
        with_aux = build_model(entry, with_auxiliary_head=True)
        without_aux = build_model(entry)
        assert sum(p.numel() for p in with_aux.parameters()) == TOTALS[entry.depth][1][entry.num_classes]
        assert "auxiliary_head.conv_seg.weight" not in without_aux.state_dict()
        if entry.num_classes == 19:
            assert sum(p.numel() for p in without_aux.parameters()) == WITHOUT_AUX_NC19[entry.depth]

    def test_entry_metadata(self, name):
        entry = get_entry(name)
        assert get_entry(entry.legacy_name) is entry  # 0.x names address the same entry
        assert entry.checkpoint_url == (
            "https://download.openmmlab.com/mmsegmentation/v0.5/gcnet/"
            f"{entry.legacy_name}/{entry.legacy_name}_{entry.checkpoint_stamp}.pth")
        assert len(entry.sha256_prefix) == 8 and int(entry.sha256_prefix, 16) >= 0
        assert entry.num_classes == {"cityscapes": 19, "ade20k": 150, "voc": 21}[entry.dataset.key]
        assert len(entry.classes.palette) == entry.num_classes
        is_769 = "769x769" in name
        assert entry.align_corners is is_769
        assert entry.test_mode == ("slide" if is_769 else "whole")
        assert entry.test_scale == {"cityscapes": (2049, 1025) if is_769 else (2048, 1024)}.get(
            entry.dataset.key, (2048, 512))
        assert entry.dataset.reduce_zero_label is (entry.dataset.key == "ade20k")
        assert f"r{entry.depth}-d8" in name and entry.schedule in name
        assert 40 < entry.miou < entry.miou_ms_flip < 81


def test_zoo_has_the_16_published_rows():
    assert len(ZOO) == 16 and len(set(NAMES)) == 16
    first = get_entry("gcnet_r50-d8_4xb2-40k_cityscapes-512x1024")
    assert first.checkpoint_url.endswith(
        "gcnet_r50-d8_512x1024_40k_cityscapes/gcnet_r50-d8_512x1024_40k_cityscapes_20200618_074436-4b0fd17b.pth")
    assert (first.miou, first.miou_ms_flip, first.fps, first.memory_gb) == (77.69, 78.56, 3.93, 5.8)
    assert get_entry("gcnet_r50-d8_512x1024_40k_cityscapes.py") is first


def test_unknown_model_name_suggests_close_ones():
    with pytest.raises(UnknownModelError, match="gcnet_r50-d8_4xb2-40k_cityscapes-512x1024"):
        get_entry("gcnet_r50-d8_4xb2-40k_cityscape-512x1024")


def test_output_stride_and_forward_shapes():
    """D8: a 769x769 crop gives 97x97 features; logits come back at the input size."""
    entry = get_entry("gcnet_r50-d8_4xb2-40k_cityscapes-769x769")
    model = build_model(entry).eval()
    with torch.no_grad():
        features = model.backbone(torch.zeros(1, 3, 97, 97))
    assert [tuple(f.shape[1:]) for f in features] == [(256, 25, 25), (512, 13, 13), (1024, 13, 13), (2048, 13, 13)]
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 40, 56)).shape == (1, 19, 40, 56)
