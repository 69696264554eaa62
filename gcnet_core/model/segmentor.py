"""The GCNet encoder-decoder: backbone, decode head and (for training) the auxiliary head."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .heads import FCNHead, GCHead
from .resnet import Bottleneck, ResNetV1cD8


class GCNet(nn.Module):
    """``backbone`` -> ``decode_head`` (+ ``auxiliary_head`` when built): mmsegmentation's keys.

    ``forward`` returns logits resized to the input size, as mmsegmentation's
    ``encode_decode`` does; ``forward_train`` returns the raw 1/8-resolution logits
    of both heads for the loss.
    """

    def __init__(self, num_classes: int, depth: int = 50, align_corners: bool = False,
                 with_auxiliary_head: bool = False) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.align_corners = align_corners
        self.backbone = ResNetV1cD8(depth)
        self.decode_head = GCHead(num_classes)
        self.auxiliary_head = FCNHead(num_classes) if with_auxiliary_head else None

    @property
    def depth(self) -> int:
        return self.backbone.depth

    def forward(self, x: Tensor) -> Tensor:
        logits = self.decode_head(self.backbone(x))
        return F.interpolate(logits, size=x.shape[2:], mode="bilinear", align_corners=self.align_corners)

    def forward_train(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        features = self.backbone(x)
        aux = self.auxiliary_head(features) if self.auxiliary_head is not None else None
        return self.decode_head(features), aux

    def init_weights(self) -> None:
        """mmsegmentation's initialisation, for training without a checkpoint."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for head in (self.decode_head, self.auxiliary_head):
            if head is not None:
                nn.init.normal_(head.conv_seg.weight, 0.0, 0.01)
                nn.init.zeros_(head.conv_seg.bias)
        for module in self.backbone.modules():  # zero_init_residual: each block starts as identity
            if isinstance(module, Bottleneck):
                nn.init.zeros_(module.bn3.weight)
        gc_block = self.decode_head.gc_block
        nn.init.kaiming_normal_(gc_block.conv_mask.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(gc_block.conv_mask.bias)
        nn.init.zeros_(gc_block.channel_add_conv[-1].weight)  # the block starts as the identity
        nn.init.zeros_(gc_block.channel_add_conv[-1].bias)
