"""The functional losses against independent float64 references written from the equations."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from mmcontrast.losses.functional import (
    contrastive_terms,
    debiased_loss,
    hard_negative_loss,
    info_nce,
    reduce_terms,
)
from tests.helpers import compiled_matches_eager


# --------------------------------------------------------------------------------------------
# Independent references: one anchor at a time, exactly as written in reference/losses.md
# (Robinson et al.'s estimator with Chuang et al.'s clamp; K = N = the anchor's negatives).
# --------------------------------------------------------------------------------------------
def _reference_anchor(
    pos: Tensor, negs: Tensor, tau: float, beta: float, tau_plus: float, clamp: bool
) -> Tensor:
    count = negs.numel()
    if count == 0:
        return pos * 0.0
    importance = torch.exp(beta * negs)
    reweighted = (importance * torch.exp(negs)).sum() / importance.mean()
    ng = (reweighted - tau_plus * count * torch.exp(pos)) / (1.0 - tau_plus)
    if clamp:
        ng = torch.maximum(ng, count * torch.exp(torch.as_tensor(-1.0 / tau, dtype=pos.dtype)))
    elif ng <= 0:
        return pos * 0.0  # documented: a non-positive estimate without clamp gives a 0 term
    return -torch.log(torch.exp(pos) / (torch.exp(pos) + ng))


def _reference_hard_negative(
    a: Tensor,
    b: Tensor,
    *,
    tau: float,
    beta: float,
    tau_plus: float,
    negatives: str,
    clamp: bool = True,
    symmetric: bool = True,
    labels: Tensor | None = None,
) -> Tensor:
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    batch = a.shape[0]
    terms = []
    if negatives == "cross":
        sim = a @ b.T
        for matrix in [sim, sim.T] if symmetric else [sim]:
            for i in range(batch):
                keep = torch.ones(batch, dtype=torch.bool)
                keep[i] = False
                if labels is not None:
                    keep &= labels != labels[i]
                terms.append(
                    _reference_anchor(
                        matrix[i, i] / tau, matrix[i, keep] / tau, tau, beta, tau_plus, clamp
                    )
                )
    else:
        views = torch.cat([a, b])
        sim = views @ views.T
        both = None if labels is None else torch.cat([labels, labels])
        for k in range(2 * batch):
            partner = (k + batch) % (2 * batch)
            keep = torch.ones(2 * batch, dtype=torch.bool)
            keep[k] = keep[partner] = False
            if both is not None:
                keep &= both != both[k]
            terms.append(
                _reference_anchor(
                    sim[k, partner] / tau, sim[k, keep] / tau, tau, beta, tau_plus, clamp
                )
            )
    return torch.stack(terms)


def _pair(
    batch: int, dim: int, seed: int, dtype: torch.dtype = torch.float64, align: float = 0.7
) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(batch, dim, generator=g, dtype=dtype)
    b = align * a + torch.randn(batch, dim, generator=g, dtype=dtype)
    return a.requires_grad_(), b.requires_grad_()


def _value_and_grads(fn, a: Tensor, b: Tensor, weights: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    out = fn(a, b)
    ga, gb = torch.autograd.grad((out * weights).sum(), [a, b])
    return out.detach(), ga, gb


GRID = list(
    itertools.product(
        ["cross", "all"],
        [0.0, 0.5, 1.0, 2.0],
        [0.05, 0.1, 0.5],
        [0.0, 0.037, 0.1],
        [2, 3, 64],
        [False, True],
    )
)


@pytest.mark.parametrize(("negatives", "beta", "tau", "tau_plus", "batch", "with_labels"), GRID)
def test_parity_with_reference(
    negatives: str, beta: float, tau: float, tau_plus: float, batch: int, with_labels: bool
) -> None:
    seed = GRID.index((negatives, beta, tau, tau_plus, batch, with_labels))
    a, b = _pair(batch, 8, seed)
    g = torch.Generator().manual_seed(seed + 1)
    labels = torch.randint(0, 3, (batch,), generator=g) if with_labels else None
    weights = torch.rand(2 * batch, generator=g, dtype=torch.float64)
    want = _value_and_grads(
        lambda x, y: _reference_hard_negative(
            x, y, tau=tau, beta=beta, tau_plus=tau_plus, negatives=negatives, labels=labels
        ),
        a,
        b,
        weights,
    )
    got = _value_and_grads(
        lambda x, y: hard_negative_loss(
            x,
            y,
            temperature=tau,
            beta=beta,
            tau_plus=tau_plus,
            negatives=negatives,
            labels=labels,
            reduction="none",
        ),
        a,
        b,
        weights,
    )
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("clamp", [True, False])
@pytest.mark.parametrize("tau_plus", [0.0, 0.3])
def test_parity_asymmetric_and_unclamped(symmetric: bool, clamp: bool, tau_plus: float) -> None:
    a, b = _pair(9, 4, 11, align=2.0)  # strongly aligned: the clamp fires on many anchors
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    n = 18 if symmetric else 9
    weights = torch.rand(n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    kw = dict(beta=1.0, tau_plus=tau_plus, negatives="cross", clamp=clamp, symmetric=symmetric)
    want = _value_and_grads(
        lambda x, y: _reference_hard_negative(x, y, tau=0.2, labels=labels, **kw), a, b, weights
    )
    got = _value_and_grads(
        lambda x, y: hard_negative_loss(
            x, y, temperature=0.2, labels=labels, reduction="none", **kw
        ),
        a,
        b,
        weights,
    )
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("clamp", [True, False])
def test_temperature_tensor_gets_the_exact_gradient(negatives: str, clamp: bool) -> None:
    a, b = _pair(7, 5, 5, align=2.0)
    tau = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    ref = _reference_hard_negative(
        a, b, tau=tau, beta=1.5, tau_plus=0.2, negatives=negatives, clamp=clamp
    ).mean()
    ours = hard_negative_loss(
        a, b, temperature=tau, beta=1.5, tau_plus=0.2, negatives=negatives, clamp=clamp
    )
    (want,) = torch.autograd.grad(ref, [tau])
    (got,) = torch.autograd.grad(ours, [tau])
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64])
@pytest.mark.parametrize("with_labels", [False, True])
def test_chunked_path_equals_plain_path(negatives: str, chunk_size: int, with_labels: bool) -> None:
    a, b = _pair(13, 6, 21)
    labels = torch.arange(13) % 4 if with_labels else None
    weights = torch.rand(26, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    tau = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    outs = []
    for chunk in (None, chunk_size):
        terms = contrastive_terms(
            a,
            b,
            temperature=tau,
            beta=1.0,
            tau_plus=0.1,
            negatives=negatives,
            labels=labels,
            chunk_size=chunk,
        )
        grads = torch.autograd.grad((terms.loss * weights).sum(), [a, b, tau])
        outs.append((terms.loss, terms.clamped, terms.num_negatives, *grads))
    for plain, chunked in zip(*outs, strict=True):
        torch.testing.assert_close(chunked, plain, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Exact special cases and properties
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("with_labels", [False, True])
def test_special_cases(negatives: str, with_labels: bool) -> None:
    a, b = _pair(16, 8, 2)
    labels = torch.arange(16) % 5 if with_labels else None
    kw = dict(negatives=negatives, labels=labels, reduction="none", temperature=0.3)
    debiased = debiased_loss(a, b, tau_plus=0.1, **kw)
    torch.testing.assert_close(
        hard_negative_loss(a, b, beta=0.0, tau_plus=0.1, **kw), debiased, rtol=1e-13, atol=1e-13
    )
    plain = info_nce(a, b, **kw)
    torch.testing.assert_close(
        hard_negative_loss(a, b, beta=0.0, tau_plus=0.0, **kw), plain, rtol=1e-13, atol=1e-13
    )
    torch.testing.assert_close(
        debiased_loss(a, b, tau_plus=0.0, **kw), plain, rtol=1e-13, atol=1e-13
    )


def test_info_nce_is_cross_entropy() -> None:
    a, b = _pair(10, 4, 8)
    logits = (
        torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T
    ) / 0.07
    target = torch.arange(10)
    want = 0.5 * (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target)
    )
    torch.testing.assert_close(info_nce(a, b, temperature=0.07), want, rtol=1e-13, atol=1e-13)
    one_way = torch.nn.functional.cross_entropy(logits, target)
    torch.testing.assert_close(
        info_nce(a, b, temperature=0.07, symmetric=False), one_way, rtol=1e-13, atol=1e-13
    )


def test_aligned_orthonormal_embeddings_give_the_closed_form() -> None:
    batch, tau = 6, 0.1
    eye = torch.eye(batch, dtype=torch.float64)
    want_cross = -1 / tau + math.log(math.exp(1 / tau) + (batch - 1))
    torch.testing.assert_close(
        info_nce(eye, eye, temperature=tau), torch.tensor(want_cross, dtype=torch.float64)
    )
    # "all": the partner has cosine 1; the 2B - 2 others cosine 0.
    want_all = -1 / tau + math.log(math.exp(1 / tau) + (2 * batch - 2))
    torch.testing.assert_close(
        info_nce(eye, eye, temperature=tau, negatives="all"),
        torch.tensor(want_all, dtype=torch.float64),
    )


@pytest.mark.parametrize("negatives", ["cross", "all"])
def test_swapping_views_leaves_symmetric_loss_unchanged(negatives: str) -> None:
    a, b = _pair(12, 5, 4)
    for fn in (info_nce, debiased_loss, hard_negative_loss):
        torch.testing.assert_close(
            fn(a, b, negatives=negatives), fn(b, a, negatives=negatives), rtol=1e-13, atol=1e-13
        )


def test_reduction_shapes_and_consistency() -> None:
    a, b = _pair(5, 3, 1)
    none = hard_negative_loss(a, b, reduction="none")
    assert none.shape == (10,)
    assert hard_negative_loss(a, b, reduction="none", symmetric=False).shape == (5,)
    assert hard_negative_loss(a, b, reduction="none", negatives="all").shape == (10,)
    torch.testing.assert_close(hard_negative_loss(a, b, reduction="sum"), none.sum())
    torch.testing.assert_close(hard_negative_loss(a, b), none.mean())
    terms = contrastive_terms(a, b, beta=1.0, tau_plus=0.1)
    torch.testing.assert_close(reduce_terms(terms, "none"), none)
    weights = torch.rand(5, dtype=torch.float64)
    torch.testing.assert_close(
        hard_negative_loss(a, b, reduction="sum", weights=weights), (none * weights.repeat(2)).sum()
    )


def test_terms_report_counts_and_clamping() -> None:
    # Identical views: the positive cosine is 1, so with tau_plus > 0 and a small temperature
    # the debiased estimate drops below the floor for every anchor.
    a = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    terms = contrastive_terms(a, a, temperature=0.05, beta=1.0, tau_plus=0.2)
    assert terms.clamped.all()
    assert terms.num_negatives.tolist() == [7] * 16
    # Clamped anchors still pull their positive but give no gradient to the negatives.
    b = a.clone().requires_grad_()
    loss = contrastive_terms(a, b, temperature=0.05, beta=1.0, tau_plus=0.2).loss.sum()
    (grad,) = torch.autograd.grad(loss, [b])
    assert torch.isfinite(grad).all()
    none = contrastive_terms(
        a, a * 0.1 + torch.randn_like(a), temperature=1.0, beta=1.0, tau_plus=0.0
    )
    assert not none.clamped.any()


def test_labels_remove_same_label_negatives_and_count() -> None:
    a, b = _pair(6, 4, 3)
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    terms = contrastive_terms(a, b, labels=labels, tau_plus=0.1)
    assert terms.num_negatives.tolist() == [3, 3, 3, 4, 4, 5] * 2
    all_terms = contrastive_terms(a, b, labels=labels, negatives="all")
    assert all_terms.num_negatives.tolist() == [6, 6, 6, 8, 8, 10] * 2
    # A batch of one class leaves no negatives: every term is exactly 0, with zero gradient.
    same = contrastive_terms(a, b, labels=torch.zeros(6, dtype=torch.long), beta=1.0, tau_plus=0.1)
    assert same.num_negatives.eq(0).all() and same.loss.eq(0).all()
    (grad,) = torch.autograd.grad(same.loss.sum(), [a])
    assert grad.eq(0).all()


def test_bool_labels_are_accepted() -> None:
    a, b = _pair(4, 3, 0)
    labels = torch.tensor([True, False, True, False])
    torch.testing.assert_close(info_nce(a, b, labels=labels), info_nce(a, b, labels=labels.long()))


def test_gradcheck() -> None:
    a, b = _pair(5, 3, 9)
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 1])
    for negatives in ("cross", "all"):
        assert torch.autograd.gradcheck(
            lambda x, y, t, negatives=negatives: hard_negative_loss(
                x,
                y,
                temperature=t,
                beta=1.5,
                tau_plus=0.1,
                negatives=negatives,
                labels=labels,
                reduction="none",
            ),
            (a, b, tau),
            fast_mode=True,
        )
        assert torch.autograd.gradcheck(
            lambda x, y, t, negatives=negatives: info_nce(
                x, y, temperature=t, negatives=negatives, chunk_size=2
            ),
            (a, b, tau),
            fast_mode=True,
        )


# --------------------------------------------------------------------------------------------
# Low precision: finite everywhere, float32 inside
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("negatives", ["cross", "all"])
@pytest.mark.parametrize("tau", [0.05, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_half_precision_is_finite_with_zero_and_duplicated_rows(
    half: torch.dtype, negatives: str, tau: float, beta: float
) -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(32, 16, generator=g)
    b = a + 0.3 * torch.randn(32, 16, generator=g)
    a[0] = 0.0  # a dead embedding
    b[5] = 0.0
    a[2], b[2] = a[1], b[1]  # duplicated pairs
    a16, b16 = a.to(half).requires_grad_(), b.to(half).requires_grad_()
    loss = hard_negative_loss(
        a16, b16, temperature=tau, beta=beta, tau_plus=0.1, negatives=negatives
    )
    loss.backward()
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)
    assert a16.grad is not None and b16.grad is not None
    assert a16.grad.dtype == half and torch.isfinite(a16.grad).all()
    assert torch.isfinite(b16.grad).all()
    # The value is the float32/64 value of the same (rounded) inputs: no half-precision math.
    exact = hard_negative_loss(
        a16.detach().double(),
        b16.detach().double(),
        temperature=tau,
        beta=beta,
        tau_plus=0.1,
        negatives=negatives,
    )
    torch.testing.assert_close(loss.double(), exact, rtol=1e-5, atol=1e-5)


def test_autocast_does_not_lower_the_loss_precision() -> None:
    a, b = _pair(32, 16, 0, dtype=torch.float32)
    want = hard_negative_loss(a, b, temperature=0.05)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = hard_negative_loss(a, b, temperature=0.05)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want)


def test_small_temperature_float32_has_finite_gradients() -> None:
    # The released code exponentiates the self-similarity 1/tau before masking: NaN here.
    a, b = _pair(64, 32, 0, dtype=torch.float32, align=3.0)
    loss = hard_negative_loss(a, b, temperature=0.01, beta=6.0, tau_plus=0.1, negatives="all")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


# --------------------------------------------------------------------------------------------
# Peer parity
# --------------------------------------------------------------------------------------------
def test_nt_xent_matches_pytorch_metric_learning() -> None:
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    a, b = _pair(16, 8, 6)
    index = torch.arange(16)
    ref = pml_losses.NTXentLoss(temperature=0.2)(torch.cat([a, b]), torch.cat([index, index]))
    ours = info_nce(a, b, temperature=0.2, negatives="all")
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    want = torch.autograd.grad(ref, [a, b])
    got = torch.autograd.grad(ours, [a, b])
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Compile, errors
# --------------------------------------------------------------------------------------------
@pytest.mark.compile
@pytest.mark.parametrize("negatives", ["cross", "all"])
def test_compile_fullgraph(negatives: str) -> None:
    a, b = _pair(12, 8, 0, dtype=torch.float32)
    labels = torch.arange(12) % 3
    compiled_matches_eager(
        lambda x, y, lab: hard_negative_loss(x, y, negatives=negatives, labels=lab), [a, b, labels]
    )
    compiled_matches_eager(lambda x, y: info_nce(x, y, negatives=negatives, chunk_size=5), [a, b])


@pytest.mark.compile
def test_compile_with_inductor() -> None:
    a, b = _pair(16, 8, 0, dtype=torch.float32)
    compiled_matches_eager(
        lambda x, y: hard_negative_loss(x, y, tau_plus=0.05),
        [a, b],
        backend="inductor",
        rtol=1e-4,
        atol=1e-5,
    )


_X = torch.randn(4, 3)
BAD_CALLS = [
    (
        lambda: info_nce(_X, _X, temperature=0.0),
        ValueError,
        r"temperature must be in \(0, inf\), got 0\.0",
    ),
    (lambda: info_nce(_X, _X, temperature=-1), ValueError, "temperature"),
    (lambda: info_nce(_X, _X, temperature=float("nan")), ValueError, "temperature"),
    (lambda: info_nce(_X, _X, temperature="0.1"), TypeError, "temperature must be a real number"),
    (lambda: info_nce(_X, _X, temperature=torch.ones(2)), TypeError, "0-d floating tensor"),
    (
        lambda: hard_negative_loss(_X, _X, tau_plus=1.0),
        ValueError,
        r"tau_plus must be in \[0, 1\), got 1\.0",
    ),
    (lambda: hard_negative_loss(_X, _X, tau_plus=-0.1), ValueError, "tau_plus"),
    (
        lambda: hard_negative_loss(_X, _X, beta=-1.0),
        ValueError,
        r"beta must be in \[0, inf\), got -1\.0",
    ),
    (
        lambda: info_nce(_X, _X, negatives="both"),
        ValueError,
        "negatives must be one of 'cross', 'all', got 'both'",
    ),
    (lambda: info_nce(_X, _X, reduction="avg"), ValueError, "reduction must be one of"),
    (lambda: info_nce(_X, _X, negatives="all", symmetric=False), ValueError, "symmetric=False"),
    (lambda: info_nce(_X, _X, symmetric=1), TypeError, "symmetric must be a bool"),
    (lambda: info_nce(_X, _X, chunk_size=0), ValueError, "chunk_size must be >= 1, got 0"),
    (lambda: info_nce(_X, _X, chunk_size=2.0), TypeError, "chunk_size"),
    (lambda: info_nce(_X[:1], _X[:1]), ValueError, r"at least 2 pairs, got a: \(1, 3\)"),
    (lambda: info_nce(_X, torch.randn(5, 3)), ValueError, r"a: \(4, 3\) and b: \(5, 3\)"),
    (lambda: info_nce(_X, torch.randn(4, 2)), ValueError, r"a: \(4, 3\) and b: \(4, 2\)"),
    (lambda: info_nce(_X[0], _X[0]), ValueError, r'shape "b d", got a: \(3,\)'),
    (
        lambda: info_nce(_X.long(), _X),
        TypeError,
        "a must be a floating-point tensor, got dtype torch.int64",
    ),
    (lambda: info_nce(_X.numpy(), _X), TypeError, "a must be a torch.Tensor, got ndarray"),
    (
        lambda: info_nce(_X, _X, labels=torch.zeros(3, dtype=torch.long)),
        ValueError,
        r'labels must have shape "b" = \(4,\).*got \(3,\)',
    ),
    (
        lambda: info_nce(_X, _X, labels=torch.zeros(4)),
        TypeError,
        "labels must have an integer or bool dtype, got torch.float32",
    ),
    (lambda: info_nce(_X, _X, labels=[0, 1, 2, 3]), TypeError, "labels must be a torch.Tensor"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_CALLS)
def test_bad_arguments_raise_clear_errors(call, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_error_names_the_function() -> None:
    with pytest.raises(ValueError, match="^hard_negative_loss: tau_plus"):
        hard_negative_loss(_X, _X, tau_plus=2.0)
