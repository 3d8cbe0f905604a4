"""Cross-modal knowledge mining (CMC-CMKM, Brinzea et al. 2022): the functional form.

Frozen unimodal teachers (backbones pre-trained with SimCLR) judge which samples of a batch are
alike. Their similarity ``T = F Fᵀ`` (``F`` the L2-normalised flattened teacher features)
drives three mechanisms on top of the symmetric cross-modal InfoNCE of the students:

* **positive mining**: the top-``k`` neighbours of each sample under ``T - I`` (the diagonal is
  lowered by 1, not removed, as upstream) become extra positives: in the cross block from the
  *candidate* modality's teacher, in the intra block from the *anchor* modality's teacher;
* **intra-modal negatives**: the anchor's own modality joins the denominator with weight
  ``intra_weight``; mined neighbours are positives there instead;
* **negative-set pruning** (optional): candidates whose connectivity (column mean of ``T``)
  exceeds ``pruning_threshold`` leave every anchor's negatives (cross block: candidate
  modality's connectivity; intra block: the anchor modality's);
* **loss-term weighting** (optional): each anchor's term is multiplied by
  ``exp(weighting_scale * connectivity)`` (not normalised, as upstream).

Per anchor: ``-log(num / (num + den))`` with ``num`` the summed exponentials of every positive
and ``den`` those of the negatives, computed as a difference of masked log-sum-exps.

The released code never divides the intra block by the temperature (``exp(cos)``, i.e.
``intra_temperature = 1``); this package defaults to the loss temperature, which keeps the two
blocks on one scale, and reproduces the released behaviour with ``intra_temperature=1.0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_finite_number,
    check_int,
    check_pair,
    checking,
)
from mmcontrast._ops import l2_normalize
from mmcontrast.losses._geometry import gather_with_grad, gather_without_grad, rank_and_world
from mmcontrast.losses._pairwise import (
    REDUCTIONS,
    Reduction,
    check_weights,
    checked_temperature,
    reduce_values,
)
from mmcontrast.losses.temperature import LearnableTemperature

_NEG_INF = float("-inf")
_FLAGS = ("positive_mining", "symmetric_mining", "intra_negatives", "negative_pruning",
          "loss_term_weighting", "gather_distributed")  # fmt: skip


@dataclass(frozen=True)
class CMKMOptions:
    """The hyperparameters of CMC-CMKM (see `cmkm_loss` for each)."""

    temperature: float | LearnableTemperature
    k: int
    positive_mining: bool
    symmetric_mining: bool
    intra_negatives: bool
    intra_weight: float
    intra_temperature: float | None
    negative_pruning: bool
    pruning_threshold: float
    loss_term_weighting: bool
    weighting_scale: float
    reduction: Reduction  # (not used by `cmkm_terms`)
    gather_distributed: bool

    def checked(
        self,
    ) -> CMKMOptions:
        """These options after the one check of each, run inside the caller's `checking` block."""
        for name in _FLAGS:
            check_bool(name, getattr(self, name))
        check_choice("reduction", self.reduction, REDUCTIONS)
        intra_tau = self.intra_temperature
        return replace(
            self,
            temperature=checked_temperature(self.temperature, tensor_ok=False),  # type: ignore[arg-type]
            k=check_int("k", self.k, minimum=1),
            intra_weight=check_finite_number("intra_weight", self.intra_weight, low=0.0),
            intra_temperature=None if intra_tau is None else check_finite_number(
                "intra_temperature", intra_tau, low=0.0, low_open=True),
            pruning_threshold=check_finite_number(
                "pruning_threshold", self.pruning_threshold, low=-1.0),
            weighting_scale=check_finite_number(
                "weighting_scale", self.weighting_scale, low=-math.inf),
        )  # fmt: skip


CMKM_OPTION_NAMES = tuple(field.name for field in fields(CMKMOptions))


def _teacher(name: str, x: object, batch: int) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point tensor, got {got}")
    if x.ndim < 2 or x.shape[0] != batch:
        raise ValueError(
            f'{name} must have shape "b e" (or "b ...", flattened) with b = {batch} '
            f"like the student embeddings, got {tuple(x.shape)}"
        )
    return x.detach().flatten(1)


def _mine(sim: Tensor, diag: Tensor, k: int) -> Tensor:
    """Top-``k`` column indices of ``sim`` with the diagonal lowered by 1 (upstream's rule)."""
    lowered = sim - diag.to(sim.dtype)
    return lowered.topk(k, dim=1).indices


class CMKMBatch(NamedTuple):
    """One call's checked inputs: students, flattened teachers, place in the global batch."""

    a: Tensor
    b: Tensor
    ta: Tensor
    tb: Tensor
    weights: Tensor | None
    rank: int
    m: int


def check_cmkm_batch(
    a: object,
    b: object,
    teacher_a: object,
    teacher_b: object,
    options: CMKMOptions,
    *,
    training: object,
    weights: object = None,
) -> CMKMBatch:
    """The one check of a call's tensors, run in the caller's `checking` block."""
    a, b = check_pair(a, b)
    batch = a.shape[0]
    ta = _teacher("teacher_a", teacher_a, batch)
    tb = _teacher("teacher_b", teacher_b, batch)
    check_bool("training", training)
    rank, world = rank_and_world() if options.gather_distributed else (0, 1)
    m = batch * world
    if options.k > m:
        raise ValueError(f"k must be <= the (global) batch size {m}, got {options.k}")
    return CMKMBatch(a, b, ta, tb, check_weights(weights, 2 * batch), rank, m)


def cmkm_values(inputs: CMKMBatch, options: CMKMOptions, *, training: bool) -> Tensor:
    """The (weighted, reduced) CMKM terms of checked inputs."""
    a, b, ta, tb, weights, rank, m = inputs
    terms = _terms(a, b, ta, tb, options, rank=rank, m=m, training=training)
    return reduce_values(terms, options.reduction, weights, None)


def _terms(
    a: Tensor,
    b: Tensor,
    ta: Tensor,
    tb: Tensor,
    options: CMKMOptions,
    *,
    rank: int,
    m: int,
    training: bool,
) -> Tensor:
    """Per-anchor terms ``"(2b)"`` of checked inputs."""
    batch, temperature = a.shape[0], options.temperature
    inv_tau = (
        temperature.inverse() if isinstance(temperature, LearnableTemperature) else 1 / temperature
    )
    intra_tau = options.intra_temperature
    inv_tau_intra = inv_tau if intra_tau is None else 1.0 / intra_tau
    lam, gamma, scale = options.intra_weight, options.pruning_threshold, options.weighting_scale
    compute = torch.promote_types(a.dtype, torch.float32)
    with torch.autocast(device_type=a.device.type, enabled=False):
        za, zb = l2_normalize(a, compute), l2_normalize(b, compute)
        fa, fb = l2_normalize(ta, compute), l2_normalize(tb, compute)
        if options.gather_distributed:
            za_all, zb_all = gather_with_grad(za), gather_with_grad(zb)
            fa_all, fb_all = gather_without_grad(fa), gather_without_grad(fb)
        else:
            za_all, zb_all, fa_all, fb_all = za, zb, fa, fb
        local = rank * batch + torch.arange(batch, device=a.device)
        diag = torch.zeros(batch, m, dtype=torch.bool, device=a.device)
        diag[torch.arange(batch, device=a.device), local] = True

        cross = [za @ zb_all.T * inv_tau, zb @ za_all.T * inv_tau]  # rows a -> b, rows b -> a
        if not training:
            return torch.cat([
                torch.logsumexp(logits, dim=1) - logits.gather(1, local[:, None]).squeeze(1)
                for logits in cross
            ])  # fmt: skip

        # Teacher similarities of the local anchors against every candidate.
        t_loc = {"a": fa @ fa_all.T, "b": fb @ fb_all.T}
        conn = {"a": fa_all @ fa_all.mean(0), "b": fb_all @ fb_all.mean(0)}  # column means
        mined = {key: _mine(t, diag, options.k) for key, t in t_loc.items()}
        if options.symmetric_mining:
            both = torch.cat([mined["a"], mined["b"]], dim=1)
            mined = {"a": both, "b": both}
        terms = []
        for anchor, cand, z_anchor, z_anchor_all, logits_cross in (
            ("a", "b", za, za_all, cross[0]),
            ("b", "a", zb, zb_all, cross[1]),
        ):
            cross_pos = diag.clone()
            intra_pos = torch.zeros_like(diag)
            if options.positive_mining:
                cross_pos.scatter_(1, mined[cand], True)
            cross_neg = ~cross_pos
            intra_neg = ~diag if options.intra_negatives else torch.zeros_like(diag)
            if options.positive_mining and options.intra_negatives:
                intra_pos.scatter_(1, mined[anchor], True)
            if options.positive_mining:
                intra_neg &= ~torch.zeros_like(diag).scatter_(1, mined[anchor], True)
            if options.negative_pruning:
                cross_neg &= ~(conn[cand] > gamma)[None, :]
                intra_neg &= ~(conn[anchor] > gamma)[None, :]
            logits_intra = z_anchor @ z_anchor_all.T * inv_tau_intra
            weighted_intra = logits_intra + (math.log(lam) if lam > 0 else _NEG_INF)
            inf = torch.full_like(logits_cross, _NEG_INF)
            intra_num = torch.where(intra_pos, logits_intra, inf)
            numerator = torch.cat([torch.where(cross_pos, logits_cross, inf), intra_num], dim=1)
            everything = torch.cat(
                [torch.where(cross_pos | cross_neg, logits_cross, inf),
                 torch.where(intra_pos, logits_intra, torch.where(intra_neg, weighted_intra, inf))],
                dim=1,
            )  # fmt: skip
            term = torch.logsumexp(everything, dim=1) - torch.logsumexp(numerator, dim=1)
            if options.loss_term_weighting:
                term = term * torch.exp(scale * conn[anchor][local])
            terms.append(term)
        return torch.cat(terms)


def cmkm_terms(
    a: Tensor,
    b: Tensor,
    teacher_a: Tensor,
    teacher_b: Tensor,
    *,
    temperature: float | LearnableTemperature = 0.1,
    k: int = 1,
    positive_mining: bool = True,
    symmetric_mining: bool = False,
    intra_negatives: bool = True,
    intra_weight: float = 1.0,
    intra_temperature: float | None = None,
    negative_pruning: bool = False,
    pruning_threshold: float = 0.6,
    loss_term_weighting: bool = False,
    weighting_scale: float = 0.25,
    training: bool = True,
    gather_distributed: bool = False,
) -> Tensor:
    """Per-anchor CMC-CMKM terms ``"(2b)"``: the ``a`` anchors, then the ``b`` anchors.

    See `cmkm_loss` for the arguments. With ``training=False`` this is the plain
    symmetric CMC InfoNCE of the students (the released code's validation loss), so training
    and validation values are not comparable.

    Shapes:
        a, b: ``"b d"``; teacher_a: ``"b e"``; teacher_b: ``"b f"``; output: ``"(2b)"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import cmkm_terms
        >>> a, b = torch.randn(8, 16), torch.randn(8, 16)
        >>> cmkm_terms(a, b, torch.randn(8, 32), torch.randn(8, 20)).shape
        torch.Size([16])
    """
    options = CMKMOptions(temperature, k, positive_mining, symmetric_mining, intra_negatives,
                          intra_weight, intra_temperature, negative_pruning, pruning_threshold,
                          loss_term_weighting, weighting_scale, "none",
                          gather_distributed)  # fmt: skip
    with checking("cmkm_terms"):
        options = options.checked()
        inputs = check_cmkm_batch(a, b, teacher_a, teacher_b, options, training=training)
    return cmkm_values(inputs, options, training=training)


def cmkm_loss(
    a: Tensor,
    b: Tensor,
    teacher_a: Tensor,
    teacher_b: Tensor,
    *,
    temperature: float | LearnableTemperature = 0.1,
    k: int = 1,
    positive_mining: bool = True,
    symmetric_mining: bool = False,
    intra_negatives: bool = True,
    intra_weight: float = 1.0,
    intra_temperature: float | None = None,
    negative_pruning: bool = False,
    pruning_threshold: float = 0.6,
    loss_term_weighting: bool = False,
    weighting_scale: float = 0.25,
    training: bool = True,
    reduction: Reduction = "mean",
    weights: Tensor | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """CMC-CMKM loss (teacher-guided positive mining and negative pruning).

    The defaults follow the paper's UTD-MHAD / MMAct configuration (``temperature=0.1``,
    mining on with ``k=1``, not symmetric, intra-modal negatives on with weight 1, pruning and
    loss-term weighting off; the released configs hold ``pruning_threshold`` 0.6 for UTD-MHAD,
    0.7 for MMAct, and ``weighting_scale`` 0.25 / 0.05 for when they are switched on) with one
    deliberate difference: the intra block uses the loss temperature, where the released code
    uses none (pass ``intra_temperature=1.0`` for the released behaviour).

    Args:
        a: student embeddings of the first modality (e.g. inertial).
        b: student embeddings of the second modality (e.g. skeleton), paired with ``a``.
        teacher_a: frozen teacher features of the first modality for the same batch
            (flattened backbone output of a unimodal SimCLR model).
        teacher_b: frozen teacher features of the second modality.
        temperature: ``tau > 0`` of the cross-modal block, or a `LearnableTemperature`.
        k: neighbours mined per sample (``>= 1``).
        positive_mining: add the teachers' top-``k`` neighbours as positives.
        symmetric_mining: both modalities use the union of both teachers' neighbours.
        intra_negatives: add the anchor modality's own samples to the denominator.
        intra_weight: weight ``lambda >= 0`` of the intra-modal negatives.
        intra_temperature: temperature of the intra block; ``None`` uses ``temperature``;
            ``1.0`` reproduces the released code, which does not scale that block.
        negative_pruning: drop candidates whose teacher connectivity exceeds the threshold.
        pruning_threshold: ``gamma``.
        loss_term_weighting: multiply each term by ``exp(weighting_scale * connectivity)``.
        weighting_scale: the scale of that weighting.
        training: ``False`` gives plain CMC InfoNCE (the released validation loss).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``"(2b)"`` per-anchor terms).
        weights: optional per-anchor weights ``"b"`` (both directions) or ``"(2b)"``.
        gather_distributed: candidates (and teacher features) from every rank.

    Returns:
        The loss.

    Shapes:
        a, b: ``"b d"``; teacher_a: ``"b e"``; teacher_b: ``"b f"``; output: ``""`` or
        ``"(2b)"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses.functional import cmkm_loss, info_nce
        >>> g = torch.Generator().manual_seed(0)
        >>> imu, skel = torch.randn(16, 32, generator=g), torch.randn(16, 32, generator=g)
        >>> teacher_imu, teacher_skel = torch.randn(16, 64), torch.randn(16, 20)
        >>> loss = cmkm_loss(imu, skel, teacher_imu, teacher_skel)
        >>> val = cmkm_loss(imu, skel, teacher_imu, teacher_skel, training=False)
        >>> bool(torch.allclose(val, info_nce(imu, skel, temperature=0.1)))
        True
    """
    options = CMKMOptions(temperature, k, positive_mining, symmetric_mining, intra_negatives,
                          intra_weight, intra_temperature, negative_pruning, pruning_threshold,
                          loss_term_weighting, weighting_scale, reduction,
                          gather_distributed)  # fmt: skip
    with checking("cmkm_loss"):
        options = options.checked()
        inputs = check_cmkm_batch(a, b, teacher_a, teacher_b, options, training=training,
                                  weights=weights)  # fmt: skip
    return cmkm_values(inputs, options, training=training)
