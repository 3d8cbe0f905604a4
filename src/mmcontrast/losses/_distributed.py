"""Gathering embeddings from every rank of a ``torch.distributed`` process group."""

from __future__ import annotations

import torch.distributed as dist
from torch import Tensor

__all__ = ["gather_with_grad", "gather_without_grad", "rank_and_world"]


def rank_and_world(owner: str) -> tuple[int, int]:
    """This process's rank and the world size; a clear error without a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            f"{owner}: gather_distributed=True needs an initialised torch.distributed process "
            "group (call torch.distributed.init_process_group first), or use "
            "gather_distributed=False"
        )
    return dist.get_rank(), dist.get_world_size()


def _wait(x: Tensor) -> Tensor:
    wait = getattr(x, "wait", None)
    return wait() if callable(wait) else x  # AsyncCollectiveTensor outside compile


def gather_with_grad(x: Tensor) -> Tensor:
    """``cat`` of ``x`` over the ranks (rank order); the backward sums the gradients.

    Every rank must pass the same shape. The gradient of rank ``r``'s slice is the sum over
    ranks of the gradients they computed for it, so that the mean of the ranks' losses has
    the single-process gradient once DDP averages.
    """
    from torch.distributed import _functional_collectives as fc

    gather = getattr(fc, "all_gather_single_autograd", None) or fc.all_gather_tensor_autograd
    return _wait(gather(x.contiguous(), 0, _world_group()))


def gather_without_grad(x: Tensor) -> Tensor:
    """``cat`` of ``x`` (ids, labels, masks) over the ranks, in rank order."""
    from torch.distributed import _functional_collectives as fc

    gather = getattr(fc, "all_gather_single", None) or fc.all_gather_tensor
    return _wait(gather(x.contiguous(), 0, _world_group()))


def _world_group() -> dist.ProcessGroup:
    group = dist.group.WORLD
    if group is None:
        raise RuntimeError("torch.distributed has no default process group")
    return group
