"""SimCLR on one modality: one encoder, one projection head, two augmented views per sample."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_bool, checking
from mmcontrast.losses import InfoNCE
from mmcontrast.recipes.fast import autocast, check_autocast_dtype, to_float32

__all__ = ["SimCLRPretrainer"]


class SimCLRPretrainer(nn.Module):
    """Single-modality SimCLR: ``criterion(g(f(view1)), g(f(view2)))`` with one ``f`` and ``g``.

    The two views of a batch (e.g. two draws of an `mmcontrast.augment` pipeline) go through
    the one encoder ``f`` and projection head ``g``, and the loss treats row ``i`` of the two
    views as the positive pair. The default criterion is NT-Xent,
    ``InfoNCE(negatives="all")``: each of the ``2B`` embeddings has its other view as the
    positive and the other ``2B - 2`` as negatives. Any ``criterion(a, b) -> scalar`` fits,
    e.g. ``HardNegativeLoss(negatives="all", ...)`` for the hard-negative paper's SimCLR
    baseline. An augmentation draws its parameters per row, so ``augment(torch.cat((x, x)))``
    gives both views of ``x`` in one call (the example below).

    **BatchNorm.** With ``joint_batch=True`` (the default) the two views are concatenated into
    one batch of ``2B`` and run through the encoder and the head in **one** forward, then split:
    BatchNorm layers normalise with statistics over both views together and update their
    running statistics once per step, as SimCLR's reference implementation does (it stacks the
    views along the batch axis). With ``joint_batch=False`` each view is a separate forward of
    ``B`` samples, so each view is normalised with its own batch statistics and the running
    statistics are updated twice per step; that is what `ContrastivePretrainer` does with two
    entries sharing one encoder. In eval mode, or without batch-statistics layers, the two
    settings give the same loss.

    Args:
        encoder: maps ``"b ..."`` (and, with ``masks``, ``mask="b t"``) to ``"b d"``.
        projection: maps ``"b d"`` to ``"b e"``, e.g. `mmcontrast.heads.ProjectionHead`
            (``nn.Identity()`` for none).
        criterion: the pairwise loss; ``None`` means ``InfoNCE(negatives="all")`` (NT-Xent,
            temperature 0.1).
        joint_batch: one forward on the concatenated ``2B`` batch (``True``) or one forward
            per view (``False``).
        autocast_dtype: ``torch.bfloat16`` (or ``torch.float16``) runs the encoder and
            projection head under ``torch.autocast`` and returns float32 embeddings, so the
            loss is computed in float32 (as `mmcontrast.recipes.ContrastivePretrainer`).

    Shapes:
        view1, view2: ``"b ..."``; masks: two ``"b t"``; output: ``""``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from mmcontrast.augment import presets
        >>> from mmcontrast.heads import ProjectionHead
        >>> from mmcontrast.recipes import SimCLRPretrainer
        >>> encoder = nn.Sequential(nn.Flatten(), nn.Linear(50 * 6, 64), nn.BatchNorm1d(64))
        >>> model = SimCLRPretrainer(encoder, ProjectionHead(64, out_features=32))
        >>> augment = presets.standardized_inertial_augment()
        >>> x = torch.randn(16, 50, 6)
        >>> generator = torch.Generator().manual_seed(0)
        >>> view1, view2 = augment(torch.cat((x, x)), generator=generator).chunk(2)
        >>> loss = model(view1, view2)  # one forward of 32 windows
        >>> loss.shape, loss.requires_grad
        (torch.Size([]), True)
    """

    def __init__(
        self,
        encoder: nn.Module,
        projection: nn.Module,
        criterion: Callable[[Tensor, Tensor], Tensor] | None = None,
        *,
        joint_batch: bool = True,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        with checking("SimCLRPretrainer"):
            self.autocast_dtype = check_autocast_dtype(autocast_dtype)
            if not isinstance(encoder, nn.Module):
                raise TypeError(f"encoder must be an nn.Module, got {type(encoder).__name__}")
            if not isinstance(projection, nn.Module):
                raise TypeError(f"projection must be an nn.Module, got {type(projection).__name__}")
            if criterion is None:
                criterion = InfoNCE(negatives="all")
            if not callable(criterion):
                raise TypeError(f"criterion must be callable, got {type(criterion).__name__}")
            self.encoder = encoder
            self.projection = projection
            self.criterion = criterion
            self.joint_batch = check_bool("joint_batch", joint_batch)

    def embed(self, x: Tensor, *, mask: Tensor | None = None) -> Tensor:
        """The projected embeddings ``g(f(x))`` of one batch.

        Shapes:
            x: ``"b ..."``; mask: ``"b t"``; output: ``"b e"``.
        """
        with autocast(self.autocast_dtype, x):
            features = self.encoder(x) if mask is None else self.encoder(x, mask=mask)
            if not isinstance(features, Tensor) or features.ndim != 2:
                got = tuple(features.shape) if isinstance(features, Tensor) else type(features)
                raise ValueError(
                    f'{type(self).__name__}: the encoder must return "b d" features, got {got}'
                )
            out: Tensor = self.projection(features)
        return to_float32(self.autocast_dtype, out)

    def embed_views(
        self,
        view1: Tensor,
        view2: Tensor,
        *,
        masks: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """The projected embeddings of both views, in one forward with ``joint_batch=True``.

        Shapes:
            view1, view2: ``"b ..."``; masks: two ``"b t"``; output: two ``"b e"``.
        """
        view1, view2, masks = self._check_views(view1, view2, masks)
        mask1, mask2 = (None, None) if masks is None else masks
        if not self.joint_batch:
            return self.embed(view1, mask=mask1), self.embed(view2, mask=mask2)
        both = torch.cat((view1, view2))
        mask = None if mask1 is None or mask2 is None else torch.cat((mask1, mask2))
        z1, z2 = self.embed(both, mask=mask).chunk(2)
        return z1, z2

    def forward(
        self,
        view1: Tensor,
        view2: Tensor,
        *,
        masks: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """The contrastive loss between the two views' embeddings.

        Args:
            view1: the first augmented view of the batch.
            view2: the second view, row ``i`` from the same sample as row ``i`` of ``view1``.
            masks: ``(mask1, mask2)``, the views' ``"b t"`` padding masks (``True`` at valid
                steps) for mask-aware encoders; ``(mask, mask)`` when the augmentation keeps
                the time axis.

        Shapes:
            view1, view2: ``"b ..."``; masks: two ``"b t"``; output: ``""``.
        """
        z1, z2 = self.embed_views(view1, view2, masks=masks)
        return self.criterion(z1, z2)

    def _check_views(
        self, view1: object, view2: object, masks: object
    ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]:
        if not isinstance(view1, Tensor):
            raise TypeError(
                f"SimCLRPretrainer: view1 must be a torch.Tensor, got {type(view1).__name__}"
            )
        if not isinstance(view2, Tensor):
            raise TypeError(
                f"SimCLRPretrainer: view2 must be a torch.Tensor, got {type(view2).__name__}"
            )
        shapes = f"view1: {tuple(view1.shape)} and view2: {tuple(view2.shape)}"
        if view1.ndim == 0 or view2.ndim == 0 or view1.shape[0] != view2.shape[0]:
            raise ValueError(
                f'SimCLRPretrainer: the views must be "b ..." with one batch size, got {shapes}'
            )
        if self.joint_batch and view1.shape != view2.shape:
            raise ValueError(
                "SimCLRPretrainer: with joint_batch=True the views are concatenated, so they "
                f"must have the same shape, got {shapes}; use joint_batch=False for views of "
                "different shapes"
            )
        if view1.dtype != view2.dtype:
            raise TypeError(
                f"SimCLRPretrainer: the views must have one dtype, got view1: {view1.dtype} and "
                f"view2: {view2.dtype}"
            )
        if view1.device != view2.device:
            raise ValueError(
                f"SimCLRPretrainer: the views must be on one device, got view1: {view1.device} and "
                f"view2: {view2.device}"
            )
        if masks is None:
            return view1, view2, None
        if (
            not isinstance(masks, tuple)
            or len(masks) != 2
            or not all(isinstance(m, Tensor) for m in masks)
        ):
            raise TypeError(
                'SimCLRPretrainer: masks must be None or a tuple of two "b t" bool tensors (one '
                f"per view), got {type(masks).__name__}"
            )
        return view1, view2, (masks[0], masks[1])

    def extra_repr(self) -> str:
        """The settings, for ``repr``."""
        extra = f"joint_batch={self.joint_batch}"
        if self.autocast_dtype is not None:
            extra += f", autocast_dtype={self.autocast_dtype}"
        return extra
