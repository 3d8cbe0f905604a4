"""Encoder throughput and differential-attention speed on CPU.

Part 1: forward + backward throughput (samples/s) of every encoder and preset at ``B = 64``
in train mode: one step is ``encoder(x).sum().backward()`` (``encoder(x, mask)`` for the
padded rows: clips of 108..326 steps padded to 326); the median step time over the rounds
gives the throughput.

Part 2: :class:`~mmcontrast.encoders.DifferentialAttention` on
``F.scaled_dot_product_attention`` (zero-padded query/key sub-heads) against a textbook
implementation that builds the two softmax maps explicitly, on the same weights, at
``T in {50, 128, 512}``. The speed-up is the median over rounds of the per-round ratio
(textbook time / SDPA time).

Methods are interleaved round by round within one process, so that machine noise hits them
alike; peak memory is measured in a fresh process per method (``VmHWM`` after a reset through
``/proc/self/clear_refs``, minus the resident size once the inputs exist; Linux only). One
thread by default (``--threads``): on a shared machine, two-thread runs suffer most from other
processes. Run: ``python benchmarks/bench_encoders.py`` (``--help`` for the options). Prints
markdown tables.
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
from einops import rearrange
from torch import Tensor, nn

from mmcontrast.encoders import (
    CNNDiffTransformerEncoder,
    CNNTransformerEncoder,
    DifferentialAttention,
    HCNEncoder,
)
from mmcontrast.encoders.presets import clmm_style_inertial, cmc_cmkm_inertial, cmc_cmkm_skeleton


def encoders() -> dict[str, tuple[nn.Module, tuple[int, ...], bool]]:
    """Name -> (encoder, input shape without the batch, with a padding mask)."""
    return {
        "CNNTransformerEncoder()": (CNNTransformerEncoder(), (50, 6), False),
        "CNNTransformerEncoder(), padded + mask": (CNNTransformerEncoder(), (326, 6), True),
        "presets.cmc_cmkm_inertial()": (cmc_cmkm_inertial(), (50, 6), False),
        "presets.clmm_style_inertial() = CNNDiffTransformerEncoder()": (
            clmm_style_inertial(),
            (50, 6),
            False,
        ),
        "CNNDiffTransformerEncoder(), padded + mask": (CNNDiffTransformerEncoder(), (326, 6), True),
        'CNNDiffTransformerEncoder(positions="rope")': (
            CNNDiffTransformerEncoder(positions="rope"),
            (50, 6),
            False,
        ),
        "HCNEncoder()": (HCNEncoder(), (50, 20, 3), False),
        "presets.cmc_cmkm_skeleton()": (cmc_cmkm_skeleton(), (50, 20, 3), False),
    }


def textbook_differential_attention(module: DifferentialAttention, x: Tensor) -> Tensor:
    """The operator written from the paper with explicit softmax maps (same weights)."""
    heads, e = module.num_heads, module.head_dim
    q, k, v = module.qkv_proj(x).chunk(3, dim=-1)
    q1, q2 = rearrange(q, "b t (h s e) -> s b h t e", s=2, h=heads).unbind(0)
    k1, k2 = rearrange(k, "b t (h s e) -> s b h t e", s=2, h=heads).unbind(0)
    v = rearrange(v, "b t (h e) -> b h t e", h=heads)
    a1 = torch.softmax(q1 @ k1.transpose(-1, -2) / e**0.5, dim=-1)
    a2 = torch.softmax(q2 @ k2.transpose(-1, -2) / e**0.5, dim=-1)
    out = (a1 - module.compute_lambda() * a2) @ v
    out = F.rms_norm(out, (2 * e,), eps=1e-5) * (1.0 - module.lambda_init)
    projected: Tensor = module.out_proj(rearrange(out, "b h t e -> b t (h e)"))
    return projected


def timed_step(fn: Callable[..., Tensor], *inputs: Tensor) -> float:
    start = time.perf_counter()
    fn(*inputs).sum().backward()
    return time.perf_counter() - start


def bench_encoders(batch: int, rounds: int) -> None:
    g = torch.Generator().manual_seed(0)
    table = encoders()
    inputs: dict[str, tuple[Tensor, ...]] = {}
    for name, (_, shape, masked) in table.items():
        x = torch.randn(batch, *shape, generator=g)
        if masked:  # lengths spread over [t/3, t], like UTD-MHAD's 107..326 steps
            lengths = torch.randint(shape[0] // 3, shape[0] + 1, (batch,), generator=g)
            inputs[name] = (x, torch.arange(shape[0]) < lengths.unsqueeze(1))
        else:
            inputs[name] = (x,)
    times: dict[str, list[float]] = {name: [] for name in table}
    for name, (module, _, _) in table.items():  # warm-up
        module.train()
        timed_step(module, *inputs[name])
    for _ in range(rounds):
        for name, (module, _, _) in table.items():
            module.zero_grad(set_to_none=True)
            times[name].append(timed_step(module, *inputs[name]))
    print(f"\nForward + backward, train mode, B = {batch}, median of {rounds} rounds\n")
    print("| encoder | input (per sample) | output | parameters | ms / step | samples / s |")
    print("|---|---|---:|---:|---:|---:|")
    for name, (module, shape, _) in table.items():
        ms = 1e3 * statistics.median(times[name])
        params = sum(p.numel() for p in module.parameters())
        out = module.out_features
        print(f"| {name} | {shape} | {out} | {params:,} | {ms:.1f} | {batch / ms * 1e3:,.0f} |")


def attention_methods() -> dict[str, Callable[[Tensor], Tensor]]:
    """The textbook operator and the SDPA module, on the same weights."""
    torch.manual_seed(0)
    module = DifferentialAttention(128, num_heads=4)
    return {"textbook": lambda x: textbook_differential_attention(module, x), "sdpa": module}


def _interleaved(
    methods: dict[str, Callable[[Tensor], Tensor]], x: Tensor, rounds: int, *, backward: bool
) -> dict[str, list[float]]:
    def run(fn: Callable[[Tensor], Tensor]) -> float:
        if backward:
            x.grad = None
            return timed_step(fn, x)
        with torch.no_grad():
            start = time.perf_counter()
            fn(x)
            return time.perf_counter() - start

    for fn in methods.values():  # warm-up
        run(fn)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            times[name].append(run(fn))
    return times


def _speed_up(times: dict[str, list[float]], name: str) -> float:
    pairs = zip(times["textbook"], times[name], strict=True)
    return statistics.median(t / s for t, s in pairs)


def bench_attention(batch: int, lengths: list[int], rounds: int, memory: bool) -> None:
    methods = attention_methods()
    print(
        f"\nDifferentialAttention (projections included), B = {batch}, d = 128, 4 differential "
        "heads (sub-head 16, value head 32). Speed-up = textbook time / SDPA time, median of "
        "the per-round ratios; peak = extra resident memory of one forward + backward step.\n"
    )
    head = "| T | textbook ms | SDPA ms | speed-up | forward only: textbook ms | SDPA ms "
    head += "| speed-up |"
    if memory:
        head += " peak MiB: textbook | SDPA |"
    print(head)
    print("|---:" * (head.count("|") - 1) + "|")
    for length in lengths:
        x = torch.randn(batch, length, 128, requires_grad=True)
        with torch.no_grad():
            ref = methods["textbook"](x)
            torch.testing.assert_close(methods["sdpa"](x), ref, rtol=1e-4, atol=1e-5)
        n = rounds if length < 512 else max(3, rounds // 4)
        train = _interleaved(methods, x, n, backward=True)
        infer = _interleaved(methods, x, n, backward=False)
        cells = []
        for times in (train, infer):
            cells += [
                f"{1e3 * statistics.median(times['textbook']):.1f}",
                f"{1e3 * statistics.median(times['sdpa']):.1f}",
                f"{_speed_up(times, 'sdpa'):.2f}x",
            ]
        if memory:
            cells += [f"{peak_memory_mib(name, batch, length):.0f}" for name in methods]
        print(f"| {length} | " + " | ".join(cells) + " |")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(name: str, batch: int, length: int) -> None:
    fn = attention_methods()[name]
    x = torch.randn(batch, length, 128, requires_grad=True)
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak resident size (VmHWM) to the current one
    for _ in range(2):
        x.grad = None
        timed_step(fn, x)
    print(max(0, _status_kib("VmHWM") - base) * 1024)


def peak_memory_mib(name: str, batch: int, length: int) -> float:
    cmd = [sys.executable, __file__, "--memory-child", name, "--batch", str(batch)]
    cmd += ["--lengths", str(length), "--threads", "1"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1]) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 128, 512])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-encoders", action="store_true")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory columns")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child, args.batch, args.lengths[0])
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    if not args.skip_encoders:
        bench_encoders(args.batch, args.rounds)
    bench_attention(args.batch, args.lengths, args.rounds, not args.no_memory)


if __name__ == "__main__":
    main()
