"""The tiled contrastive-loss kernel shared by every loss in this package.

One custom :class:`torch.autograd.Function` evaluates the hard-negative estimator of
Robinson et al. (which contains the debiased loss of Chuang et al. at ``beta = 0`` and
InfoNCE / NT-Xent at ``beta = 0, tau_plus = 0``) for every row of a similarity matrix
``S = q @ k.T`` between L2-normalised rows, and optionally for every column as well (the
symmetric cross-modal loss computes both directions from one matrix).

Per anchor with positive logit ``p`` and ``K`` negative logits ``l_j`` (logit = cosine / tau)::

    log R  = log K + LSE_j((1 + beta) l_j) - LSE_j(beta l_j)
    Ng     = (R - tau_plus K e^p) / (1 - tau_plus),   floored at K e^(-1/tau) (``clamp``)
    loss   = -log(e^p / (e^p + Ng)) = softplus(log Ng - p)

Everything is computed in log space. Masked entries (the positive, self-similarity, same-label
pairs) are set to ``-inf`` *before* any exponential, and each row (column) is shifted by its
own maximum over the negatives, so nothing overflows in any dtype. The gradient is written out
in closed form (see ``_anchor_terms``) and evaluated tile by tile in ``backward``:

* ``store=True`` keeps ``S`` (one ``n x m`` buffer) and reuses it in backward: three GEMMs in
  total, the same as the bare matmul floor.
* ``store=False`` keeps nothing of size ``n x m``: the tiles of ``S`` are recomputed in
  backward (one extra GEMM), so memory is ``O(tile_rows * m)``.

Column statistics are accumulated with an online (rescaled) log-sum-exp over the row tiles.
No Python value depends on tensor data: there is no host synchronisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

__all__ = ["KernelConfig", "KernelOutput", "contrastive_kernel", "fixed_shift_is_safe"]

_NEG_INF = float("-inf")
# Elements per tile: about 8 MB of float32 on CPU (stays in the last-level cache); much larger
# on accelerators, where each tile costs kernel launches rather than cache misses.
_TILE_ELEMENTS_CPU = 1 << 21
_TILE_ELEMENTS_ACCELERATOR = 1 << 26


@dataclass(frozen=True)
class KernelConfig:
    """Static (non-tensor) settings of one kernel call.

    Attributes:
        beta: hardness concentration (``0`` disables the reweighting).
        tau_plus: class prior of the debiasing term, in ``[0, 1)``.
        clamp: floor the negative estimate at ``K * exp(-1/tau)``.
        dual: also treat every column as an anchor (requires a square matrix whose positives
            are on the diagonal).
        store: keep the similarity matrix for backward instead of recomputing it.
        chunk_size: upper bound on the rows of one tile (``None``: chosen from the size).
        fixed_shift: shift every row and column by the largest possible cosine, 1, instead of
            by its own maximum. Exact, and one exponential then serves both directions, but
            only safe while ``exp(-2 (1 + beta) / tau)`` cannot underflow: use
            :func:`fixed_shift_is_safe`.
        inv_tau: ``1 / tau`` as a Python float when the temperature is a constant (faster
            scaling); ``None`` for a tensor temperature.
    """

    beta: float
    tau_plus: float
    clamp: bool
    dual: bool
    store: bool
    chunk_size: int | None
    fixed_shift: bool = False
    inv_tau: float | None = None


# The smallest term of a sum shifted by the bound is exp(-2 (1 + beta) / tau); keep it above
# ~1e-26 so that float32 sums of millions of such terms stay far from the subnormal range.
_MAX_FIXED_SHIFT_RANGE = 60.0


def fixed_shift_is_safe(inv_tau: float, beta: float) -> bool:
    """Whether ``KernelConfig.fixed_shift`` is exact for this temperature and ``beta``."""
    return 2.0 * (1.0 + beta) * inv_tau <= _MAX_FIXED_SHIFT_RANGE


class _AnchorTerms(NamedTuple):
    """Per-anchor loss terms and the closed-form gradient coefficients."""

    loss: Tensor
    clamped: Tensor
    shift: Tensor  # per-anchor cosine shift (finite)
    coef1: Tensor  # d loss / d l_j = coef1 * exp((1+beta)(l_j - shift/tau)) - coef2 * exp(...)
    coef2: Tensor
    pos_coef: Tensor  # d loss / d p (p = positive logit)
    tau_coef: Tensor  # extra d loss / d(1/tau) of clamped anchors


def _tile_rows(n: int, m: int, chunk_size: int | None, device: torch.device) -> int:
    if torch.compiler.is_compiling():
        # A traced loop is unrolled: keep the graph small.
        return n if chunk_size is None else min(n, chunk_size)
    budget = _TILE_ELEMENTS_CPU if device.type == "cpu" else _TILE_ELEMENTS_ACCELERATOR
    rows = max(1, min(n, budget // max(m, 1)))
    return rows if chunk_size is None else min(rows, chunk_size)


class _Operands(NamedTuple):
    """Everything that defines the masked similarity matrix."""

    q: Tensor
    k: Tensor
    stored: Tensor | None
    pos_idx: Tensor
    self_idx: Tensor | None
    row_labels: Tensor | None
    col_labels: Tensor | None
    neg_mask: Tensor | None


def _mask_tile_(tile: Tensor, r0: int, r1: int, ops: _Operands) -> None:
    """Set every entry of rows ``r0:r1`` that is not a candidate negative to ``-inf``."""
    tile.scatter_(1, ops.pos_idx[r0:r1, None], _NEG_INF)
    if ops.self_idx is not None:
        tile.scatter_(1, ops.self_idx[r0:r1, None], _NEG_INF)
    if ops.row_labels is not None and ops.col_labels is not None:
        tile.masked_fill_(ops.row_labels[r0:r1, None] == ops.col_labels[None, :], _NEG_INF)
    if ops.neg_mask is not None:
        tile.masked_fill_(~ops.neg_mask[r0:r1], _NEG_INF)


def _tile(ops: _Operands, r0: int, r1: int, buffer: Tensor | None) -> Tensor:
    """Rows ``r0:r1`` of the masked ``S``: a view of the stored matrix, or recomputed."""
    if ops.stored is not None:
        return ops.stored[r0:r1]
    if buffer is None:
        tile = ops.q[r0:r1] @ ops.k.T
    else:
        tile = torch.mm(ops.q[r0:r1], ops.k.T, out=buffer[: r1 - r0])
    _mask_tile_(tile, r0, r1, ops)
    return tile


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


def _anchor_terms(
    shift: Tensor,
    sum1: Tensor,
    sum2: Tensor | None,
    count: Tensor,
    pos: Tensor,
    inv_tau: Tensor,
    cfg: KernelConfig,
) -> _AnchorTerms:
    """Loss and gradient coefficients of each anchor from its reduced statistics.

    ``shift`` is the anchor's maximum negative cosine (``-inf`` without negatives), ``sum1`` is
    ``sum_j exp((1+beta)(l_j - shift/tau))``, ``sum2`` the same with ``beta`` (``None`` when
    ``beta == 0``), ``count`` the number of negatives ``K`` and ``pos`` the positive cosine.
    """
    beta, tau_plus = cfg.beta, cfg.tau_plus
    valid = count > 0
    shift = torch.where(valid, shift, torch.zeros_like(shift))
    log_k = count.to(shift.dtype).log()
    one = torch.ones_like(sum1)
    log_sum1 = torch.where(valid, sum1, one).log()
    log_r = shift * inv_tau + log_sum1
    if sum2 is not None:
        log_r = log_r + log_k - torch.where(valid, sum2, one).log()
    log_r = torch.where(valid, log_r, torch.full_like(log_r, _NEG_INF))
    lp = pos * inv_tau

    if tau_plus > 0.0:
        # x = tau_plus * K * e^p / R, the share of the estimate removed by the debiasing.
        log_x = torch.where(valid, log_k + lp - log_r, torch.full_like(lp, _NEG_INF))
        log_x = log_x + math.log(tau_plus)
        log_one_minus_x = torch.log1p(-log_x.clamp(max=0.0).exp())
        log_ng = log_r + log_one_minus_x - math.log1p(-tau_plus)
    else:
        log_ng = log_r

    if cfg.clamp:
        log_floor = log_k - inv_tau
        unclamped = log_ng > log_floor
        log_ng = torch.where(unclamped, log_ng, log_floor)
    else:
        unclamped = log_ng > _NEG_INF
    z = log_ng - lp
    # Exact softplus (F.softplus switches to the identity above 20, a 2e-9 error).
    loss = z.clamp(min=0.0) + torch.log1p(torch.exp(-z.abs()))
    clamped = valid & ~unclamped

    # d loss / d p = -R / ((1 - tau_plus)(e^p + Ng)) when unclamped, -sigmoid(z) when clamped;
    # d loss / d l_j = g * ((1 + beta) pi1_j - beta pi2_j) with g the first quantity's magnitude.
    log_g = log_r - lp - loss
    if tau_plus > 0.0:
        log_g = log_g - math.log1p(-tau_plus)
    g = torch.where(unclamped, log_g.exp(), torch.zeros_like(lp))
    sig = torch.sigmoid(z)
    pos_coef = torch.where(unclamped, -g, -sig)
    coef1 = g * (1.0 + beta) / torch.where(unclamped, sum1, one)
    coef2 = (
        g * beta / torch.where(unclamped, sum2, one) if sum2 is not None else torch.zeros_like(g)
    )
    tau_coef = torch.where(clamped, -sig, torch.zeros_like(sig))
    return _AnchorTerms(loss, clamped, shift, coef1, coef2, pos_coef, tau_coef)


class _ContrastiveFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        q: Tensor,
        k_or_none: Tensor | None,
        inv_tau: Tensor,
        pos_idx: Tensor,
        self_idx: Tensor | None,
        row_labels: Tensor | None,
        col_labels: Tensor | None,
        neg_mask: Tensor | None,
        cfg: KernelConfig,
    ) -> tuple[Tensor, Tensor, Tensor]:
        # Dynamo cannot trace one tensor passed as two inputs: shared operands arrive as None.
        k = q if k_or_none is None else k_or_none
        if col_labels is None:
            col_labels = row_labels
        n, m = q.shape[0], k.shape[0]
        dtype, device = q.dtype, q.device
        beta = cfg.beta
        scale1, scale2 = _scales(inv_tau, cfg)
        counting = row_labels is not None or neg_mask is not None or self_idx is not None

        stored: Tensor | None = None
        if cfg.store:
            stored = q @ k.T
            pos = stored.gather(1, pos_idx[:, None]).squeeze(1)
        else:
            pos = (q * k[pos_idx]).sum(1)
        ops = _Operands(q, k, stored, pos_idx, self_idx, row_labels, col_labels, neg_mask)

        row_shift = torch.ones(n, dtype=dtype, device=device)
        row_sum1 = torch.empty(n, dtype=dtype, device=device)
        row_sum2 = torch.empty(n, dtype=dtype, device=device) if beta > 0 else None
        row_count = torch.full((n,), m - 1, dtype=torch.long, device=device)
        col_shift = torch.full(
            (m,), 1.0 if cfg.fixed_shift else _NEG_INF, dtype=dtype, device=device
        )
        col_sum1 = torch.zeros(m, dtype=dtype, device=device)
        col_sum2 = torch.zeros(m, dtype=dtype, device=device) if beta > 0 else None
        col_count = torch.full((m,), n - 1, dtype=torch.long, device=device)
        if counting and cfg.dual:
            col_count.zero_()

        step = _tile_rows(n, m, cfg.chunk_size, device)
        work = q.new_empty(min(step, n), m)
        sim = None if stored is not None else q.new_empty(min(step, n), m)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            if stored is not None:
                _mask_tile_(stored[r0:r1], r0, r1, ops)
            tile = _tile(ops, r0, r1, sim)
            if counting:
                keep = tile > _NEG_INF
                row_count[r0:r1] = keep.sum(1)
                if cfg.dual:
                    col_count += keep.sum(0)

            if cfg.fixed_shift:
                # Shifted by the bound: one exponential serves rows and columns.
                e = _exp_into(work, tile, None, scale1, 1)
                row_sum1[r0:r1] = e.sum(1)
                if cfg.dual:
                    col_sum1.add_(e.sum(0))
                if row_sum2 is not None and col_sum2 is not None:
                    e = _exp_into(work, tile, None, scale2, 1)
                    row_sum2[r0:r1] = e.sum(1)
                    if cfg.dual:
                        col_sum2.add_(e.sum(0))
                continue

            shift = tile.amax(1)
            safe = torch.where(shift > _NEG_INF, shift, torch.zeros_like(shift))
            row_shift[r0:r1] = shift
            row_sum1[r0:r1] = _exp_into(work, tile, safe, scale1, 1).sum(1)
            if row_sum2 is not None:
                row_sum2[r0:r1] = _exp_into(work, tile, safe, scale2, 1).sum(1)
            if cfg.dual:
                # Online log-sum-exp over the row tiles; a -inf old shift gives a factor of 0.
                new_shift = torch.maximum(col_shift, tile.amax(0))
                new_safe = torch.where(new_shift > _NEG_INF, new_shift, torch.zeros_like(new_shift))
                col_sum1.mul_(torch.exp(scale1 * (col_shift - new_safe)))
                col_sum1.add_(_exp_into(work, tile, new_safe, scale1, 0).sum(0))
                if col_sum2 is not None:
                    col_sum2.mul_(torch.exp(scale2 * (col_shift - new_safe)))
                    col_sum2.add_(_exp_into(work, tile, new_safe, scale2, 0).sum(0))
                col_shift = new_shift

        rows = _anchor_terms(row_shift, row_sum1, row_sum2, row_count, pos, inv_tau, cfg)
        losses, clamped, counts = [rows.loss], [rows.clamped], [row_count]
        if cfg.dual:
            cols = _anchor_terms(col_shift, col_sum1, col_sum2, col_count, pos, inv_tau, cfg)
            losses.append(cols.loss)
            clamped.append(cols.clamped)
            counts.append(col_count)
            col_saved: tuple[Tensor | None, ...] = (
                cols.shift,
                cols.coef1,
                cols.coef2,
                cols.pos_coef,
                cols.tau_coef,
            )
        else:
            col_saved = (None, None, None, None, None)

        ctx.cfg = cfg
        ctx.shared_k = k_or_none is None
        ctx.save_for_backward(
            q,
            k_or_none,
            inv_tau,
            stored,
            pos,
            pos_idx,
            self_idx,
            row_labels,
            col_labels,
            neg_mask,
            rows.shift,
            rows.coef1,
            rows.coef2,
            rows.pos_coef,
            rows.tau_coef,
            *col_saved,
        )
        loss = torch.cat(losses)
        clamp_mask = torch.cat(clamped)
        count = torch.cat(counts)
        ctx.mark_non_differentiable(clamp_mask, count)
        return loss, clamp_mask, count

    @staticmethod
    def backward(
        ctx: Any, grad_loss: Tensor, _grad_clamped: Tensor | None, _grad_count: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        cfg: KernelConfig = ctx.cfg
        (
            q,
            k_or_none,
            inv_tau,
            stored,
            pos,
            pos_idx,
            self_idx,
            row_labels,
            col_labels,
            neg_mask,
            r_shift,
            r_coef1,
            r_coef2,
            r_pos,
            r_tau,
            c_shift,
            c_coef1,
            c_coef2,
            c_pos,
            c_tau,
        ) = ctx.saved_tensors
        k = q if k_or_none is None else k_or_none
        if col_labels is None:
            col_labels = row_labels
        n, m = q.shape[0], k.shape[0]
        beta = cfg.beta
        scale1, scale2 = _scales(inv_tau, cfg)
        need_q, need_k, need_tau = ctx.needs_input_grad[:3]
        if ctx.shared_k:
            need_q = need_k = need_q

        w_rows = grad_loss[:n]
        r_coef1 = r_coef1 * w_rows
        r_coef2 = r_coef2 * w_rows
        pos_coef = r_pos * w_rows
        tau_extra = (r_tau * w_rows).sum()
        if cfg.dual:
            w_cols = grad_loss[n:]
            c_coef1 = c_coef1 * w_cols
            c_coef2 = c_coef2 * w_cols
            pos_coef = pos_coef + c_pos * w_cols
            tau_extra = tau_extra + (c_tau * w_cols).sum()

        dq = torch.empty_like(q) if need_q else None
        dk = torch.zeros_like(k) if need_k else None
        d_inv_tau = (pos_coef * pos).sum() + tau_extra if need_tau else None

        ops = _Operands(q, k, stored, pos_idx, self_idx, row_labels, col_labels, neg_mask)
        step = _tile_rows(n, m, cfg.chunk_size, q.device)
        rows = min(step, n)
        work1, work2 = q.new_empty(rows, m), q.new_empty(rows, m)
        work3 = q.new_empty(rows, m) if beta > 0 or need_tau else None
        sim = None if stored is not None else q.new_empty(rows, m)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            tile = _tile(ops, r0, r1, sim)
            grad = _exp_into(work1, tile, None if cfg.fixed_shift else r_shift[r0:r1], scale1, 1)
            if cfg.fixed_shift:
                # d loss / d l_ij = (rc1_i + cc1_j) e1_ij - (rc2_i + cc2_j) e2_ij
                grad.mul_(_coefficients(work2, r_coef1[r0:r1], c_coef1 if cfg.dual else None))
                if beta > 0 and work3 is not None:
                    e2 = _exp_into(work3, tile, None, scale2, 1)
                    e2.mul_(_coefficients(work2, r_coef2[r0:r1], c_coef2 if cfg.dual else None))
                    grad.sub_(e2)
            else:
                grad.mul_(r_coef1[r0:r1, None])
                if beta > 0:
                    e = _exp_into(work2, tile, r_shift[r0:r1], scale2, 1)
                    grad.sub_(e.mul_(r_coef2[r0:r1, None]))
                if cfg.dual:
                    e = _exp_into(work2, tile, c_shift, scale1, 0)
                    grad.add_(e.mul_(c_coef1[None, :]))
                    if beta > 0:
                        e = _exp_into(work2, tile, c_shift, scale2, 0)
                        grad.sub_(e.mul_(c_coef2[None, :]))
            if d_inv_tau is not None and work3 is not None:
                # sum_ij g_ij s_ij over the negatives; masked entries (-inf) have g = 0.
                finite = torch.clamp(tile, min=-2.0, out=work3[: r1 - r0])
                d_inv_tau = d_inv_tau + torch.dot(grad.reshape(-1), finite.reshape(-1))
            grad.scatter_add_(1, pos_idx[r0:r1, None], pos_coef[r0:r1, None])
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
        return dq, dk, d_inv_tau, None, None, None, None, None, None


class KernelOutput(NamedTuple):
    """Per-anchor outputs of :func:`contrastive_kernel`."""

    loss: Tensor
    clamped: Tensor
    num_negatives: Tensor


def contrastive_kernel(
    q: Tensor,
    k: Tensor,
    inv_tau: Tensor,
    pos_idx: Tensor,
    cfg: KernelConfig,
    *,
    self_idx: Tensor | None = None,
    row_labels: Tensor | None = None,
    col_labels: Tensor | None = None,
    neg_mask: Tensor | None = None,
) -> KernelOutput:
    """Per-anchor hard-negative terms for the rows (and, with ``cfg.dual``, columns) of ``q kᵀ``.

    ``q`` and ``k`` must already be L2-normalised and in the compute dtype. ``pos_idx[i]`` is
    the column of row ``i``'s positive; ``self_idx[i]`` a column to exclude as well;
    ``row_labels``/``col_labels`` exclude same-label pairs; ``neg_mask`` (``n x m`` bool) keeps
    only the pairs marked ``True`` as candidate negatives.
    """
    k_arg = None if k is q else k
    col_arg = None if col_labels is row_labels else col_labels
    loss, clamped, count = _ContrastiveFunction.apply(  # type: ignore[no-untyped-call]
        q, k_arg, inv_tau, pos_idx, self_idx, row_labels, col_arg, neg_mask, cfg
    )
    return KernelOutput(loss, clamped, count)
