"""The 16 GCNet entries of the mmsegmentation model zoo, as plain data (docs/checkpoints.md).

Each entry is addressed by its mmsegmentation 1.x config name; the 0.x name (which is
also the checkpoint folder on the download server) is accepted everywhere too.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..model.classes import DATASET_CLASSES, ClassSet

CHECKPOINT_ROOT = "https://download.openmmlab.com/mmsegmentation/v0.5/gcnet"


@dataclass(frozen=True)
class DatasetRecipe:
    """What a dataset fixes for every model trained on it (docs/checkpoints.md, "Per-dataset settings")."""

    key: str  # "cityscapes" | "ade20k" | "voc"
    title: str
    base_scale: tuple[int, int]  # (long, short) as mmseg writes (w, h): keep-ratio target
    crop_size: tuple[int, int]  # (h, w)
    reduce_zero_label: bool
    batch_per_gpu: int
    align_corners: bool = False  # True for the 769x769 crops (97 = (769 - 1) / 8 + 1)
    slide_stride: tuple[int, int] | None = None  # (h, w); None = whole-image inference

    @property
    def classes(self) -> ClassSet:
        return DATASET_CLASSES[self.key]


CITYSCAPES_512x1024 = DatasetRecipe("cityscapes", "Cityscapes", (2048, 1024), (512, 1024), False, 2)
CITYSCAPES_769x769 = DatasetRecipe("cityscapes", "Cityscapes", (2049, 1025), (769, 769), False, 2,
                                   align_corners=True, slide_stride=(513, 513))
ADE20K_512x512 = DatasetRecipe("ade20k", "ADE20K", (2048, 512), (512, 512), True, 4)
VOC_512x512 = DatasetRecipe("voc", "Pascal VOC 2012 + aug", (2048, 512), (512, 512), False, 4)


@dataclass(frozen=True)
class ZooEntry:
    """One pretrained GCNet: architecture, test recipe, download and published figures."""

    name: str  # mmsegmentation 1.x config name
    legacy_name: str  # 0.x config name (download folder)
    dataset: DatasetRecipe
    depth: int  # 50 | 101
    iterations: int
    checkpoint_stamp: str  # "{YYYYMMDD_HHMMSS}-{sha8}" part of the file name
    miou: float
    miou_ms_flip: float
    fps: float | None  # V100, fp32, batch 1 (None where mmseg published none)
    memory_gb: float | None  # training memory per GPU

    @property
    def classes(self) -> ClassSet:
        return self.dataset.classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def crop_size(self) -> tuple[int, int]:
        return self.dataset.crop_size

    @property
    def test_scale(self) -> tuple[int, int]:
        return self.dataset.base_scale

    @property
    def align_corners(self) -> bool:
        return self.dataset.align_corners

    @property
    def test_mode(self) -> str:
        return "whole" if self.dataset.slide_stride is None else "slide"

    @property
    def slide_stride(self) -> tuple[int, int] | None:
        return self.dataset.slide_stride

    @property
    def schedule(self) -> str:
        return f"{self.iterations // 1000}k"

    @property
    def backbone(self) -> str:
        return f"R-{self.depth}-D8"

    @property
    def checkpoint_filename(self) -> str:
        return f"{self.legacy_name}_{self.checkpoint_stamp}.pth"

    @property
    def checkpoint_url(self) -> str:
        return f"{CHECKPOINT_ROOT}/{self.legacy_name}/{self.checkpoint_filename}"

    @property
    def sha256_prefix(self) -> str:
        return self.checkpoint_stamp.rsplit("-", 1)[1]


def _entry(legacy, name, dataset, depth, iters, miou, ms, fps, mem, stamp) -> ZooEntry:
    return ZooEntry(name, legacy, dataset, depth, iters, stamp, miou, ms, fps, mem)


_CS, _CS769, _ADE, _VOC = CITYSCAPES_512x1024, CITYSCAPES_769x769, ADE20K_512x512, VOC_512x512

ZOO: tuple[ZooEntry, ...] = (
    _entry("gcnet_r50-d8_512x1024_40k_cityscapes", "gcnet_r50-d8_4xb2-40k_cityscapes-512x1024",
           _CS, 50, 40000, 77.69, 78.56, 3.93, 5.8, "20200618_074436-4b0fd17b"),
    _entry("gcnet_r101-d8_512x1024_40k_cityscapes", "gcnet_r101-d8_4xb2-40k_cityscapes-512x1024",
           _CS, 101, 40000, 78.28, 79.34, 2.61, 9.2, "20200618_074436-5e62567f"),
    _entry("gcnet_r50-d8_769x769_40k_cityscapes", "gcnet_r50-d8_4xb2-40k_cityscapes-769x769",
           _CS769, 50, 40000, 78.12, 80.09, 1.67, 6.5, "20200618_182814-a26f4471"),
    _entry("gcnet_r101-d8_769x769_40k_cityscapes", "gcnet_r101-d8_4xb2-40k_cityscapes-769x769",
           _CS769, 101, 40000, 78.95, 80.71, 1.13, 10.5, "20200619_092550-ca4f0a84"),
    _entry("gcnet_r50-d8_512x1024_80k_cityscapes", "gcnet_r50-d8_4xb2-80k_cityscapes-512x1024",
           _CS, 50, 80000, 78.48, 80.01, None, None, "20200618_074450-ef8f069b"),
    _entry("gcnet_r101-d8_512x1024_80k_cityscapes", "gcnet_r101-d8_4xb2-80k_cityscapes-512x1024",
           _CS, 101, 80000, 79.03, 79.84, None, None, "20200618_074450-778ebf69"),
    _entry("gcnet_r50-d8_769x769_80k_cityscapes", "gcnet_r50-d8_4xb2-80k_cityscapes-769x769",
           _CS769, 50, 80000, 78.68, 80.66, None, None, "20200619_092516-4839565b"),
    _entry("gcnet_r101-d8_769x769_80k_cityscapes", "gcnet_r101-d8_4xb2-80k_cityscapes-769x769",
           _CS769, 101, 80000, 79.18, 80.71, None, None, "20200619_092628-8e043423"),
    _entry("gcnet_r50-d8_512x512_80k_ade20k", "gcnet_r50-d8_4xb4-80k_ade20k-512x512",
           _ADE, 50, 80000, 41.47, 42.85, 23.38, 8.5, "20200614_185146-91a6da41"),
    _entry("gcnet_r101-d8_512x512_80k_ade20k", "gcnet_r101-d8_4xb4-80k_ade20k-512x512",
           _ADE, 101, 80000, 42.82, 44.54, 15.20, 12.0, "20200615_020811-c3fcb6dd"),
    _entry("gcnet_r50-d8_512x512_160k_ade20k", "gcnet_r50-d8_4xb4-160k_ade20k-512x512",
           _ADE, 50, 160000, 42.37, 43.52, None, None, "20200615_224122-d95f3e1f"),
    _entry("gcnet_r101-d8_512x512_160k_ade20k", "gcnet_r101-d8_4xb4-160k_ade20k-512x512",
           _ADE, 101, 160000, 43.69, 45.21, None, None, "20200615_225406-615528d7"),
    _entry("gcnet_r50-d8_512x512_20k_voc12aug", "gcnet_r50-d8_4xb4-20k_voc12aug-512x512",
           _VOC, 50, 20000, 76.42, 77.51, 23.35, 5.8, "20200617_165701-3cbfdab1"),
    _entry("gcnet_r101-d8_512x512_20k_voc12aug", "gcnet_r101-d8_4xb4-20k_voc12aug-512x512",
           _VOC, 101, 20000, 77.41, 78.56, 14.80, 9.2, "20200617_165713-6c720aa9"),
    _entry("gcnet_r50-d8_512x512_40k_voc12aug", "gcnet_r50-d8_4xb4-40k_voc12aug-512x512",
           _VOC, 50, 40000, 76.24, 77.63, None, None, "20200613_195105-9797336d"),
    _entry("gcnet_r101-d8_512x512_40k_voc12aug", "gcnet_r101-d8_4xb4-40k_voc12aug-512x512",
           _VOC, 101, 40000, 77.84, 78.59, None, None, "20200613_185806-1e38208d"),
)

_BY_NAME = {e.name: e for e in ZOO} | {e.legacy_name: e for e in ZOO}


class UnknownModelError(KeyError):
    """Raised for a name that is neither a 1.x nor a 0.x zoo config name."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.args[0]


def get_entry(name: str) -> ZooEntry:
    """Look a zoo entry up by its 1.x or 0.x config name (a trailing ``.py`` is ignored)."""
    key = re.sub(r"\.py$", "", name.strip())
    try:
        return _BY_NAME[key]
    except KeyError:
        close = difflib.get_close_matches(key, [e.name for e in ZOO], n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}: not one of the 16 GCNet zoo entries "
            f"(see `gcnet models`).{hint}"
        ) from None
