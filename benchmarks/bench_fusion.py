"""Fusion speed: the cost of missing-modality masks, against ``nn.GRU`` and concatenation.

Each row is the median wall time of one forward + backward step of a fusion module on two
modalities (IMU and skeleton, ``"b t d"``, ``hidden`` wide), divided by the median of the
reference measured in the same process: ``nn.GRU`` (bidirectional, fed the same projected
tokens) for the Bi-GRU rows, and ``ConcatFusion`` followed by one ``Linear`` for the others.
Methods are interleaved round by round so machine noise hits them alike.

``present=None`` runs the fused bidirectional ``torch.gru`` kernel; with a ``present`` mask
each direction sorts the valid tokens to the front and runs a one-directional fused kernel.
"token loop" is the straightforward alternative for the masked case (a Python loop over the
tokens with ``torch.where`` carrying the state), kept here as a baseline.

Run: ``python benchmarks/bench_fusion.py`` (``--help`` for sizes). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmcontrast.fusion import (
    BidirectionalGRUFusion,
    ConcatFusion,
    GatedMultimodalUnitFusion,
    QualityGuidedAttention,
)


def _loop_direction(seq: Tensor, valid: Tensor, weights: list[Tensor], reverse: bool) -> Tensor:
    w_ih, w_hh, b_ih, b_hh = weights
    gates_in = nn.functional.linear(seq, w_ih, b_ih)
    h = seq.new_zeros(seq.shape[0], w_hh.shape[1])
    for i in range(seq.shape[1] - 1, -1, -1) if reverse else range(seq.shape[1]):
        gi_r, gi_z, gi_n = gates_in[:, i].chunk(3, dim=-1)
        gh_r, gh_z, gh_n = nn.functional.linear(h, w_hh, b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(gi_r + gh_r), torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        h = torch.where(valid[:, i : i + 1], (1 - z) * n + z * h, h)
    return h


def _step(fn: Callable[[], Tensor], params: list[Tensor]) -> None:
    out = fn()
    grads = torch.autograd.grad(out.square().sum(), params)
    del grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=50, help="time steps per modality")
    parser.add_argument("--dim", type=int, default=128, help="feature size of each modality")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--missing", type=float, default=0.2, help="fraction without IMU")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    dims = {"inertial": args.dim, "skeleton": args.dim}
    x = {m: torch.randn(args.batch, args.tokens, args.dim, requires_grad=True) for m in dims}
    all_present = {"inertial": torch.ones(args.batch, dtype=torch.bool)}
    some_missing = {"inertial": torch.rand(args.batch) >= args.missing}

    methods: dict[str, tuple[str, Callable[[], Tensor], list[Tensor]]] = {}
    for tokens in ("time", "modality"):
        gated = BidirectionalGRUFusion(dims, hidden=args.hidden, tokens=tokens)
        reference = nn.GRU(args.hidden, args.hidden, batch_first=True, bidirectional=True)
        reference.load_state_dict(gated.gru.state_dict())
        projections = gated.projections
        if projections is None:
            raise SystemExit("project=True always builds the projections")

        def tokens_of(tokens: str = tokens, projections: nn.ModuleDict = projections) -> Tensor:
            seq = [projections[m](x[m]) for m in dims]
            if tokens == "modality":
                seq = [s.mean(1, keepdim=True) for s in seq]
            return torch.cat(seq, dim=1)

        def nn_gru(tokens_of: Callable[[], Tensor] = tokens_of, ref: nn.GRU = reference) -> Tensor:
            _, h = ref(tokens_of())
            return torch.cat([h[0], h[1]], dim=-1)

        params = [*x.values(), *gated.parameters()]
        ref_params = [*x.values(), *projections.parameters(), *reference.parameters()]
        ref_name = f"nn.GRU, {tokens} tokens"
        methods[ref_name] = (ref_name, nn_gru, ref_params)
        methods[f"Bi-GRU, {tokens} tokens, present=None"] = (
            ref_name,
            lambda g=gated: g(x),
            params,
        )
        methods[f"Bi-GRU, {tokens} tokens, mask all present"] = (
            ref_name,
            lambda g=gated: g(x, present=all_present),
            params,
        )
        methods[f"Bi-GRU, {tokens} tokens, {args.missing:.0%} missing"] = (
            ref_name,
            lambda g=gated: g(x, present=some_missing),
            params,
        )

        def loop(tokens_of: Callable[[], Tensor] = tokens_of, g: nn.Module = gated) -> Tensor:
            seq = tokens_of()
            valid = torch.cat(
                [some_missing["inertial"].unsqueeze(1).expand(-1, seq.shape[1] // 2)] * 2, 1
            )
            valid[:, seq.shape[1] // 2 :] = True
            weights = g.gru.weights
            forward = _loop_direction(seq, valid, weights[:4], reverse=False)
            return torch.cat([forward, _loop_direction(seq, valid, weights[4:], True)], -1)

        methods[f"token loop, {tokens} tokens, {args.missing:.0%} missing"] = (
            ref_name,
            loop,
            params,
        )

    concat = ConcatFusion(dims)
    linear = nn.Linear(2 * args.dim, 2 * args.hidden)
    floor = "concat + Linear"
    methods[floor] = (floor, lambda: linear(concat(x)).mean(1), [*x.values(), *linear.parameters()])
    attention = QualityGuidedAttention(dims, hidden=args.hidden)
    methods["QualityGuidedAttention"] = (
        floor,
        lambda: attention(x, present=some_missing).fused.mean(1),
        [*x.values(), *attention.parameters()],
    )
    gmu = GatedMultimodalUnitFusion(dims, hidden=args.hidden)
    methods["GMU, masked"] = (
        floor,
        lambda: gmu(x, present=some_missing),
        [*x.values(), *gmu.parameters()],
    )

    times: dict[str, list[float]] = {name: [] for name in methods}
    for _, fn, params in methods.values():  # warm-up
        _step(fn, params)
    for _ in range(args.rounds):
        for name, (_, fn, params) in methods.items():
            start = time.perf_counter()
            _step(fn, params)
            times[name].append(time.perf_counter() - start)

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"batch {args.batch}, {args.tokens} tokens per modality, d = {args.dim}, "
        f"hidden {args.hidden}, {args.threads} threads, {args.rounds} rounds, "
        f"torch {torch.__version__}\n"
    )
    print("| method | median ms (fwd + bwd) | / reference | reference |")
    print("|---|---|---|---|")
    for name, (reference_name, _, _) in methods.items():
        ratio = medians[name] / medians[reference_name]
        print(f"| {name} | {1e3 * medians[name]:.2f} | {ratio:.2f} | {reference_name} |")


if __name__ == "__main__":
    main()
