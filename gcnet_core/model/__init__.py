"""GCNet as plain ``nn.Module``s whose attribute names give mmsegmentation's state-dict keys."""

from .heads import ContextBlock, FCNHead, GCHead
from .resnet import ResNetV1cD8
from .segmentor import GCNet

__all__ = ["ContextBlock", "FCNHead", "GCHead", "GCNet", "ResNetV1cD8"]
