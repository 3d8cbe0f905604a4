"""How often the hard-negative clamp fires, as a function of the positive cosine.

With ``tau_plus > 0`` the debiased negative estimate ``(R - tau_plus K e^p) / (1 - tau_plus)``
falls below the floor ``K e^(-1/tau)`` once positives align; clamped anchors give their
negatives no gradient. This script measures the clamped fraction on synthetic embeddings
(B pairs, d = 128, random negatives, a fixed positive cosine) with
``HardNegativeLoss.terms``.

Run: ``python benchmarks/clamp_fraction.py``
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from mmcontrast.losses import HardNegativeLoss


def pairs_with_cosine(batch: int, dim: int, cosine: float, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a = F.normalize(torch.randn(batch, dim, generator=g), dim=1)
    noise = torch.randn(batch, dim, generator=g)
    noise = F.normalize(noise - (noise * a).sum(1, keepdim=True) * a, dim=1)  # orthogonal to a
    b = cosine * a + (1 - cosine**2) ** 0.5 * noise
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    settings = [(0.1, 0.037), (0.1, 0.1), (0.2, 0.037), (0.5, 0.037)]
    cosines = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9]
    print(
        f"clamped fraction of anchors, cross-modal, B = {args.batch}, d = {args.dim}, beta = 1, "
        f"mean over {args.seeds} batches"
    )
    print()
    print("| positive cosine | " + " | ".join(f"tau={t}, tau+={p}" for t, p in settings) + " |")
    print("|---|" + "---|" * len(settings))
    for cosine in cosines:
        cells = []
        for tau, tau_plus in settings:
            loss = HardNegativeLoss(temperature=tau, beta=1.0, tau_plus=tau_plus)
            fraction = torch.stack(
                [
                    loss.terms(*pairs_with_cosine(args.batch, args.dim, cosine, s))
                    .clamped.float()
                    .mean()
                    for s in range(args.seeds)
                ]
            ).mean()
            cells.append(f"{fraction.item():.0%}")
        print(f"| {cosine} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
