"""The tiled engine against its plain-autograd reference (``engine="reference"``).

Both compute the same estimator; the tiled kernel adds tiles, shifts, in-place masking and a
closed-form gradient. Values, clamp masks, counts and gradients (embeddings and temperature)
must agree in float64 over every option the kernel branches on.
"""

from __future__ import annotations

import pytest
import torch

from mmcontrast.losses import HardNegativeLoss, InfoNCE, LearnableTemperature
from mmcontrast.losses.functional import contrastive_terms, hard_negative_loss

B, D = 6, 4
LABELS = torch.tensor([0, 0, 1, 1, 2, 0])
GROUPS = torch.tensor([0, 1, 1, 2, 2, 3])
POS_MASK = torch.eye(B, dtype=torch.bool) | torch.tensor([[i // 2 == j // 2 for j in range(B)]
                                                           for i in range(B)])  # fmt: skip
NEG_MASK = ~torch.tensor([[(i + j) % 4 == 1 for j in range(B)] for i in range(B)])

CASES = {
    "infonce": {},
    "one-way": {"symmetric": False, "beta": 1.0, "tau_plus": 0.1},
    "debiased": {"tau_plus": 0.2},
    "hard": {"beta": 1.0, "tau_plus": 0.1},
    "beta-0.5": {"beta": 0.5, "tau_plus": 0.3},
    "no-clamp": {"beta": 1.0, "tau_plus": 0.4, "clamp": False},
    "simclr": {"negatives": "all", "beta": 1.0, "tau_plus": 0.1},
    "labels": {"labels": LABELS, "beta": 1.0, "tau_plus": 0.1},
    "simclr-labels": {"negatives": "all", "labels": LABELS, "tau_plus": 0.1},
    "label-positives": {"labels": LABELS, "label_mode": "positive", "beta": 1.0},
    "simclr-label-positives": {
        "negatives": "all",
        "labels": LABELS,
        "label_mode": "positive",
        "tau_plus": 0.2,
    },  # fmt: skip
    "groups": {"groups": GROUPS, "beta": 0.5},
    "pos-mask": {"pos_mask": POS_MASK, "beta": 1.0, "tau_plus": 0.1},
    "neg-mask": {"neg_mask": NEG_MASK, "beta": 1.0, "tau_plus": 0.1},
    "simclr-masks": {"negatives": "all", "pos_mask": POS_MASK, "neg_mask": NEG_MASK},
    "small-temperature": {"temperature": 0.02, "beta": 2.0, "tau_plus": 0.1},  # no fixed shift
}


def _inputs(aligned: bool) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    a = torch.randn(B, D, generator=g, dtype=torch.float64)
    noise = torch.randn(B, D, generator=g, dtype=torch.float64)
    b = a + 0.05 * noise if aligned else noise  # aligned pairs drive the estimate to the clamp
    return a.requires_grad_(), b.requires_grad_()


def _run(engine: str, kwargs: dict[str, object], aligned: bool, temperature: str):
    a, b = _inputs(aligned)
    kwargs = dict(kwargs)
    tau: torch.Tensor | LearnableTemperature | float = float(kwargs.pop("temperature", 0.2))
    if temperature == "tensor":
        tau = torch.tensor(tau, dtype=torch.float64, requires_grad=True)
    elif temperature == "learnable":
        tau = LearnableTemperature(init=tau, min_temperature=0.01, dtype=torch.float64)
    terms = contrastive_terms(a, b, temperature=tau, engine=engine, **kwargs)
    weights = torch.linspace(0.5, 1.5, terms.loss.shape[0], dtype=torch.float64)
    (terms.loss * weights).sum().backward()
    tau_grad = {"tensor": getattr(tau, "grad", None), "learnable": None, "float": None}[temperature]
    if isinstance(tau, LearnableTemperature):
        tau_grad = tau.log_scale.grad
    return terms, (a.grad, b.grad, tau_grad)


@pytest.mark.parametrize("temperature", ["float", "tensor", "learnable"])
@pytest.mark.parametrize("aligned", [False, True], ids=["random", "aligned"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("chunk_size", [None, 4])
def test_kernel_matches_the_reference(
    case: str, aligned: bool, temperature: str, chunk_size: int | None
) -> None:
    kwargs = {**CASES[case], "chunk_size": chunk_size}
    ours, our_grads = _run("tiled", kwargs, aligned, temperature)
    ref, ref_grads = _run("reference", kwargs, aligned, temperature)
    torch.testing.assert_close(ours.loss, ref.loss, rtol=1e-10, atol=1e-12)
    for field in ("clamped", "num_negatives", "num_positives"):
        assert torch.equal(getattr(ours, field), getattr(ref, field)), field
    for got, want in zip(our_grads, ref_grads, strict=True):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_aligned_inputs_reach_the_clamp_and_the_truncation() -> None:
    # The parity above covers clamped and truncated anchors only if some exist.
    clamped, _ = _run("reference", CASES["hard"], True, "float")
    truncated, _ = _run("reference", CASES["no-clamp"], True, "float")
    assert clamped.clamped.any() and not clamped.clamped.all()
    assert truncated.clamped.any() and (truncated.loss[truncated.clamped] == 0).all()


def test_half_precision_inputs_agree() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 32, 16, generator=g).to(torch.bfloat16)
    kwargs = {"temperature": 0.1, "beta": 1.0, "tau_plus": 0.1}
    torch.testing.assert_close(
        hard_negative_loss(a, b, **kwargs), hard_negative_loss(a, b, engine="reference", **kwargs)
    )


def test_modules_switch_engine() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    module = HardNegativeLoss(engine="reference")
    assert "engine='reference'" in repr(module) and "engine" not in repr(HardNegativeLoss())
    torch.testing.assert_close(module(a, b), HardNegativeLoss()(a, b))
    torch.testing.assert_close(InfoNCE(engine="reference")(a, b), InfoNCE()(a, b))


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(ValueError, match="^InfoNCE: engine must be one of 'tiled', 'reference'"):
        InfoNCE(engine="fast")  # type: ignore[arg-type]
    a = torch.randn(4, 3)
    with pytest.raises(ValueError, match="^hard_negative_loss: engine must be one of"):
        hard_negative_loss(a, a, engine="fast")  # type: ignore[arg-type]
