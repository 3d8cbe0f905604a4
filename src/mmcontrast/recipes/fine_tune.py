"""Fine-tuning after contrastive pre-training: frozen encoders and a classification head."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_finite_number,
    check_mask,
    check_modality_dims,
    check_modality_keys,
    check_present,
    checking,
)
from mmcontrast._ops import unsqueeze_as
from mmcontrast.heads import MultimodalClassifier

__all__ = ["FineTuneClassifier", "concat_classifier", "encode", "freeze", "module_dict"]

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def freeze(module: ModuleT) -> ModuleT:
    """Stop training ``module`` in place: no parameter requires a gradient; eval mode.

    Eval mode matters for encoders with BatchNorm or dropout: a frozen encoder must not keep
    updating its running statistics. The composite models of `mmcontrast.recipes`
    keep their frozen parts in eval mode when ``.train()`` is called on them.

    Examples:
        >>> encoder = freeze(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.BatchNorm1d(2)))
        >>> encoder.training, any(p.requires_grad for p in encoder.parameters())
        (False, False)
    """
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.eval()


def check_masks(
    masks: object, inputs: Mapping[str, Tensor], names: list[str]
) -> Mapping[str, Tensor]:
    """``None`` or ``modality -> "b t"`` bool padding masks for some of the modalities."""
    if masks is None:
        return {}
    if not isinstance(masks, Mapping):
        raise TypeError(
            f'masks must be a mapping from modality name to a bool "b t" tensor, '
            f"got {type(masks).__name__}"
        )
    for modality, mask in masks.items():
        if modality not in names:
            raise ValueError(
                f"masks has the unknown modality {modality!r}; expected some of {names}"
            )
        name, like = f"masks[{modality!r}]", f"inputs[{modality!r}]"
        check_mask(mask, inputs[modality], name=name, like=like)
    return masks


def _parameter_groups(
    model: nn.Module, encoders: nn.Module, lr: float, *, encoder_scale: float
) -> list[dict[str, Any]]:
    """Optimiser groups: the rest of ``model`` at ``lr``, ``encoders`` at ``encoder_scale * lr``.

    Only trainable parameters; the encoders' group only when there are any. The
    ``parameter_groups`` of `FineTuneClassifier` and `TwoStageClassifier`; errors name
    ``type(model).__name__``.
    """
    with checking(type(model).__name__):
        lr = check_finite_number("lr", lr, low=0.0, low_open=True)
        scale = check_finite_number("encoder_scale", encoder_scale, low=0.0)
    encoder_ids = {id(p) for p in encoders.parameters()}
    trainable = [p for p in encoders.parameters() if p.requires_grad]
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in encoder_ids]
    groups: list[dict[str, Any]] = [{"params": rest, "lr": lr}]
    if trainable:
        groups.append({"params": trainable, "lr": lr * scale})
    return groups


def encode(
    encoders: nn.ModuleDict,
    inputs: Mapping[str, Tensor],
    present: Mapping[str, Tensor] | None = None,
    masks: Mapping[str, Tensor] | None = None,
) -> dict[str, Tensor]:
    """Run each modality's encoder on its input; check the keys and the ``"b d"`` outputs.

    With ``present``, a missing sample's input is replaced by zeros before its encoder, so a
    placeholder may hold anything (even NaN) without reaching any gradient. Its features are
    still the encoder's response to zeros: the fusion modules and heads mask them. ``masks``
    (``True`` on real time steps) reach the encoders of the modalities they name as
    ``encoder(x, mask=mask)``: the padded sequences of `mmcontrast.data` (``length=None``)
    with the mask-aware encoders of `mmcontrast.encoders`.

    Shapes:
        inputs[m]: ``"b ..."``; present[m]: ``"b"``; masks[m]: ``"b t"``; output[m]:
        ``"b d_m"``.
    """
    check_modality_keys("inputs", inputs, encoders)
    for modality in encoders:
        if not isinstance(inputs[modality], Tensor):
            raise TypeError(
                f"inputs[{modality!r}] must be a torch.Tensor, got "
                f"{type(inputs[modality]).__name__}"
            )
    names = list(encoders)
    first = inputs[names[0]]
    mask = check_present(present, names, batch=first.shape[0], device=first.device)
    padding = check_masks(masks, inputs, names)
    features = {}
    for index, (modality, encoder) in enumerate(encoders.items()):
        x = inputs[modality]
        if x.shape[0] != first.shape[0]:
            raise ValueError(
                f"every modality in inputs must have the same batch size; "
                f"{modality!r} has {tuple(x.shape)} and {names[0]!r} has {tuple(first.shape)}"
            )
        if mask is not None:
            keep = unsqueeze_as(mask[:, index], x)
            x = torch.where(keep, x, x.new_zeros(()))
        z = encoder(x, mask=padding[modality]) if modality in padding else encoder(x)
        if not isinstance(z, Tensor) or z.ndim != 2:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f'the encoder of {modality!r} must return "b d" features, got {got}')
        features[modality] = z
    return features


class FineTuneClassifier(nn.Module):
    """Encoders (frozen by default) followed by a multimodal classification head.

    The fine-tuning stage of the hard-negative paper (Choi, Beedu, Essa 2023) and CMC-CMKM:
    the pre-trained encoders are frozen and a `mmcontrast.heads.MultimodalClassifier`
    (per-modality ``Linear -> BN -> ReLU`` to 256, concatenated, linear classifier) is
    trained with cross-entropy; `concat_classifier` builds it. With
    ``freeze_encoders=False`` the encoders are fine-tuned too, end to end; give them a
    smaller learning rate than the head with `parameter_groups` (the recommended way to
    fine-tune pre-trained encoders: the head starts from random weights, the encoders do
    not).

    Args:
        encoders: ``modality -> encoder`` mapping ``"b ..."`` to ``"b d_m"``.
        head: a module called as ``head(features, present=present)`` on the mapping of
            encoder features (e.g. `mmcontrast.heads.MultimodalClassifier`, or
            `mmcontrast.heads.LateFusionClassifier` for one classifier per modality fused by
            their mean log-probability; `finetune_step` and `predict` handle its output).
        freeze_encoders: `freeze` the encoders (in place) and keep them in eval mode.

    Shapes:
        inputs[m]: ``"b ..."``; present[m]: ``"b"``; output: ``"b num_classes"``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.recipes import concat_classifier
        >>> encoders = {"inertial": nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 32)),
        ...             "skeleton": nn.Sequential(nn.Flatten(), nn.Linear(50 * 20 * 3, 16))}
        >>> model = concat_classifier(encoders, {"inertial": 32, "skeleton": 16}, num_classes=27)
        >>> inputs = {"inertial": torch.randn(4, 50, 6), "skeleton": torch.randn(4, 50, 20, 3)}
        >>> model(inputs).shape
        torch.Size([4, 27])
    """

    def __init__(
        self,
        encoders: Mapping[str, nn.Module] | nn.ModuleDict,
        head: nn.Module,
        *,
        freeze_encoders: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(head, nn.Module):
            raise TypeError(
                f"FineTuneClassifier: head must be an nn.Module, got {type(head).__name__}"
            )
        with checking("FineTuneClassifier"):
            self.encoders = module_dict("encoders", encoders)
            self.head = head
            self.freeze_encoders = check_bool("freeze_encoders", freeze_encoders)
        if freeze_encoders:
            freeze(self.encoders)

    def train(self, mode: bool = True) -> FineTuneClassifier:
        """Set the training mode; frozen encoders stay in eval mode."""
        super().train(mode)
        if self.freeze_encoders:
            self.encoders.eval()
        return self

    def parameter_groups(self, lr: float, *, encoder_scale: float = 0.1) -> list[dict[str, Any]]:
        """Optimiser groups: the head at ``lr``, trainable encoders at ``encoder_scale * lr``.

        Frozen parameters are left out, so with frozen encoders this is the head alone.
        ``encoder_scale=0`` keeps the encoders' weights fixed while their BatchNorm statistics
        still follow the data (they stay in train mode); `freeze` them instead to fix both.

        Args:
            lr: the head's learning rate, > 0.
            encoder_scale: the encoders' rate relative to ``lr``, >= 0 (0.1 by default).

        Examples:
            >>> from mmcontrast.recipes import concat_classifier
            >>> model = concat_classifier({"inertial": nn.Linear(6, 8)}, {"inertial": 8}, 3,
            ...                           freeze_encoders=False)
            >>> [group["lr"] for group in model.parameter_groups(1e-3)]
            [0.001, 0.0001]
            >>> optimizer = torch.optim.Adam(model.parameter_groups(1e-3))
        """
        return _parameter_groups(self, self.encoders, lr, encoder_scale=encoder_scale)

    def forward(
        self,
        inputs: Mapping[str, Tensor],
        *,
        present: Mapping[str, Tensor] | None = None,
        masks: Mapping[str, Tensor] | None = None,
    ) -> Any:
        """Class logits (or the head's structured logits, e.g. `LateFusionLogits`).

        Args:
            inputs: ``modality -> raw input`` for every encoder.
            present: ``modality -> "b"`` bool for samples lacking a modality (its input is a
                placeholder, replaced by zeros before the encoder; the head zeroes its
                features).
            masks: ``modality -> "b t"`` padding masks, passed to the encoders.

        Shapes:
            inputs[m]: ``"b ..."``; present[m]: ``"b"``; masks[m]: ``"b t"``; output:
            ``"b num_classes"`` (each field of a structured output).
        """
        with checking(type(self).__name__):
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoders):
                features = encode(self.encoders, inputs, present, masks)
        return self.head(features, present=present)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return f"freeze_encoders={self.freeze_encoders}"


def concat_classifier(
    encoders: Mapping[str, nn.Module] | nn.ModuleDict,
    dims: Mapping[str, int],
    num_classes: int,
    *,
    hidden: int | None = 256,
    freeze_encoders: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> FineTuneClassifier:
    """The hard-negative paper's fine-tuning model, or a linear probe (``hidden=None``).

    Args:
        encoders: ``modality -> encoder`` mapping ``"b ..."`` to ``"b d_m"``.
        dims: ``modality -> d_m``, the encoders' output sizes.
        num_classes: number of classes.
        hidden: per-modality width (256 in the paper); ``None``: concatenate the encoder
            features and apply one linear layer (the linear-evaluation protocol).
        freeze_encoders: train the head only (the paper) or fine-tune the encoders too.
        device: where the head's parameters are created.
        dtype: the head's parameter dtype.

    Shapes:
        inputs[m]: ``"b ..."``; output: ``"b num_classes"``.

    Examples:
        >>> from torch import nn
        >>> encoders = {"inertial": nn.Flatten()}
        >>> probe = concat_classifier(encoders, {"inertial": 300}, 27, hidden=None)
        >>> sum(p.numel() for p in probe.parameters() if p.requires_grad)
        8127
    """
    with checking("concat_classifier"):
        dims = check_modality_dims("dims", dims)
    if set(dims) != set(encoders):
        raise ValueError(
            f"concat_classifier: dims must name the modalities of encoders {list(encoders)}, got "
            f"{list(dims)}"
        )
    head = MultimodalClassifier(
        {m: dims[m] for m in encoders}, num_classes, hidden=hidden, device=device, dtype=dtype
    )
    return FineTuneClassifier(encoders, head, freeze_encoders=freeze_encoders)


def module_dict(name: str, modules: Mapping[str, nn.Module] | nn.ModuleDict) -> nn.ModuleDict:
    """Check a non-empty ``modality -> nn.Module`` mapping and wrap it in an ``nn.ModuleDict``.

    An ``nn.ModuleDict`` (e.g. ``ContrastivePretrainer.encoders``) is accepted too; its
    modules are shared, not copied.
    """
    if not isinstance(modules, (Mapping, nn.ModuleDict)):
        raise TypeError(
            f"{name} must be a mapping from modality name to nn.Module, got "
            f"{type(modules).__name__}"
        )
    check_modality_dims(name, dict.fromkeys(modules, 1))
    for modality, module in modules.items():
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"{name}[{modality!r}] must be an nn.Module, got {type(module).__name__}"
            )
    return nn.ModuleDict(dict(modules.items()))
