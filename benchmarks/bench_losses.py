"""Loss speed and memory against the three-GEMM floor and textbook implementations.

For each method: the median wall time of one forward + backward step on two leaf tensors of
shape ``(B, d)``, divided by the median time of the *three-GEMM floor* measured in the same
process (``S = a @ b.T``, ``dA = S @ b``, ``dB = S.T @ a``: the matrix products any exact
implementation must do). Methods are interleaved round by round so that machine noise hits
them alike. Peak memory is measured in a fresh process per method: peak resident set size
(``VmHWM``, reset through ``/proc/self/clear_refs`` once the inputs exist) minus the resident
size at that point, over two steps. Linux only.

Run: ``python benchmarks/bench_losses.py`` (``--help`` for sizes). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from mmcontrast.losses.functional import debiased_loss, hard_negative_loss, info_nce

TAU, BETA, TAU_PLUS = 0.1, 1.0, 0.1


# ---- textbook implementations (what one writes from the papers, no tricks) ----------------
def textbook_info_nce(a: Tensor, b: Tensor) -> Tensor:
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / TAU
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def textbook_hard_negative(a: Tensor, b: Tensor, beta: float = BETA) -> Tensor:
    """The released estimator's formula (exp, mask, reweight, clamp), with K = N = B - 1."""
    batch = a.shape[0]
    sim = torch.exp(F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / TAU)
    mask = ~torch.eye(batch, dtype=torch.bool)
    n = batch - 1
    losses = []
    for s in (sim, sim.T):
        pos = s.diagonal()
        neg = s.masked_select(mask).view(batch, n)
        imp = (beta * neg.log()).exp()
        reweight = (imp * neg).sum(dim=1) / imp.mean(dim=1)
        ng = (reweight - TAU_PLUS * n * pos) / (1 - TAU_PLUS)
        ng = torch.clamp(ng, min=n * torch.e ** (-1 / TAU))
        losses.append(-torch.log(pos / (pos + ng)))
    return torch.cat(losses).mean()


def floor_step(a: Tensor, b: Tensor) -> None:
    with torch.no_grad():
        s = a @ b.T
        s @ b  # noqa: B018 - the timed work
        s.T @ a  # noqa: B018


def methods(chunk: int) -> dict[str, tuple[Callable[[Tensor, Tensor], Tensor], str]]:
    """Name -> (loss function, target); every function returns a scalar loss."""
    return {
        "textbook InfoNCE (2 x cross_entropy)": (textbook_info_nce, ""),
        "mmcontrast InfoNCE": (lambda a, b: info_nce(a, b, temperature=TAU), "<= 2.0x"),
        f"mmcontrast InfoNCE, chunk_size={chunk}": (
            lambda a, b: info_nce(a, b, temperature=TAU, chunk_size=chunk),
            "",
        ),
        "textbook HardNegativeLoss (released formula)": (textbook_hard_negative, ""),
        "mmcontrast HardNegativeLoss": (
            lambda a, b: hard_negative_loss(a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS),
            "<= 3.0x",
        ),
        f"mmcontrast HardNegativeLoss, chunk_size={chunk}": (
            lambda a, b: hard_negative_loss(
                a, b, temperature=TAU, beta=BETA, tau_plus=TAU_PLUS, chunk_size=chunk
            ),
            "",
        ),
        "textbook DebiasedContrastiveLoss": (
            lambda a, b: textbook_hard_negative(a, b, beta=0.0),
            "",
        ),
        "mmcontrast DebiasedContrastiveLoss": (
            lambda a, b: debiased_loss(a, b, temperature=TAU, tau_plus=TAU_PLUS),
            "<= 3.0x",
        ),
    }


def make_inputs(batch: int, dim: int) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(batch, dim, generator=g)
    b = 0.5 * a + torch.randn(batch, dim, generator=g)
    return a.requires_grad_(), b.requires_grad_()


def step(fn: Callable[[Tensor, Tensor], Tensor], a: Tensor, b: Tensor) -> float:
    a.grad = b.grad = None
    loss = fn(a, b)
    loss.backward()
    return float(loss.detach())


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(name: str, batch: int, dim: int, chunk: int) -> None:
    torch.set_num_threads(2)
    fn = floor_step if name == "floor" else methods(chunk)[name][0]
    a, b = make_inputs(batch, dim)
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident size (VmHWM) to the current one
    for _ in range(2):
        if name == "floor":
            floor_step(a, b)
        else:
            step(fn, a, b)
    print(max(0, _status_kib("VmHWM") - base) * 1024)


def peak_memory_mib(name: str, batch: int, dim: int, chunk: int) -> float:
    cmd = [sys.executable, __file__, "--memory-child", name, "--batch", str(batch)]
    cmd += ["--dim", str(dim), "--chunk", str(chunk)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip the memory column")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.batch, args.dim, args.chunk)
        return

    torch.set_num_threads(args.threads)
    a, b = make_inputs(args.batch, args.dim)
    table = methods(args.chunk)
    times: dict[str, list[float]] = {"floor": [], **{name: [] for name in table}}
    values: dict[str, float] = {}
    floor_step(a, b)
    for name, (fn, _) in table.items():  # warm-up
        values[name] = step(fn, a, b)
    for _ in range(args.repeats):
        start = time.perf_counter()
        floor_step(a, b)
        times["floor"].append(time.perf_counter() - start)
        for name, (fn, _) in table.items():
            start = time.perf_counter()
            step(fn, a, b)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["floor"])

    print(
        f"B = {args.batch}, d = {args.dim}, float32, forward + backward, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"median of {args.repeats}"
    )
    print()
    print("| method | median s | x floor | target | peak extra MiB | loss |")
    print("|---|---|---|---|---|---|")
    mem = "" if args.no_memory else f"{peak_memory_mib('floor', args.batch, args.dim, 0):.0f}"
    print(f"| three-GEMM floor (S = a bᵀ, S b, Sᵀ a) | {floor:.3f} | 1.00 | | {mem} | |")
    for name, (_, target) in table.items():
        median = statistics.median(times[name])
        ratio = median / floor
        verdict = ""
        if target:
            limit = float(target.split()[-1].rstrip("x"))
            verdict = f"{target} {'met' if ratio <= limit else 'MISSED'}"
        mem = ""
        if not args.no_memory:
            mem = f"{peak_memory_mib(name, args.batch, args.dim, args.chunk):.0f}"
        print(f"| {name} | {median:.3f} | {ratio:.2f} | {verdict} | {mem} | {values[name]:.4f} |")


if __name__ == "__main__":
    main()
