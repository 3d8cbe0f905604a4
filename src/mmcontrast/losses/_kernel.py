"""The tiled contrastive-loss kernel shared by every pairwise loss in this package.

One custom `torch.autograd.Function` evaluates the estimator of
`mmcontrast.losses._estimator` (hard negatives; debiased at ``beta = 0``; InfoNCE at
``beta = 0, tau_plus = 0``) for every row of ``S = q @ k.T`` between L2-normalised rows, and,
in ``dual`` mode, for every column too (the symmetric cross-modal loss gets both directions
from one matrix).

* Masked entries (positives, self-similarity, excluded pairs) are set to ``-inf`` before any
  exponential; each row is shifted by its own maximum negative, or, when
  `fixed_shift_is_safe`, by the bound 1 so that one exponential serves rows and columns.
* The gradient is written in closed form and evaluated tile by tile in ``backward``.
  ``store=True`` keeps ``S`` (three GEMMs in total, like the bare matmul floor);
  ``store=False`` recomputes the tiles (one more GEMM, memory ``O(tile_rows * m)``).
* Column statistics (``dual``) are accumulated with an online log-sum-exp over row tiles.
* ``multi_positive``: each row may have any number of positives, given by a mask, by equal
  labels or by an index; rows are then complete within a tile, and ``dual`` is not used.

No Python value depends on tensor data: there is no host synchronisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from mmcontrast.losses._estimator import NEG_INF, estimate, log_g, single_positive, softplus

__all__ = ["KernelConfig", "KernelOutput", "contrastive_kernel", "fixed_shift_is_safe"]

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
        fixed_shift: shift by the bound 1 instead of each row's maximum (see
            `fixed_shift_is_safe`).
        inv_tau: ``1 / tau`` as a Python float when the temperature is a constant (one fused
            pass per exponential); ``None`` for a tensor temperature.
        multi_positive: positives come from ``pos_mask`` / equal labels / ``pos_idx`` and a row
            may have several (or none).
        labels_positive: equal labels mark positives (``multi_positive`` only) instead of
            removing the pair from the negatives.
    """

    beta: float
    tau_plus: float
    clamp: bool
    dual: bool
    store: bool
    chunk_size: int | None
    fixed_shift: bool = False
    inv_tau: float | None = None
    multi_positive: bool = False
    labels_positive: bool = False


class _Operands(NamedTuple):
    """Everything that defines the masked similarity matrix."""

    q: Tensor
    k: Tensor
    stored: Tensor | None
    pos_idx: Tensor | None
    pos_mask: Tensor | None
    self_idx: Tensor | None
    row_labels: Tensor | None
    col_labels: Tensor | None
    row_groups: Tensor | None
    col_groups: Tensor | None
    neg_mask: Tensor | None


def _tile_rows(n: int, m: int, chunk_size: int | None, device: torch.device) -> int:
    if torch.compiler.is_compiling():
        # A traced loop is unrolled: keep the graph small.
        return n if chunk_size is None else min(n, chunk_size)
    budget = _TILE_ELEMENTS_CPU if device.type == "cpu" else _TILE_ELEMENTS_ACCELERATOR
    rows = max(1, min(n, budget // max(m, 1)))
    return rows if chunk_size is None else min(rows, chunk_size)


def _raw_tile(ops: _Operands, r0: int, r1: int, buffer: Tensor | None) -> Tensor:
    """Rows ``r0:r1`` of ``S``: a view of the stored matrix, or recomputed into ``buffer``."""
    if ops.stored is not None:
        return ops.stored[r0:r1]
    if buffer is None:
        return ops.q[r0:r1] @ ops.k.T
    return torch.mm(ops.q[r0:r1], ops.k.T, out=buffer[: r1 - r0])


def _mask_single_(tile: Tensor, r0: int, r1: int, ops: _Operands) -> None:
    """Single-positive mode: set every entry that is not a candidate negative to ``-inf``."""
    if ops.pos_idx is not None:
        tile.scatter_(1, ops.pos_idx[r0:r1, None], NEG_INF)
    if ops.self_idx is not None:
        tile.scatter_(1, ops.self_idx[r0:r1, None], NEG_INF)
    if ops.row_labels is not None and ops.col_labels is not None:
        tile.masked_fill_(ops.row_labels[r0:r1, None] == ops.col_labels[None, :], NEG_INF)
    if ops.row_groups is not None and ops.col_groups is not None:
        tile.masked_fill_(ops.row_groups[r0:r1, None] == ops.col_groups[None, :], NEG_INF)
    if ops.neg_mask is not None:
        tile.masked_fill_(~ops.neg_mask[r0:r1], NEG_INF)


def _multi_masks(ops: _Operands, r0: int, r1: int, cfg: KernelConfig) -> tuple[Tensor, Tensor]:
    """Multi-positive mode: the positive and negative masks of rows ``r0:r1``.

    The positives are ``pos_mask`` and/or equal labels (which include the pair itself);
    ``pos_idx`` is not used.
    """
    shape = (r1 - r0, ops.k.shape[0])
    device = ops.k.device
    pos = torch.zeros(shape, dtype=torch.bool, device=device)
    excluded = torch.zeros(shape, dtype=torch.bool, device=device)
    if ops.pos_mask is not None:
        pos |= ops.pos_mask[r0:r1]
    if ops.row_labels is not None and ops.col_labels is not None:
        same = ops.row_labels[r0:r1, None] == ops.col_labels[None, :]
        if cfg.labels_positive:
            pos |= same
        else:
            excluded |= same
    if ops.self_idx is not None:
        is_self = torch.zeros(shape, dtype=torch.bool, device=device)
        is_self.scatter_(1, ops.self_idx[r0:r1, None], True)
        pos &= ~is_self  # self is never a positive, even with equal labels
        excluded |= is_self
    if ops.row_groups is not None and ops.col_groups is not None:
        excluded |= ops.row_groups[r0:r1, None] == ops.col_groups[None, :]
    if ops.neg_mask is not None:
        excluded |= ~ops.neg_mask[r0:r1]
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


def _coefficients(out: Tensor, rows: Tensor, cols: Tensor | None) -> Tensor:
    """``rows[:, None] + cols[None, :]`` into ``out`` (or just ``rows[:, None]``)."""
    if cols is None:
        return rows[:, None]
    return torch.add(rows[:, None], cols[None, :], out=out[: rows.shape[0]])


def _scales(inv_tau: Tensor, cfg: KernelConfig) -> tuple[Tensor | float, Tensor | float]:
    """The exponent scales ``(1 + beta) / tau`` and ``beta / tau``, as floats when static."""
    if cfg.inv_tau is not None:
        return cfg.inv_tau * (1.0 + cfg.beta), cfg.inv_tau * cfg.beta
    return inv_tau * (1.0 + cfg.beta), inv_tau * cfg.beta


def _positive_logits(raw: Tensor, pos: Tensor, inv_tau: Tensor) -> Tensor:
    """``l_p`` at the positives, 0 elsewhere (finite everywhere)."""
    return torch.where(pos, raw * inv_tau, torch.zeros_like(raw))


class _Stats(NamedTuple):
    """Per-anchor statistics of the negatives: shift, shifted exponential sums and count."""

    shift: Tensor
    sum1: Tensor
    sum2: Tensor | None
    num: Tensor


def _new_stats(n: int, like: Tensor, beta: float, shift: float, count: int) -> _Stats:
    dtype, device = like.dtype, like.device
    return _Stats(
        torch.full((n,), shift, dtype=dtype, device=device),
        torch.zeros(n, dtype=dtype, device=device),
        torch.zeros(n, dtype=dtype, device=device) if beta > 0 else None,
        torch.full((n,), count, dtype=torch.long, device=device),
    )


def _accumulate(
    tile: Tensor,
    r0: int,
    r1: int,
    rows: _Stats,
    cols: _Stats | None,
    work: Tensor,
    work2: Tensor,
    scales: tuple[Tensor | float, Tensor | float],
    cfg: KernelConfig,
    counting: bool,
) -> _Stats | None:
    """Add one tile (``-inf`` marks non-negatives) to the row and, online, column statistics.

    Rows are complete within the tile. Returns the updated column statistics.
    """
    scale1, scale2 = scales
    if counting:
        keep = tile > NEG_INF
        rows.num[r0:r1] = keep.sum(1)
        if cols is not None:
            cols.num.add_(keep.sum(0))
    if cfg.fixed_shift and cfg.beta == 1.0 and rows.sum2 is not None:
        # beta = 1: exp(2 l) = exp(l)^2, so one exponential gives both sums.
        e = _exp_into(work, tile, None, scale2, 1)
        rows.sum2[r0:r1] = e.sum(1)
        if cols is None:
            rows.sum1[r0:r1] = torch.linalg.vector_norm(e, dim=1).square()
            return cols
        # (vector_norm along dim 0 is an order of magnitude slower than a square and a sum)
        squared = torch.mul(e, e, out=work2[: e.shape[0]])
        rows.sum1[r0:r1] = squared.sum(1)
        if cols.sum2 is not None:
            cols.sum2.add_(e.sum(0))
        cols.sum1.add_(squared.sum(0))
        return cols
    if cfg.fixed_shift:
        # Shifted by the bound 1: one exponential serves rows and columns.
        e = _exp_into(work, tile, None, scale1, 1)
        rows.sum1[r0:r1] = e.sum(1)
        if cols is not None:
            cols.sum1.add_(e.sum(0))
        if rows.sum2 is not None:
            e = _exp_into(work, tile, None, scale2, 1)
            rows.sum2[r0:r1] = e.sum(1)
            if cols is not None and cols.sum2 is not None:
                cols.sum2.add_(e.sum(0))
        return cols

    shift = tile.amax(1)
    safe = torch.where(shift > NEG_INF, shift, torch.zeros_like(shift))
    rows.shift[r0:r1] = shift
    rows.sum1[r0:r1] = _exp_into(work, tile, safe, scale1, 1).sum(1)
    if rows.sum2 is not None:
        rows.sum2[r0:r1] = _exp_into(work, tile, safe, scale2, 1).sum(1)
    if cols is None:
        return None
    # Online log-sum-exp over the row tiles; a -inf old shift gives a factor of 0.
    new_shift = torch.maximum(cols.shift, tile.amax(0))
    new_safe = torch.where(new_shift > NEG_INF, new_shift, torch.zeros_like(new_shift))
    cols.sum1.mul_(torch.exp(scale1 * (cols.shift - new_safe)))
    cols.sum1.add_(_exp_into(work, tile, new_safe, scale1, 0).sum(0))
    if cols.sum2 is not None:
        cols.sum2.mul_(torch.exp(scale2 * (cols.shift - new_safe)))
        cols.sum2.add_(_exp_into(work, tile, new_safe, scale2, 0).sum(0))
    return cols._replace(shift=new_shift)


def _negative_gradient(
    tile: Tensor,
    r0: int,
    r1: int,
    row: tuple[Tensor, Tensor, Tensor],
    col: tuple[Tensor, Tensor, Tensor] | None,
    works: tuple[Tensor, Tensor, Tensor],
    scales: tuple[Tensor | float, Tensor | float],
    cfg: KernelConfig,
) -> Tensor:
    """``d loss / d l`` at the negatives of one tile (0 elsewhere), into ``works[0]``.

    ``row`` / ``col`` are ``(shift, coef1, coef2)`` already multiplied by the upstream grads.
    """
    scale1, scale2 = scales
    work1, work2, work3 = works
    r_shift, r_coef1, r_coef2 = (x[r0:r1] for x in row)
    if cfg.fixed_shift and cfg.beta == 1.0:
        # e1 = e2^2: d loss / d l_ij = e2_ij ((rc1_i + cc1_j) e2_ij - (rc2_i + cc2_j))
        e2 = _exp_into(work3, tile, None, scale2, 1)
        coef1 = _coefficients(work2, r_coef1, None if col is None else col[1])
        grad = torch.mul(e2, coef1, out=work1[: tile.shape[0]])
        grad.sub_(_coefficients(work2, r_coef2, None if col is None else col[2]))
        return grad.mul_(e2)
    if cfg.fixed_shift:
        # d loss / d l_ij = (rc1_i + cc1_j) e1_ij - (rc2_i + cc2_j) e2_ij
        grad = _exp_into(work1, tile, None, scale1, 1)
        grad.mul_(_coefficients(work2, r_coef1, None if col is None else col[1]))
        if cfg.beta > 0:
            e2 = _exp_into(work3, tile, None, scale2, 1)
            e2.mul_(_coefficients(work2, r_coef2, None if col is None else col[2]))
            grad.sub_(e2)
        return grad
    grad = _exp_into(work1, tile, r_shift, scale1, 1).mul_(r_coef1[:, None])
    if cfg.beta > 0:
        grad.sub_(_exp_into(work2, tile, r_shift, scale2, 1).mul_(r_coef2[:, None]))
    if col is not None:
        c_shift, c_coef1, c_coef2 = col
        grad.add_(_exp_into(work2, tile, c_shift, scale1, 0).mul_(c_coef1[None, :]))
        if cfg.beta > 0:
            grad.sub_(_exp_into(work2, tile, c_shift, scale2, 0).mul_(c_coef2[None, :]))
    return grad


class _Multi(NamedTuple):
    """Per-row results of the multi-positive forward."""

    loss: Tensor
    clamped: Tensor
    pos_count: Tensor
    coef1: Tensor
    coef2: Tensor
    tau_coef: Tensor
    log_ng: Tensor
    pos_lse: Tensor
    pos_share: Tensor  # (G - S): weight of softmax_p in d loss / d l_p
    inv_count: Tensor  # 1 / M (0 without positives)


def _forward_multi(
    ops: _Operands, inv_tau: Tensor, cfg: KernelConfig, scale0: Tensor | float
) -> tuple[_Multi, _Stats]:
    n, m = ops.q.shape[0], ops.k.shape[0]
    q = ops.q
    scales = _scales(inv_tau, cfg)
    rows = _new_stats(n, q, cfg.beta, 1.0 if cfg.fixed_shift else NEG_INF, m - 1)
    pieces: list[list[Tensor]] = [[] for _ in _Multi._fields]
    step = _tile_rows(n, m, cfg.chunk_size, q.device)
    work = q.new_empty(min(step, n), m)
    sim = None if ops.stored is not None else q.new_empty(min(step, n), m)
    negatives = q.new_empty(min(step, n), m)
    neg_inf = q.new_tensor(NEG_INF)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        raw = _raw_tile(ops, r0, r1, sim)
        is_pos, is_neg = _multi_masks(ops, r0, r1, cfg)
        tile = torch.where(is_neg, raw, neg_inf, out=negatives[: r1 - r0])
        _accumulate(tile, r0, r1, rows, None, work, work, scales, cfg, True)

        # Positives: log mean_p exp(l_p), shifted by their maximum.
        count = is_pos.sum(1)
        has = count > 0
        pos_tile = torch.where(is_pos, raw, neg_inf, out=negatives[: r1 - r0])
        p_shift = torch.where(
            has, pos_tile.amax(1), torch.zeros(r1 - r0, dtype=q.dtype, device=q.device)
        )
        lse = p_shift * inv_tau + _exp_into(work, pos_tile, p_shift, scale0, 1).sum(1).log()
        log_m = count.clamp(min=1).to(q.dtype).log()
        log_pos_mean = torch.where(has, lse - log_m, torch.full_like(lse, NEG_INF))
        sl = slice(r0, r1)
        sum2 = None if rows.sum2 is None else rows.sum2[sl]
        est = estimate(rows.shift[sl], rows.sum1[sl], sum2, rows.num[sl], log_pos_mean, inv_tau,
                       beta=cfg.beta, tau_plus=cfg.tau_plus, clamp=cfg.clamp)  # fmt: skip
        rows.shift[sl] = est.shift

        # Per-positive terms need this row's final log Ng: rows are complete in the tile.
        lp = _positive_logits(raw, is_pos, inv_tau)
        z = torch.where(is_pos, est.log_ng[:, None] - lp, neg_inf)
        term = softplus(z)
        keep = is_pos & est.unclamped[:, None]
        lg = torch.where(keep, log_g(est.log_r[:, None], lp, term, cfg.tau_plus), neg_inf)
        inv_count = torch.where(has, 1.0 / count.clamp(min=1).to(q.dtype), torch.zeros_like(lse))
        g_mean = lg.exp().sum(1) * inv_count
        sig_mean = torch.sigmoid(z).sum(1) * inv_count
        one = torch.ones_like(g_mean)
        unclamped = est.unclamped
        coef1 = g_mean * (1.0 + cfg.beta) / torch.where(unclamped, rows.sum1[sl], one)
        coef2 = (
            g_mean * cfg.beta / torch.where(unclamped, sum2, one)
            if sum2 is not None
            else g_mean * 0.0
        )
        row = _Multi(
            loss=term.sum(1) * inv_count,
            clamped=est.clamped,
            pos_count=count,
            coef1=coef1,
            coef2=coef2,
            tau_coef=torch.where(est.clamped, -sig_mean, torch.zeros_like(sig_mean)),
            log_ng=est.log_ng,
            pos_lse=lse,
            pos_share=torch.where(unclamped, g_mean - sig_mean, torch.zeros_like(g_mean)),
            inv_count=inv_count,
        )
        for piece, value in zip(pieces, row, strict=True):
            piece.append(value)
    return _Multi(*(torch.cat(p) for p in pieces)), rows


class _Single(NamedTuple):
    """Per-anchor results of the single-positive forward (rows, then columns when dual)."""

    loss: Tensor
    clamped: Tensor
    negatives: Tensor
    pos: Tensor  # positive cosine of each row
    saved: tuple[Tensor, ...]  # shift, coef1, coef2, pos_coef, tau_coef (rows, then columns)


def _forward_single(ops: _Operands, inv_tau: Tensor, cfg: KernelConfig, counting: bool) -> _Single:
    q, k, stored = ops.q, ops.k, ops.stored
    n, m = q.shape[0], k.shape[0]
    if ops.pos_idx is None:
        raise ValueError("single-positive mode needs pos_idx")
    if stored is not None:
        pos = stored.gather(1, ops.pos_idx[:, None]).squeeze(1)
    else:
        pos = (q * k[ops.pos_idx]).sum(1)
    scales = _scales(inv_tau, cfg)
    start = 1.0 if cfg.fixed_shift else NEG_INF
    rows = _new_stats(n, q, cfg.beta, start, m - 1)
    cols = _new_stats(m, q, cfg.beta, start, 0 if counting else n - 1) if cfg.dual else None
    step = _tile_rows(n, m, cfg.chunk_size, q.device)
    work = q.new_empty(min(step, n), m)
    work2 = q.new_empty(min(step, n), m) if cfg.dual and cfg.beta == 1.0 else work
    sim = None if stored is not None else q.new_empty(min(step, n), m)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        tile = _raw_tile(ops, r0, r1, sim)
        _mask_single_(tile, r0, r1, ops)  # in place: the stored matrix stays masked
        cols = _accumulate(tile, r0, r1, rows, cols, work, work2, scales, cfg, counting)

    lp = pos * inv_tau
    losses, clamps, counts, saved = [], [], [], []
    for stats in (rows,) if cols is None else (rows, cols):
        est = estimate(stats.shift, stats.sum1, stats.sum2, stats.num, lp, inv_tau,
                       beta=cfg.beta, tau_plus=cfg.tau_plus, clamp=cfg.clamp)  # fmt: skip
        terms = single_positive(est, lp, stats.sum1, stats.sum2, beta=cfg.beta,
                                tau_plus=cfg.tau_plus)  # fmt: skip
        losses.append(terms.loss)
        clamps.append(est.clamped)
        counts.append(stats.num)
        saved += [est.shift, terms.coef1, terms.coef2, terms.pos_coef, terms.tau_coef]
    return _Single(torch.cat(losses), torch.cat(clamps), torch.cat(counts), pos, tuple(saved))


_N_INDEX_ARGS = 8  # pos_idx, pos_mask, self_idx, row/col labels, row/col groups, neg_mask


class _ContrastiveFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        q: Tensor,
        k_or_none: Tensor | None,
        inv_tau: Tensor,
        pos_idx: Tensor | None,
        pos_mask: Tensor | None,
        self_idx: Tensor | None,
        row_labels: Tensor | None,
        col_labels: Tensor | None,
        row_groups: Tensor | None,
        col_groups: Tensor | None,
        neg_mask: Tensor | None,
        cfg: KernelConfig,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        # Dynamo cannot trace one tensor passed as two inputs: shared operands arrive as None.
        k = q if k_or_none is None else k_or_none
        index_args = (pos_idx, pos_mask, self_idx, row_labels, col_labels, row_groups,
                      col_groups, neg_mask)  # fmt: skip
        ops = _ops(q, k, q @ k.T if cfg.store else None, index_args)
        ctx.cfg = cfg
        ctx.shared_k = k_or_none is None
        if cfg.multi_positive:
            scale0 = inv_tau if cfg.inv_tau is None else cfg.inv_tau
            multi, rows = _forward_multi(ops, inv_tau, cfg, scale0)
            ctx.save_for_backward(
                q, k_or_none, inv_tau, ops.stored, *index_args, rows.shift, multi.coef1,
                multi.coef2, multi.tau_coef, multi.log_ng, multi.pos_lse, multi.pos_share,
                multi.inv_count,
            )  # fmt: skip
            ctx.mark_non_differentiable(multi.clamped, rows.num, multi.pos_count)
            return multi.loss, multi.clamped, rows.num, multi.pos_count

        counting = any(x is not None for x in (self_idx, row_labels, row_groups, neg_mask))
        single = _forward_single(ops, inv_tau, cfg, counting)
        ctx.save_for_backward(q, k_or_none, inv_tau, ops.stored, *index_args, single.pos,
                              *single.saved)  # fmt: skip
        num_pos = torch.ones_like(single.negatives)
        ctx.mark_non_differentiable(single.clamped, single.negatives, num_pos)
        return single.loss, single.clamped, single.negatives, num_pos

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor, *_: Tensor | None) -> tuple[Tensor | None, ...]:
        cfg: KernelConfig = ctx.cfg
        q, k_or_none, inv_tau, stored, *rest = ctx.saved_tensors
        index_args, rest = tuple(rest[:_N_INDEX_ARGS]), rest[_N_INDEX_ARGS:]
        k = q if k_or_none is None else k_or_none
        ops = _ops(q, k, stored, index_args)
        n, m = q.shape[0], k.shape[0]
        need_q, need_k, need_tau = ctx.needs_input_grad[:3]
        if ctx.shared_k:
            need_k = need_q
        scales = _scales(inv_tau, cfg)
        w = grad_loss[:n]

        col: tuple[Tensor, Tensor, Tensor] | None = None
        if cfg.multi_positive:
            r_shift, r_coef1, r_coef2, r_tau, log_ng, pos_lse, pos_share, inv_count = rest
            pos_w, share_w = inv_count * w, pos_share * w
            tau_extra = (r_tau * w).sum()
        else:
            pos, r_shift, r_coef1, r_coef2, r_pos, r_tau, *col_saved = rest
            pos_coef = r_pos * w
            tau_extra = (r_tau * w).sum()
            if cfg.dual:
                c_shift, c_coef1, c_coef2, c_pos, c_tau = col_saved
                wc = grad_loss[n:]
                col = (c_shift, c_coef1 * wc, c_coef2 * wc)
                pos_coef = pos_coef + c_pos * wc
                tau_extra = tau_extra + (c_tau * wc).sum()
            tau_extra = tau_extra + (pos_coef * pos).sum()
        row = (r_shift, r_coef1 * w, r_coef2 * w)

        dq = torch.empty_like(q) if need_q else None
        dk = torch.zeros_like(k) if need_k else None
        d_inv_tau = tau_extra if need_tau else None
        step = _tile_rows(n, m, cfg.chunk_size, q.device)
        rows_max = min(step, n)
        works = (q.new_empty(rows_max, m), q.new_empty(rows_max, m), q.new_empty(rows_max, m))
        sim = None if stored is not None else q.new_empty(rows_max, m)
        neg_inf = q.new_tensor(NEG_INF)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            raw = _raw_tile(ops, r0, r1, sim)
            if cfg.multi_positive:
                is_pos, is_neg = _multi_masks(ops, r0, r1, cfg)
                tile = torch.where(is_neg, raw, neg_inf)
            else:
                tile = raw
                if stored is None:
                    _mask_single_(tile, r0, r1, ops)
            grad = _negative_gradient(tile, r0, r1, row, col, works, scales, cfg)
            if cfg.multi_positive:
                # d loss / d l_p = -sigma_p / M - (G - S) softmax_p(l_p)
                lp = _positive_logits(raw, is_pos, inv_tau)
                sig = torch.sigmoid(torch.where(is_pos, log_ng[r0:r1, None] - lp, neg_inf))
                soft = torch.where(is_pos, (lp - pos_lse[r0:r1, None]).exp(), torch.zeros_like(lp))
                grad.sub_(sig.mul_(pos_w[r0:r1, None])).sub_(soft.mul_(share_w[r0:r1, None]))
                if d_inv_tau is not None:
                    d_inv_tau = d_inv_tau + torch.dot(grad.reshape(-1), raw.reshape(-1))
            else:
                if d_inv_tau is not None:
                    # sum_ij g_ij s_ij over the negatives; masked entries (-inf) have g = 0.
                    finite = torch.clamp(tile, min=-2.0, out=works[2][: r1 - r0])
                    d_inv_tau = d_inv_tau + torch.dot(grad.reshape(-1), finite.reshape(-1))
                if ops.pos_idx is not None:
                    grad.scatter_add_(1, ops.pos_idx[r0:r1, None], pos_coef[r0:r1, None])
            if dq is not None:
                torch.mm(grad, k, out=dq[r0:r1])
            if dk is not None:
                dk.addmm_(grad.T, q[r0:r1])

        if dq is not None:
            dq = dq * inv_tau
        if dk is not None:
            dk = dk * inv_tau
        if ctx.shared_k and dq is not None and dk is not None:
            dq, dk = dq + dk, None
        return (dq, dk, d_inv_tau, *([None] * (_N_INDEX_ARGS + 1)))


def _ops(
    q: Tensor, k: Tensor, stored: Tensor | None, index_args: tuple[Tensor | None, ...]
) -> _Operands:
    pos_idx, pos_mask, self_idx, row_labels, col_labels, row_groups, col_groups, neg_mask = (
        index_args
    )
    return _Operands(
        q, k, stored, pos_idx, pos_mask, self_idx, row_labels,
        row_labels if col_labels is None else col_labels,
        row_groups, row_groups if col_groups is None else col_groups, neg_mask,
    )  # fmt: skip


class KernelOutput(NamedTuple):
    """Per-anchor outputs of `contrastive_kernel`."""

    loss: Tensor
    clamped: Tensor
    num_negatives: Tensor
    num_positives: Tensor


def contrastive_kernel(
    q: Tensor,
    k: Tensor,
    inv_tau: Tensor,
    cfg: KernelConfig,
    *,
    pos_idx: Tensor | None = None,
    pos_mask: Tensor | None = None,
    self_idx: Tensor | None = None,
    row_labels: Tensor | None = None,
    col_labels: Tensor | None = None,
    row_groups: Tensor | None = None,
    col_groups: Tensor | None = None,
    neg_mask: Tensor | None = None,
) -> KernelOutput:
    """Per-anchor terms for the rows (and, with ``cfg.dual``, the columns) of ``q kᵀ``.

    ``q`` and ``k`` must already be L2-normalised and in the compute dtype. ``pos_idx[i]`` is
    the column of row ``i``'s positive; in multi-positive mode ``pos_mask`` (``n x m`` bool)
    and equal labels (``cfg.labels_positive``) add positives. ``self_idx[i]`` is a column that
    is neither positive nor negative; equal ``row/col_labels`` (exclusion mode) and equal
    ``row/col_groups`` remove pairs from the negatives; ``neg_mask`` keeps only the pairs
    marked ``True`` as candidate negatives.
    """
    k_arg = None if k is q else k
    col_labels_arg = None if col_labels is row_labels else col_labels
    col_groups_arg = None if col_groups is row_groups else col_groups
    loss, clamped, count, num_pos = _ContrastiveFunction.apply(  # type: ignore[no-untyped-call]
        q, k_arg, inv_tau, pos_idx, pos_mask, self_idx, row_labels, col_labels_arg, row_groups,
        col_groups_arg, neg_mask, cfg,
    )  # fmt: skip
    return KernelOutput(loss, clamped, count, num_pos)
