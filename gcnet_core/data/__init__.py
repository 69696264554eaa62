"""Dataset readers shared by training and evaluation (see :mod:`.readers`)."""

from .readers import (KINDS, Sample, SampleReadError, SegDataset, ade20k_samples, cityscapes_samples, iter_valid,
                      load_label, load_sample_safe, project_samples, voc_samples)

__all__ = [
    "KINDS",
    "Sample",
    "SampleReadError",
    "SegDataset",
    "ade20k_samples",
    "cityscapes_samples",
    "iter_valid",
    "load_label",
    "load_sample_safe",
    "project_samples",
    "voc_samples",
]
