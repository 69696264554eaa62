"""ResNetV1c-D8: deep stem, dilated stages 3-4, output stride 8 (docs/network.md, "Backbone: ResNetV1c").

Attribute names reproduce mmsegmentation's state-dict keys exactly
(``stem.0``, ``layer3.4.bn2``, ``layer2.0.downsample.1`` ...), so official
checkpoints load without any key mapping.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

BLOCKS_PER_STAGE = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
STAGE_STRIDES = (1, 2, 1, 1)
STAGE_DILATIONS = (1, 1, 2, 4)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BN as mmcv builds it (eps 1e-5, momentum 0.1); converted to SyncBN for DDP training."""
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)


class Bottleneck(nn.Module):
    """'pytorch'-style bottleneck: the stride sits on the 3x3 conv (conv2)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = batch_norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation,
                               dilation=dilation, bias=False)
        self.bn2 = batch_norm(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = batch_norm(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def make_stage(in_channels: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    """One ResNet stage with contract_dilation: block 0 uses dilation // 2 when dilation > 1."""
    out_channels = planes * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            batch_norm(out_channels),
        )
    first_dilation = dilation // 2 if dilation > 1 else dilation
    layers = [Bottleneck(in_channels, planes, stride, first_dilation, downsample)]
    layers += [Bottleneck(out_channels, planes, 1, dilation) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class ResNetV1cD8(nn.Module):
    """Backbone returning the four stage outputs [256@1/4, 512@1/8, 1024@1/8, 2048@1/8]."""

    def __init__(self, depth: int = 50) -> None:
        super().__init__()
        if depth not in BLOCKS_PER_STAGE:
            raise ValueError(f"ResNetV1c depth must be 50 or 101, not {depth}")
        self.depth = depth
        self.with_cp = False  # mmcv's with_cp: recompute blocks in backward to save memory
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), batch_norm(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), batch_norm(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), batch_norm(64), nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels = 64
        for index, blocks in enumerate(BLOCKS_PER_STAGE[depth]):
            planes = 64 * 2**index
            stage = make_stage(in_channels, planes, blocks, STAGE_STRIDES[index], STAGE_DILATIONS[index])
            self.add_module(f"layer{index + 1}", stage)
            in_channels = planes * Bottleneck.expansion

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.stem(x))
        outputs = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                if self.with_cp and self.training and x.requires_grad:
                    x = checkpoint(block, x, use_reentrant=False)
                else:
                    x = block(x)
            outputs.append(x)
        return outputs
