"""Per-anchor math of the hard-negative estimator, in log space, with its closed-form gradient.

For an anchor with ``K`` negative logits ``l_j``, ``M`` positive logits ``l_p`` and
``m = log mean_p exp(l_p)`` (``m = l_p`` for one positive)::

    log R  = log K + LSE_j((1 + beta) l_j) - LSE_j(beta l_j)
    x      = tau_plus * K * exp(m) / R                      (the debiased share)
    log Ng = log R + log(1 - x) - log(1 - tau_plus),  floored at log K - 1/tau (``clamp``)
    loss   = (1/M) sum_p softplus(log Ng - l_p)            = -log(e^p / (e^p + Ng)) for M = 1

Gradients (``sigma_p = sigmoid(log Ng - l_p)``, ``g_p = R / ((1 - tau_plus)(e^l_p + Ng))``,
``G = mean_p g_p``, ``S = mean_p sigma_p``; all zero where the estimate is clamped)::

    d loss / d l_j (negative) = G ((1 + beta) softmax((1+beta) l)_j - beta softmax(beta l)_j)
    d loss / d l_p (positive) = -sigma_p / M - (G - S) softmax_p(l_p)   (-sigma_p / M if clamped)
    extra d loss / d(1/tau)   = -S for clamped anchors (the floor depends on tau)

``g_p`` is evaluated as ``exp(log R - log(1 - tau_plus) - l_p - softplus(log Ng - l_p))`` so
that it stays finite when ``x -> 1``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

NEG_INF = float("-inf")


def softplus(z: Tensor) -> Tensor:
    """Exact ``log(1 + e^z)`` (``F.softplus`` switches to ``z`` above 20: a 2e-9 error)."""
    return z.clamp(min=0.0) + torch.log1p(torch.exp(-z.abs()))


class Estimate(NamedTuple):
    """The negative estimate of each anchor."""

    log_r: Tensor  # log R (-inf without negatives)
    log_ng: Tensor  # log Ng after the clamp (-inf: truncated at 0)
    unclamped: Tensor  # bool: the estimate is the debiased one (gradient flows to negatives)
    clamped: Tensor  # bool: anchors with negatives whose estimate was floored or truncated
    shift: Tensor  # finite per-anchor cosine shift used for the negative sums


def estimate(
    shift: Tensor,
    sum1: Tensor,
    sum2: Tensor | None,
    count: Tensor,
    log_pos_mean: Tensor,
    inv_tau: Tensor,
    *,
    beta: float,
    tau_plus: float,
    clamp: bool,
) -> Estimate:
    """``log Ng`` from the reduced negative statistics of each anchor.

    ``shift`` is the cosine the negative sums were shifted by (``-inf`` without negatives),
    ``sum1 = sum_j exp((1 + beta)(l_j - shift / tau))``, ``sum2`` the same with ``beta``
    (``None`` when ``beta == 0``), ``count = K`` and ``log_pos_mean = log mean_p exp(l_p)``.
    """
    valid = count > 0
    shift = torch.where(valid, shift, torch.zeros_like(shift))
    log_k = count.to(shift.dtype).log()
    one = torch.ones_like(sum1)
    log_r = shift * inv_tau + torch.where(valid, sum1, one).log()
    if sum2 is not None:
        log_r = log_r + log_k - torch.where(valid, sum2, one).log()
    log_r = torch.where(valid, log_r, torch.full_like(log_r, NEG_INF))

    if tau_plus > 0.0:
        log_x = torch.where(valid, log_k + log_pos_mean - log_r, torch.full_like(log_r, NEG_INF))
        log_x = log_x + math.log(tau_plus)
        log_ng = log_r + torch.log1p(-log_x.clamp(max=0.0).exp()) - math.log1p(-tau_plus)
    else:
        log_ng = log_r

    if clamp:
        log_floor = log_k - inv_tau
        unclamped = log_ng > log_floor
        log_ng = torch.where(unclamped, log_ng, log_floor)
    else:
        unclamped = log_ng > NEG_INF
    return Estimate(log_r, log_ng, unclamped, valid & ~unclamped, shift)


def log_g(log_r: Tensor, log_pos: Tensor, term: Tensor, tau_plus: float) -> Tensor:
    """``log g_p = log R - log(1 - tau_plus) - l_p - softplus(log Ng - l_p)`` (broadcasting)."""
    out = log_r - log_pos - term
    return out - math.log1p(-tau_plus) if tau_plus > 0.0 else out


class Coefficients(NamedTuple):
    """Per-anchor gradient coefficients (see the module docs)."""

    coef1: Tensor  # d loss / d l_j = coef1 * exp((1+beta)(l_j - shift/tau)) - coef2 * exp(...)
    coef2: Tensor
    tau_coef: Tensor  # extra d loss / d(1/tau) of clamped anchors


def coefficients(
    est: Estimate, g: Tensor, sig: Tensor, sum1: Tensor, sum2: Tensor | None, beta: float
) -> Coefficients:
    """The negatives' and the temperature's coefficients from ``G`` and ``S``."""
    one = torch.ones_like(sum1)
    coef1 = g * (1.0 + beta) / torch.where(est.unclamped, sum1, one)
    coef2 = g * beta / torch.where(est.unclamped, sum2, one) if sum2 is not None else g * 0.0
    return Coefficients(coef1, coef2, torch.where(est.clamped, -sig, torch.zeros_like(sig)))


def single_positive(
    est: Estimate, lp: Tensor, sum1: Tensor, sum2: Tensor | None, *, beta: float, tau_plus: float
) -> tuple[Tensor, Coefficients, Tensor]:
    """Loss, coefficients and ``d loss / d l_p`` when every anchor has one positive logit."""
    z = est.log_ng - lp
    loss = softplus(z)
    g = torch.where(est.unclamped, log_g(est.log_r, lp, loss, tau_plus).exp(), torch.zeros_like(lp))
    sig = torch.sigmoid(z)
    return loss, coefficients(est, g, sig, sum1, sum2, beta), torch.where(est.unclamped, -g, -sig)
