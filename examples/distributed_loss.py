"""Two CPU processes, one loss: ``gather_distributed=True`` gives the single-process gradients.

Each process (rank) embeds half of a global batch. With ``gather_distributed=True`` every rank
compares its own anchors with the candidates of all ranks (gathered with gradients), so the
mean of the ranks' losses is the loss of the whole batch and the averaged gradients (what
``DistributedDataParallel`` applies) are the single-process gradients. The script checks it.

Run: ``python examples/distributed_loss.py`` (gloo backend, about 10 s on a laptop CPU).
"""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmcontrast.losses import HardNegativeLoss

WORLD, LOCAL, DIM = 2, 32, 16


def global_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    imu = torch.randn(WORLD * LOCAL, DIM, generator=g, dtype=torch.float64)
    skeleton = imu + torch.randn(WORLD * LOCAL, DIM, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 27, (WORLD * LOCAL,), generator=g)
    return imu, skeleton, labels


def worker(rank: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    imu, skeleton, labels = global_batch()
    mine = slice(rank * LOCAL, (rank + 1) * LOCAL)
    a = imu[mine].clone().requires_grad_()
    b = skeleton[mine].clone().requires_grad_()
    criterion = HardNegativeLoss(tau_plus=0.037, gather_distributed=True)
    loss = criterion(a, b, labels=labels[mine])
    loss.backward()
    mean_loss = loss.detach().clone()
    dist.all_reduce(mean_loss)
    mean_loss /= WORLD

    # The same loss on one process, on the whole batch.
    full_a, full_b = imu.clone().requires_grad_(), skeleton.clone().requires_grad_()
    single = HardNegativeLoss(tau_plus=0.037)(full_a, full_b, labels=labels)
    single.backward()
    assert full_a.grad is not None and a.grad is not None
    grad_error = (a.grad / WORLD - full_a.grad[mine]).abs().max().item()
    print(
        f"rank {rank}: local loss {loss.item():.6f}, mean over ranks {mean_loss.item():.6f}, "
        f"single process {single.item():.6f}, max gradient difference {grad_error:.1e}"
    )
    dist.destroy_process_group()


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(worker, args=(port,), nprocs=WORLD, join=True)


if __name__ == "__main__":
    main()
