"""``gather_distributed=True`` on 2 gloo processes equals the single-process loss and gradients.

Each rank holds half of a global batch. The mean of the ranks' losses must equal the
single-process loss on the whole batch, and each rank's input gradient divided by the world
size (what DDP's averaging applies) must equal the matching slice of the single-process
gradient; likewise the temperature gradient averaged over ranks. Float64, tolerance 1e-10.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor

from mmcontrast.losses.functional import cmkm_loss, debiased_loss, hard_negative_loss, info_nce

WORLD = 2
LOCAL = 5
TOL = 1e-10

LossFn = Callable[..., Tensor]
LOSSES: dict[str, tuple[LossFn, dict[str, float]]] = {
    "info_nce": (info_nce, {}),
    "debiased": (debiased_loss, {"tau_plus": 0.1}),
    "hard_negative": (hard_negative_loss, {"beta": 1.0, "tau_plus": 0.1}),
}


def _global_batch() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(0)
    n = WORLD * LOCAL
    a = torch.randn(n, 6, generator=g, dtype=torch.float64)
    return {
        "a": a,
        "b": 0.7 * a + torch.randn(n, 6, generator=g, dtype=torch.float64),
        "labels": torch.tensor([0, 1, 2, 0, 1, 3, 3, 2, 4, 0]),
        "groups": torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]),
        "neg_mask": torch.rand(n, n, generator=g) > 0.2,
        "pos_mask": torch.eye(n, dtype=torch.bool) | (torch.rand(n, n, generator=g) < 0.1),
    }


def _cases() -> list[dict[str, object]]:
    cases: list[dict[str, object]] = []
    for loss in LOSSES:
        for negatives in ("cross", "all"):
            for extra in (
                {},
                {"labels": True},
                {"labels": True, "label_mode": "positive"},
                {"groups": True, "neg_mask": True, "chunk_size": 3},
                {"pos_mask": True},
            ):
                cases.append({"loss": loss, "negatives": negatives, **extra})
    cases.append({"loss": "hard_negative", "negatives": "cross", "symmetric": False})
    return cases


def _run(
    case: dict[str, object],
    batch: dict[str, Tensor],
    rows: slice,
    gather: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    fn, hyper = LOSSES[str(case["loss"])]
    a = batch["a"][rows].clone().requires_grad_()
    b = batch["b"][rows].clone().requires_grad_()
    tau = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    kwargs: dict[str, object] = {"negatives": case["negatives"], "gather_distributed": gather}
    for key in ("labels", "groups"):
        if case.get(key):
            kwargs[key] = batch[key][rows]
    for key in ("neg_mask", "pos_mask"):
        if case.get(key):
            kwargs[key] = batch[key][rows]
    for key in ("label_mode", "chunk_size", "symmetric"):
        if key in case:
            kwargs[key] = case[key]
    loss = fn(a, b, temperature=tau, **hyper, **kwargs)
    ga, gb, gt = torch.autograd.grad(loss, [a, b, tau])
    return loss.detach(), ga, gb, gt


def _cmkm_case(
    batch: dict[str, Tensor], rows: slice, gather: bool, options: dict[str, object]
) -> tuple[Tensor, Tensor, Tensor]:
    a = batch["a"][rows].clone().requires_grad_()
    b = batch["b"][rows].clone().requires_grad_()
    teacher_a, teacher_b = batch["a"][rows] * 2 + 1, batch["b"][rows].sin()
    loss = cmkm_loss(a, b, teacher_a, teacher_b, temperature=0.2, k=2,
                     gather_distributed=gather, **options)  # type: ignore[arg-type]  # fmt: skip
    ga, gb = torch.autograd.grad(loss, [a, b])
    return loss.detach(), ga, gb


CMKM_OPTIONS: list[dict[str, object]] = [
    {},
    {"symmetric_mining": True, "intra_temperature": 1.0},
    {"negative_pruning": True, "pruning_threshold": 0.1, "loss_term_weighting": True},
    {"training": False},
]


def _check(rank: int, what: str, got: Tensor, want: Tensor) -> None:
    err = (got - want).abs().max().item()
    if not err <= TOL:
        raise AssertionError(f"rank {rank}, {what} differs by {err:.3g}")


def _worker(rank: int, port: int) -> None:
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        batch = _global_batch()
        mine = slice(rank * LOCAL, (rank + 1) * LOCAL)
        for case in _cases():
            loss, ga, gb, gt = _run(case, batch, mine, gather=True)
            ref_loss, ref_ga, ref_gb, ref_gt = _run(case, batch, slice(None), gather=False)
            mean_loss = loss.clone()
            dist.all_reduce(mean_loss)
            mean_gt = gt.clone()
            dist.all_reduce(mean_gt)
            checks = {
                "loss": (mean_loss / WORLD, ref_loss),
                "grad a": (ga / WORLD, ref_ga[mine]),
                "grad b": (gb / WORLD, ref_gb[mine]),
                "grad temperature": (mean_gt / WORLD, ref_gt),
            }
            for what, (got, want) in checks.items():
                _check(rank, f"{case}: {what}", got, want)
        for options in CMKM_OPTIONS:
            loss, ga, gb = _cmkm_case(batch, mine, True, options)
            ref_loss, ref_ga, ref_gb = _cmkm_case(batch, slice(None), False, options)
            dist.all_reduce(loss)
            _check(rank, f"cmkm {options}: loss", loss / WORLD, ref_loss)
            _check(rank, f"cmkm {options}: grad a", ga / WORLD, ref_ga[mine])
            _check(rank, f"cmkm {options}: grad b", gb / WORLD, ref_gb[mine])
        # Both ranks done before either tears gloo down: a rank that destroyed its group
        # while the other still closed connections once aborted ("terminate called without
        # an active exception", SIGABRT) in a full-suite run.
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.distributed
def test_two_process_gloo_matches_single_process() -> None:
    if not dist.is_available():
        pytest.skip("torch.distributed is not available")
    mp.spawn(_worker, args=(_free_port(),), nprocs=WORLD, join=True)
