"""Classification heads: a linear probe and the hard-negative paper's multimodal head."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcontrast._checks import (
    check_bool,
    check_int,
    check_modality_dims,
    check_modality_inputs,
    check_tensor,
    checking,
)
from mmcontrast.fusion.functional import mask_features
from mmcontrast.heads._mlp import build_mlp, check_hidden_layers, check_pooled, layer_name
from mmcontrast.heads.linear_spec import LinearSpec

__all__ = ["LinearClassifier", "MultimodalClassifier"]


class LinearClassifier(nn.Module):
    """A linear map from features to class logits (the linear-evaluation protocol).

    Args:
        in_features: feature size ``d``.
        num_classes: number of classes (27 for UTD-MHAD).
        bias: learn a bias.

    Shapes:
        x: ``"b d"``; output: ``"b num_classes"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.heads import LinearClassifier
        >>> probe = LinearClassifier(128, 27)
        >>> probe(torch.randn(4, 128)).shape
        torch.Size([4, 27])
        >>> probe
        LinearClassifier(in_features=128, num_classes=27, bias=True)
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("LinearClassifier"):
            self.in_features = check_int("in_features", in_features, minimum=1)
            self.num_classes = check_int("num_classes", num_classes, minimum=1)
            check_bool("bias", bias)
        # The parameters of an nn.Linear (its initialisation and state_dict names), held
        # directly so the repr stays one line.
        linear = nn.Linear(in_features, num_classes, bias=bias, device=device, dtype=dtype)
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: Tensor) -> Tensor:
        """Class logits.

        Shapes:
            x: ``"b d"``; output: ``"b num_classes"``.
        """
        with checking(type(self).__name__):
            check_tensor("x", x, pattern="b d", sizes={"d": self.in_features})
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"bias={self.bias is not None}"
        )


class MultimodalClassifier(nn.Module):
    """Per-modality ``Linear -> BN -> ReLU`` to 256, concatenated, then a linear classifier.

    The fine-tuning head of the hard-negative paper (Choi, Beedu, Essa 2023), whose code
    reuses CMC-CMKM's ``MultiModalClassifier``: each modality's encoder features go through
    their own ``Linear(d_m, 256) -> BatchNorm1d -> ReLU`` (bringing 5632-d inertial and 256-d
    skeleton features to one size), the blocks are concatenated in the order of ``dims`` and
    a ``Linear(256 * m, num_classes)`` gives the logits. There, the encoders are frozen
    (``freeze_encoders=True``) and this head alone is trained.
    ``hidden=None`` drops the per-modality blocks: a linear probe on the concatenated
    features.

    With ``present``, a missing modality's block is exactly zero (after its branch, so the
    branch bias does not leak) and its features get an exactly zero gradient. Its rows still
    pass through the branch's BatchNorm in training mode, as zeros.

    Args:
        dims: ``modality -> d`` (the encoders' output sizes).
        num_classes: number of classes.
        hidden: per-modality width (256 in the paper), or ``None`` for no branch.
        norm_layer: norm in each branch, called as ``norm_layer(hidden, device=..., dtype=...)``
            (``nn.BatchNorm1d`` as in the paper, ``nn.LayerNorm``), or ``None``.
        act_layer: activation in each branch, called with no arguments (``nn.ReLU`` as in
            the paper, ``nn.GELU``, ``nn.Tanh``), or ``None``.
        dropout: dropout after each branch, in ``[0, 1)``.

    Shapes:
        features[m]: ``"b d_m"``; present[m]: ``"b"``; output: ``"b num_classes"``.

    Examples:
        >>> import torch
        >>> from mmcontrast.heads import MultimodalClassifier
        >>> head = MultimodalClassifier({"inertial": 5632, "skeleton": 256}, 27)
        >>> logits = head({"inertial": torch.randn(8, 5632), "skeleton": torch.randn(8, 256)})
        >>> logits.shape
        torch.Size([8, 27])
        >>> sum(p.numel() for p in head.parameters())
        1522715
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        num_classes: int,
        *,
        hidden: int | None = 256,
        norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm1d,
        act_layer: Callable[[], nn.Module] | None = nn.ReLU,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("MultimodalClassifier"):
            self.dims = check_modality_dims("dims", dims)
            self.modalities = tuple(self.dims)
            self.num_classes = check_int("num_classes", num_classes, minimum=1)
            self.hidden = None if hidden is None else check_int("hidden", hidden, minimum=1)
            self.norm_layer = norm_layer
            self.act_layer = act_layer
            self.dropout = check_hidden_layers(
                norm_layer=norm_layer, act_layer=act_layer, dropout=dropout
            )
        if self.hidden is None:
            self.branches = None
            width = sum(self.dims.values())
        else:
            spec = LinearSpec(
                self.hidden, norm_layer=norm_layer, act_layer=act_layer, dropout=dropout
            )
            self.branches = nn.ModuleDict(
                {m: build_mlp(d, [spec], device=device, dtype=dtype) for m, d in self.dims.items()}
            )
            width = self.hidden * len(self.modalities)
        self.classifier = nn.Linear(width, num_classes, device=device, dtype=dtype)

    def forward(
        self, features: Mapping[str, Tensor], *, present: Mapping[str, Tensor] | None = None
    ) -> Tensor:
        """Class logits from per-modality features.

        Args:
            features: ``modality -> "b d_m"``, exactly the modalities of ``dims``, any order.
            present: ``modality -> "b"`` bool; modalities left out are present everywhere.

        Shapes:
            features[m]: ``"b d_m"``; present[m]: ``"b"``; output: ``"b num_classes"``.
        """
        with checking("MultimodalClassifier"):
            xs, mask = check_modality_inputs(features, present, self.dims)
            check_pooled(self.modalities, xs)
        hs = mask_features(xs, mask)
        if self.branches is not None:
            branches = self.branches
            hs = mask_features(
                [branches[m](h) for m, h in zip(self.modalities, hs, strict=True)], mask
            )
        logits: Tensor = self.classifier(torch.cat(hs, dim=-1))
        return logits

    def extra_repr(self) -> str:
        """The hyperparameters, shown by ``repr``."""
        return (
            f"dims={self.dims!r}, num_classes={self.num_classes}, hidden={self.hidden}, "
            f"norm_layer={layer_name(self.norm_layer)}, act_layer={layer_name(self.act_layer)}, "
            f"dropout={self.dropout}"
        )
