"""CMC-CMKM against an independent float64 reference written from reference/losses.md §5."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from mmcontrast.losses import CMKMLoss
from mmcontrast.losses.functional import cmkm_loss, info_nce
from tests.helpers import assert_roundtrip, compiled_matches_eager


def _reference_cmkm(
    a: Tensor,
    b: Tensor,
    ta: Tensor,
    tb: Tensor,
    *,
    tau: float,
    k: int,
    mining: bool,
    symmetric: bool,
    intra: bool,
    lam: float,
    tau_intra: float,
    prune: bool,
    gamma: float,
    weighting: bool,
    scale: float,
) -> Tensor:
    """Row by row: -log(num / (num + den)), sets built as the reference describes."""
    n = a.shape[0]
    za, zb = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    fa, fb = ta / ta.norm(dim=1, keepdim=True), tb / tb.norm(dim=1, keepdim=True)
    teacher = {"a": fa @ fa.T, "b": fb @ fb.T}
    conn = {key: t.mean(dim=0) for key, t in teacher.items()}
    eye = torch.eye(n, dtype=a.dtype)
    mined = {key: (t - eye).topk(k, dim=1).indices for key, t in teacher.items()}
    if symmetric:
        both = torch.cat([mined["a"], mined["b"]], dim=1)
        mined = {"a": both, "b": both}
    emb = {"a": za, "b": zb}
    terms = []
    for anchor, cand in (("a", "b"), ("b", "a")):
        for r in range(n):
            cross = [emb[anchor][r] @ emb[cand][j] / tau for j in range(n)]
            own = [emb[anchor][r] @ emb[anchor][j] / tau_intra for j in range(n)]
            cross_pos = {r} | (set(mined[cand][r].tolist()) if mining else set())
            intra_pos = set(mined[anchor][r].tolist()) if mining and intra else set()
            num = sum(torch.exp(cross[j]) for j in cross_pos)
            num = num + sum((torch.exp(own[j]) for j in intra_pos), torch.zeros((), dtype=a.dtype))
            den = torch.zeros((), dtype=a.dtype)
            for j in range(n):
                if j in cross_pos or (prune and conn[cand][j] > gamma):
                    continue
                den = den + torch.exp(cross[j])
            if intra:
                mined_own = set(mined[anchor][r].tolist()) if mining else set()
                for j in range(n):
                    if j == r or j in mined_own or (prune and conn[anchor][j] > gamma):
                        continue
                    den = den + lam * torch.exp(own[j])
            term = -torch.log(num / (num + den))
            if weighting:
                term = term * torch.exp(scale * conn[anchor][r])
            terms.append(term)
    return torch.stack(terms)


def _batch(seed: int = 0, n: int = 8) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 5, generator=g, dtype=torch.float64)
    b = 0.5 * a + torch.randn(n, 5, generator=g, dtype=torch.float64)
    common = torch.randn(1, 7, generator=g, dtype=torch.float64)
    ta = common + 0.8 * torch.randn(n, 7, generator=g, dtype=torch.float64)  # connectivity ~0.5
    tb = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return a.requires_grad_(), b.requires_grad_(), ta, tb


FLAGS = list(itertools.product([False, True], repeat=5))


@pytest.mark.parametrize(("mining", "symmetric", "intra", "prune", "weighting"), FLAGS)
@pytest.mark.parametrize("intra_temperature", [None, 1.0])
def test_parity_with_reference(
    mining: bool,
    symmetric: bool,
    intra: bool,
    prune: bool,
    weighting: bool,
    intra_temperature: float | None,
) -> None:
    a, b, ta, tb = _batch()
    k = 2
    ref = _reference_cmkm(
        a, b, ta, tb, tau=0.2, k=k, mining=mining, symmetric=symmetric, intra=intra, lam=0.7,
        tau_intra=0.2 if intra_temperature is None else intra_temperature, prune=prune,
        gamma=0.3, weighting=weighting, scale=0.25,
    )  # fmt: skip
    ours = cmkm_loss(
        a, b, ta, tb, temperature=0.2, k=k, positive_mining=mining, symmetric_mining=symmetric,
        intra_negatives=intra, intra_weight=0.7, intra_temperature=intra_temperature,
        negative_pruning=prune, pruning_threshold=0.3, loss_term_weighting=weighting,
        weighting_scale=0.25, reduction="none",
    )  # fmt: skip
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    w = torch.rand(16, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    want = torch.autograd.grad((ref * w).sum(), [a, b])
    got = torch.autograd.grad((ours * w).sum(), [a, b])
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-10, atol=1e-10)


def test_pruning_and_weighting_are_exercised() -> None:
    a, b, ta, tb = _batch()
    base = cmkm_loss(a, b, ta, tb, pruning_threshold=0.3)
    assert not torch.allclose(base, cmkm_loss(a, b, ta, tb, negative_pruning=True,
                                              pruning_threshold=0.3))  # fmt: skip
    assert not torch.allclose(base, cmkm_loss(a, b, ta, tb, loss_term_weighting=True))


def test_upstream_intra_temperature_quirk_changes_the_value() -> None:
    a, b, ta, tb = _batch(3)
    consistent = cmkm_loss(a, b, ta, tb, temperature=0.1)
    upstream = cmkm_loss(a, b, ta, tb, temperature=0.1, intra_temperature=1.0)
    assert not torch.allclose(consistent, upstream)


def test_validation_mode_is_plain_cmc() -> None:
    a, b, ta, tb = _batch(1)
    module = CMKMLoss(temperature=0.3, negative_pruning=True, loss_term_weighting=True)
    module.eval()
    torch.testing.assert_close(module(a, b, ta, tb), info_nce(a, b, temperature=0.3))
    module.train()
    assert not torch.allclose(module(a, b, ta, tb), info_nce(a, b, temperature=0.3))


def test_all_orthogonal_teacher_mines_itself() -> None:
    # When every off-diagonal teacher similarity is below 0, T - 1 on the diagonal is the
    # largest entry: the sample itself is "mined" (as upstream); its own cross term is counted
    # once and the intra numerator gains exp(1 / tau_intra).
    n = 4
    a, b = torch.randn(n, 3, dtype=torch.float64), torch.randn(n, 3, dtype=torch.float64)
    teacher = torch.eye(n, dtype=torch.float64) - 0.5 * (1 - torch.eye(n, dtype=torch.float64))
    teacher = torch.linalg.cholesky(teacher + 0.6 * torch.eye(n, dtype=torch.float64))
    ref = _reference_cmkm(a, b, teacher, teacher, tau=0.1, k=1, mining=True, symmetric=False,
                          intra=True, lam=1.0, tau_intra=1.0, prune=False, gamma=0.0,
                          weighting=False, scale=0.0)  # fmt: skip
    ours = cmkm_loss(a, b, teacher, teacher, temperature=0.1, intra_temperature=1.0,
                     reduction="none")  # fmt: skip
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)


def test_module_repr_roundtrip_and_compile() -> None:
    a, b, ta, tb = (x.detach().float() for x in _batch())
    module = CMKMLoss(k=2, intra_temperature=1.0)
    assert "intra_temperature=1.0" in repr(module) and "k=2" in repr(module)
    assert_roundtrip(module, lambda: CMKMLoss(k=2, intra_temperature=1.0), [a, b, ta, tb])
    module.train()
    compiled_matches_eager(module, [a, b, ta, tb])


def test_bad_inputs() -> None:
    a, b, ta, tb = _batch()
    with pytest.raises(ValueError, match=r'teacher_b must have shape "b e".*b = 8.*got \(7, 3\)'):
        cmkm_loss(a, b, ta, tb[:7])
    with pytest.raises(ValueError, match="k must be <= the"):
        cmkm_loss(a, b, ta, tb, k=9)
    with pytest.raises(ValueError, match="^CMKMLoss: k must be >= 1, got 0"):
        CMKMLoss(k=0)
    with pytest.raises(ValueError, match="intra_weight"):
        CMKMLoss(intra_weight=-1.0)
    with pytest.raises(TypeError, match="teacher_a must be a floating-point tensor"):
        cmkm_loss(a, b, ta.long(), tb)
    assert math.isfinite(float(cmkm_loss(a, b, ta, tb).detach()))
