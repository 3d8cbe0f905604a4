"""Linear probe: multinomial logistic regression with L2, solved full-batch with L-BFGS."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor
from typing_extensions import Self

from mmcontrast._checks import (
    check_bool,
    check_finite_number,
    check_int,
    check_optional_int,
    checking,
)
from mmcontrast.evaluation._validate import check_class_labels, check_features

__all__ = ["L2_GRID", "LinearProbe", "LinearProbeInfo"]

L2_GRID: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4)
"""The strengths ``LinearProbe(l2="auto")`` chooses from by default (decades, 0.01 to 10^4)."""

_OWNER = "LinearProbe"
_GRADIENT_FLOOR = 1e-12  # a gradient this small stops L-BFGS at once
# The cross-validation fits only feed a held-out accuracy: a loose rule, checked often.
_CV_TOL = 1e-3
_CV_WINDOW = 10
_CV_MAX_ITER = 60


class LinearProbeInfo(NamedTuple):
    """How `LinearProbe.fit` went.

    Attributes:
        l2: the L2 strength of the fit (the chosen one for ``l2="auto"``).
        iterations: L-BFGS iterations of the final fit.
        converged: whether the stopping rule of ``tol`` was met before ``max_iter``.
        gradient: largest absolute entry of the gradient at the solution, of the objective
            divided by the number of samples.
        cv_accuracy: for ``l2="auto"``, the cross-validated accuracy of each value of
            ``l2_grid`` (in its order); ``None`` otherwise.
    """

    l2: float
    iterations: int
    converged: bool
    gradient: float
    cv_accuracy: tuple[float, ...] | None


class _Fit(NamedTuple):
    weight: Tensor  # "k d", float64, in the original feature space
    bias: Tensor  # "k", float64, -inf for the classes absent from the training labels
    info: LinearProbeInfo


class LinearProbe:
    """Multinomial logistic regression with L2 on frozen features (linear evaluation).

    `fit` standardises the features with the training mean and standard deviation (population
    std; constant features are only centred) and minimises, over the weights ``W`` (``"k d"``)
    and the unpenalised bias ``b``,

    ``sum_i cross_entropy(W x_i + b, y_i) + l2 / 2 * ||W||^2``,

    the objective of scikit-learn's ``LogisticRegression(C=1 / l2)`` (multinomial, intercept
    not penalised). The penalty does not grow with the number of samples ``n``: the default
    ``l2=1.0`` equals a strength of ``1 / n`` on the mean loss, so fewer labels mean
    relatively stronger regularisation, the usual choice for few-label probes. The problem is
    solved full-batch in float64 with `torch.optim.LBFGS` (strong Wolfe line search) from zero
    weights, so a fit is deterministic. It stops when 20 iterations lower the objective by at
    most ``tol`` (relative): on UTD-MHAD-sized frozen features the default 1e-6 changes at
    most one test prediction in 400 against a run to 1e-10, and probabilities by less than
    1e-2. When ``d > n`` (e.g. 431 x 5,888) the solve runs on the ``n``-dimensional
    coordinates of a QR factorisation of the standardised features: the optimal ``W`` lies in
    their row space, so this is the same optimum at a fraction of the cost.

    ``l2="auto"`` picks the strength from ``l2_grid`` by ``folds``-fold cross-validation on
    the training features only: folds stratified by class (round-robin within each class, in
    the order given, no randomness), features standardised once with the whole training
    side's statistics (no labels involved), held-out accuracy pooled over the folds, ties
    going to the larger ``l2``; the path runs from the strongest to the weakest value with
    warm starts, to a loose rule (``tol=1e-3`` over 10 iterations, at most 60), then the
    final fit runs on all the data. Classes rarer than ``folds`` appear in fewer folds; a fold
    whose training part lacks a class cannot predict it, for every candidate alike.

    Classes: ``num_classes`` fixes ``k``; with ``None`` it is ``labels.max() + 1`` at `fit`.
    A class in ``[0, k)`` absent from the training labels gets zero weights and a bias of
    ``-inf``: probability 0, never predicted. Predictions run in the features' dtype on their
    device with the fitted `weight` and `bias`; ties go to the lower class index.

    Args:
        l2: the L2 strength, ``>= 0``, or ``"auto"``.
        max_iter: L-BFGS iterations of the final fit, ``>= 1``; stopping there before the
            rule of ``tol`` is met raises a `RuntimeWarning`.
        tol: stop when 20 L-BFGS iterations lower the objective by at most ``tol`` times its
            value (or when its gradient vanishes).
        standardize: standardise the features with the training statistics.
        num_classes: ``k``, or ``None`` to infer it from the training labels.
        folds: cross-validation folds for ``l2="auto"``, ``>= 2`` (capped at ``n``).
        l2_grid: the candidate strengths for ``l2="auto"``, each ``>= 0``.

    Shapes:
        features: ``"b d"``; labels: ``"b"``; `predict_proba`: ``"b num_classes"``;
        `predict`: ``"b"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.evaluation import LinearProbe
        >>> g = torch.Generator().manual_seed(0)
        >>> labels = torch.arange(60) % 3
        >>> features = torch.randn(60, 16, generator=g) + 2.0 * torch.eye(16)[labels]
        >>> probe = LinearProbe().fit(features, labels)
        >>> (probe.predict(features) == labels).float().mean().item()
        1.0
        >>> probe.predict_proba(features[:2]).sum(dim=1)
        tensor([1., 1.])
        >>> probe.info.converged
        True
        >>> probe.weight.shape, probe.bias.shape  # logits = features @ weight.T + bias
        (torch.Size([3, 16]), torch.Size([3]))
    """

    def __init__(
        self,
        *,
        l2: float | Literal["auto"] = 1.0,
        max_iter: int = 1000,
        tol: float = 1e-6,
        standardize: bool = True,
        num_classes: int | None = None,
        folds: int = 5,
        l2_grid: Sequence[float] = L2_GRID,
    ) -> None:
        with checking(_OWNER):
            if isinstance(l2, str):
                if l2 != "auto":
                    raise ValueError(f"{_OWNER}: l2 must be a number >= 0 or 'auto', got {l2!r}")
                self.l2: float | Literal["auto"] = "auto"
            else:
                self.l2 = check_finite_number("l2", l2, low=0.0)
            self.max_iter = check_int("max_iter", max_iter, minimum=1)
            self.tol = check_finite_number("tol", tol, low=0.0, low_open=True)
            self.standardize = check_bool("standardize", standardize)
            self.num_classes = check_optional_int("num_classes", num_classes, minimum=1)
            self.folds = check_int("folds", folds, minimum=2)
            if isinstance(l2_grid, (str, bytes)) or not isinstance(l2_grid, Sequence):
                raise TypeError(
                    f"{_OWNER}: l2_grid must be a sequence of numbers, got {type(l2_grid).__name__}"
                )
            if len(l2_grid) == 0:
                raise ValueError(f"{_OWNER}: l2_grid must hold at least one value, got {l2_grid!r}")
            self.l2_grid = tuple(
                check_finite_number(f"l2_grid[{i}]", v, low=0.0) for i, v in enumerate(l2_grid)
            )
        self._fit: _Fit | None = None

    def fit(self, features: Tensor, labels: Tensor) -> Self:
        """Fit the probe (any previous fit is discarded).

        Args:
            features: training features, finite.
            labels: their class indices, ``>= 0`` (and ``< num_classes`` when given).

        Returns:
            The probe itself.

        Works under `torch.no_grad` and `torch.inference_mode` too (the solve switches
        autograd back on for itself).

        Shapes:
            features: ``"b d"``; labels: ``"b"``.
        """
        with checking(_OWNER):
            x = check_features("features", features)
            y, k = check_class_labels(labels, x, self.num_classes)
        with torch.inference_mode(False), torch.enable_grad():
            self._fit = self._solve_fit(x, y, k)
        return self

    def _solve_fit(self, x: Tensor, y: Tensor, k: int) -> _Fit:
        n, d = x.shape
        if self.l2 == "auto" and n < 2:
            raise ValueError(f"{_OWNER}: l2='auto' needs at least 2 training samples, got {n}")
        xs = x.to(torch.float64, copy=True)
        mean = torch.zeros(d, dtype=torch.float64, device=x.device)
        scale = torch.ones(d, dtype=torch.float64, device=x.device)
        if self.standardize:
            mean = xs.mean(dim=0)
            std = xs.std(dim=0, correction=0)
            scale = torch.where(std <= 1e-12 * mean.abs(), 1.0, std)
            xs = (xs - mean) / scale
        basis: Tensor | None = None  # "d n": the standardised features are design @ basis.T
        design = xs
        if d > n:
            basis, r = torch.linalg.qr(xs.T)
            design = r.T.contiguous()
        cv_accuracy: tuple[float, ...] | None = None
        if self.l2 == "auto":
            l2, cv_accuracy = _select_l2(design, y, self.l2_grid, self.folds)
        else:
            l2 = self.l2
        present = torch.unique(y)
        targets = torch.searchsorted(present, y)
        z, b, iterations, converged, gradient = _solve(
            design, targets, len(present), l2, max_iter=self.max_iter, tol=self.tol
        )
        if not converged:
            warnings.warn(
                f"{_OWNER}: L-BFGS stopped at max_iter={self.max_iter} before the objective "
                f"settled (tol={self.tol:g}); raise max_iter or l2",
                RuntimeWarning,
                stacklevel=3,
            )
        w = z if basis is None else basis @ z  # "d c", standardised space
        w = w / scale[:, None]
        weight = torch.zeros(k, d, dtype=torch.float64, device=x.device)
        bias = torch.full((k,), -math.inf, dtype=torch.float64, device=x.device)
        weight[present] = w.T
        bias[present] = b - mean @ w
        info = LinearProbeInfo(l2, iterations, converged, gradient, cv_accuracy)
        return _Fit(weight, bias, info)

    @property
    def weight(self) -> Tensor:
        """Fitted weights in the original feature space (standardisation folded in), float64.

        ``logits = features @ weight.T + bias``; a ``LinearClassifier(d, k)`` loads them as its
        ``weight`` and ``bias``. Shape ``"num_classes d"``.
        """
        return self._fitted().weight

    @property
    def bias(self) -> Tensor:
        """Fitted bias, ``"num_classes"``, float64; ``-inf`` for classes absent from training."""
        return self._fitted().bias

    @property
    def info(self) -> LinearProbeInfo:
        """The chosen ``l2``, iterations, convergence and cross-validation scores of the fit."""
        return self._fitted().info

    def logits(self, features: Tensor) -> Tensor:
        """Class logits ``features @ weight.T + bias``, in the features' dtype.

        Shapes:
            features: ``"b d"``; output: ``"b num_classes"``.
        """
        fit = self._fitted()
        with checking(_OWNER):
            x = check_features("features", features, dim=fit.weight.shape[1])
        weight = fit.weight.to(device=x.device, dtype=x.dtype)
        return torch.addmm(fit.bias.to(device=x.device, dtype=x.dtype), x, weight.T)

    def predict_proba(self, features: Tensor) -> Tensor:
        """Class probabilities (softmax of the logits); each row sums to one.

        Shapes:
            features: ``"b d"``; output: ``"b num_classes"``.
        """
        return self.logits(features).softmax(dim=-1)

    def predict(self, features: Tensor) -> Tensor:
        """Predicted class indices (int64); ties go to the lower index.

        Shapes:
            features: ``"b d"``; output: ``"b"``.
        """
        return self.logits(features).argmax(dim=-1)

    def _fitted(self) -> _Fit:
        if self._fit is None:
            raise RuntimeError(f"{_OWNER}: call fit(features, labels) first")
        return self._fit

    def __repr__(self) -> str:
        parts = [
            f"l2={self.l2!r}",
            f"max_iter={self.max_iter}",
            f"tol={self.tol:g}",
            f"standardize={self.standardize}",
            f"num_classes={self.num_classes}",
        ]
        if self.l2 == "auto":
            parts += [f"folds={self.folds}", f"l2_grid={self.l2_grid}"]
        return f"{_OWNER}({', '.join(parts)})"


def _solve(
    x: Tensor,
    targets: Tensor,
    num_classes: int,
    l2: float,
    *,
    max_iter: int,
    tol: float,
    init: tuple[Tensor, Tensor] | None = None,
    window: int = 20,
) -> tuple[Tensor, Tensor, int, bool, float]:
    """Minimise ``f = mean CE(x z + b, targets) + l2 / (2 n) ||z||^2`` with L-BFGS.

    L-BFGS runs in windows of ``window`` iterations (its history carried over) and stops when a
    window lowers ``f`` by at most ``tol * f``, when the gradient vanishes, or at ``max_iter``.
    Returns ``z`` (``"d c"``), ``b`` (``"c"``), the iterations, whether the stopping rule was
    met before ``max_iter``, and the largest gradient entry at the end. ``x``: ``"b d"``
    float64; ``targets`` in ``[0, num_classes)``.
    """
    n, d = x.shape
    if init is None:
        z = torch.zeros(d, num_classes, dtype=x.dtype, device=x.device)
        b = torch.zeros(num_classes, dtype=x.dtype, device=x.device)
    else:
        z, b = init[0].clone(), init[1].clone()
    z.requires_grad_(True)
    b.requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [z, b],
        lr=1.0,
        max_iter=window,
        max_eval=2 * window,
        tolerance_grad=_GRADIENT_FLOOR,
        tolerance_change=0.0,  # the windowed rule below decides
        history_size=10,
        line_search_fn="strong_wolfe",
    )
    coefficient = 0.5 * l2 / n

    def objective() -> Tensor:
        return F.cross_entropy(torch.addmm(b, x, z), targets) + coefficient * (z * z).sum()

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = objective()
        torch.autograd.backward(loss)
        return loss

    iterations, converged = 0, False
    with torch.enable_grad():
        with torch.no_grad():
            value = float(objective())
        while iterations < max_iter:
            optimizer.param_groups[0]["max_iter"] = min(window, max_iter - iterations)
            optimizer.step(closure)  # type: ignore[no-untyped-call]
            iterations = int(optimizer.state[z].get("n_iter", 0))
            with torch.no_grad():
                previous, value = value, float(objective())
            if previous - value <= tol * abs(value):
                converged = True
                break
        closure()  # the gradient at the returned point
    grads = [p.grad for p in (z, b) if p.grad is not None]
    gradient = max(float(g.abs().max()) for g in grads)
    converged = converged or gradient <= _GRADIENT_FLOOR
    return z.detach(), b.detach(), iterations, converged, gradient


def _select_l2(
    design: Tensor, labels: Tensor, grid: tuple[float, ...], folds: int
) -> tuple[float, tuple[float, ...]]:
    """The grid value of best pooled held-out accuracy (ties: the larger), and every accuracy."""
    n = design.shape[0]
    folds = min(folds, n)
    order = torch.argsort(labels, stable=True)
    fold = torch.empty_like(labels)
    fold[order] = torch.arange(n, device=labels.device) % folds
    correct = [0] * len(grid)
    path = sorted(range(len(grid)), key=lambda i: -grid[i])  # strongest first
    for f in range(folds):
        train, held_out = fold != f, fold == f
        present = torch.unique(labels[train])
        targets = torch.searchsorted(present, labels[train])
        init: tuple[Tensor, Tensor] | None = None
        for i in path:
            z, b, *_ = _solve(
                design[train],
                targets,
                len(present),
                grid[i],
                max_iter=_CV_MAX_ITER,
                tol=_CV_TOL,
                init=init,
                window=_CV_WINDOW,
            )
            init = (z, b)
            predicted = present[torch.addmm(b, design[held_out], z).argmax(dim=-1)]
            correct[i] += int((predicted == labels[held_out]).sum())
    accuracy = tuple(c / n for c in correct)
    best = max(range(len(grid)), key=lambda i: (accuracy[i], grid[i]))
    return grid[best], accuracy
