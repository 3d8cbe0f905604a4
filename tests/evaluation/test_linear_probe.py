from __future__ import annotations

import pickle
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mmcontrast.evaluation import L2_GRID, LinearProbe
from mmcontrast.heads import LinearClassifier


def _problem(
    n: int, d: int, classes: int, *, seed: int = 0, signal: float = 1.0
) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    means = torch.randn(classes, d, generator=g, dtype=torch.float64)
    features = (
        3.0 + signal * means[labels] + 2.0 * torch.randn(n, d, generator=g, dtype=torch.float64)
    )
    return features, labels


def _standardise(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False)
    return (x - mean) / std, mean, std


def _objective(w: Tensor, b: Tensor, x: Tensor, y: Tensor, l2: float) -> Tensor:
    """sum_i CE(W x_i + b, y_i) + l2 / 2 ||W||^2, written from the definition."""
    logits = x @ w.T + b
    return -(logits.log_softmax(dim=1).gather(1, y[:, None])).sum() + 0.5 * l2 * (w * w).sum()


def _reference_optimum(x: Tensor, y: Tensor, classes: int, l2: float) -> tuple[Tensor, Tensor]:
    """Damped Newton in float64 on the full (W, b) problem, to a gradient of ~1e-12.

    Gradient and Hessian from the textbook formulas of multinomial logistic regression, on the
    features with a column of ones appended for the bias. The bias is only defined up to a
    constant (softmax shift), so the step uses the pseudo-inverse of the Hessian and the tests
    compare centred biases.
    """
    n, d = x.shape
    xa = torch.cat([x, torch.ones(n, 1, dtype=x.dtype)], dim=1)  # "b (d+1)"
    targets = F.one_hot(y, classes).double()
    penalty = torch.full((classes, d + 1), l2, dtype=x.dtype)
    penalty[:, d] = 0.0  # the bias is not penalised
    theta = torch.zeros(classes, d + 1, dtype=x.dtype)

    def value(t: Tensor) -> float:
        return float(_objective(t[:, :d], t[:, d], x, y, l2))

    for _ in range(100):
        p = (xa @ theta.T).softmax(dim=1)
        grad = (p - targets).T @ xa + penalty * theta  # "c (d+1)"
        if grad.abs().max() < 1e-12:
            break
        # H[(c, e), (c', f)] = sum_i (p_ic [c == c'] - p_ic p_ic') x_ie x_if
        cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
        hessian = torch.einsum("icC,ie,if->ceCf", cov, xa, xa).reshape(
            classes * (d + 1), classes * (d + 1)
        ) + torch.diag(penalty.flatten())
        step = (torch.linalg.pinv(hessian, hermitian=True) @ grad.flatten()).reshape_as(theta)
        t, current = 1.0, value(theta)
        while value(theta - t * step) > current - 1e-4 * t * float(grad.flatten() @ step.flatten()):
            t /= 2
            if t < 1e-12:
                break
        theta = theta - t * step
    return theta[:, :d], theta[:, d]


def _standardised_solution(probe: LinearProbe, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
    """The probe's (W, b) on standardised features, unfolded from `weight` and `bias`."""
    w = probe.weight * std
    return w, probe.bias + probe.weight @ mean


@pytest.mark.parametrize(("n", "d"), [(60, 5), (24, 40)])  # the direct and the QR path
@pytest.mark.parametrize("l2", [0.3, 1.0, 10.0])
def test_reaches_the_reference_optimum(n: int, d: int, l2: float) -> None:
    x, y = _problem(n, d, 3)
    xs, mean, std = _standardise(x)
    probe = LinearProbe(l2=l2, tol=1e-10).fit(x, y)
    w_ref, b_ref = _reference_optimum(xs, y, 3, l2)
    w, b = _standardised_solution(probe, mean, std)
    torch.testing.assert_close(w, w_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(b - b.mean(), b_ref - b_ref.mean(), rtol=1e-5, atol=1e-6)
    assert _objective(w, b, xs, y, l2) == pytest.approx(float(_objective(w_ref, b_ref, xs, y, l2)))
    assert probe.info.converged and probe.info.l2 == l2 and probe.info.cv_accuracy is None


def test_gradient_vanishes_at_the_solution() -> None:
    x, y = _problem(80, 300, 5, seed=1)
    xs, mean, std = _standardise(x)
    probe = LinearProbe().fit(x, y)
    w, b = _standardised_solution(probe, mean, std)
    w.requires_grad_(True)
    b.requires_grad_(True)
    (_objective(w, b, xs, y, 1.0) / len(y)).backward()
    assert w.grad is not None and b.grad is not None
    assert float(w.grad.abs().max()) < 1e-5 and float(b.grad.abs().max()) < 1e-5
    assert probe.info.converged and probe.info.gradient < 1e-5


def test_matches_scikit_learn() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = _problem(90, 12, 4, seed=2, signal=0.5)
    xs, _, _ = _standardise(x)
    reference = linear_model.LogisticRegression(C=1 / 2.0, tol=1e-12, max_iter=10_000)
    reference.fit(xs.numpy(), y.numpy())
    probe = LinearProbe(l2=2.0, tol=1e-10).fit(x, y)
    expected = torch.from_numpy(reference.predict_proba(xs.numpy()))
    torch.testing.assert_close(probe.predict_proba(x), expected, rtol=1e-6, atol=1e-7)


def test_without_standardisation() -> None:
    x, y = _problem(50, 4, 3, seed=3)
    probe = LinearProbe(l2=1.0, standardize=False, tol=1e-14).fit(x, y)  # ill-conditioned
    w_ref, b_ref = _reference_optimum(x, y, 3, 1.0)
    torch.testing.assert_close(probe.weight, w_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        probe.bias - probe.bias.mean(), b_ref - b_ref.mean(), rtol=1e-5, atol=1e-6
    )


def test_predictions_and_linear_classifier_agree() -> None:
    x, y = _problem(60, 10, 3, seed=4, signal=3.0)
    x = x.float()
    probe = LinearProbe().fit(x, y)
    logits = probe.logits(x)
    assert logits.dtype == torch.float32 and probe.weight.dtype == torch.float64
    proba = probe.predict_proba(x)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(60))
    torch.testing.assert_close(probe.predict(x), proba.argmax(dim=1))
    head = LinearClassifier(10, 3)
    head.load_state_dict({"weight": probe.weight.float(), "bias": probe.bias.float()})
    torch.testing.assert_close(head(x), logits)
    assert float((probe.predict(x) == y).double().mean()) > 0.9


def test_absent_classes_get_zero_probability() -> None:
    x, y = _problem(45, 6, 3, seed=5)
    sparse = torch.tensor([0, 2, 5])[y]  # classes 1, 3 and 4 never occur
    probe = LinearProbe(num_classes=7).fit(x, sparse)
    proba = probe.predict_proba(x)
    assert proba.shape == (45, 7)
    assert torch.all(proba[:, [1, 3, 4, 6]] == 0) and torch.all(torch.isinf(probe.bias[[1, 3]]))
    assert set(probe.predict(x).tolist()) <= {0, 2, 5}
    dense = LinearProbe().fit(x, y)
    torch.testing.assert_close(proba[:, [0, 2, 5]], dense.predict_proba(x))
    inferred = LinearProbe().fit(x, sparse)
    assert inferred.predict_proba(x).shape == (45, 6)


def test_single_class() -> None:
    x, _ = _problem(10, 4, 2)
    probe = LinearProbe().fit(x, torch.zeros(10, dtype=torch.long))
    assert torch.all(probe.predict(x) == 0)
    torch.testing.assert_close(probe.predict_proba(x), torch.ones(10, 1, dtype=torch.float64))


def test_constant_feature_is_only_centred() -> None:
    x, y = _problem(40, 5, 2, seed=6)
    x[:, 2] = 7.0
    probe = LinearProbe().fit(x, y)
    assert torch.isfinite(probe.weight).all() and torch.all(probe.weight[:, 2] == 0)
    x_shifted = x.clone()
    x_shifted[:, 2] = 7.0
    torch.testing.assert_close(probe.predict_proba(x_shifted), probe.predict_proba(x))


def test_deterministic_and_refits_from_scratch() -> None:
    x, y = _problem(70, 90, 4, seed=7)
    first = LinearProbe().fit(x, y)
    weight, bias = first.weight.clone(), first.bias.clone()
    second = LinearProbe().fit(x, y)
    torch.testing.assert_close(second.weight, weight, rtol=0, atol=0)
    torch.testing.assert_close(second.bias, bias, rtol=0, atol=0)
    first.fit(x[:40], y[:40]).fit(x, y)  # a refit forgets the previous one
    torch.testing.assert_close(first.weight, weight, rtol=0, atol=0)


def test_fit_under_no_grad_inference_mode_and_from_inference_tensors() -> None:
    x, y = _problem(30, 8, 3)
    expected = LinearProbe().fit(x, y).weight
    with torch.no_grad():
        torch.testing.assert_close(LinearProbe().fit(x, y).weight, expected, rtol=0, atol=0)
    with torch.inference_mode():
        frozen = x - x.mean(dim=0)  # centred, so that standardize=False converges as fast
    for standardize in (True, False):
        probe = LinearProbe(standardize=standardize).fit(frozen, y)
        assert probe.predict(frozen).shape == (30,)
    with torch.inference_mode():
        inside = LinearProbe().fit(x, y)
    torch.testing.assert_close(inside.weight, expected, rtol=0, atol=0)
    assert not inside.weight.is_inference()


def test_auto_l2_selection() -> None:
    x, y = _problem(45, 12, 3, seed=8, signal=0.4)
    probe = LinearProbe(l2="auto").fit(x, y)
    accuracy = probe.info.cv_accuracy
    assert accuracy is not None and len(accuracy) == len(L2_GRID)
    best = max(accuracy)
    # the chosen value has the best cross-validated accuracy, ties going to the larger l2
    assert probe.info.l2 == max(l2 for l2, a in zip(L2_GRID, accuracy, strict=True) if a == best)
    fixed = LinearProbe(l2=probe.info.l2).fit(x, y)
    torch.testing.assert_close(probe.weight, fixed.weight, rtol=0, atol=0)
    again = LinearProbe(l2="auto").fit(x, y)
    assert again.info == probe.info
    easy = LinearProbe(l2="auto", l2_grid=(0.5, 1.0)).fit(*_problem(30, 4, 2, signal=20.0))
    assert easy.info.cv_accuracy == (1.0, 1.0) and easy.info.l2 == 1.0


def test_auto_l2_with_one_label_per_class() -> None:
    x, y = _problem(5, 40, 5)
    probe = LinearProbe(l2="auto", l2_grid=(10.0, 0.1, 1.0)).fit(x, y)
    assert probe.info.cv_accuracy == (0.0, 0.0, 0.0)  # no fold can see the held-out class
    assert probe.info.l2 == 10.0
    assert torch.equal(probe.predict(x), y)


def test_not_converged_warns() -> None:
    x, y = _problem(40, 20, 3)
    with pytest.warns(RuntimeWarning, match="^LinearProbe: L-BFGS stopped at max_iter=1 "):
        probe = LinearProbe(max_iter=1).fit(x, y)
    assert not probe.info.converged and probe.info.iterations == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearProbe().fit(x, y)


def test_pickle_repr_and_device(device: torch.device) -> None:
    x, y = _problem(30, 6, 3)
    x, y = x.float().to(device), y.to(device)
    probe = LinearProbe().fit(x, y)
    clone = pickle.loads(pickle.dumps(probe))
    torch.testing.assert_close(clone.predict_proba(x), probe.predict_proba(x), rtol=0, atol=0)
    assert probe.predict(x).device == x.device
    assert repr(LinearProbe()) == (
        "LinearProbe(l2=1.0, max_iter=1000, tol=1e-06, standardize=True, num_classes=None)"
    )
    assert repr(LinearProbe(l2="auto", l2_grid=(1, 10))) == (
        "LinearProbe(l2='auto', max_iter=1000, tol=1e-06, standardize=True, num_classes=None, "
        "folds=5, l2_grid=(1.0, 10.0))"
    )


def test_bad_arguments() -> None:
    with pytest.raises(
        ValueError, match=r"^LinearProbe: l2 must be a number >= 0 or 'auto', got 'cv'"
    ):
        LinearProbe(l2="cv")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^LinearProbe: l2 must be in \[0, inf\), got -1"):
        LinearProbe(l2=-1)
    with pytest.raises(ValueError, match="^LinearProbe: max_iter must be >= 1, got 0"):
        LinearProbe(max_iter=0)
    with pytest.raises(ValueError, match=r"^LinearProbe: tol must be in \(0, inf\), got 0"):
        LinearProbe(tol=0)
    with pytest.raises(TypeError, match="^LinearProbe: standardize must be a bool"):
        LinearProbe(standardize=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^LinearProbe: num_classes must be >= 1, got 0"):
        LinearProbe(num_classes=0)
    with pytest.raises(ValueError, match="^LinearProbe: folds must be >= 2, got 1"):
        LinearProbe(folds=1)
    with pytest.raises(ValueError, match=r"^LinearProbe: l2_grid must hold at least one value"):
        LinearProbe(l2_grid=())
    with pytest.raises(TypeError, match="^LinearProbe: l2_grid must be a sequence of numbers"):
        LinearProbe(l2_grid=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^LinearProbe: l2_grid\[1\] must be in \[0, inf\)"):
        LinearProbe(l2_grid=(1.0, -2.0))


def test_bad_inputs() -> None:
    x, y = _problem(20, 4, 2)
    probe = LinearProbe()
    with pytest.raises(RuntimeError, match=r"^LinearProbe: call fit\(features, labels\) first"):
        probe.predict(x)
    with pytest.raises(TypeError, match="^LinearProbe: features must be a torch.Tensor, got list"):
        probe.fit([[0.0]], y)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^LinearProbe: features must be a floating-point"):
        probe.fit(x.long(), y)
    with pytest.raises(
        ValueError, match=r'^LinearProbe: features must have shape "b d" .* got \(20,\)'
    ):
        probe.fit(x[:, 0], y)
    with pytest.raises(
        ValueError, match=r'^LinearProbe: features must have shape "b d".*got \(0, 4\)'
    ):
        probe.fit(x[:0], y[:0])
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="^LinearProbe: features must be finite"):
        probe.fit(bad, y)
    with pytest.raises(TypeError, match="^LinearProbe: labels must hold integer class indices"):
        probe.fit(x, y.float())
    with pytest.raises(
        ValueError, match=r'^LinearProbe: labels must have shape "b" = \(20,\).*\(19,\)'
    ):
        probe.fit(x, y[:19])
    with pytest.raises(
        ValueError, match="^LinearProbe: labels must be class indices >= 0, got the minimum -1"
    ):
        probe.fit(x, y - 1)
    with pytest.raises(
        ValueError,
        match=r"^LinearProbe: labels must lie in \[0, 2\) for num_classes=2, got the maximum 2",
    ):
        LinearProbe(num_classes=2).fit(x, y + 1)
    with pytest.raises(
        ValueError, match="^LinearProbe: l2='auto' needs at least 2 training samples, got 1"
    ):
        LinearProbe(l2="auto").fit(x[:1], y[:1])
    probe.fit(x, y)
    with pytest.raises(
        ValueError,
        match=r'^LinearProbe: features must have shape "b d" with d=4 \(the feature size seen by '
        r"fit\), got \(20, 5\)",
    ):
        probe.predict(torch.randn(20, 5))
