"""GCHead (decode head), its ContextBlock, and the auxiliary FCNHead.

Built as docs/network.md lays them out ("GCHead", "ContextBlock", "Auxiliary FCNHead").
Module names give mmsegmentation's keys: ``convs.0.conv.weight``, ``conv_cat.bn.running_var``,
``gc_block.channel_add_conv.1.weight`` ...
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .resnet import batch_norm


class ConvBNReLU(nn.Module):
    """mmcv's ConvModule with a norm: conv without bias, then ``bn``, then ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = batch_norm(out_channels)
        self.activate = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(self.bn(self.conv(x)))


class ContextBlock(nn.Module):
    """Global-context block: softmax attention pooling over all positions, then a
    bottleneck transform (conv, LayerNorm, ReLU, conv) added to every position."""

    def __init__(self, channels: int, ratio: float = 0.25) -> None:
        super().__init__()
        planes = int(channels * ratio)
        self.conv_mask = nn.Conv2d(channels, 1, kernel_size=1)
        self.softmax = nn.Softmax(dim=2)
        self.channel_add_conv = nn.Sequential(
            nn.Conv2d(channels, planes, kernel_size=1),
            nn.LayerNorm([planes, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(planes, channels, kernel_size=1),
        )

    def spatial_pool(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        attention = self.softmax(self.conv_mask(x).reshape(n, 1, h * w))  # [N, 1, HW]
        if x.is_contiguous():
            # [N, C, HW] @ [N, HW, 1] -> [N, C, 1]: the attention-weighted mean feature.
            context = torch.bmm(x.view(n, c, h * w), attention.transpose(1, 2))
        else:  # channels-last (fast path): [N, HW, C] is a free view, so no copy of x
            context = torch.bmm(attention, x.permute(0, 2, 3, 1).reshape(n, h * w, c))
        return context.reshape(n, c, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.channel_add_conv(self.spatial_pool(x))


class GCHead(nn.Module):
    """conv 2048->512, GC block, conv 512->512, concat with the backbone feature, conv, classifier."""

    def __init__(self, num_classes: int, in_channels: int = 2048, channels: int = 512,
                 dropout_ratio: float = 0.1) -> None:
        super().__init__()
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.convs = nn.Sequential(ConvBNReLU(in_channels, channels), ConvBNReLU(channels, channels))
        self.conv_cat = ConvBNReLU(in_channels + channels, channels)
        self.gc_block = ContextBlock(channels, ratio=0.25)

    def forward(self, features: list[Tensor]) -> Tensor:
        x = features[3]
        y = self.convs[0](x)
        y = self.gc_block(y)
        y = self.convs[1](y)
        y = self.conv_cat(torch.cat([x, y], dim=1))
        return self.conv_seg(self.dropout(y))


class FCNHead(nn.Module):
    """Auxiliary head on layer3 (training-time deep supervision, weight 0.4)."""

    def __init__(self, num_classes: int, in_channels: int = 1024, channels: int = 256,
                 dropout_ratio: float = 0.1) -> None:
        super().__init__()
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.convs = nn.Sequential(ConvBNReLU(in_channels, channels))

    def forward(self, features: list[Tensor]) -> Tensor:
        return self.conv_seg(self.dropout(self.convs(features[2])))
