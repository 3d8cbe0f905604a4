"""The two-stage recipe: contrastive pre-training, then shared + modality-specific fine-tuning.

Stage 2 (`TwoStageClassifier`) is **project design, not from the CLMM paper; inferred
from Cosmo and the abstract** (``docs/fusion.md``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from itertools import combinations
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_choice,
    check_modality_dims,
    check_present,
    checking,
)
from mmcontrast._ops import unsqueeze_as
from mmcontrast.fusion import (
    BidirectionalGRUFusion,
    GatedMultimodalUnitFusion,
    QualityGuidedAttention,
)
from mmcontrast.fusion.functional import mask_features, pool_tokens, scale_features
from mmcontrast.heads import PrimaryAuxiliaryHead, PrimaryAuxiliaryLogits
from mmcontrast.recipes.fast import autocast, check_autocast_dtype, to_float32
from mmcontrast.recipes.fine_tune import _parameter_groups, encode, freeze, module_dict

__all__ = [
    "Auxiliary",
    "ContrastivePretrainer",
    "TwoStageClassifier",
    "build_two_stage_classifier",
]

Auxiliary = Literal["streams", "modalities"]
AUXILIARY: tuple[str, ...] = ("streams", "modalities")
GateFusion = BidirectionalGRUFusion | GatedMultimodalUnitFusion
GATES = (BidirectionalGRUFusion, GatedMultimodalUnitFusion)


class ContrastivePretrainer(nn.Module):
    """Stage 1: shared encoders and projection heads trained by a pairwise contrastive loss.

    For every pair of modalities ``(a, b)`` (in the order of ``encoders``) the loss is
    ``criterion(project_a(encode_a(x_a)), project_b(encode_b(x_b)))``; with more than two
    modalities the pairs are averaged (CMC's "full graph"). Any ``criterion(a, b) -> scalar``
    fits, e.g. `mmcontrast.losses.InfoNCE` (CMC) or
    `mmcontrast.losses.HardNegativeLoss` (the hard-negative paper). For SimCLR on one
    modality use `mmcontrast.recipes.SimCLRPretrainer`: two views given here as two entries
    sharing one encoder run one forward per view, so BatchNorm normalises each view with its
    own batch statistics.

    Args:
        encoders: ``modality -> encoder`` mapping ``"b ..."`` to ``"b d_m"``.
        projections: ``modality -> head`` mapping ``"b d_m"`` to ``"b e"`` (one ``e`` for
            all), e.g. `mmcontrast.heads.ProjectionHead`.
        criterion: the pairwise loss.
        autocast_dtype: ``torch.bfloat16`` (or ``torch.float16``) runs the encoders and
            projection heads under ``torch.autocast`` on the inputs' device and returns their
            embeddings in float32, so the loss is computed in float32; parameters, gradients
            and optimiser state stay float32. ``None`` (default): no autocast. The fast path
            of `mmcontrast.recipes.prepare_fast_training`.

    Shapes:
        inputs[m]: ``"b ..."``; output: ``""``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.heads import ProjectionHead
        >>> from mmcontrast.losses import HardNegativeLoss
        >>> from mmcontrast.recipes import ContrastivePretrainer, pretrain_step
        >>> model = ContrastivePretrainer(
        ...     {"inertial": nn.Sequential(nn.Flatten(), nn.Linear(300, 64)),
        ...      "skeleton": nn.Sequential(nn.Flatten(), nn.Linear(3000, 32))},
        ...     {"inertial": ProjectionHead(64), "skeleton": ProjectionHead(32)},
        ...     HardNegativeLoss(temperature=0.1, beta=1.0, tau_plus=0.037),
        ... )
        >>> optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        >>> batch = {"inertial": torch.randn(16, 50, 6), "skeleton": torch.randn(16, 50, 20, 3)}
        >>> pretrain_step(model, batch, optimizer).shape
        torch.Size([])
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module] | nn.ModuleDict,
        projections: Mapping[str, nn.Module] | nn.ModuleDict,
        criterion: Callable[[Tensor, Tensor], Tensor],
        *,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("ContrastivePretrainer"):
            self.autocast_dtype = check_autocast_dtype(autocast_dtype)
            self.encoders = module_dict("encoders", encoders)
            self.projections = module_dict("projections", projections)
        if list(self.projections) != list(self.encoders):
            raise ValueError(
                f"ContrastivePretrainer: projections must name the modalities of encoders "
                f"{list(self.encoders)} in the same order, got {list(self.projections)}"
            )
        if len(self.encoders) < 2:
            raise ValueError(
                "ContrastivePretrainer: contrastive pre-training needs at least two modalities "
                f"or views, got {list(self.encoders)}"
            )
        if not callable(criterion):
            raise TypeError(
                f"ContrastivePretrainer: criterion must be callable, got {type(criterion).__name__}"
            )
        if len(self.encoders) > 2 and getattr(criterion, "queue", None) is not None:
            raise ValueError(
                f"ContrastivePretrainer: a criterion with an EmbeddingQueue cannot serve "
                f"{len(self.encoders)} modalities: every pair would push into the one queue"
            )
        self.criterion = criterion

    def embed(
        self, inputs: Mapping[str, Tensor], *, masks: Mapping[str, Tensor] | None = None
    ) -> dict[str, Tensor]:
        """The projected embeddings of every modality.

        Shapes:
            inputs[m]: ``"b ..."``; masks[m]: ``"b t"``; output[m]: ``"b e"`` (float32 under
            ``autocast_dtype``).
        """
        like = next(iter(inputs.values()), None) if isinstance(inputs, Mapping) else None
        with checking(type(self).__name__):
            with autocast(self.autocast_dtype, like):
                features = encode(self.encoders, inputs, masks=masks)
                z = {m: self.projections[m](h) for m, h in features.items()}
        return {m: to_float32(self.autocast_dtype, v) for m, v in z.items()}

    def forward(
        self, inputs: Mapping[str, Tensor], *, masks: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """The contrastive loss, averaged over the pairs of modalities.

        Shapes:
            inputs[m]: ``"b ..."``; masks[m]: ``"b t"`` padding masks; output: ``""``.
        """
        z = self.embed(inputs, masks=masks)
        losses = [self.criterion(z[a], z[b]) for a, b in combinations(self.encoders, 2)]
        return losses[0] if len(losses) == 1 else torch.stack(losses).mean()

    def extra_repr(self) -> str:
        """The autocast dtype, when set, for ``repr``."""
        return "" if self.autocast_dtype is None else f"autocast_dtype={self.autocast_dtype}"


class TwoStageClassifier(nn.Module):
    """Stage 2: frozen shared encoders plus trainable modality-specific branches.

    **Project design, not from the CLMM paper; inferred from Cosmo and the abstract.**

    * shared stream: the stage-1 encoders (frozen), ``s = [s_1 ; ... ; s_M]``;
    * specific stream: each modality's trainable branch ``h_m``, weighted by
      `mmcontrast.fusion.QualityGuidedAttention` (``w_m * h_m``) and fused by
      `mmcontrast.fusion.BidirectionalGRUFusion` (or
      `mmcontrast.fusion.GatedMultimodalUnitFusion`) into ``g``;
    * `mmcontrast.heads.PrimaryAuxiliaryHead`: the primary classifier on
      ``[s ; g]``; auxiliary classifiers on ``{"shared": s, "specific": g}``
      (``auxiliary="streams"``) or on each modality's pooled branch output
      (``"modalities"``). Train with `mmcontrast.recipes.finetune_step`
      (``CE(primary) + alpha * mean CE(auxiliary)``); predict with the primary logits.

    `build_two_stage_classifier` assembles it with the project defaults.

    Args:
        shared: ``modality -> encoder`` (``"b ..."`` to ``"b d_m"``), the stage-1 encoders.
        branches: ``modality -> module`` (``"b ..."`` to ``"b d'_m"`` or ``"b t d'_m"``),
            trainable, e.g. a ``copy.deepcopy`` of the stage-1 encoder or a fresh network.
        attention: over the branch outputs (its ``dims`` are the branch sizes).
        gate: over the weighted branch outputs (same ``dims``).
        head: ``in_features = sum d_m + gate.out_features``; its auxiliary streams as above.
        auxiliary: ``"streams"`` or ``"modalities"``.
        freeze_shared: `mmcontrast.recipes.freeze` the shared encoders (in place).
            ``False`` fine-tunes them; see `parameter_groups` for a lower rate.

    Shapes:
        inputs[m]: ``"b ..."``; present[m]: ``"b"``; output: a
        `mmcontrast.heads.PrimaryAuxiliaryLogits` of ``"b num_classes"`` tensors.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.recipes import build_two_stage_classifier
        >>> shared = {"inertial": nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 32)),
        ...           "skeleton": nn.Sequential(nn.Flatten(), nn.Linear(50 * 60, 32))}
        >>> model = build_two_stage_classifier(shared, {"inertial": 32, "skeleton": 32}, 27)
        >>> out = model({"inertial": torch.randn(4, 50, 6), "skeleton": torch.randn(4, 50, 60)})
        >>> out.primary.shape, sorted(out.auxiliary)
        (torch.Size([4, 27]), ['shared', 'specific'])
    """

    def __init__(
        self,
        shared: Mapping[str, nn.Module] | nn.ModuleDict,
        branches: Mapping[str, nn.Module] | nn.ModuleDict,
        attention: QualityGuidedAttention,
        gate: GateFusion,
        head: PrimaryAuxiliaryHead,
        *,
        auxiliary: Auxiliary = "streams",
        freeze_shared: bool = True,
    ) -> None:
        super().__init__()
        with checking("TwoStageClassifier"):
            self.shared = module_dict("shared", shared)
            self.branches = module_dict("branches", branches)
            modalities = list(self.shared)
            self.auxiliary: Auxiliary = auxiliary
            check_choice("auxiliary", auxiliary, AUXILIARY)
            if not isinstance(attention, QualityGuidedAttention):
                raise TypeError(
                    f"attention must be a QualityGuidedAttention, got {type(attention).__name__}"
                )
            if not isinstance(gate, GATES):
                raise TypeError(
                    f"gate must be a BidirectionalGRUFusion or a "
                    f"GatedMultimodalUnitFusion, got {type(gate).__name__}"
                )
            if not isinstance(head, PrimaryAuxiliaryHead):
                raise TypeError(f"head must be a PrimaryAuxiliaryHead, got {type(head).__name__}")
            if set(self.branches) != set(modalities):
                raise ValueError(
                    f"branches must name the modalities of shared {modalities}, "
                    f"got {list(self.branches)}"
                )
            if set(attention.dims) != set(modalities) or gate.dims != attention.dims:
                raise ValueError(
                    "attention.dims and gate.dims must both give the branch "
                    f"output sizes of {modalities}, got {attention.dims} and {gate.dims}"
                )
            aux = head.auxiliary_dims
            if auxiliary == "modalities":
                fits = aux == attention.dims
                wanted = f"the branch sizes {attention.dims}"
            else:
                fits = set(aux) == {"shared", "specific"} and aux["specific"] == gate.out_features
                wanted = f"'shared' (the shared width) and 'specific' ({gate.out_features})"
            if not fits:
                raise ValueError(
                    f"with auxiliary={auxiliary!r} the head's auxiliary streams "
                    f"must be {wanted}, got {aux}"
                )
            self.attention = attention
            self.gate = gate
            self.head = head
            self.modalities = tuple(attention.modalities)
            self.freeze_shared = check_bool("freeze_shared", freeze_shared)
        if freeze_shared:
            freeze(self.shared)

    def train(self, mode: bool = True) -> TwoStageClassifier:
        """Set the training mode; frozen shared encoders stay in eval mode."""
        super().train(mode)
        if self.freeze_shared:
            self.shared.eval()
        return self

    def parameter_groups(self, lr: float, *, encoder_scale: float = 0.1) -> list[dict[str, Any]]:
        """Optimiser groups: the rest at ``lr``, the shared encoders at ``encoder_scale * lr``.

        Cosmo fine-tunes its encoders at 0.1 x the classifier's rate (1e-4 versus 1e-3).
        Frozen parameters are left out. Same keyword as `FineTuneClassifier.parameter_groups`.

        Args:
            lr: the branches' and the head's learning rate, > 0.
            encoder_scale: the encoders' rate relative to ``lr``, >= 0 (0.1 by default).

        Examples:
            ``torch.optim.Adam(model.parameter_groups(1e-3))``.
        """
        return _parameter_groups(self, self.shared, lr, encoder_scale=encoder_scale)

    def forward(
        self,
        inputs: Mapping[str, Tensor],
        *,
        present: Mapping[str, Tensor] | None = None,
        masks: Mapping[str, Tensor] | None = None,
    ) -> PrimaryAuxiliaryLogits:
        """Primary and auxiliary logits.

        Args:
            inputs: ``modality -> raw input``.
            present: ``modality -> "b"`` bool; a missing modality's input is a placeholder
                (replaced by zeros before the encoder and the branch) whose features get zero
                weight and zero gradient everywhere.
            masks: ``modality -> "b t"`` padding masks, passed to the shared encoders and to
                the branches (``module(x, mask=mask)``).

        Shapes:
            inputs[m]: ``"b ..."``; present[m]: ``"b"``; masks[m]: ``"b t"``; output fields:
            ``"b num_classes"``.
        """
        with checking("TwoStageClassifier"):
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_shared):
                shared = encode(self.shared, inputs, present, masks)
            first = shared[self.modalities[0]]
            mask = check_present(
                present,
                self.modalities,
                batch=first.shape[0],
                device=first.device,
            )
        shared_stream = torch.cat(mask_features([shared[m] for m in self.modalities], mask), dim=-1)
        raw = {m: inputs[m] for m in self.modalities}
        if mask is not None:
            raw = {
                m: torch.where(unsqueeze_as(mask[:, i], x), x, x.new_zeros(()))
                for i, (m, x) in enumerate(raw.items())
            }
        padding = masks or {}
        specific = {
            m: self.branches[m](raw[m], mask=padding[m])
            if m in padding
            else self.branches[m](raw[m])
            for m in self.modalities
        }
        weights = self.attention.weights(specific, present=present)
        weighted = scale_features(specific, weights, self.modalities)
        gated = self.gate(weighted, present=present)
        fused = torch.cat([shared_stream, gated], dim=-1)
        if fused.shape[-1] != self.head.in_features:
            raise ValueError(
                f"TwoStageClassifier: the head expects {self.head.in_features} fused features, got "
                f"{shared_stream.shape[-1]} shared + {gated.shape[-1]} specific"
            )
        if self.auxiliary == "streams":
            streams = {"shared": shared_stream, "specific": gated}
        else:
            pooled = mask_features([pool_tokens(specific[m]) for m in self.modalities], mask)
            streams = dict(zip(self.modalities, pooled, strict=True))
        logits: PrimaryAuxiliaryLogits = self.head(fused, streams)
        return logits

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return f"auxiliary={self.auxiliary!r}, freeze_shared={self.freeze_shared}"


def build_two_stage_classifier(
    shared: Mapping[str, nn.Module] | nn.ModuleDict,
    shared_dims: Mapping[str, int],
    num_classes: int,
    *,
    branches: Mapping[str, nn.Module] | nn.ModuleDict | None = None,
    branch_dims: Mapping[str, int] | None = None,
    hidden: int = 128,
    gate: Callable[..., GateFusion] = BidirectionalGRUFusion,
    quality: Mapping[str, float] | None = None,
    mix: float = 0.8,
    auxiliary: Auxiliary = "streams",
    freeze_shared: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> TwoStageClassifier:
    """Assemble a `TwoStageClassifier` with the project defaults (not from CLMM).

    ``branches=None`` makes each branch a trainable deep copy of its stage-1 encoder (its
    parameters require gradients even if the encoder was frozen before), so ``branch_dims``
    defaults to ``shared_dims``.
    Quality-guided attention with ``hidden``, the fixed prior ``quality`` (uniform if
    ``None``) and ``mix`` (Cosmo: 0.8); a ``gate`` fusion of width ``hidden``; a primary
    MLP ``-> hidden -> num_classes``.

    Args:
        shared: the stage-1 encoders, ``"b ..."`` to ``"b d_m"``.
        shared_dims: their output sizes.
        num_classes: number of classes.
        branches: modality-specific modules, or ``None`` for copies of ``shared``.
        branch_dims: their output sizes (required with ``branches``).
        hidden: width of the attention scorer, the gate and the primary MLP.
        gate: the gate fusion class (or a factory), called as
            ``gate(branch_dims, hidden=hidden, device=device, dtype=dtype)``:
            `mmcontrast.fusion.BidirectionalGRUFusion` (Bi-GRU over modality tokens, the
            default) or `mmcontrast.fusion.GatedMultimodalUnitFusion` (two-way gated units).
        quality: ``modality -> q_m``, e.g. from `mmcontrast.fusion.quality_prior`.
        mix: weight of the quality prior.
        auxiliary: ``"streams"`` or ``"modalities"``.
        freeze_shared: freeze the shared encoders.
        device: where the new modules' parameters are created.
        dtype: their parameter dtype.

    Shapes:
        inputs[m]: ``"b ..."``; output fields: ``"b num_classes"``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.recipes import build_two_stage_classifier
        >>> shared = {"inertial": nn.Sequential(nn.Flatten(), nn.Linear(300, 32)),
        ...           "skeleton": nn.Sequential(nn.Flatten(), nn.Linear(3000, 32))}
        >>> model = build_two_stage_classifier(shared, {"inertial": 32, "skeleton": 32}, 27,
        ...                                    quality={"inertial": 0.3, "skeleton": 0.7})
        >>> out = model({"inertial": torch.randn(4, 50, 6), "skeleton": torch.randn(4, 50, 20, 3)})
        >>> out.primary.shape, sorted(out.auxiliary)
        (torch.Size([4, 27]), ['shared', 'specific'])
    """
    if not callable(gate):
        raise TypeError(
            "build_two_stage_classifier: gate must be a fusion class such as "
            f"BidirectionalGRUFusion or GatedMultimodalUnitFusion, got {gate!r}"
        )
    with checking("build_two_stage_classifier"):
        shared_dims = check_modality_dims("shared_dims", shared_dims)
        if set(shared_dims) != set(shared):
            raise ValueError(
                "shared_dims must name the modalities of shared "
                f"{list(shared)}, got {list(shared_dims)}"
            )
        if branches is None:
            if branch_dims is not None:
                raise ValueError("branch_dims needs branches, got branches=None")
            branches = {m: copy.deepcopy(encoder) for m, encoder in shared.items()}
            for branch in branches.values():  # trainable even if the originals were frozen
                branch.requires_grad_(True).train()
            branch_dims = shared_dims
        elif branch_dims is None:
            raise ValueError("branches need branch_dims (their output sizes)")
        branch_dims = check_modality_dims("branch_dims", branch_dims)
    modalities = list(shared)
    ordered = {m: branch_dims[m] for m in modalities if m in branch_dims}
    if len(ordered) != len(branch_dims) or len(ordered) != len(modalities):
        raise ValueError(
            "build_two_stage_classifier: branch_dims must name the modalities of shared "
            f"{modalities}, got {list(branch_dims)}"
        )
    factory: dict[str, Any] = {"device": device, "dtype": dtype}
    attention = QualityGuidedAttention(ordered, hidden=hidden, quality=quality, mix=mix, **factory)
    fusion = gate(ordered, hidden=hidden, **factory)
    shared_width = sum(shared_dims.values())
    streams = (
        dict(ordered)
        if auxiliary == "modalities"
        else {"shared": shared_width, "specific": fusion.out_features}
    )
    head = PrimaryAuxiliaryHead(
        shared_width + fusion.out_features,
        streams,
        num_classes,
        hidden_features=(hidden,),
        **factory,
    )
    return TwoStageClassifier(
        shared,
        branches,
        attention,
        fusion,
        head,
        auxiliary=auxiliary,
        freeze_shared=freeze_shared,
    )
