"""Several processes under ``torchrun``: DistributedDataParallel with SyncBatchNorm.

Backend nccl on GPUs, gloo on CPUs. PyTorch's SyncBatchNorm refuses CPU tensors in
training mode ("SyncBatchNorm expected input tensor to be on GPU", checked on torch
2.13), so CPU/gloo runs keep plain per-process BatchNorm: each process normalises with
its own share of the batch, and DDP broadcasts rank 0's running statistics. Only GPU runs
synchronise batch statistics, as the zoo models were trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..predict.distributed import rank_and_world_size


@dataclass
class DistContext:
    """This process's place in the run; ``world_size == 1`` for a plain single process."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over processes (in place, returned); a no-op for one process."""
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Give every process rank 0's buffers (BN running statistics), as saved in checkpoints."""
        if self.distributed:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: torch.device) -> DistContext:
    """Join the process group torchrun describes (RANK/WORLD_SIZE/MASTER_ADDR env), if any."""
    rank, world_size = rank_and_world_size()
    if world_size <= 1:
        return DistContext(0, 1, device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world_size,
                                **({"device_id": device} if device.type == "cuda" else {}))
    return DistContext(rank, world_size, device)


class TrainForward(nn.Module):
    """Exposes ``forward_train`` as ``forward``: DDP synchronises gradients only through forward."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model.forward_train(x)


def wrap(model: nn.Module, ctx: DistContext) -> nn.Module:
    """The module the training step calls: DDP (with SyncBN on GPUs) or the plain wrapper."""
    if not ctx.distributed:
        return TrainForward(model)
    if ctx.device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place on children; keys unchanged
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(TrainForward(model), device_ids=ids)


__all__ = ["DistContext", "TrainForward", "setup", "wrap"]
