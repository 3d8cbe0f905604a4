"""Per-channel standardisation fitted on the training side, for any modality."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcontrast._checks import check_int, checking
from mmcontrast._ops import unsqueeze_as

__all__ = ["Standardizer"]

_OWNER = "Standardizer"


class Standardizer(nn.Module):
    """``(x - mean) / std`` with one mean and standard deviation per channel.

    Fit it on the training side only (`fit`), then apply it to every side; it is an
    ``nn.Module`` whose ``mean`` and ``std`` are buffers, so it travels with a model's
    ``state_dict`` (or on its own) and follows ``.to(device)``. The statistics cover the
    trailing ``channel_dims`` axes of the data and broadcast over every leading axis, so one
    standardiser fitted on ``"b t c"`` applies to a batch ``"b t c"``, a sequence ``"t c"``
    or windows ``"n window c"`` alike.

    * IMU ``"b t c"``: ``channel_dims=1``, one statistic per channel, over ``b`` and ``t``.
    * Skeleton ``"b t j c"``: ``channel_dims=1`` (the default) pools every joint, one
      statistic per coordinate: an affine map per axis that keeps the body's shape (joint
      positions relative to each other). ``channel_dims=2`` gives one per joint and
      coordinate (``"j c"``), which also removes each joint's average position; a joint that
      hardly moves (the spine joint a loader recentres on) then gets a tiny scale.

    A constant channel (its minimum equals its maximum over the fitted steps) gets a
    standard deviation of 1, so it is centred, never divided by zero or by a rounding
    residue.

    Args:
        mean: the per-channel means, float tensor with the channel shape (e.g. ``"c"``).
        std: the per-channel standard deviations, same shape, all positive and finite.

    Shapes:
        mean, std: ``"c"`` (or ``"j c"``, the channel shape). ``forward`` / `transform` /
        `inverse_transform`: ``x`` ``"... c"`` (any leading axes), ``mask`` a bool tensor
        of ``x``'s leading shape (e.g. ``"b t"``) or ``None``; output as ``x``.

    Examples:
        >>> import torch
        >>> from mmcontrast.data import Standardizer
        >>> train = torch.randn(8, 50, 6) * 100 + 3
        >>> scaler = Standardizer.fit(train)
        >>> scaler
        Standardizer(channels=(6,))
        >>> z = scaler(train)
        >>> z.mean(dim=(0, 1)).abs().max() < 1e-5, (z.std(dim=(0, 1)) - 1).abs().max() < 1e-2
        (tensor(True), tensor(True))
        >>> torch.allclose(scaler.inverse_transform(z), train, atol=1e-3)
        True
        >>> restored = Standardizer(torch.zeros(6), torch.ones(6))
        >>> _ = restored.load_state_dict(scaler.state_dict())
        >>> torch.equal(restored(train[0]), scaler(train[0]))  # "t c" works too
        True
    """

    mean: Tensor
    std: Tensor

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        mean = _floating("mean", mean)
        std = _floating("std", std)
        if mean.ndim < 1 or mean.shape != std.shape:
            raise ValueError(
                f"{_OWNER}: mean and std must have the same channel shape (at least one axis), "
                f"got mean: {tuple(mean.shape)} and std: {tuple(std.shape)}"
            )
        if not bool(torch.isfinite(mean).all()) or not bool(torch.isfinite(std).all()):
            raise ValueError(f"{_OWNER}: mean and std must be finite")
        if not bool((std > 0).all()):
            raise ValueError(f"{_OWNER}: std must be positive, got {std.flatten().tolist()}")
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("std", std.detach().clone())

    @classmethod
    def fit(cls, x: Tensor, *, mask: Tensor | None = None, channel_dims: int = 1) -> Standardizer:
        """Per-channel statistics of ``x`` over every real step.

        Computed in float64 and stored in ``x``'s dtype (population standard deviation).

        Args:
            x: float tensor; its last ``channel_dims`` axes are the channels, every other
                axis is reduced.
            mask: ``None`` (every step real) or a bool tensor of ``x``'s leading shape
                (``"b t"`` for ``"b t c"`` and ``"b t j c"``), ``True`` on real steps;
                padding is left out of the statistics.
            channel_dims: how many trailing axes keep their own statistics: 1 gives ``"c"``,
                2 on a skeleton ``"b t j c"`` gives ``"j c"``.

        Shapes:
            x: ``"... c"``; mask: a prefix of ``x``'s shape; output statistics: the last
            ``channel_dims`` axes of ``x``.
        """
        x = _floating("x", x)
        with checking(_OWNER):
            channel_dims = check_int("channel_dims", channel_dims, minimum=1)
        if x.ndim <= channel_dims:
            raise ValueError(
                f"{_OWNER}: x must have at least one axis to reduce besides its "
                f"{channel_dims} channel axes, got {tuple(x.shape)}"
            )
        leading = x.shape[: x.ndim - channel_dims]
        values = x.detach().double()
        if mask is None:
            values = values.reshape(-1, *x.shape[x.ndim - channel_dims :])
        else:
            mask = _mask(mask, x, reduced=len(leading))
            values = values[mask].reshape(-1, *x.shape[x.ndim - channel_dims :])
        if values.shape[0] == 0:
            raise ValueError(
                f"{_OWNER}: fitting needs at least one real step, got x: {tuple(x.shape)}"
                + ("" if mask is None else f" with {int(mask.sum())} real steps in the mask")
            )
        if not bool(torch.isfinite(values).all()):
            bad = int((~torch.isfinite(values)).sum())
            raise ValueError(f"{_OWNER}: x must be finite, got {bad} non-finite values")
        mean = values.mean(dim=0)
        std = values.std(dim=0, unbiased=False)
        constant = values.amax(dim=0) == values.amin(dim=0)
        std = torch.where(constant, torch.ones_like(std), std)
        return cls(mean.to(x.dtype), std.to(x.dtype))

    @property
    def channel_shape(self) -> tuple[int, ...]:
        """The shape of the statistics, which is the trailing shape of the data."""
        return tuple(self.mean.shape)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """`transform`: ``(x - mean) / std``, padding (``mask`` ``False``) set to 0."""
        return self.transform(x, mask)

    def transform(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(x - mean) / std`` in ``x``'s dtype; where ``mask`` is ``False`` the output is 0."""
        self._check(x)
        scaled = (x - self.mean.to(x)) / self.std.to(x)
        return scaled if mask is None else _zero_padding(scaled, mask, x)

    def inverse_transform(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x * std + mean``, the original units; where ``mask`` is ``False`` the output is 0."""
        self._check(x)
        restored = x * self.std.to(x) + self.mean.to(x)
        return restored if mask is None else _zero_padding(restored, mask, x)

    def _check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{_OWNER}: x must be a floating-point torch.Tensor, got {got}")
        shape = self.channel_shape
        if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape) :]) != shape:
            raise ValueError(
                f"{_OWNER}: x must end with the channel shape {shape} the statistics were "
                f"fitted on, got {tuple(x.shape)}"
            )

    def extra_repr(self) -> str:
        """The channel shape, shown by ``repr``."""
        return f"channels={self.channel_shape}"


def _floating(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{_OWNER}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{_OWNER}: {name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _mask(mask: object, x: Tensor, *, reduced: int) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"{_OWNER}: mask must be a bool tensor, got {got}")
    if mask.ndim > reduced or tuple(mask.shape) != tuple(x.shape[: mask.ndim]):
        raise ValueError(
            f"{_OWNER}: mask must have the leading shape of x (at most its {reduced} reduced "
            f'axes, e.g. "b t"), got mask: {tuple(mask.shape)} and x: {tuple(x.shape)}'
        )
    return mask.to(x.device)


def _zero_padding(values: Tensor, mask: Tensor, x: Tensor) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"{_OWNER}: mask must be a bool tensor, got {got}")
    if mask.ndim > x.ndim or tuple(mask.shape) != tuple(x.shape[: mask.ndim]):
        raise ValueError(
            f'{_OWNER}: mask must have the leading shape of x (e.g. "b t"), got mask: '
            f"{tuple(mask.shape)} and x: {tuple(x.shape)}"
        )
    expanded = unsqueeze_as(mask, x).to(values.device)
    return torch.where(expanded, values, torch.zeros_like(values))
