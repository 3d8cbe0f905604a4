"""The pairwise losses' options, their one validation (at the public boundary), the engine call.

A public function or module checks everything here with its own name as the error prefix
(`PairwiseOptions.checked`, `check_batch`, `check_weights`); `compute_terms` and everything
below it assume checked input.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_chunk_size,
    check_finite_number,
    check_labels,
    check_pair,
    check_temperature,
)
from mmcontrast._ops import l2_normalize
from mmcontrast.losses._engine import (
    KernelConfig,
    KernelOutput,
    contrastive_kernel,
    fixed_shift_is_safe,
    reference_kernel,
)
from mmcontrast.losses._geometry import candidates, kernel_calls, rank_and_world
from mmcontrast.losses.queue import QueueState
from mmcontrast.losses.temperature import LearnableTemperature

Negatives = Literal["cross", "all"]
Reduction = Literal["mean", "sum", "none"]
LabelMode = Literal["exclude", "positive"]
Engine = Literal["tiled", "reference"]
NEGATIVES: tuple[str, ...] = ("cross", "all")
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
LABEL_MODES: tuple[str, ...] = ("exclude", "positive")
ENGINES: tuple[str, ...] = ("tiled", "reference")

Temperature = float | Tensor | LearnableTemperature


def checked_temperature(temperature: object, *, tensor_ok: bool) -> Temperature:
    """The one temperature check of the losses.

    Accepts a float > 0, a `LearnableTemperature` or, where ``tensor_ok`` (the pairwise
    functional forms), a 0-d floating tensor.
    """
    if isinstance(temperature, LearnableTemperature):
        return temperature
    checked = check_temperature(temperature)
    if isinstance(checked, Tensor) and not tensor_ok:
        raise TypeError(
            "temperature must be a float or a LearnableTemperature, got a tensor "
            "(the functional forms of the pairwise losses take a 0-d tensor)"
        )
    return checked


def inverse_temperature(temperature: Temperature, device: torch.device) -> Tensor:
    """``1 / tau`` as a tensor (a `LearnableTemperature` gives its clamped inverse directly)."""
    if isinstance(temperature, LearnableTemperature):
        return temperature.inverse()
    if isinstance(temperature, Tensor):
        return temperature.reciprocal()
    return torch.tensor(1.0 / temperature, dtype=torch.float64, device=device)


@dataclass(frozen=True)
class PairwiseOptions:
    """The hyperparameters of one pairwise loss (see `contrastive_terms` for each)."""

    temperature: Temperature
    beta: float
    tau_plus: float
    negatives: Negatives
    clamp: bool
    symmetric: bool
    reduction: Reduction  # (not used by `contrastive_terms`)
    label_mode: LabelMode
    chunk_size: int | None
    gather_distributed: bool
    engine: Engine

    def checked(self, *, tensor_temperature: bool) -> PairwiseOptions:
        """These options after the one check of each, run inside the caller's `checking` block."""
        for name in ("clamp", "symmetric", "gather_distributed"):
            check_bool(name, getattr(self, name))
        for name, choices in (("negatives", NEGATIVES), ("reduction", REDUCTIONS),
                              ("label_mode", LABEL_MODES), ("engine", ENGINES)):  # fmt: skip
            check_choice(name, getattr(self, name), choices)
        if self.negatives == "all" and not self.symmetric:
            raise ValueError(
                "symmetric=False is only defined for negatives='cross'; with "
                "negatives='all' every row of cat(a, b) is an anchor"
            )
        return replace(
            self,
            temperature=checked_temperature(self.temperature, tensor_ok=tensor_temperature),
            beta=check_finite_number("beta", self.beta, low=0.0),
            tau_plus=check_finite_number("tau_plus", self.tau_plus, low=0.0, high=1.0),
            chunk_size=check_chunk_size(self.chunk_size),
        )


OPTION_NAMES = tuple(field.name for field in fields(PairwiseOptions))


class Batch(NamedTuple):
    """The checked inputs of one call."""

    a: Tensor
    b: Tensor
    labels: Tensor | None
    groups: Tensor | None
    pos_mask: Tensor | None
    neg_mask: Tensor | None
    queue: QueueState | None
    rank: int
    world: int


def _check_mask(name: str, mask: object, shape: tuple[int, int], a: Tensor) -> None:
    if mask is None:
        return
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or None, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor, got dtype {mask.dtype}")
    if tuple(mask.shape) != shape:
        raise ValueError(
            f'{name} must have shape "b b" = {shape} (local anchors x candidates), '
            f"got {tuple(mask.shape)}"
        )
    if mask.device != a.device:
        raise ValueError(f"{name} must be on {a.device} like a and b, got {mask.device}")


def check_batch(
    a: Tensor,
    b: Tensor,
    *,
    labels: Tensor | None,
    groups: Tensor | None,
    pos_mask: Tensor | None,
    neg_mask: Tensor | None,
    queue: QueueState | None,
    gather_distributed: bool,
) -> Batch:
    """The one check of a call's tensors (shapes, dtypes, devices), in the caller's block."""
    a, b = check_pair(a, b)
    size = a.shape[0]
    labels = check_labels(labels, size, a.device)
    groups = check_labels(groups, size, a.device, name="groups")
    rank, world = rank_and_world() if gather_distributed else (0, 1)
    for name, mask in (("pos_mask", pos_mask), ("neg_mask", neg_mask)):
        _check_mask(name, mask, (size, size * world), a)
    if queue is not None and not isinstance(queue, QueueState):
        raise TypeError(f"queue must be a QueueState, got {type(queue).__name__}")
    return Batch(a, b, labels, groups, pos_mask, neg_mask, queue, rank, world)


def num_terms(batch: Batch, options: PairwiseOptions) -> int:
    """How many per-anchor terms a call returns."""
    one_way = options.negatives == "cross" and not options.symmetric
    return batch.a.shape[0] * (1 if one_way else 2)


def check_weights(weights: object, n: int) -> Tensor | None:
    """``None``, or floating weights for ``n`` anchor terms (``"(2b)"``, or ``"b"``: both ways)."""
    if weights is None:
        return None
    if not isinstance(weights, Tensor) or not weights.is_floating_point():
        got = weights.dtype if isinstance(weights, Tensor) else type(weights).__name__
        raise TypeError(f"weights must be a floating-point tensor, got {got}")
    if weights.ndim != 1 or weights.shape[0] not in (n, n / 2):
        raise ValueError(
            f'weights must have shape "b" or "(2b)" matching the {n} anchor terms, '
            f"got {tuple(weights.shape)}"
        )
    return weights


def reduce_values(
    values: Tensor, reduction: str, weights: Tensor | None, valid: Tensor | None
) -> Tensor:
    """Weight, then reduce; the mean is over the ``valid`` anchors (all when ``None``)."""
    if weights is not None:
        weights = weights.to(values.dtype)
        values = values * (weights if weights.shape[0] == values.shape[0] else weights.repeat(2))
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if valid is None:
        return values.mean()
    return values.sum() / valid.sum().clamp(min=1).to(values.dtype)


def compute_terms(batch: Batch, options: PairwiseOptions) -> KernelOutput:
    """Per-anchor terms of checked inputs: normalise, gather, then one engine call per block."""
    a, labels, groups = batch.a, batch.labels, batch.groups
    compute = torch.promote_types(a.dtype, torch.float32)
    temperature = options.temperature
    static_inv_tau = None if not isinstance(temperature, float) else 1.0 / temperature
    multi = batch.pos_mask is not None or (labels is not None and options.label_mode == "positive")
    cfg = KernelConfig(
        beta=options.beta,
        tau_plus=options.tau_plus,
        clamp=options.clamp,
        store=options.chunk_size is None,
        chunk_size=options.chunk_size,
        # A constant temperature bounds every logit, so one shift can serve rows and columns.
        fixed_shift=static_inv_tau is not None
        and fixed_shift_is_safe(static_inv_tau, options.beta),
        inv_tau=static_inv_tau,
        multi_positive=multi,
        labels_positive=options.label_mode == "positive",
    )
    kernel = contrastive_kernel if options.engine == "tiled" else reference_kernel
    with torch.autocast(device_type=a.device.type, enabled=False):
        za, zb = l2_normalize(a, compute), l2_normalize(batch.b, compute)
        cand = candidates(
            za, zb, labels, groups, rank=batch.rank, gather=options.gather_distributed
        )
        calls = kernel_calls(
            cand,
            negatives=options.negatives,
            symmetric=options.symmetric,
            dual_allowed=not (multi or options.gather_distributed or batch.neg_mask is not None),
            pos_mask=batch.pos_mask,
            neg_mask=batch.neg_mask,
            queue=batch.queue,
        )
        inv_tau = inverse_temperature(temperature, a.device).to(compute)
        outputs = [
            kernel(call.q, call.k, inv_tau, replace(cfg, dual=call.dual), call.masks)
            for call in calls
        ]
    if len(outputs) == 1:
        return outputs[0]
    return KernelOutput(*(torch.cat(parts) for parts in zip(*outputs, strict=True)))
