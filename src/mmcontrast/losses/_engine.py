"""The loss engine: one tiled autograd Function behind every pairwise contrastive loss.

`contrastive_kernel` evaluates the estimator of `mmcontrast.losses._estimator` (hard
negatives; debiased at ``beta = 0``; InfoNCE at ``beta = 0, tau_plus = 0``) for every row of
``S = q @ k.T`` between L2-normalised rows and, in ``dual`` mode, for every column too (the
symmetric cross-modal loss gets both directions from one matrix). `reference_kernel` computes
the same outputs with plain autograd on the full matrix: tests compare the two, and
``engine="reference"`` switches a loss to it for debugging.

* Tiles: rows are processed ``_tile_rows`` at a time, so memory is ``O(tile * m)`` when
  ``S`` is not stored (``chunk_size``).
* Shifts: entries that are not negatives are set to ``-inf`` before any exponential; each row
  is shifted by its largest negative or, when `fixed_shift_is_safe`, by the bound 1, so that
  one exponential serves rows and columns.
* Gradient: written in closed form (see `mmcontrast.losses._estimator`) and evaluated tile by
  tile in ``backward``; ``store=True`` keeps ``S`` (three GEMMs in all, like the bare matmul
  floor), ``store=False`` recomputes each tile (one more GEMM).
* Column statistics (``dual``) are accumulated with an online log-sum-exp over row tiles.
* ``multi_positive``: a row may have any number of positives (a mask, equal labels); rows are
  then complete within a tile, and ``dual`` is not used.

Inputs are assumed valid: the public functions check them. No Python value depends on tensor
data: there is no host synchronisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from mmcontrast.losses._estimator import (
    NEG_INF,
    coefficients,
    estimate,
    log_g,
    single_positive,
    softplus,
)

# Elements per tile: about 8 MB of float32 on CPU (stays in the last-level cache); much larger
# on accelerators, where each tile costs kernel launches rather than cache misses.
_TILE_ELEMENTS_CPU = 1 << 21
_TILE_ELEMENTS_ACCELERATOR = 1 << 26
# The smallest term of a sum shifted by the bound is exp(-2 (1 + beta) / tau); keep it above
# ~1e-26 so that float32 sums of millions of such terms stay far from the subnormal range.
_MAX_FIXED_SHIFT_RANGE = 60.0


def fixed_shift_is_safe(inv_tau: float, beta: float) -> bool:
    """Whether shifting by the largest possible cosine (1) cannot underflow any term."""
    return 2.0 * (1.0 + beta) * inv_tau <= _MAX_FIXED_SHIFT_RANGE


@dataclass(frozen=True)
class KernelConfig:
    """Static (non-tensor) settings of one kernel call.

    Attributes:
        beta: hardness concentration (``0`` disables the reweighting).
        tau_plus: class prior of the debiasing term, in ``[0, 1)``.
        clamp: floor the negative estimate at ``K * exp(-1/tau)``.
        dual: also treat every column as an anchor (square ``S``, positives on the diagonal,
            single-positive mode only).
        store: keep the similarity matrix for backward instead of recomputing it.
        chunk_size: upper bound on the rows of one tile (``None``: chosen from the size).
        fixed_shift: shift by the bound 1 instead of each row's maximum.
        inv_tau: ``1 / tau`` as a Python float when the temperature is a constant (one fused
            pass per exponential); ``None`` for a tensor temperature.
        multi_positive: positives come from ``pos_mask`` / equal labels, and a row may have
            several (or none).
        labels_positive: equal labels mark positives (``multi_positive`` only) instead of
            removing the pair from the negatives.
    """

    beta: float
    tau_plus: float
    clamp: bool
    dual: bool = False
    store: bool = True
    chunk_size: int | None = None
    fixed_shift: bool = False
    inv_tau: float | None = None
    multi_positive: bool = False
    labels_positive: bool = False


class Masks(NamedTuple):
    """Which entries of ``S`` are positives and which are negatives (all optional).

    ``pos_idx[i]`` is the column of row ``i``'s positive (single-positive mode); ``pos_mask``
    (``n x m`` bool) and, with ``labels_positive``, equal labels give the positives in
    multi-positive mode. ``self_idx[i]`` is a column that is neither positive nor negative;
    equal ``row/col_labels`` (exclusion mode) and equal ``row/col_groups`` remove pairs from the
    negatives; ``neg_mask`` keeps only the pairs marked ``True`` as candidate negatives.
    ``col_labels`` / ``col_groups`` may be ``None`` where they equal the row ones.
    """

    pos_idx: Tensor | None = None
    pos_mask: Tensor | None = None
    self_idx: Tensor | None = None
    row_labels: Tensor | None = None
    col_labels: Tensor | None = None
    row_groups: Tensor | None = None
    col_groups: Tensor | None = None
    neg_mask: Tensor | None = None

    def resolved(self) -> Masks:
        """Column ids filled in from the row ids where they were left out."""
        return self._replace(
            col_labels=self.row_labels if self.col_labels is None else self.col_labels,
            col_groups=self.row_groups if self.col_groups is None else self.col_groups,
        )


class KernelOutput(NamedTuple):
    """Per-anchor outputs: rows, then columns in ``dual`` mode."""

    loss: Tensor
    clamped: Tensor
    num_negatives: Tensor
    num_positives: Tensor


def _tile_rows(n: int, m: int, chunk_size: int | None, device: torch.device) -> int:
    if torch.compiler.is_compiling():
        # A traced loop is unrolled: keep the graph small.
        return n if chunk_size is None else min(n, chunk_size)
    budget = _TILE_ELEMENTS_CPU if device.type == "cpu" else _TILE_ELEMENTS_ACCELERATOR
    rows = max(1, min(n, budget // max(m, 1)))
    return rows if chunk_size is None else min(rows, chunk_size)


def _raw_tile(q: Tensor, k: Tensor, stored: Tensor | None, r0: int, r1: int, buf: Tensor) -> Tensor:
    """Rows ``r0:r1`` of ``S``: a view of the stored matrix, or recomputed into ``buf``."""
    return stored[r0:r1] if stored is not None else torch.mm(q[r0:r1], k.T, out=buf[: r1 - r0])


def _mask_single_(tile: Tensor, r0: int, r1: int, masks: Masks) -> None:
    """Single-positive mode: set every entry that is not a candidate negative to ``-inf``."""
    if masks.pos_idx is not None:
        tile.scatter_(1, masks.pos_idx[r0:r1, None], NEG_INF)
    if masks.self_idx is not None:
        tile.scatter_(1, masks.self_idx[r0:r1, None], NEG_INF)
    for rows, cols in ((masks.row_labels, masks.col_labels), (masks.row_groups, masks.col_groups)):
        if rows is not None and cols is not None:
            tile.masked_fill_(rows[r0:r1, None] == cols[None, :], NEG_INF)
    if masks.neg_mask is not None:
        tile.masked_fill_(~masks.neg_mask[r0:r1], NEG_INF)


def pair_masks(
    masks: Masks, r0: int, r1: int, m: int, device: torch.device, cfg: KernelConfig
) -> tuple[Tensor, Tensor]:
    """Bool ``(positive, negative)`` masks of rows ``r0:r1``.

    Multi-positive mode: ``pos_mask`` and/or equal labels (which include the pair itself);
    ``pos_idx`` is not used. Single-positive mode: ``pos_idx``.
    """
    shape = (r1 - r0, m)
    pos = torch.zeros(shape, dtype=torch.bool, device=device)
    excluded = torch.zeros(shape, dtype=torch.bool, device=device)
    if not cfg.multi_positive and masks.pos_idx is not None:
        pos.scatter_(1, masks.pos_idx[r0:r1, None], True)
    if masks.pos_mask is not None:
        pos |= masks.pos_mask[r0:r1]
    if masks.row_labels is not None and masks.col_labels is not None:
        same = masks.row_labels[r0:r1, None] == masks.col_labels[None, :]
        if cfg.labels_positive:
            pos |= same
        else:
            excluded |= same
    if masks.self_idx is not None:
        is_self = torch.zeros(shape, dtype=torch.bool, device=device)
        is_self.scatter_(1, masks.self_idx[r0:r1, None], True)
        pos &= ~is_self  # self is never a positive, even with equal labels
        excluded |= is_self
    if masks.row_groups is not None and masks.col_groups is not None:
        excluded |= masks.row_groups[r0:r1, None] == masks.col_groups[None, :]
    if masks.neg_mask is not None:
        excluded |= ~masks.neg_mask[r0:r1]
    return pos, ~(pos | excluded)


def _exp_into(
    out: Tensor, tile: Tensor, shift: Tensor | None, scale: Tensor | float, dim: int
) -> Tensor:
    """``out = exp(scale * (tile - shift))``, ``shift`` broadcast along ``dim`` (``None``: 1).

    With a Python ``scale`` this is one fused pass (``torch.add`` with ``alpha``; ``addcmul``
    is several times slower on CPU); a tensor ``scale`` (learnable temperature) costs two.
    Writing into a reused buffer avoids a fresh allocation, and its page faults, per tile.
    """
    out = out[: tile.shape[0]]
    if isinstance(scale, float):
        bias = tile.new_tensor(-scale) if shift is None else (shift * -scale).unsqueeze(dim)
        torch.add(bias, tile, alpha=scale, out=out)
    else:
        torch.sub(tile, 1.0 if shift is None else shift.unsqueeze(dim), out=out)
        out.mul_(scale)
    return out.exp_()


def _scales(inv_tau: Tensor, cfg: KernelConfig) -> tuple[Tensor | float, Tensor | float]:
    """The exponent scales ``(1 + beta) / tau`` and ``beta / tau``, as floats when static."""
    scale: Tensor | float = inv_tau if cfg.inv_tau is None else cfg.inv_tau
    return scale * (1.0 + cfg.beta), scale * cfg.beta


class _Stats(NamedTuple):
    """Per-anchor statistics of the negatives: shift, shifted exponential sums and count."""

    shift: Tensor
    sum1: Tensor
    sum2: Tensor | None
    num: Tensor


def _new_stats(n: int, like: Tensor, cfg: KernelConfig, count: int) -> _Stats:
    zeros = like.new_zeros(n)
    return _Stats(
        torch.full_like(zeros, 1.0 if cfg.fixed_shift else NEG_INF),
        zeros,
        like.new_zeros(n) if cfg.beta > 0 else None,
        torch.full((n,), count, dtype=torch.long, device=like.device),
    )


def _accumulate(
    tile: Tensor,
    r0: int,
    r1: int,
    rows: _Stats,
    cols: _Stats | None,
    works: tuple[Tensor, Tensor],
    scales: tuple[Tensor | float, Tensor | float],
    cfg: KernelConfig,
) -> _Stats | None:
    """Add one tile (``-inf`` marks non-negatives) to the row and, online, column statistics.

    Rows are complete within the tile. Returns the updated column statistics.
    """
    work = works[0]
    if cfg.fixed_shift and cfg.beta == 1.0 and rows.sum2 is not None:
        # beta = 1: exp(2 l) = exp(l)^2, so one exponential gives both sums (worth 10 % of a
        # HardNegativeLoss step in bench_losses.py, see the losses guide).
        e = _exp_into(work, tile, None, scales[1], 1)
        squared = torch.mul(e, e, out=works[1][: e.shape[0]])
        rows.sum1[r0:r1], rows.sum2[r0:r1] = squared.sum(1), e.sum(1)
        if cols is not None and cols.sum2 is not None:
            cols.sum1.add_(squared.sum(0))
            cols.sum2.add_(e.sum(0))
        return cols
    if cfg.fixed_shift:
        # Shifted by the bound 1: one exponential serves rows and columns.
        for scale, row_sum, col_sum in (
            (scales[0], rows.sum1, None if cols is None else cols.sum1),
            (scales[1], rows.sum2, None if cols is None else cols.sum2),
        ):
            if row_sum is not None:
                e = _exp_into(work, tile, None, scale, 1)
                row_sum[r0:r1] = e.sum(1)
                if col_sum is not None:
                    col_sum.add_(e.sum(0))
        return cols

    shift = tile.amax(1)
    safe = torch.where(shift > NEG_INF, shift, torch.zeros_like(shift))
    rows.shift[r0:r1] = shift
    rows.sum1[r0:r1] = _exp_into(work, tile, safe, scales[0], 1).sum(1)
    if rows.sum2 is not None:
        rows.sum2[r0:r1] = _exp_into(work, tile, safe, scales[1], 1).sum(1)
    if cols is None:
        return None
    # Online log-sum-exp over the row tiles; a -inf old shift gives a factor of 0.
    new_shift = torch.maximum(cols.shift, tile.amax(0))
    new_safe = torch.where(new_shift > NEG_INF, new_shift, torch.zeros_like(new_shift))
    for scale, col_sum in ((scales[0], cols.sum1), (scales[1], cols.sum2)):
        if col_sum is not None:
            col_sum.mul_(torch.exp(scale * (cols.shift - new_safe)))
            col_sum.add_(_exp_into(work, tile, new_safe, scale, 0).sum(0))
    return cols._replace(shift=new_shift)


class _Coefs(NamedTuple):
    """Per-anchor factors of ``d loss / d l`` at the negatives, times the upstream gradient."""

    shift: Tensor
    coef1: Tensor
    coef2: Tensor


def _negative_gradient(
    tile: Tensor,
    r0: int,
    r1: int,
    row: _Coefs,
    col: _Coefs | None,
    works: tuple[Tensor, Tensor, Tensor],
    scales: tuple[Tensor | float, Tensor | float],
    cfg: KernelConfig,
) -> Tensor:
    """``d loss / d l`` at the negatives of one tile (0 elsewhere), into ``works[0]``.

    ``d loss / d l_ij = c1_i e1_ij - c2_i e2_ij`` (plus the same for column ``j`` in ``dual``
    mode), with ``e1 = exp((1 + beta)(l - shift))`` and ``e2 = exp(beta (l - shift))``.
    """
    grad, work, coef_buf = works
    if cfg.fixed_shift:
        # One shift for rows and columns: add the coefficients first, exponentiate once.
        def coefficients(rows: Tensor, cols: Tensor | None) -> Tensor:  # c_i + c_j
            if cols is None:
                return rows[r0:r1, None]
            return torch.add(rows[r0:r1, None], cols, out=coef_buf[: r1 - r0])

        c1, c2 = (
            (row.coef1, None if col is None else col.coef1),
            (row.coef2, None if col is None else col.coef2),
        )
        if cfg.beta == 1.0:
            # e1 = e2^2: d loss / d l_ij = e2_ij (c1_ij e2_ij - c2_ij)
            e2 = _exp_into(work, tile, None, scales[1], 1)
            grad = torch.mul(e2, coefficients(*c1), out=grad[: r1 - r0])
            return grad.sub_(coefficients(*c2)).mul_(e2)
        grad = _exp_into(grad, tile, None, scales[0], 1).mul_(coefficients(*c1))
        if cfg.beta > 0:
            grad.sub_(_exp_into(work, tile, None, scales[1], 1).mul_(coefficients(*c2)))
        return grad
    terms = [(row.shift[r0:r1], row.coef1[r0:r1], row.coef2[r0:r1], 1)]
    if col is not None:
        terms.append((col.shift, col.coef1, col.coef2, 0))
    for i, (shift, coef1, coef2, dim) in enumerate(terms):
        e1 = _exp_into(grad if i == 0 else work, tile, shift, scales[0], dim)
        e1.mul_(coef1.unsqueeze(dim))
        grad = e1 if i == 0 else grad.add_(e1)
        if cfg.beta > 0:
            grad.sub_(_exp_into(work, tile, shift, scales[1], dim).mul_(coef2.unsqueeze(dim)))
    return grad


def _buffers(
    q: Tensor, step: int, m: int, cfg: KernelConfig, stored: Tensor | None
) -> tuple[tuple[Tensor, Tensor], Tensor]:
    """Two work tiles and a tile for recomputed similarities, reused by every row tile.

    (Writing into reused buffers avoids a fresh allocation, and its page faults, per tile.)
    """
    rows = min(step, q.shape[0])
    work = q.new_empty(rows, m)
    work2 = q.new_empty(rows, m) if cfg.fixed_shift and cfg.beta == 1.0 else work
    return (work, work2), (work if stored is not None else q.new_empty(rows, m))


class _Anchors(NamedTuple):
    """What the forward keeps per anchor for the backward (rows, then columns in ``dual``)."""

    shift: Tensor  # finite shift of the negative sums
    coef1: Tensor  # d loss / d l_j = coef1 exp((1+beta)(l_j - shift)) - coef2 exp(beta(...))
    coef2: Tensor
    tau_coef: Tensor  # extra d loss / d(1/tau) of clamped anchors
    pos_coef: Tensor | None = None  # single positive: d loss / d l_p
    log_ng: Tensor | None = None  # multi positive: log Ng, for sigma_p
    pos_lse: Tensor | None = None  # multi positive: log sum_p exp(l_p), for softmax_p
    pos_share: Tensor | None = None  # multi positive: (G - S), weight of softmax_p
    inv_count: Tensor | None = None  # multi positive: 1 / M (0 without positives)


def _cat(parts: list[Any]) -> Any:
    """Concatenate NamedTuples of tensors field by field (``None`` fields stay ``None``)."""
    if len(parts) == 1:
        return parts[0]
    return type(parts[0])(
        *(None if x[0] is None else torch.cat(x) for x in zip(*parts, strict=True))
    )


def _forward_multi(
    q: Tensor,
    k: Tensor,
    stored: Tensor | None,
    masks: Masks,
    inv_tau: Tensor,
    cfg: KernelConfig,
) -> tuple[KernelOutput, _Anchors]:
    n, m = q.shape[0], k.shape[0]
    scales = _scales(inv_tau, cfg)
    scale0 = inv_tau if cfg.inv_tau is None else cfg.inv_tau
    rows = _new_stats(n, q, cfg, m - 1)
    outputs, anchors = [], []
    step = _tile_rows(n, m, cfg.chunk_size, q.device)
    works, sim = _buffers(q, step, m, cfg, stored)
    negatives = q.new_empty(min(step, n), m)
    neg_inf = q.new_tensor(NEG_INF)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        raw = _raw_tile(q, k, stored, r0, r1, sim)
        is_pos, is_neg = pair_masks(masks, r0, r1, m, q.device, cfg)
        tile = torch.where(is_neg, raw, neg_inf, out=negatives[: r1 - r0])
        rows.num[r0:r1] = is_neg.sum(1)
        _accumulate(tile, r0, r1, rows, None, works, scales, cfg)

        # Positives: log mean_p exp(l_p), shifted by their maximum.
        count = is_pos.sum(1)
        has = count > 0
        pos_tile = torch.where(is_pos, raw, neg_inf, out=negatives[: r1 - r0])
        p_shift = torch.where(has, pos_tile.amax(1), q.new_zeros(r1 - r0))
        lse = p_shift * inv_tau + _exp_into(works[0], pos_tile, p_shift, scale0, 1).sum(1).log()
        log_m = count.clamp(min=1).to(q.dtype).log()
        log_pos_mean = torch.where(has, lse - log_m, torch.full_like(lse, NEG_INF))
        sl = slice(r0, r1)
        sum2 = None if rows.sum2 is None else rows.sum2[sl]
        est = estimate(rows.shift[sl], rows.sum1[sl], sum2, rows.num[sl], log_pos_mean, inv_tau,
                       beta=cfg.beta, tau_plus=cfg.tau_plus, clamp=cfg.clamp)  # fmt: skip

        # Per-positive terms need this row's final log Ng: rows are complete in the tile.
        lp = torch.where(is_pos, raw * inv_tau, torch.zeros_like(raw))
        z = torch.where(is_pos, est.log_ng[:, None] - lp, neg_inf)
        term = softplus(z)
        keep = is_pos & est.unclamped[:, None]
        lg = torch.where(keep, log_g(est.log_r[:, None], lp, term, cfg.tau_plus), neg_inf)
        inv_count = torch.where(has, 1.0 / count.clamp(min=1).to(q.dtype), torch.zeros_like(lse))
        g_mean = lg.exp().sum(1) * inv_count
        sig_mean = torch.sigmoid(z).sum(1) * inv_count
        coefs = coefficients(est, g_mean, sig_mean, rows.sum1[sl], sum2, cfg.beta)
        share = torch.where(est.unclamped, g_mean - sig_mean, torch.zeros_like(g_mean))
        outputs.append(KernelOutput(term.sum(1) * inv_count, est.clamped, rows.num[sl], count))
        anchors.append(_Anchors(est.shift, *coefs, log_ng=est.log_ng, pos_lse=lse,
                                pos_share=share, inv_count=inv_count))  # fmt: skip
    return _cat(outputs), _cat(anchors)


def _forward_single(
    q: Tensor,
    k: Tensor,
    stored: Tensor | None,
    masks: Masks,
    inv_tau: Tensor,
    cfg: KernelConfig,
) -> tuple[KernelOutput, _Anchors, Tensor]:
    n, m = q.shape[0], k.shape[0]
    if masks.pos_idx is None:
        raise ValueError("single-positive mode needs pos_idx")
    idx = masks.pos_idx
    pos = (q * k[idx]).sum(1) if stored is None else stored.gather(1, idx[:, None]).squeeze(1)
    # Without exclusions every anchor has every other candidate: the counts are known.
    counting = any(x is not None for x in (masks.self_idx, masks.row_labels, masks.row_groups,
                                           masks.neg_mask))  # fmt: skip
    scales = _scales(inv_tau, cfg)
    rows = _new_stats(n, q, cfg, m - 1)
    cols = _new_stats(m, q, cfg, 0 if counting else n - 1) if cfg.dual else None
    step = _tile_rows(n, m, cfg.chunk_size, q.device)
    works, sim = _buffers(q, step, m, cfg, stored)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        tile = _raw_tile(q, k, stored, r0, r1, sim)
        _mask_single_(tile, r0, r1, masks)  # in place: the stored matrix stays masked
        if counting:
            keep = tile > NEG_INF
            rows.num[r0:r1] = keep.sum(1)
            if cols is not None:
                cols.num.add_(keep.sum(0))
        cols = _accumulate(tile, r0, r1, rows, cols, works, scales, cfg)

    lp = pos * inv_tau
    outputs, anchors = [], []
    for stats in (rows,) if cols is None else (rows, cols):
        est = estimate(stats.shift, stats.sum1, stats.sum2, stats.num, lp, inv_tau,
                       beta=cfg.beta, tau_plus=cfg.tau_plus, clamp=cfg.clamp)  # fmt: skip
        loss, coefs, pos_coef = single_positive(est, lp, stats.sum1, stats.sum2, beta=cfg.beta,
                                                tau_plus=cfg.tau_plus)  # fmt: skip
        outputs.append(KernelOutput(loss, est.clamped, stats.num, torch.ones_like(stats.num)))
        anchors.append(_Anchors(est.shift, *coefs, pos_coef=pos_coef))
    return _cat(outputs), _cat(anchors), pos


def _save(ctx: Any, **tensors: Tensor | None) -> None:
    """``save_for_backward`` by name; `_load` gives the tensors back under the same names."""
    ctx.saved_names = tuple(tensors)
    ctx.save_for_backward(*tensors.values())


def _load(ctx: Any) -> dict[str, Any]:
    return dict(zip(ctx.saved_names, ctx.saved_tensors, strict=True))


class _ContrastiveFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        cfg: KernelConfig,
        q: Tensor,
        k_or_none: Tensor | None,
        inv_tau: Tensor,
        *mask_tensors: Tensor | None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        # Dynamo cannot trace one tensor passed as two inputs: shared operands arrive as None.
        k = q if k_or_none is None else k_or_none
        masks = Masks(*mask_tensors).resolved()
        stored = q @ k.T if cfg.store else None
        pos = None
        if cfg.multi_positive:
            out, anchors = _forward_multi(q, k, stored, masks, inv_tau, cfg)
        else:
            out, anchors, pos = _forward_single(q, k, stored, masks, inv_tau, cfg)
        ctx.cfg = cfg
        ctx.shared_k = k_or_none is None
        _save(ctx, q=q, k=k_or_none, inv_tau=inv_tau, stored=stored, pos=pos,
              **Masks(*mask_tensors)._asdict(), **anchors._asdict())  # fmt: skip
        ctx.mark_non_differentiable(out.clamped, out.num_negatives, out.num_positives)
        return out.loss, out.clamped, out.num_negatives, out.num_positives

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor, *_: Tensor | None) -> tuple[Tensor | None, ...]:
        cfg: KernelConfig = ctx.cfg
        saved = _load(ctx)
        q, inv_tau, stored = saved["q"], saved["inv_tau"], saved["stored"]
        k = q if ctx.shared_k else saved["k"]
        masks = Masks(**{name: saved[name] for name in Masks._fields}).resolved()
        a = _Anchors(**{name: saved[name] for name in _Anchors._fields})
        n, m = q.shape[0], k.shape[0]
        need_q, need_k, need_tau = ctx.needs_input_grad[1:4]
        need_k = need_q if ctx.shared_k else need_k
        scales = _scales(inv_tau, cfg)

        coef1, coef2 = a.coef1 * grad_loss, a.coef2 * grad_loss
        row = _Coefs(a.shift[:n], coef1[:n], coef2[:n])
        col = _Coefs(a.shift[n:], coef1[n:], coef2[n:]) if cfg.dual else None
        d_inv_tau = (a.tau_coef * grad_loss).sum()
        if cfg.multi_positive:
            pos_w, share_w = saved["inv_count"] * grad_loss, saved["pos_share"] * grad_loss
        else:
            pos_coef = saved["pos_coef"] * grad_loss
            if cfg.dual:  # column j's positive is row j
                pos_coef = pos_coef[:n] + pos_coef[n:]
            d_inv_tau = d_inv_tau + (pos_coef * saved["pos"]).sum()

        dq = torch.empty_like(q) if need_q else None
        dk = torch.zeros_like(k) if need_k else None
        step = _tile_rows(n, m, cfg.chunk_size, q.device)
        rows_max = min(step, n)
        works = (q.new_empty(rows_max, m), q.new_empty(rows_max, m), q.new_empty(rows_max, m))
        sim = works[0] if stored is not None else q.new_empty(rows_max, m)  # (unused if stored)
        neg_inf = q.new_tensor(NEG_INF)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            raw = _raw_tile(q, k, stored, r0, r1, sim)
            if cfg.multi_positive:
                is_pos, is_neg = pair_masks(masks, r0, r1, m, q.device, cfg)
                tile = torch.where(is_neg, raw, neg_inf)
            else:
                tile = raw  # the stored matrix is masked already
                if stored is None:
                    _mask_single_(tile, r0, r1, masks)
            grad = _negative_gradient(tile, r0, r1, row, col, works, scales, cfg)
            if cfg.multi_positive:
                # d loss / d l_p = -sigma_p / M - (G - S) softmax_p(l_p)
                lp = torch.where(is_pos, raw * inv_tau, torch.zeros_like(raw))
                sig = torch.sigmoid(torch.where(is_pos, saved["log_ng"][r0:r1, None] - lp, neg_inf))
                soft = torch.where(is_pos, (lp - saved["pos_lse"][r0:r1, None]).exp(), 0.0)
                grad.sub_(sig.mul_(pos_w[r0:r1, None])).sub_(soft.mul_(share_w[r0:r1, None]))
                if need_tau:
                    d_inv_tau = d_inv_tau + torch.dot(grad.reshape(-1), raw.reshape(-1))
            else:
                if need_tau:
                    # sum_ij g_ij s_ij over the negatives; masked entries (-inf) have g = 0.
                    finite = torch.clamp(tile, min=-2.0, out=works[1][: r1 - r0])
                    d_inv_tau = d_inv_tau + torch.dot(grad.reshape(-1), finite.reshape(-1))
                grad.scatter_add_(1, saved["pos_idx"][r0:r1, None], pos_coef[r0:r1, None])
            if dq is not None:
                torch.mm(grad, k, out=dq[r0:r1])
            if dk is not None:
                dk.addmm_(grad.T, q[r0:r1])

        dq = None if dq is None else dq * inv_tau
        dk = None if dk is None else dk * inv_tau
        if ctx.shared_k and dq is not None and dk is not None:
            dq, dk = dq + dk, None
        return (None, dq, dk, d_inv_tau if need_tau else None, *(None for _ in Masks._fields))


def contrastive_kernel(
    q: Tensor, k: Tensor, inv_tau: Tensor, cfg: KernelConfig, masks: Masks
) -> KernelOutput:
    """Per-anchor terms for the rows (and, with ``cfg.dual``, the columns) of ``q kᵀ``.

    ``q`` and ``k`` must already be L2-normalised and in the compute dtype.
    """
    shared = masks._replace(
        col_labels=None if masks.col_labels is masks.row_labels else masks.col_labels,
        col_groups=None if masks.col_groups is masks.row_groups else masks.col_groups,
    )
    outputs = _ContrastiveFunction.apply(cfg, q, None if k is q else k, inv_tau, *shared)  # type: ignore[no-untyped-call]
    return KernelOutput(*outputs)


def reference_kernel(
    q: Tensor, k: Tensor, inv_tau: Tensor, cfg: KernelConfig, masks: Masks
) -> KernelOutput:
    """`contrastive_kernel` by plain autograd on the full ``n x m`` logit matrix.

    The estimator as written in the paper, in log space: slower and ``O(n m)`` in memory, with
    no tiles, shifts or hand-written gradient. In ``dual`` mode the columns are the rows of
    ``k qᵀ`` with the row and column ids swapped.
    """
    masks = masks.resolved()
    rows = _reference_rows(q, k, inv_tau, cfg, masks)
    if not cfg.dual:
        return rows
    swapped = masks._replace(row_labels=masks.col_labels, col_labels=masks.row_labels,
                             row_groups=masks.col_groups, col_groups=masks.row_groups)  # fmt: skip
    cols: KernelOutput = _reference_rows(k, q, inv_tau, cfg, swapped)
    return KernelOutput(*(torch.cat(pair) for pair in zip(rows, cols, strict=True)))


def _reference_rows(
    q: Tensor, k: Tensor, inv_tau: Tensor, cfg: KernelConfig, masks: Masks
) -> KernelOutput:
    is_pos, is_neg = pair_masks(masks, 0, q.shape[0], k.shape[0], q.device, cfg)
    logits = (q @ k.T) * inv_tau
    num_neg, num_pos = is_neg.sum(1), is_pos.sum(1)
    has = num_neg > 0
    log_k = num_neg.clamp(min=1).to(logits.dtype).log()

    def lse(scale: float, keep: Tensor) -> Tensor:
        return torch.logsumexp(torch.where(keep, scale * logits, NEG_INF), dim=1)

    # log R = log K + LSE_j((1 + beta) l_j) - LSE_j(beta l_j) over the negatives (a row without
    # negatives uses all its entries, to stay finite, and is set to -inf below)
    anywhere = is_neg | ~has[:, None]
    log_r = log_k + lse(1.0 + cfg.beta, anywhere) - lse(cfg.beta, anywhere)
    # m = log mean_p exp(l_p): the positive logit itself when there is one positive
    log_pos = lse(1.0, is_pos) - num_pos.clamp(min=1).to(logits.dtype).log()
    ok = has
    log_ng = log_r
    if cfg.tau_plus > 0:
        # Ng = (R - tau_plus K exp(m)) / (1 - tau_plus), truncated at 0 (log Ng = -inf)
        x = cfg.tau_plus * torch.exp(log_k + log_pos - log_r)
        ok = has & (x < 1)
        log_ng = log_r + torch.log1p(-torch.where(ok, x, 0.0)) - math.log1p(-cfg.tau_plus)
    log_ng = torch.where(ok, log_ng, NEG_INF)
    unclamped = log_ng > NEG_INF
    if cfg.clamp:
        floor = torch.where(has, log_k - inv_tau, NEG_INF)
        unclamped = log_ng > floor
        log_ng = torch.where(unclamped, log_ng, floor)
    # -log(e^l_p / (e^l_p + Ng)) = softplus(log Ng - l_p) for each positive, averaged
    terms = torch.where(is_pos, softplus(log_ng[:, None] - logits), 0.0)
    loss = terms.sum(1) / num_pos.clamp(min=1).to(logits.dtype)
    return KernelOutput(loss, has & ~unclamped, num_neg, num_pos)
