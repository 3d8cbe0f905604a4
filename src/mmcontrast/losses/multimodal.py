"""Any pairwise loss over more than two modalities (CMC's full graph or a core modality)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Literal

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_choice, checking

__all__ = ["MultiModalLoss"]

Pairs = Literal["all", "core"]


class MultiModalLoss(nn.Module):
    """Apply a pairwise loss to every pair of modalities, or to each modality and a core one.

    ``pairs="all"`` is CMC's full graph: the mean of ``loss(z_m, z_n)`` over the ``M (M - 1) / 2``
    unordered pairs, in the order of the mapping's keys (each pair's loss is already symmetric
    when the inner loss is). ``pairs="core"`` is CMC's core view: the mean of
    ``loss(z_core, z_m)`` over the other ``M - 1`` modalities. Masks, labels, groups and weights
    are passed to every pair unchanged (they describe samples, not modalities). Do not give the
    inner loss an `EmbeddingQueue`: one queue would mix the modalities of several pairs.

    Args:
        loss: a pairwise loss called as ``loss(a, b, **extras)``, e.g. `HardNegativeLoss`.
        pairs: ``"all"`` or ``"core"``.
        core: the core modality's key (``pairs="core"`` only).

    Shapes:
        embeddings: each ``"b d"`` (the dimensions may differ only if the inner loss allows);
        output: ``""``.

    Examples:
        >>> import torch
        >>> from mmcontrast.losses import InfoNCE, MultiModalLoss
        >>> criterion = MultiModalLoss(InfoNCE(), pairs="all")
        >>> z = {name: torch.randn(8, 16) for name in ("acc", "gyro", "skeleton")}
        >>> sorted(criterion.pair_losses(z))
        ['acc-gyro', 'acc-skeleton', 'gyro-skeleton']
        >>> criterion(z).shape
        torch.Size([])
    """

    def __init__(self, loss: nn.Module, *, pairs: Pairs = "all", core: str | None = None) -> None:
        super().__init__()
        with checking(type(self).__name__):
            if not isinstance(loss, nn.Module):
                raise TypeError(f"loss must be an nn.Module, got {type(loss).__name__}")
            check_choice("pairs", pairs, ("all", "core"))
            if (pairs == "core") != (core is not None):
                raise ValueError(
                    f"core must be given exactly when pairs='core', got pairs={pairs!r} "
                    f"and core={core!r}"
                )
        self.loss = loss
        self.pairs: Pairs = pairs
        self.core = core

    def _pairs(self, names: list[str]) -> list[tuple[str, str]]:
        """The pairs to contrast; raises under the caller's `checking` block."""
        if len(names) < 2:
            raise ValueError(f"needs at least 2 modalities, got {names}")
        if self.pairs == "all":
            return list(combinations(names, 2))
        if self.core not in names:
            raise ValueError(f"core modality {self.core!r} not among {names}")
        return [(self.core, name) for name in names if name != self.core]

    def pair_losses(
        self,
        embeddings: Mapping[str, Tensor],
        *,
        labels: Tensor | None = None,
        groups: Tensor | None = None,
        pos_mask: Tensor | None = None,
        neg_mask: Tensor | None = None,
        weights: Tensor | None = None,
    ) -> dict[str, Tensor]:
        """The loss of each pair, keyed ``"<first>-<second>"``.

        Shapes:
            embeddings: each ``"b d"``; each output: ``""``.
        """
        with checking(type(self).__name__):
            if not isinstance(embeddings, Mapping):
                raise TypeError(
                    f"embeddings must be a mapping of modality name to tensor, got "
                    f"{type(embeddings).__name__}"
                )
            names = list(embeddings)
            for name, z in embeddings.items():
                if not isinstance(z, Tensor):
                    raise TypeError(
                        f"embeddings[{name!r}] must be a torch.Tensor, got {type(z).__name__}"
                    )
            sizes = {name: tuple(z.shape) for name, z in embeddings.items()}
            if len({shape[0] for shape in sizes.values()}) > 1:
                raise ValueError(f"every modality needs the same batch size, got {sizes}")
            extras = {
                key: value
                for key, value in (
                    ("labels", labels),
                    ("groups", groups),
                    ("pos_mask", pos_mask),
                    ("neg_mask", neg_mask),
                    ("weights", weights),
                )  # fmt: skip
                if value is not None
            }
            pairs = self._pairs(names)
        losses = {}
        for first, second in pairs:
            try:
                losses[f"{first}-{second}"] = self.loss(
                    embeddings[first], embeddings[second], **extras
                )
            except (TypeError, ValueError) as err:  # name the modalities behind "a" and "b"
                message = f"{type(self).__name__}: pair a={first!r}, b={second!r}: {err}"
                raise type(err)(message) from err
        return losses

    def forward(
        self,
        embeddings: Mapping[str, Tensor],
        *,
        labels: Tensor | None = None,
        groups: Tensor | None = None,
        pos_mask: Tensor | None = None,
        neg_mask: Tensor | None = None,
        weights: Tensor | None = None,
    ) -> Tensor:
        """The mean of the pair losses.

        Shapes:
            embeddings: each ``"b d"``; output: ``""``.
        """
        losses = self.pair_losses(
            embeddings, labels=labels, groups=groups, pos_mask=pos_mask, neg_mask=neg_mask,
            weights=weights,
        )  # fmt: skip
        return torch.stack(list(losses.values())).mean()

    def extra_repr(self) -> str:
        """The pairing scheme."""
        return f"pairs={self.pairs!r}" + (f", core={self.core!r}" if self.core else "")
