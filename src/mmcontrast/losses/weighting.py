"""Hard-positive weighting: per-anchor weights that up-weight pairs whose views disagree.

Two schemes, both returning detached per-sample weights ``"b"`` with mean 1, to pass as
``loss(a, b, weights=w)`` (a symmetric loss applies them to both directions):

* `dclw_weights`, the published weighting of Yeh et al. 2021 (DCLW),
  ``w_i = 2 - B * softmax_i(cos(a_i, b_i) / sigma)``. In DCLW proper it multiplies the positive
  logit of the decoupled loss; here it scales each anchor's whole term, which is how it
  composes with every loss of this package.
* `HardPositiveWeighting` / `hard_positive_weights`: **this project's design**,
  motivated by the "hard-positive samples weighting" of CLMM (Jing et al. 2026), whose
  equations are not public; it is *not* a reproduction of that paper.
  ``w_i = B * softmax_i(-beta * cos(a_i, b_i))`` (or a focal variant), clamped to
  ``[min_weight, max_weight]`` and renormalised to mean 1. The gradient of an InfoNCE row
  vanishes as its positive becomes easy (``d loss / d s_ii = -(1 - p_ii) / tau``), so the batch
  mean is dominated by easy pairs; these weights move it back to the pairs whose modalities
  are still far apart.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_choice, check_finite_number, check_pair, checking
from mmcontrast._ops import l2_normalize

__all__ = ["HardPositiveWeighting", "dclw_weights", "hard_positive_weights", "linear_warmup"]

WeightingKind = Literal["softmax", "focal"]


def _normalized_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Both batches checked, detached, L2-normalised (in float32 for half inputs)."""
    a, b = check_pair(a, b)
    dtype = torch.promote_types(a.dtype, torch.float32)
    return l2_normalize(a.detach(), dtype), l2_normalize(b.detach(), dtype)


class _Options(NamedTuple):
    beta: float
    kind: WeightingKind
    gamma: float
    temperature: float
    min_weight: float
    max_weight: float


def _checked(options: _Options) -> _Options:
    """The one check of the weighting hyperparameters, under the caller's `checking`."""
    check_choice("kind", options.kind, ("softmax", "focal"))
    low = check_finite_number("min_weight", options.min_weight, low=0.0)
    high = check_finite_number("max_weight", options.max_weight, low=low)
    if high <= 0.0:
        raise ValueError(f"max_weight must be > 0, got {options.max_weight!r}")
    return options._replace(
        beta=check_finite_number("beta", options.beta, low=0.0),
        gamma=check_finite_number("gamma", options.gamma, low=0.0),
        temperature=check_finite_number("temperature", options.temperature, low=0.0, low_open=True),
        min_weight=low,
        max_weight=high,
    )


def _weights(za: Tensor, zb: Tensor, options: _Options) -> Tensor:
    """Hard-positive weights of checked, normalised pairs."""
    if options.kind == "softmax":
        cos = (za * zb).sum(1)
        weights = cos.shape[0] * torch.softmax(-options.beta * cos, dim=0)
    else:
        logits = za @ zb.T / options.temperature
        p = 0.5 * (logits.softmax(dim=1).diagonal() + logits.softmax(dim=0).diagonal())
        weights = (1.0 - p).clamp(min=0.0) ** options.gamma
        weights = weights / weights.mean().clamp(min=torch.finfo(za.dtype).tiny)
    weights = weights.clamp(min=options.min_weight, max=options.max_weight)
    # All weights can be 0 only with min_weight = 0 (e.g. focal weights once every pair is
    # aligned): every anchor is then equally (un)important, so fall back to weights of 1.
    mean = weights.mean()
    return torch.where(mean > 0, weights / mean.clamp(min=torch.finfo(weights.dtype).tiny), 1.0)


def dclw_weights(a: Tensor, b: Tensor, *, sigma: float = 0.5) -> Tensor:
    """DCLW weights (Yeh et al. 2021): ``2 - B * softmax_i(cos(a_i, b_i) / sigma)``, detached.

    Harder positives (lower cosine) get larger weights; the mean is exactly 1. Very easy pairs
    can get negative weights when ``B * softmax_i > 2``, as in the published formula.

    Args:
        a: first modality or view.
        b: second modality or view, paired row by row.
        sigma: softmax temperature ``> 0`` (0.5 in the paper and in lightly's ``DCLWLoss``).

    Returns:
        Per-sample weights.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; output: ``"b"``.

    Examples:
        >>> import torch
        >>> w = dclw_weights(torch.randn(8, 4), torch.randn(8, 4))
        >>> w.shape, round(float(w.mean()), 6)
        (torch.Size([8]), 1.0)
    """
    with checking("dclw_weights"):
        sigma = check_finite_number("sigma", sigma, low=0.0, low_open=True)
        za, zb = _normalized_pair(a, b)
    cos = (za * zb).sum(1)
    return 2.0 - cos.shape[0] * torch.softmax(cos / sigma, dim=0)


def hard_positive_weights(
    a: Tensor,
    b: Tensor,
    *,
    beta: float = 2.0,
    kind: WeightingKind = "softmax",
    gamma: float = 1.0,
    temperature: float = 0.1,
    min_weight: float = 0.1,
    max_weight: float = 5.0,
) -> Tensor:
    """Hard-positive weights (this project's design; see the module docs), detached, mean 1.

    ``kind="softmax"``: ``w_i = B * softmax_i(-beta * cos(a_i, b_i))`` (``beta = 0`` gives
    all ones). ``kind="focal"``: ``w_i = (1 - p_i)^gamma`` with ``p_i`` the cross-modal softmax
    probability of the positive at ``temperature``, averaged over both directions, renormalised.
    Both are then clamped to ``[min_weight, max_weight]`` and renormalised to mean 1 (the
    renormalisation can move a clamped weight slightly past a bound). If every weight is 0
    (possible only with ``min_weight = 0``), all weights are 1.

    Args:
        a: first modality or view.
        b: second modality or view, paired row by row.
        beta: hardness concentration ``>= 0`` on the cosine (``"softmax"``).
        kind: ``"softmax"`` or ``"focal"``.
        gamma: focal exponent ``>= 0`` (``"focal"``).
        temperature: ``> 0``, for the focal probabilities.
        min_weight: lower clamp ``>= 0``.
        max_weight: upper clamp ``>= min_weight``.

    Returns:
        Per-sample weights.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; output: ``"b"``.

    Examples:
        >>> import torch
        >>> a = torch.randn(6, 4)
        >>> b = a.clone()
        >>> b[0] = -a[0]  # one pair whose modalities disagree
        >>> w = hard_positive_weights(a, b, beta=2.0)
        >>> int(w.argmax()), round(float(w.mean()), 6)
        (0, 1.0)
    """
    with checking("hard_positive_weights"):
        options = _checked(_Options(beta, kind, gamma, temperature, min_weight, max_weight))
        return _weights(*_normalized_pair(a, b), options)


class HardPositiveWeighting(nn.Module):
    """Module form of `hard_positive_weights` (this project's design, not CLMM's).

    ``beta`` is a plain attribute so that a schedule can change it, e.g. the linear warm-up
    over the first 10 % of training that this design recommends, because early embeddings
    are random and "hard" is noise there::

        weighting.beta = linear_warmup(2.0, progress=epoch / epochs)

    Args:
        beta: hardness concentration ``>= 0``.
        kind: ``"softmax"`` or ``"focal"``.
        gamma: focal exponent.
        temperature: temperature of the focal probabilities.
        min_weight: lower clamp.
        max_weight: upper clamp.

    Shapes:
        a: ``"b d"``; b: ``"b d"``; output: ``"b"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import HardNegativeLoss, HardPositiveWeighting
        >>> criterion, weighting = HardNegativeLoss(), HardPositiveWeighting(beta=2.0)
        >>> a, b = torch.randn(16, 8), torch.randn(16, 8)
        >>> loss = criterion(a, b, weights=weighting(a, b))
        >>> loss.shape
        torch.Size([])
    """

    beta: float
    kind: WeightingKind
    gamma: float
    temperature: float
    min_weight: float
    max_weight: float

    def __init__(
        self,
        *,
        beta: float = 2.0,
        kind: WeightingKind = "softmax",
        gamma: float = 1.0,
        temperature: float = 0.1,
        min_weight: float = 0.1,
        max_weight: float = 5.0,
    ) -> None:
        super().__init__()
        options = _Options(beta, kind, gamma, temperature, min_weight, max_weight)
        with checking(type(self).__name__):
            checked = _checked(options)
        for name in _Options._fields:
            setattr(self, name, getattr(checked, name))

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Per-sample weights (detached, mean 1)."""
        with checking(type(self).__name__):
            za, zb = _normalized_pair(a, b)
        return _weights(za, zb, _Options(*(getattr(self, name) for name in _Options._fields)))

    def extra_repr(self) -> str:
        """The hyperparameters."""
        return (
            f"beta={self.beta}, kind={self.kind!r}, gamma={self.gamma}, "
            f"temperature={self.temperature}, min_weight={self.min_weight}, "
            f"max_weight={self.max_weight}"
        )


def linear_warmup(target: float, progress: float, *, warmup: float = 0.1) -> float:
    """``target * min(1, progress / warmup)``: a linear ramp over the first ``warmup`` fraction.

    Examples:
        >>> linear_warmup(2.0, 0.05), linear_warmup(2.0, 0.5)
        (1.0, 2.0)
    """
    with checking("linear_warmup"):
        warmup = check_finite_number("warmup", warmup, low=0.0, low_open=True)
        progress = check_finite_number("progress", progress, low=0.0)
    return target * min(1.0, progress / warmup)
